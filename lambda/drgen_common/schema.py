"""The tables drgen's functions share. Each is created by the function that writes it, in the writer region.

``drgen_heartbeat``: one row per region, the time that region last wrote while it was the writer; its age seen
from the other region is the replication lag. ``trades``: the trade orders of the serverless preset, keyed
by order id so a redelivered message cannot insert twice.
"""

from __future__ import annotations

from typing import Any

HEARTBEAT_TABLE = "drgen_heartbeat"
TRADES_TABLE = "trades"

HEARTBEAT_DDL = f"CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} (region text PRIMARY KEY, beat timestamptz NOT NULL)"
TRADES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TRADES_TABLE} ("
    "order_id text PRIMARY KEY, "
    "symbol text NOT NULL, "
    "side text NOT NULL CHECK (side IN ('buy', 'sell')), "
    "quantity numeric NOT NULL CHECK (quantity > 0), "
    "price numeric NOT NULL CHECK (price > 0), "
    "region text NOT NULL, "
    "received_at timestamptz NOT NULL DEFAULT now())"
)


def table_exists(connection: Any, table: str) -> bool:
    """Whether ``table`` exists (readers must not fail before the writer created it)."""
    rows = connection.run("SELECT to_regclass(:name) IS NOT NULL", name=table)
    return bool(rows[0][0])
