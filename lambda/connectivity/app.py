"""Connectivity test: connect to this region's cluster, run ``SELECT 1``, publish DatabaseConnectivity.

1 when the database answered, 0 when it did not (the error is logged). A failed connection never fails the
invocation: the metric is the signal, and the DatabaseConnectivity alarm (which Route 53's health check
watches in the connectivity scenario) fires on 0 or on silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from drgen_common import aws, config, db, logs, metrics
from drgen_common.contract import DATABASE_CONNECTIVITY, METRICS_NAMESPACE
from drgen_common.metrics import Metric


def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    secrets = aws.client("secretsmanager")
    cloudwatch = aws.client("cloudwatch")
    namespace = config.required(METRICS_NAMESPACE)

    def connect() -> Any:
        return db.connect(db.configured_target(secrets))

    return check(connect, publish=lambda *values: metrics.publish(cloudwatch, namespace, *values))


def check(connect: Callable[[], Any], *, publish: Callable[..., None]) -> dict[str, Any]:
    """Try the round trip; publish 1 or 0 and return what happened."""
    started = time.monotonic()
    try:
        connection = connect()
        try:
            answer = connection.run("SELECT 1")[0][0]
        finally:
            connection.close()
        connected, error = answer == 1, ""
    except Exception as failure:  # any failure, from the secret to the query, means "not connected"
        connected, error = False, f"{type(failure).__name__}: {failure}"
    milliseconds = round((time.monotonic() - started) * 1000, 1)
    publish(Metric(DATABASE_CONNECTIVITY, 1.0 if connected else 0.0))
    if connected:
        logs.info("database answered", latency_ms=milliseconds)
    else:
        logs.error("database connectivity failed", error=error, latency_ms=milliseconds)
    return {"connected": connected, "latency_ms": milliseconds, "error": error}
