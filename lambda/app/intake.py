"""Order intake: ``POST /trades`` (API Gateway REST proxy integration) commits an order to the order ledger, then
queues it for the trade processor. The order is acknowledged (202) only once the ledger holds it.

The ledger (LEDGER_TABLE) is a DynamoDB global table with multi-Region strong consistency (MRSC): a write returns
only after it is replicated to a second Region, and a conditional write is evaluated against the latest version
of the item, in whichever Region it was written
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html). So
``attribute_not_exists(order_id)`` is an insert-once across both Regions, and an acknowledged order survives the
loss of the Region that took it (RPO 0). A Region that reaches neither the other replica nor the witness accepts
no write (https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html): the
order is then not acknowledged (503) and the client retries, with the same order_id, after DNS has moved.
MRSC tables support neither transactions nor TTL (same page as the first): one PutItem, no TTL attribute.

The HTTP contract (bodies are JSON):

- 202 ``{"order_id": ..., "status": "accepted"}``: the order is in the ledger now.
- 202 ``{"order_id": ..., "status": "already accepted"}``: the ledger held this very order already (a client
  retry); it is queued again, which repairs an earlier send that failed (processing is idempotent).
- 400 ``{"error": ...}``: not a valid order (the processor's own ``trades.parse_order`` decides), one line.
- 409 ``{"error": ...}``: the order_id is committed already, for a different order.
- 503 ``{"error": ...}``: the ledger did not take the order; it is NOT acknowledged: retry with the same order_id.

Queueing (QUEUE_URL) comes after the commit and cannot undo it: when the send fails after retries, the answer is
still 202, the failure is logged and OrdersNotQueued (1) is published for the alarm; the failover's ledger replay
(lambda/failover/replay.py) queues every recent order again, and a client retry re-queues it too.

Ledger item (DynamoDB attribute values): order_id S (the only key), symbol S, side S, quantity N, price N,
accepted_at N (epoch seconds, 3 decimals), accepted_in S (the Region that took it). The message is the body the
processor's ``trades.parse_order`` reads: order_id, symbol, side, quantity and price (decimal strings), keys sorted.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from drgen_common import aws, clock, config, logs, metrics
from drgen_common.contract import LEDGER_TABLE, METRICS_NAMESPACE, ORDER_ID, ORDERS_NOT_QUEUED, QUEUE_URL
from drgen_common.metrics import Metric
from drgen_common.retry import Backoff, error_code, retry

try:  # in the function's zip the app package's modules sit side by side at the root
    import trades
except ModuleNotFoundError:  # with lambda/ on sys.path (the tests, drgen's sandbox) they are app.<module>
    from app import trades


CONDITION_FAILED = "ConditionalCheckFailedException"
# A concurrent write to the same item from another Region; HTTP 400 but retryable
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
ACCEPTED, ALREADY_ACCEPTED = "accepted", "already accepted"
# A caller is waiting (API Gateway gives the integration 29 s): a short budget, then 503 and the client retries.
BACKOFF = Backoff(attempts=4, base=0.1, cap=1.0)
# What a DynamoDB number can hold: 38 significant digits, magnitude 1E-130 to below 1E+126
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
NUMBER_DIGITS = 38
NUMBER_RANGE = (Decimal("1E-130"), Decimal("1E+126"))
NOT_RECORDED = "the order was not recorded; retry with the same order_id"


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return accept(
        event,
        dynamodb=aws.client("dynamodb"),
        sqs=aws.client("sqs"),
        cloudwatch=aws.client("cloudwatch"),
        table=config.required(LEDGER_TABLE),
        queue_url=config.required(QUEUE_URL),
        namespace=config.required(METRICS_NAMESPACE),
        region=config.region(),
        now=clock.now(),
    )


def accept(
    event: Mapping[str, Any],
    *,
    dynamodb: Any,
    sqs: Any,
    cloudwatch: Any,
    table: str,
    queue_url: str,
    namespace: str,
    region: str,
    now: float,
    backoff: Backoff = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Commit the event's order to the ledger, queue it, and answer (see the module's docstring)."""
    try:
        order = trades.parse_order(request_body(event))
        check_storable(order)
    except ValueError as error:
        logs.warning("order refused", error=str(error))
        return respond(HTTPStatus.BAD_REQUEST, {"error": " ".join(str(error).split())})
    item = ledger_item(order, accepted_at=now, region=region)
    try:
        retry(
            dynamodb.put_item,
            backoff=backoff,
            sleep=sleep,
            TableName=table,
            Item=item,
            ConditionExpression=f"attribute_not_exists({ORDER_ID})",
        )
        status = ACCEPTED
    except Exception as error:
        if error_code(error) != CONDITION_FAILED:
            logs.error("the ledger did not take the order", order_id=order.order_id, error=_describe(error))
            return respond(HTTPStatus.SERVICE_UNAVAILABLE, {"error": NOT_RECORDED})
        try:
            stored = retry(
                dynamodb.get_item,
                backoff=backoff,
                sleep=sleep,
                TableName=table,
                Key={ORDER_ID: item[ORDER_ID]},
                ConsistentRead=True,
            ).get("Item")
        except Exception as read_error:
            logs.error(
                "the ledger's copy of the order could not be read", order_id=order.order_id, error=_describe(read_error)
            )
            return respond(HTTPStatus.SERVICE_UNAVAILABLE, {"error": NOT_RECORDED})
        if not stored:  # the ledger keeps every order (no deletes, no TTL): an answer to retry, not a verdict
            logs.error("the ledger refused the order as a duplicate but holds none", order_id=order.order_id)
            return respond(HTTPStatus.SERVICE_UNAVAILABLE, {"error": NOT_RECORDED})
        if not same_order(stored, order):
            logs.warning("order_id already used by a different order", order_id=order.order_id)
            return respond(
                HTTPStatus.CONFLICT, {"error": f"order_id {order.order_id} is already used by a different order"}
            )
        item, status = stored, ALREADY_ACCEPTED
    queued = enqueue(sqs, cloudwatch, queue_url, namespace, item, backoff=backoff, sleep=sleep)
    logs.info("order accepted", order_id=order.order_id, status=status, queued=queued, region=region)
    return respond(HTTPStatus.ACCEPTED, {ORDER_ID: order.order_id, "status": status})


def request_body(event: Mapping[str, Any]) -> str:
    """The proxy event's body as text (API Gateway base64-encodes it for binary media types)."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise ValueError("body is not text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"body is not base64-encoded UTF-8: {error}") from error
    return body


def check_storable(order: trades.Order) -> None:
    """ValueError when a quantity or price does not fit a DynamoDB number (it would never be stored)."""
    for name in ("quantity", "price"):
        value: Decimal = getattr(order, name)
        digits = len("".join(map(str, value.as_tuple().digits)).strip("0"))  # exact (normalize() would round)
        if digits > NUMBER_DIGITS or not NUMBER_RANGE[0] <= value < NUMBER_RANGE[1]:
            raise ValueError(f"{name} {value} has more than {NUMBER_DIGITS} significant digits or is out of range")


def decimal_text(value: Decimal) -> str:
    """A plain decimal string (no exponent): DynamoDB's N value and the message's quantity and price."""
    return format(value, "f")


def ledger_item(order: trades.Order, *, accepted_at: float, region: str) -> dict[str, dict[str, str]]:
    return {
        ORDER_ID: {"S": order.order_id},
        "symbol": {"S": order.symbol},
        "side": {"S": order.side},
        "quantity": {"N": decimal_text(order.quantity)},
        "price": {"N": decimal_text(order.price)},
        "accepted_at": {"N": f"{accepted_at:.3f}"},
        "accepted_in": {"S": region},
    }


def same_order(item: Mapping[str, Any], order: trades.Order) -> bool:
    """Whether the ledger's item is ``order`` (numbers compared as numbers: 10 and 10.0 are the same quantity)."""
    try:
        return (
            item[ORDER_ID]["S"] == order.order_id
            and item["symbol"]["S"] == order.symbol
            and item["side"]["S"] == order.side
            and Decimal(item["quantity"]["N"]) == order.quantity
            and Decimal(item["price"]["N"]) == order.price
        )
    except (KeyError, TypeError, ArithmeticError):
        return False


def message_body(item: Mapping[str, Any]) -> str:
    """The processor's message for a ledger item: what ``trades.parse_order`` reads, keys sorted.
    KeyError when the item lacks an order attribute."""
    order = {
        ORDER_ID: item[ORDER_ID]["S"],
        "symbol": item["symbol"]["S"],
        "side": item["side"]["S"],
        "quantity": item["quantity"]["N"],
        "price": item["price"]["N"],
    }
    return json.dumps(order, sort_keys=True, separators=(",", ":"))


def enqueue(
    sqs: Any,
    cloudwatch: Any,
    queue_url: str,
    namespace: str,
    item: Mapping[str, Any],
    *,
    backoff: Backoff = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Queue a committed order; False (logged, OrdersNotQueued published) when it could not be sent."""
    try:
        retry(sqs.send_message, QueueUrl=queue_url, MessageBody=message_body(item), backoff=backoff, sleep=sleep)
    except Exception as error:
        logs.error(
            "order committed to the ledger but not queued: the failover's replay or a client retry queues it",
            order_id=item[ORDER_ID]["S"],
            queue=queue_url,
            error=_describe(error),
        )
        try:
            metrics.publish(cloudwatch, namespace, Metric(ORDERS_NOT_QUEUED, 1.0, "Count"))
        except Exception as metric_error:
            logs.error(f"{ORDERS_NOT_QUEUED} could not be published", error=_describe(metric_error))
        return False
    return True


def respond(status: HTTPStatus, payload: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy response."""
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(payload, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
