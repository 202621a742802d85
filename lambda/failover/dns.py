"""Failover step 4: move traffic to the DR region, first through the DR region itself, then through Route 53.

The PRIMARY failover record is gated by a calculated health check that also needs the DR region's
"failover engaged" alarm to be OK (drgen/builders/routing.py). Way one, which needs nothing outside the DR
region: publish FailoverEngaged (1 on failover, 0 on failback) to this region's CloudWatch and set the alarm's
state to match at once; the alarm keeps that state (it ignores missing data), and Route 53's health checkers,
which read the alarm here, turn the PRIMARY record unhealthy. Way two, the second chance: invert (or restore)
the record's health check through Route 53's control plane, which is served from us-east-1 and so may be
down with a us-east-1 primary. Its failure is reported in the result and logged, never raised: way one
already moved the traffic. The records are only read, to report whether the PRIMARY record really is gated
by that check.
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, logs, metrics
from drgen_common.failover import Request
from drgen_common.metrics import Metric
from drgen_common.retry import retry

FAILOVER_ENGAGED = "FailoverEngaged"


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    to_dr = not request.failback
    engaged = engage(
        aws.client("cloudwatch"),
        namespace=config.required("METRICS_NAMESPACE"),
        alarm_name=config.required("ENGAGED_ALARM_NAME"),
        to_dr=to_dr,
    )
    control = shift(
        aws.client("route53"),
        health_check_id=config.required("PRIMARY_HEALTH_CHECK_ID"),
        hosted_zone_id=config.required("HOSTED_ZONE_ID"),
        record_name=config.required("RECORD_NAME"),
        to_dr=to_dr,
    )
    return {"traffic_to": "dr" if to_dr else "primary", "data_plane": engaged, "control_plane": control}


def engage(cloudwatch: Any, *, namespace: str, alarm_name: str, to_dr: bool) -> dict[str, Any]:
    """Way one: the metric (the alarm's lasting input) and the alarm state (effective now). Raises on failure:
    without it the shift depends on us-east-1 alone."""
    value = 1.0 if to_dr else 0.0
    metrics.publish(cloudwatch, namespace, Metric(FAILOVER_ENGAGED, value))
    state = "ALARM" if to_dr else "OK"
    retry(
        cloudwatch.set_alarm_state,
        AlarmName=alarm_name,
        StateValue=state,
        StateReason=f"drgen failover step: {FAILOVER_ENGAGED}={value:g}",
    )
    result = {"alarm": alarm_name, "state": state, "metric": FAILOVER_ENGAGED, "value": value}
    logs.info("failover-engaged alarm set", **result)
    return result


def shift(route53: Any, *, health_check_id: str, hosted_zone_id: str, record_name: str, to_dr: bool) -> dict[str, Any]:
    """Way two: invert (to_dr) or restore the record's health check; an error is returned, not raised."""
    try:
        result = _invert(route53, health_check_id, to_dr)
        result["primary_record_gated"] = _primary_record_gated(route53, hosted_zone_id, record_name, health_check_id)
    except Exception as error:  # the control plane is the second way: its failure must not fail the failover
        failed = {"health_check_id": health_check_id, "ok": False, "error": f"{type(error).__name__}: {error}"}
        logs.warning("route 53 control plane unavailable: traffic moves through the engaged alarm", **failed)
        return failed
    if not result["primary_record_gated"]:
        logs.warning("the PRIMARY failover record does not use this health check: traffic may not move", **result)
    logs.info("health check inverted" if result["changed"] else "health check already so", **result)
    return result


def _invert(route53: Any, health_check_id: str, to_dr: bool) -> dict[str, Any]:
    check = retry(route53.get_health_check, HealthCheckId=health_check_id)["HealthCheck"]
    changed = bool(check["HealthCheckConfig"].get("Inverted", False)) != to_dr
    if changed:
        retry(
            route53.update_health_check,
            HealthCheckId=health_check_id,
            # Optimistic locking: fails instead of overwriting a concurrent change to the check.
            HealthCheckVersion=check["HealthCheckVersion"],
            Inverted=to_dr,
        )
    return {"health_check_id": health_check_id, "ok": True, "inverted": to_dr, "changed": changed}


def _primary_record_gated(route53: Any, hosted_zone_id: str, record_name: str, health_check_id: str) -> bool:
    """Whether the PRIMARY failover record of ``record_name`` uses ``health_check_id``."""
    wanted = record_name.rstrip(".").lower() + "."
    page = retry(
        route53.list_resource_record_sets,
        HostedZoneId=hosted_zone_id,
        StartRecordName=wanted,
        MaxItems="10",  # the failover pair (and its other types) sort together
    )
    return any(
        record["Name"].lower() == wanted
        and record.get("Failover") == "PRIMARY"
        and record.get("HealthCheckId") == health_check_id
        for record in page["ResourceRecordSets"]
    )
