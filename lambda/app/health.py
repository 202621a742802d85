"""The application's health endpoint, behind an ALB (Lambda target) or API Gateway (proxy integration).

Healthy means the application can use its database: it answers 200 with ``"status":"ok"`` (the string Route 53's
HTTPS_STR_MATCH check looks for) and what it read: the database clock, whether this region's cluster is the
writer, each region's latest heartbeat and the trades stored so far. When the database does not answer it
returns 503, quickly (a short connect timeout), so health checks see a failure rather than a timeout.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from drgen_common import aws, config, db, logs
from drgen_common.contract import HEALTH_DATABASE, HEALTH_OK, HEALTH_STATUS, HEALTH_WRITER
from drgen_common.schema import HEARTBEAT_TABLE, TRADES_TABLE, table_exists

CONNECT_TIMEOUT_SECONDS = 2.0  # Route 53 gives an endpoint 4 s to connect and 2 s more to answer


def _connect() -> Any:
    return db.connect(db.configured_target(aws.client("secretsmanager")), timeout=CONNECT_TIMEOUT_SECONDS)


CONNECTIONS = db.ConnectionCache(_connect)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return health(event, CONNECTIONS, region=config.region())


def health(event: dict[str, Any], connections: db.ConnectionCache, *, region: str) -> dict[str, Any]:
    """200 with the data read, or 503 with the reason; shaped for the event's source (ALB or API Gateway)."""
    try:
        data = connections.run(snapshot)
    except Exception as error:
        logs.error("health check failed: database unavailable", error=f"{type(error).__name__}: {error}")
        return respond(event, HTTPStatus.SERVICE_UNAVAILABLE, {HEALTH_STATUS: "unavailable", "region": region})
    return respond(event, HTTPStatus.OK, {HEALTH_STATUS: HEALTH_OK, "region": region, HEALTH_DATABASE: data})


def snapshot(connection: Any) -> dict[str, Any]:
    """What the database says right now (real rows, not a constant)."""
    now, read_only = connection.run("SELECT now(), current_setting('transaction_read_only') = 'on'")[0]
    data: dict[str, Any] = {"time": now.isoformat(), HEALTH_WRITER: not read_only, "heartbeats": {}, "trades": None}
    if table_exists(connection, HEARTBEAT_TABLE):
        rows = connection.run(f"SELECT region, beat FROM {HEARTBEAT_TABLE} ORDER BY region")
        data["heartbeats"] = {region: beat.isoformat() for region, beat in rows}
    if table_exists(connection, TRADES_TABLE):
        count, latest = connection.run(f"SELECT count(*), max(received_at) FROM {TRADES_TABLE}")[0]
        data["trades"] = {"count": count, "latest": latest.isoformat() if latest else None}
    return data


def respond(event: dict[str, Any], status: HTTPStatus, payload: dict[str, Any]) -> dict[str, Any]:
    """A proxy response; ALB also wants a status description. Compact JSON keeps HEALTH_OK_BODY literal."""
    response: dict[str, Any] = {
        "statusCode": int(status),
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(payload, separators=(",", ":")),
        "isBase64Encoded": False,
    }
    if "elb" in (event.get("requestContext") or {}):
        response["statusDescription"] = f"{int(status)} {status.phrase}"
    return response
