"""Failover step 5: check the outcome. The target cluster writes, and the endpoint answers with a body.

Never raises for a failed check: it returns ``{"valid": false, "checks": [...]}`` and the state machine's
Choice decides (retry the wait, or notify a failed failover). Each check says what it saw.
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, logs, probe
from drgen_common.failover import Request, describe_global_cluster, is_promoted, target_cluster, writer_arn


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    return validate(
        request,
        rds=aws.client("rds"),
        global_cluster_id=config.required("GLOBAL_CLUSTER_ID"),
        dr_cluster_arn=config.required("DR_CLUSTER_ARN"),
        health_url=config.optional("HEALTH_URL"),
    )


def validate(
    request: Request, *, rds: Any, global_cluster_id: str, dr_cluster_arn: str, health_url: str
) -> dict[str, Any]:
    """The writer check, then the endpoint check when a HEALTH_URL is configured."""
    checks = [writer_check(request, rds, global_cluster_id, dr_cluster_arn)]
    if health_url:
        checks.append(endpoint_check(health_url))
    result = {"valid": all(check["ok"] for check in checks), "checks": checks}
    logs.info("validated", mode=request.mode, **result)
    return result


def writer_check(request: Request, rds: Any, global_cluster_id: str, dr_cluster_arn: str) -> dict[str, Any]:
    try:
        cluster = describe_global_cluster(rds, global_cluster_id)
        target = target_cluster(cluster, dr_cluster_arn, request)
    except Exception as error:  # the check fails; the Choice state decides what happens next
        return {"name": "writer", "ok": False, "detail": f"{type(error).__name__}: {error}"}
    writer = writer_arn(cluster) or "none"
    return {"name": "writer", "ok": is_promoted(cluster, target), "detail": f"writer {writer}, wanted {target}"}


def endpoint_check(url: str) -> dict[str, Any]:
    answer = probe.get(url)
    return {"name": "endpoint", "ok": answer.ok, "detail": answer.describe()}
