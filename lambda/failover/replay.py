"""Failover step: queue the order ledger's recent orders again, in the trade queue of the region that writes now.

An order is acknowledged once the order ledger (LEDGER_TABLE, a DynamoDB global table with multi-Region strong
consistency) holds it; the trade queue of the region that took it only carries it to the processor. When that
region is lost, so are the orders still in its queue, but not the ledger: every write was replicated to a second
Region before it returned, and a strongly consistent read in the surviving region sees it
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html). This step
scans the ledger there (``ConsistentRead``; it needs the witness or the other replica to answer:
https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html) for the orders
accepted in the last REPLAY_SECONDS (the queue's retention: no older order can still be waiting) and sends each,
as the processor's message, to:

- QUEUE_URL, this (DR) region's trade queue, on a failover;
- PRIMARY_QUEUE_URL, the primary region's, on a failback (the DR region's queue may still hold orders the DR
  processor has not taken, and the processor there stops writing once the primary's cluster is the writer).
  The client is in the queue's region (the region in the queue's URL, else PRIMARY_REGION): the failover path
  touches the primary region only on a failback, when it is back.

Orders already processed are sent again, and that is the point: the processor inserts by order id with
``ON CONFLICT DO NOTHING`` (lambda/app/trades.py), so a replayed order it has stored is a no-op and one it has
not is stored once. The step is idempotent and safe to retry as a whole; it raises when an order could not be
queued after retries, so the state machine retries it (re-sending is harmless).

SQS batches carry at most 10 messages; SendMessageBatch is authorized by sqs:SendMessage
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
"""

from __future__ import annotations

import functools
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from drgen_common import aws, clock, config, logs
from drgen_common.contract import LEDGER_TABLE, ORDER_ID, PRIMARY_QUEUE_URL, PRIMARY_REGION, QUEUE_URL, REPLAY_SECONDS
from drgen_common.failover import Request
from drgen_common.retry import Backoff, retry

BATCH_LIMIT = 10  # messages per SendMessageBatch
PAGE_ITEMS = 1000  # items a Scan page evaluates: bounds what one page holds in memory
# The scan reads the whole ledger (a table with multi-Region strong consistency takes no TTL), so its time grows
# with the table; segments read in parallel: "for faster performance on a large table ... applications can
# request a parallel Scan operation by providing the Segment and TotalSegments parameters" (Scan, API reference,
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html).
SEGMENTS = 8
ORDER_FIELDS = ((ORDER_ID, "S"), ("symbol", "S"), ("side", "S"), ("quantity", "N"), ("price", "N"))
# https://sqs.us-east-1.amazonaws.com/123456789012/name (and .amazonaws.com.cn), or the legacy
# https://us-east-1.queue.amazonaws.com/123456789012/name.
QUEUE_HOST = re.compile(r"^https://(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com)/")


class NotQueuedError(RuntimeError):
    """Orders of the ledger could not be queued; the step fails and is retried."""


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.failback:
        queue_url = config.required(PRIMARY_QUEUE_URL)
        sqs = aws.client("sqs", queue_region(queue_url) or config.required(PRIMARY_REGION))
    else:
        queue_url = config.required(QUEUE_URL)
        sqs = aws.client("sqs")
    window = config.number(REPLAY_SECONDS)
    if window <= 0:
        raise config.ConfigError(f"{REPLAY_SECONDS} must be positive, got {window}")
    return replay(
        dynamodb=aws.client("dynamodb"),
        sqs=sqs,
        table=config.required(LEDGER_TABLE),
        queue_url=queue_url,
        since=clock.now() - window,
    )


def queue_region(queue_url: str) -> str:
    """The region an SQS queue URL names ("" for one that names none, e.g. a local stand-in's)."""
    match = QUEUE_HOST.match(queue_url)
    return (match.group(1) or match.group(2)) if match else ""


def replay(
    *,
    dynamodb: Any,
    sqs: Any,
    table: str,
    queue_url: str,
    since: float,
    page_items: int = PAGE_ITEMS,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send every order the ledger accepted at or after ``since`` (epoch seconds) to ``queue_url``."""
    replayed = skipped = 0
    batch: list[str] = []
    for item in recent_items(dynamodb, table, since, page_items):
        try:
            batch.append(message_body(item))
        except (KeyError, TypeError) as error:  # not an order the intake wrote: nothing the processor could take
            logs.error("ledger item is not an order; not replayed", item=item, error=repr(error))
            skipped += 1
            continue
        if len(batch) == BATCH_LIMIT:
            replayed += send_batch(sqs, queue_url, batch, backoff=backoff, sleep=sleep)
            batch = []
    if batch:
        replayed += send_batch(sqs, queue_url, batch, backoff=backoff, sleep=sleep)
    result = {
        "replayed": replayed,
        "skipped": skipped,
        "queue": queue_url,
        "since": datetime.fromtimestamp(since, UTC).isoformat(timespec="milliseconds"),
    }
    logs.info("ledger replayed", **result)
    return result


def recent_items(
    dynamodb: Any, table: str, since: float, page_items: int = PAGE_ITEMS, segments: int = SEGMENTS
) -> Iterator[dict[str, Any]]:
    """The ledger's items accepted at or after ``since``, read strongly consistent, ``segments`` at once."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        read = functools.partial(_segment, dynamodb, table, since, page_items, segments=segments)
        for items in pool.map(read, range(segments)):
            yield from items


def _segment(dynamodb: Any, table: str, since: float, page_items: int, segment: int, *, segments: int) -> list[Any]:
    """One segment's recent items, page by page (only the window's orders: the filter drops the rest)."""
    items: list[Any] = []
    start: dict[str, Any] | None = None
    while True:
        page = retry(
            dynamodb.scan,
            TableName=table,
            ConsistentRead=True,
            FilterExpression="accepted_at >= :since",
            ExpressionAttributeValues={":since": {"N": f"{since:.3f}"}},
            Limit=page_items,
            Segment=segment,
            TotalSegments=segments,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def message_body(item: Mapping[str, Any]) -> str:
    """The processor's message for a ledger item (what ``trades.parse_order`` reads, keys sorted), the same body
    the order intake sends. KeyError when the item lacks an order attribute."""
    order = {name: item[name][kind] for name, kind in ORDER_FIELDS}
    return json.dumps(order, sort_keys=True, separators=(",", ":"))


def send_batch(
    sqs: Any,
    queue_url: str,
    bodies: list[str],
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send up to 10 messages; entries SQS reports as failed are sent again (with backoff) unless the failure is
    the sender's fault. Raises NotQueuedError when some are still not queued; returns how many were sent."""
    if len(bodies) > BATCH_LIMIT:
        raise ValueError(f"at most {BATCH_LIMIT} messages per batch, got {len(bodies)}")
    backoff = backoff or Backoff()
    pending = {str(index): body for index, body in enumerate(bodies)}
    failures: list[dict[str, Any]] = []
    for attempt in range(backoff.attempts):
        response = retry(
            sqs.send_message_batch,
            QueueUrl=queue_url,
            Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, body in pending.items()],
            backoff=backoff,
            sleep=sleep,
        )
        failures = list(response.get("Failed") or [])
        pending = {failure["Id"]: pending[failure["Id"]] for failure in failures if failure.get("Id") in pending}
        if not pending:
            return len(bodies)
        if any(failure.get("SenderFault") for failure in failures) or attempt + 1 >= backoff.attempts:
            break
        delay = random.uniform(0.0, backoff.ceiling(attempt))
        logs.warning("retrying failed batch entries", queue=queue_url, count=len(pending), delay_seconds=delay)
        sleep(delay)
    first = failures[0] if failures else {}
    reason = f"{first.get('Code')}: {first.get('Message')}"
    raise NotQueuedError(f"{len(pending)} of {len(bodies)} order(s) not queued in {queue_url}: {reason}")
