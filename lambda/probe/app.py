"""The DR region's own failover trigger: probe the primary's endpoint from here and publish what it saw.

Route 53 publishes its health-check metrics only in us-east-1, so an alarm on them is in the failed region
when the primary is us-east-1. This probe runs every minute in the DR region and makes the same check the
Route 53 health check makes: ``https://...`` targets are healthy on HTTP 2xx/3xx within the timeout and, when
SEARCH_STRING is set, with that string in the first 5,120 bytes of the body (Route 53's rule);
``tcp://host:port`` targets (database-only scenarios, whose Route 53 check reads the primary's connectivity
alarm) are healthy when the primary's database accepts a connection over the peering. It publishes
PrimaryEndpointHealthy (1 healthy, 0 not) to METRICS_NAMESPACE in this region; the template's alarm on it
starts the failover state machine. A failed probe never fails the invocation: the metric says it.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from drgen_common import aws, config, logs, metrics, probe
from drgen_common.metrics import Metric

PRIMARY_ENDPOINT_HEALTHY = "PrimaryEndpointHealthy"
SEARCH_LIMIT = 5120  # Route 53 searches only the first 5,120 bytes of the body
DEFAULT_TIMEOUT_SECONDS = 4.0  # Route 53 wants the connection within 4 seconds


def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return run(
        aws.client("cloudwatch"),
        namespace=config.required("METRICS_NAMESPACE"),
        target=config.required("PROBE_TARGET"),
        search_string=config.optional("SEARCH_STRING"),
        timeout=config.number("PROBE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
    )


def run(cloudwatch: Any, *, namespace: str, target: str, search_string: str, timeout: float) -> dict[str, Any]:
    """Probe ``target`` once and publish the outcome; returns what was seen."""
    started = time.monotonic()
    result = check(target, search_string, timeout)
    result["seconds"] = round(time.monotonic() - started, 3)
    metrics.publish(cloudwatch, namespace, Metric(PRIMARY_ENDPOINT_HEALTHY, 1.0 if result["healthy"] else 0.0))
    (logs.info if result["healthy"] else logs.warning)("primary probed", **result)
    return result


def check(target: str, search_string: str, timeout: float) -> dict[str, Any]:
    """Whether ``target`` passes the health check, and why not."""
    if target.startswith("tcp://"):
        return _tcp(target, timeout)
    answer = probe.get(target, timeout=timeout)
    if answer.status is None:
        return {"target": target, "healthy": False, "status": None, "reason": answer.error}
    if not 200 <= answer.status < 400:
        return {"target": target, "healthy": False, "status": answer.status, "reason": f"HTTP {answer.status}"}
    if search_string and search_string not in answer.body[:SEARCH_LIMIT]:
        reason = f"{search_string!r} not in the first {SEARCH_LIMIT} characters"
        return {"target": target, "healthy": False, "status": answer.status, "reason": reason}
    return {"target": target, "healthy": True, "status": answer.status, "reason": ""}


def _tcp(target: str, timeout: float) -> dict[str, Any]:
    """A TCP connection to ``tcp://host:port`` (the database accepts connections: it is up and reachable)."""
    parts = urlsplit(target)
    if not parts.hostname or parts.port is None:
        return {"target": target, "healthy": False, "status": None, "reason": "not a tcp://host:port target"}
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as error:
        return {"target": target, "healthy": False, "status": None, "reason": f"{type(error).__name__}: {error}"}
    return {"target": target, "healthy": True, "status": None, "reason": ""}
