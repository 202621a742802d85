"""Trade processor: SQS batches of trade orders into the ``trades`` table, idempotently by order id.

SQS delivers at least once, so an order is inserted with ``ON CONFLICT (order_id) DO NOTHING``: a redelivery
is a no-op. A malformed order is reported in ``batchItemFailures`` (the event source mapping needs
ReportBatchItemFailures) so only it returns to the queue and, after maxReceiveCount, its dead-letter queue.
A database that cannot take writes (down, or this region's cluster is still the replica) fails the whole
batch: every message stays queued until the writer is back or this region has been promoted.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from drgen_common import aws, config, db, logs
from drgen_common.schema import TRADES_DDL, TRADES_TABLE

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
    where = db.target(
        aws.client("secretsmanager"),
        config.required("DB_SECRET_NAME"),
        config.optional("DB_ENDPOINT"),
        config.optional("DB_NAME"),
    )
    return db.connect(where)


CONNECTIONS = db.ConnectionCache(_connect)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return process(event.get("Records") or [], CONNECTIONS, region=config.region())


def process(records: list[dict[str, Any]], connections: db.ConnectionCache, *, region: str) -> dict[str, Any]:
    """Store the batch's orders; returns the SQS partial-batch response naming the bad messages."""
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
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def parse_order(body: str) -> Order:
    """A validated order from a message body; ValueError says what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ValueError(f"body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("body is not a JSON object")
    order_id, symbol, side = (str(data.get(key, "")) for key in ("order_id", "symbol", "side"))
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
