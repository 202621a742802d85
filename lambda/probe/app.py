"""The DR region's own failover trigger: probe the primary's endpoint from here and publish what it saw.

Route 53 publishes its health-check metrics only in us-east-1, so an alarm on them is in the failed region
when the primary is us-east-1. This probe runs in the DR region, SAMPLES times SAMPLE_INTERVAL_SECONDS apart in
each invocation of its one-minute schedule (every 10 s with the defaults), and makes the same check the Route 53
health check makes: ``https://...`` targets are healthy on HTTP 2xx/3xx within the timeout and, when
SEARCH_STRING is set, with that string in the first 5,120 bytes of the body (Route 53's rule);
``tcp://host:port`` targets (database-only scenarios, whose Route 53 check reads the primary's connectivity
alarm) are healthy when the primary's database accepts a connection over the peering. It publishes
PrimaryEndpointHealthy (1 healthy, 0 not) to METRICS_NAMESPACE in this region as a high-resolution datapoint;
the template's alarm on it (10-second periods) starts the failover state machine and is one of the signals the
failover's confirm step reads. A failed probe never fails the invocation: the metric says it.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from drgen_common import aws, config, logs, metrics, probe
from drgen_common.contract import (
    METRICS_NAMESPACE,
    PRIMARY_ENDPOINT_HEALTHY,
    PROBE_TARGET,
    PROBE_TIMEOUT_SECONDS,
    SAMPLE_INTERVAL_SECONDS,
    SAMPLES,
    SEARCH_STRING,
    TCP_SCHEME,
)
from drgen_common.metrics import Metric

SEARCH_LIMIT = 5120  # Route 53 searches only the first 5,120 bytes of the body
DEFAULT_TIMEOUT_SECONDS = 4.0  # Route 53 wants the connection within 4 seconds
# CloudWatch stores datapoints published with StorageResolution 1 at one-second resolution; only those can feed an
# alarm with a 10-second period (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
# AlarmThatSendsEmail.html#high-resolution-alarms).
HIGH_RESOLUTION = 1
MARGIN_SECONDS = 2.0


def handler(_event: dict[str, Any], context: Any) -> dict[str, Any]:
    cloudwatch = aws.client("cloudwatch")
    timeout = config.number(PROBE_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = remaining() / 1000 - MARGIN_SECONDS - timeout if remaining else math.inf

    def probe() -> dict[str, Any]:
        return run(
            cloudwatch,
            namespace=config.required(METRICS_NAMESPACE),
            target=config.required(PROBE_TARGET),
            search_string=config.optional(SEARCH_STRING),
            timeout=timeout,
        )

    return sampled(probe, config.integer(SAMPLES, 1), config.number(SAMPLE_INTERVAL_SECONDS, 10.0), budget)


def sampled(
    probe: Callable[[], dict[str, Any]],
    samples: int,
    interval: float,
    budget: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """``samples`` probes ``interval`` seconds apart (EventBridge runs the function once a minute; the alarm
    looks at 10-second periods), as many as fit in ``budget`` seconds; the last result, and every verdict."""
    started = clock()
    verdicts: list[bool] = []
    result: dict[str, Any] = {}
    for index in range(max(1, samples)):
        due = started + index * interval
        if index and due - started > budget:
            break
        if due > clock():
            sleep(due - clock())
        result = probe()
        verdicts.append(bool(result["healthy"]))
    return {**result, "samples": verdicts}


def run(cloudwatch: Any, *, namespace: str, target: str, search_string: str, timeout: float) -> dict[str, Any]:
    """Probe ``target`` once and publish the outcome as a high-resolution datapoint; returns what was seen."""
    started = time.monotonic()
    result = check(target, search_string, timeout)
    result["seconds"] = round(time.monotonic() - started, 3)
    value = 1.0 if result["healthy"] else 0.0
    metrics.publish(cloudwatch, namespace, Metric(PRIMARY_ENDPOINT_HEALTHY, value, resolution=HIGH_RESOLUTION))
    (logs.info if result["healthy"] else logs.warning)("primary probed", **result)
    return result


def check(target: str, search_string: str, timeout: float) -> dict[str, Any]:
    """Whether ``target`` passes the health check, and why not."""
    if target.startswith(TCP_SCHEME):
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
        return {"target": target, "healthy": False, "status": None, "reason": f"not a {TCP_SCHEME}host:port target"}
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as error:
        return {"target": target, "healthy": False, "status": None, "reason": f"{type(error).__name__}: {error}"}
    return {"target": target, "healthy": True, "status": None, "reason": ""}
