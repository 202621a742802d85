"""Failover step 4: move traffic to the DR region by forcing the primary's Route 53 health check unhealthy.

Inverting the health check the PRIMARY failover record uses makes Route 53's data plane (global, unaffected
by the primary region) answer with the SECONDARY record; no record is rewritten, so the shift works even when
the record-change API is slow. A failback reverts the inversion. The records themselves are only read, to
report whether the PRIMARY record really is gated by that check (otherwise inverting it moves nothing).
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, logs
from drgen_common.failover import Request
from drgen_common.retry import retry


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    return shift(
        aws.client("route53"),
        health_check_id=config.required("PRIMARY_HEALTH_CHECK_ID"),
        hosted_zone_id=config.required("HOSTED_ZONE_ID"),
        record_name=config.required("RECORD_NAME"),
        to_dr=not request.failback,
    )


def shift(route53: Any, *, health_check_id: str, hosted_zone_id: str, record_name: str, to_dr: bool) -> dict[str, Any]:
    """Invert (to_dr) or restore the primary's health check; a no-op when it is already so."""
    check = retry(route53.get_health_check, HealthCheckId=health_check_id)["HealthCheck"]
    inverted = bool(check["HealthCheckConfig"].get("Inverted", False))
    changed = inverted != to_dr
    if changed:
        retry(
            route53.update_health_check,
            HealthCheckId=health_check_id,
            # Optimistic locking: fails instead of overwriting a concurrent change to the check.
            HealthCheckVersion=check["HealthCheckVersion"],
            Inverted=to_dr,
        )
    result = {
        "health_check_id": health_check_id,
        "inverted": to_dr,
        "changed": changed,
        "primary_record_gated": _primary_record_gated(route53, hosted_zone_id, record_name, health_check_id),
        "traffic_to": "dr" if to_dr else "primary",
    }
    if not result["primary_record_gated"]:
        logs.warning("the PRIMARY failover record does not use this health check: traffic may not move", **result)
    logs.info("dns shifted" if changed else "dns already shifted", **result)
    return result


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
