"""The failover control table (DynamoDB, DR region): the run lock, where traffic goes, whether triggers are armed.

Items, by partition key ``id``:

- ``lock``: the execution holding the failover (``holder``) until ``expires_at`` (epoch seconds, the state
  machine's timeout after it took the lock). Taken by a conditional write, so of two triggers firing together
  exactly one proceeds; ListExecutions, which the guard used before, is eventually consistent.
- ``traffic``: ``to`` is ``dr`` while the DR region serves (from the failover's DNS step until the failback's),
  else ``primary``. The engaged signal republishes it every minute, because Route 53 follows the data stream of
  the alarm it watches, not the alarm's state.
- ``armed``: written by the DR region's readiness test the first time everything passes. Until then a trigger
  stands down: a fresh deploy's alarms start in ALARM or INSUFFICIENT_DATA and must not fail the region over.

Every read is strongly consistent (GetItem ``ConsistentRead``). The partition key, the traffic item's fields and
values and the arming time are in ``contract``: drgen's templates and commands read them too.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drgen_common.contract import (
    ARMED_AT,
    CONTROL_KEY,
    TRAFFIC_DR,
    TRAFFIC_EXECUTION,
    TRAFFIC_PRIMARY,
    TRAFFIC_SINCE,
    TRAFFIC_TO,
)
from drgen_common.retry import error_code, retry

LOCK, TRAFFIC, ARMED = "lock", "traffic", "armed"
CONDITION_FAILED = "ConditionalCheckFailedException"


def _item(dynamodb: Any, table: str, key: str) -> dict[str, str]:
    found = (
        retry(dynamodb.get_item, TableName=table, Key={CONTROL_KEY: {"S": key}}, ConsistentRead=True).get("Item") or {}
    )
    return {name: next(iter(value.values())) for name, value in found.items()}


def _value(value: str | float) -> dict[str, str]:
    """A DynamoDB attribute: numbers as N (the lock's expiry is compared), the rest as S."""
    return {"N": f"{value:.3f}"} if isinstance(value, int | float) else {"S": str(value)}


def _put(dynamodb: Any, table: str, key: str, values: dict[str, Any], **condition: Any) -> None:
    item = {CONTROL_KEY: {"S": key}, **{name: _value(value) for name, value in values.items()}}
    retry(dynamodb.put_item, TableName=table, Item=item, **condition)


def acquire(dynamodb: Any, table: str, holder: str, now: float, ttl_seconds: float) -> str:
    """Take the lock for ``holder`` (again, if it holds it already); returns "" or, when another execution holds
    it, that execution's id."""
    taken = _lock(
        dynamodb,
        table,
        holder,
        now,
        ttl_seconds,
        ConditionExpression="attribute_not_exists(#id) OR holder = :me OR expires_at < :now",
        ExpressionAttributeNames={"#id": CONTROL_KEY},
        ExpressionAttributeValues={":me": {"S": holder}, ":now": _value(now)},
    )
    return "" if taken else _item(dynamodb, table, LOCK).get("holder", "another execution")


def take_over(dynamodb: Any, table: str, holder: str, stale: str, now: float, ttl_seconds: float) -> bool:
    """Take the lock from ``stale``, an execution that ended without releasing it (stopped, or its notify step
    failed); False when the lock changed hands meanwhile (then it is not ours)."""
    condition = {"ConditionExpression": "holder = :stale", "ExpressionAttributeValues": {":stale": {"S": stale}}}
    return _lock(dynamodb, table, holder, now, ttl_seconds, **condition)


def _lock(dynamodb: Any, table: str, holder: str, now: float, ttl_seconds: float, **condition: Any) -> bool:
    """Write the lock for ``holder`` if ``condition`` holds; False when it does not."""
    try:
        _put(
            dynamodb, table, LOCK, {"holder": holder, "acquired_at": now, "expires_at": now + ttl_seconds}, **condition
        )
    except ClientError as error:
        if error_code(error) != CONDITION_FAILED:
            raise
        return False
    return True


def release(dynamodb: Any, table: str, holder: str) -> bool:
    """Give the lock back if ``holder`` has it; False when it does not (nothing changes)."""
    try:
        retry(
            dynamodb.delete_item,
            TableName=table,
            Key={CONTROL_KEY: {"S": LOCK}},
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": holder}},
        )
    except ClientError as error:
        if error_code(error) != CONDITION_FAILED:
            raise
        return False
    return True


def traffic(dynamodb: Any, table: str) -> str:
    """``dr`` while a failover holds the traffic in the DR region, else ``primary``."""
    return TRAFFIC_DR if traffic_record(dynamodb, table).get(TRAFFIC_TO) == TRAFFIC_DR else TRAFFIC_PRIMARY


def traffic_record(dynamodb: Any, table: str) -> dict[str, str]:
    """The traffic item as recorded: ``to``, ``since``, ``execution`` ({} before the first DNS step)."""
    return _item(dynamodb, table, TRAFFIC)


def set_traffic(dynamodb: Any, table: str, to: str, execution: str, now: str) -> None:
    if to not in (TRAFFIC_DR, TRAFFIC_PRIMARY):
        raise ValueError(f"traffic goes to {TRAFFIC_DR} or {TRAFFIC_PRIMARY}, not {to!r}")
    _put(dynamodb, table, TRAFFIC, {TRAFFIC_TO: to, TRAFFIC_EXECUTION: execution or "manual", TRAFFIC_SINCE: now})


def armed(dynamodb: Any, table: str) -> dict[str, str]:
    """The arming record ({} until the first passing readiness test)."""
    return _item(dynamodb, table, ARMED)


def arm(dynamodb: Any, table: str, now: str, by: str) -> bool:
    """Record the first passing readiness test; False when the triggers were armed already."""
    try:
        _put(
            dynamodb,
            table,
            ARMED,
            {ARMED_AT: now, "by": by},
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": CONTROL_KEY},
        )
    except ClientError as error:
        if error_code(error) != CONDITION_FAILED:
            raise
        return False
    return True
