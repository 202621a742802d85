"""Failover step: move traffic to the DR region (or back), first from the DR region itself, then through Route 53.

The PRIMARY failover record is gated by a CALCULATED health check: the primary's own check AND the
failover-engaged check, a CLOUDWATCH_METRIC check on the DR region's FailoverEngaged alarm (drgen's
routing.py). Route 53 follows that alarm's data stream, not its state ("you can't force the status of a
health check by using SetAlarmState"), so:

Way one, needing nothing outside the DR region: record where traffic goes in the control table, then publish
FailoverEngaged (1 to the DR region, 0 back) at once. The engaged signal (engaged.py) republishes the recorded
value every minute for as long as it stands, so the stream never runs dry; if it ever does, the check keeps
its last known status. Raises on failure: without it the shift would depend on us-east-1 alone.

Way two, through Route 53's control plane (served from us-east-1, so possibly down with a us-east-1 primary):
raise the gating check's HealthThreshold above its number of children, which no set of children can meet (the
check is unhealthy whatever they say), and restore it on a failback. Never ``Inverted``: NOT(primary AND not
engaged) is healthy exactly when the primary is down. Its failure is reported in the result, never raised.
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, clock, config, control, logs, metrics
from drgen_common.contract import (
    CONTROL_TABLE,
    FAILOVER_ENGAGED,
    METRICS_NAMESPACE,
    PRIMARY_HEALTH_CHECK_ID,
    TRAFFIC_DR,
    TRAFFIC_PRIMARY,
)
from drgen_common.failover import Request
from drgen_common.metrics import Metric
from drgen_common.retry import retry


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    to_dr = not request.failback
    engaged = engage(
        aws.client("dynamodb"),
        aws.client("cloudwatch"),
        table=config.required(CONTROL_TABLE),
        namespace=config.required(METRICS_NAMESPACE),
        execution=request.execution_id,
        to_dr=to_dr,
    )
    gate = shift(aws.client("route53"), health_check_id=config.required(PRIMARY_HEALTH_CHECK_ID), to_dr=to_dr)
    return {"traffic_to": TRAFFIC_DR if to_dr else TRAFFIC_PRIMARY, "data_plane": engaged, "control_plane": gate}


def engaged_value(to_dr: bool) -> float:
    return 1.0 if to_dr else 0.0


def engage(
    dynamodb: Any, cloudwatch: Any, *, table: str, namespace: str, execution: str, to_dr: bool
) -> dict[str, Any]:
    """Way one: where traffic goes, recorded (what the engaged signal republishes) and published now."""
    to = TRAFFIC_DR if to_dr else TRAFFIC_PRIMARY
    control.set_traffic(dynamodb, table, to, execution, clock.utcnow().isoformat())
    metrics.publish(cloudwatch, namespace, Metric(FAILOVER_ENGAGED, engaged_value(to_dr)))
    result = {"traffic_to": to, "metric": FAILOVER_ENGAGED, "value": engaged_value(to_dr)}
    logs.info("traffic recorded and engaged signal published", **result)
    return result


def gate_threshold(children: int, to_dr: bool) -> int:
    """The HealthThreshold that closes the gate (more than its children: always unhealthy) or opens it (all of
    them: healthy while every child is)."""
    return children + 1 if to_dr else children


def shift(route53: Any, *, health_check_id: str, to_dr: bool) -> dict[str, Any]:
    """Way two: close (to_dr) or reopen the gate's threshold; an error is returned, not raised."""
    try:
        check = retry(route53.get_health_check, HealthCheckId=health_check_id)["HealthCheck"]
        config_ = check["HealthCheckConfig"]
        if config_.get("Type") != "CALCULATED":
            raise ValueError(f"{health_check_id} is a {config_.get('Type')} check, not the CALCULATED gate")
        children = list(config_.get("ChildHealthChecks", []))
        wanted = gate_threshold(len(children), to_dr)
        # someone inverted or disabled the gate (a disabled check is always healthy): undo it
        repairs = {flag: False for flag in ("Inverted", "Disabled") if config_.get(flag)}
        changed = int(config_.get("HealthThreshold", 0)) != wanted or bool(repairs)
        if changed:
            retry(
                route53.update_health_check,
                HealthCheckId=health_check_id,
                # Optimistic locking: fails instead of overwriting a concurrent change to the check.
                HealthCheckVersion=check["HealthCheckVersion"],
                HealthThreshold=wanted,
                ChildHealthChecks=children,  # unchanged; named so that no implementation may take it as emptied
                **repairs,
            )
    except Exception as error:  # the control plane is the second way: its failure must not fail the failover
        failed = {"health_check_id": health_check_id, "ok": False, "error": f"{type(error).__name__}: {error}"}
        logs.warning("route 53 control plane unavailable: traffic moves through the engaged signal", **failed)
        return failed
    result = {"health_check_id": health_check_id, "ok": True, "health_threshold": wanted, "changed": changed}
    logs.info("gate threshold set" if changed else "gate threshold already so", **result)
    return result
