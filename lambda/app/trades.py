"""Trade processor: SQS batches of trade orders into the ``trades`` table, idempotently by order id.

SQS delivers at least once, so an order is inserted with ``ON CONFLICT (order_id) DO NOTHING``: a redelivery
is a no-op. A malformed order is reported in ``batchItemFailures`` (the event source mapping needs
ReportBatchItemFailures) so only it returns to the queue and, after maxReceiveCount, its dead-letter queue.
A database that cannot take writes (down, or this region's cluster is still the replica) fails the whole
batch: every message stays queued until the writer is back or this region has been promoted.

With an application bus (EVENT_BUS_NAME), every stored order is announced as a "Trade Recorded" event, which
the bus forwards to the other region. At least once: a batch whose events were not all accepted fails and is
redelivered, its orders are no-ops the second time and their events go out again (consumers dedupe by order_id).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from drgen_common import aws, config, contract, db, logs
from drgen_common.retry import retry
from drgen_common.schema import TRADES_DDL, TRADES_TABLE

TRADE_RECORDED = "Trade Recorded"
PUT_EVENTS_LIMIT = 10  # entries per PutEvents call

ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,15}$")
SIDES = ("buy", "sell")
# Errors about one row's values (data exceptions, integrity violations): that order is bad, not the database.
ROW_SQLSTATE_CLASSES = ("22", "23")

INSERT_SQL = (
    f"INSERT INTO {TRADES_TABLE} (order_id, symbol, side, quantity, price, region) "
    "VALUES (:order_id, :symbol, :side, :quantity, :price, :region) "
    "ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
)


@dataclass(frozen=True)
class Order:
    order_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal


def _connect() -> Any:
    """Through the global writer endpoint when there is one (it follows a promotion), else this region's."""
    regional = db.configured_target(aws.client("secretsmanager"))
    return db.connect_first(db.writer_targets(aws.client("rds"), regional, config.optional(contract.GLOBAL_CLUSTER_ID)))


CONNECTIONS = db.ConnectionCache(_connect)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    region = config.region()
    bus = config.optional(contract.EVENT_BUS_NAME)
    announce = (
        functools.partial(publish, aws.client("events"), bus, config.required(contract.EVENT_SOURCE), region=region)
        if bus
        else None
    )
    return process(event.get("Records") or [], CONNECTIONS, region=region, announce=announce)


def process(
    records: list[dict[str, Any]],
    connections: db.ConnectionCache,
    *,
    region: str,
    announce: Callable[[list[Order]], None] | None = None,
) -> dict[str, Any]:
    """Store the batch's orders and ``announce`` the stored ones; returns the SQS partial-batch response naming
    the bad messages."""
    failures: list[str] = []
    orders: list[tuple[str, Order]] = []
    for record in records:
        try:
            orders.append((record["messageId"], parse_order(record.get("body", ""))))
        except ValueError as error:
            logs.warning("bad trade order", message_id=record["messageId"], error=str(error))
            failures.append(record["messageId"])
    if orders:
        inserted, rejected = connections.run(lambda connection: _store(connection, orders, region))
        failures.extend(rejected)
        duplicates = len(orders) - inserted - len(rejected)
        logs.info("trades stored", inserted=inserted, duplicates=duplicates, bad=failures)
        if announce is not None:
            announce([order for message_id, order in orders if message_id not in rejected])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def publish(events: Any, bus: str, source: str, orders: list[Order], *, region: str) -> int:
    """One "Trade Recorded" event per order on ``bus``; raises when EventBridge did not accept them all."""
    entries = [
        {
            "EventBusName": bus,
            "Source": source,
            "DetailType": TRADE_RECORDED,
            "Detail": json.dumps({**asdict(order), "region": region}, default=str, sort_keys=True),
        }
        for order in orders
    ]
    for start in range(0, len(entries), PUT_EVENTS_LIMIT):
        response = retry(events.put_events, Entries=entries[start : start + PUT_EVENTS_LIMIT])
        if response.get("FailedEntryCount"):
            failed = [e for e in response["Entries"] if e.get("ErrorCode")]
            raise RuntimeError(f"{len(failed)} trade event(s) not accepted by {bus}: {failed[0].get('ErrorCode')}")
    logs.info("trade events published", bus=bus, count=len(entries))
    return len(entries)


def parse_order(body: str) -> Order:
    """A validated order from a message body; ValueError says what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ValueError(f"body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("body is not a JSON object")
    order_id, symbol, side = (str(data.get(key, "")) for key in (contract.ORDER_ID, "symbol", "side"))
    if not ORDER_ID.match(order_id):
        raise ValueError(f"bad order_id {order_id!r}")
    if not SYMBOL.match(symbol):
        raise ValueError(f"bad symbol {symbol!r}")
    if side not in SIDES:
        raise ValueError(f"side must be buy or sell, got {side!r}")
    return Order(order_id, symbol, side, _positive(data, "quantity"), _positive(data, "price"))


def _positive(data: dict[str, Any], key: str) -> Decimal:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{key} must be a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"{key} must be a number, got {value!r}") from error
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{key} must be positive, got {value!r}")
    return number


def _store(connection: Any, orders: list[tuple[str, Order]], region: str) -> tuple[int, list[str]]:
    """Insert each order once; returns how many were new and the messages the database rejected."""
    connection.run(TRADES_DDL)
    inserted, rejected = 0, []
    for message_id, order in orders:
        try:
            rows = connection.run(INSERT_SQL, region=region, **asdict(order))
        except Exception as error:
            if not db.sqlstate(error).startswith(ROW_SQLSTATE_CLASSES):
                raise
            logs.warning("trade order rejected by the database", message_id=message_id, error=str(error))
            rejected.append(message_id)
            continue
        inserted += len(rows)
    return inserted, rejected
