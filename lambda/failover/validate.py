"""Failover step: check the outcome against what AWS says, not against what the earlier steps reported.

- ``writer``: the global cluster's writer is the target cluster (RDS).
- ``endpoint``: the target region's health endpoint answers 200 with a body and, where the body says whether
  its database is the writer (``"writer": true``, the health function's contract), says so.
- ``dns``: which failover record Route 53 answers. From Route 53 itself when its API answers: the records of
  RECORD_NAME, the health checks gating them (GetHealthCheck) and what its checkers report
  (GetHealthCheckStatus), combined by Route 53's documented rules (``drgen_common.route53_rules``). When the
  API does not answer (it is served from us-east-1), from the data plane: the record name must resolve to the
  addresses of the target region's endpoint.

Never raises for a failed check: it returns ``{"valid": false, "checks": [...]}``, and the state machine waits
and validates again, a bounded number of times, before it reports a failed failover. Each check says what it saw.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

from drgen_common import aws, config, logs, probe
from drgen_common import route53_rules as rules
from drgen_common.contract import (
    CHECK_DETAIL,
    CHECK_NAME,
    CHECK_OK,
    CHECKS,
    DR_CLUSTER_ARN,
    DR_ENDPOINT,
    GLOBAL_CLUSTER_ID,
    HEALTH_DATABASE,
    HEALTH_URL,
    HEALTH_WRITER,
    HOSTED_ZONE_ID,
    PRIMARY_ENDPOINT,
    PRIMARY_HEALTH_URL,
    RECORD_NAME,
    VALID,
)
from drgen_common.failover import Request, describe_global_cluster, is_promoted, target_cluster, writer_arn
from drgen_common.retry import retry

Resolve = Callable[[str], set[str]]


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    failback = request.failback
    return validate(
        request,
        rds=aws.client("rds"),
        route53=aws.client("route53"),
        global_cluster_id=config.required(GLOBAL_CLUSTER_ID),
        dr_cluster_arn=config.required(DR_CLUSTER_ARN),
        health_url=config.optional(PRIMARY_HEALTH_URL if failback else HEALTH_URL),
        hosted_zone_id=config.required(HOSTED_ZONE_ID),
        record_name=config.required(RECORD_NAME),
        endpoint=config.optional(PRIMARY_ENDPOINT if failback else DR_ENDPOINT),
    )


def validate(
    request: Request,
    *,
    rds: Any,
    route53: Any,
    global_cluster_id: str,
    dr_cluster_arn: str,
    health_url: str,
    hosted_zone_id: str,
    record_name: str,
    endpoint: str,
    resolve: Resolve | None = None,
) -> dict[str, Any]:
    """Every check; ``valid`` when all pass."""
    checks = [writer_check(request, rds, global_cluster_id, dr_cluster_arn)]
    if health_url:
        checks.append(endpoint_check(health_url))
    wanted = rules.PRIMARY if request.failback else rules.SECONDARY
    checks.append(dns_check(route53, hosted_zone_id, record_name, wanted, endpoint, resolve or addresses))
    result = {VALID: all(check[CHECK_OK] for check in checks), CHECKS: checks}
    logs.info("validated", mode=request.mode, **result)
    return result


def writer_check(request: Request, rds: Any, global_cluster_id: str, dr_cluster_arn: str) -> dict[str, Any]:
    try:
        cluster = describe_global_cluster(rds, global_cluster_id)
        target = target_cluster(cluster, dr_cluster_arn, request)
    except Exception as error:  # the check fails; the Choice state decides what happens next
        return _check("writer", False, f"{type(error).__name__}: {error}")
    writer = writer_arn(cluster) or "none"
    return _check("writer", is_promoted(cluster, target), f"writer {writer}, wanted {target}")


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    """One check's result, as drgen reports it (``drgen failover``) and the notice carries it."""
    return {CHECK_NAME: name, CHECK_OK: ok, CHECK_DETAIL: detail}


def endpoint_check(url: str) -> dict[str, Any]:
    """200 with a body; a body that reports its database's role must report the writer."""
    answer = probe.get(url)
    detail = answer.describe()
    if not answer.ok:
        return _check("endpoint", False, detail)
    writer = database_is_writer(answer.body)
    if writer is False:
        return _check("endpoint", False, f"{detail}; its database is not the writer yet")
    return _check("endpoint", True, detail + ("; database is the writer" if writer else ""))


def database_is_writer(body: str) -> bool | None:
    """``database.writer`` of a JSON health body (lambda/app/health.py); None when the body does not say."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    database = document.get(HEALTH_DATABASE) if isinstance(document, dict) else None
    writer = database.get(HEALTH_WRITER) if isinstance(database, dict) else None
    return writer if isinstance(writer, bool) else None


def dns_check(
    route53: Any, zone_id: str, record_name: str, wanted: str, endpoint: str, resolve: Resolve
) -> dict[str, Any]:
    """Route 53's answer by its own view when the API answers, else by resolving the name."""
    try:
        answer, why = route53_answer(route53, zone_id, record_name)
    except Exception as error:  # the control plane may be down with us-east-1: ask the data plane instead
        return _resolved(record_name, wanted, endpoint, resolve, f"Route 53 API: {type(error).__name__}: {error}")
    return _check("dns", answer == wanted, f"Route 53 answers {answer} (wanted {wanted}): {why}")


def route53_answer(route53: Any, zone_id: str, record_name: str) -> tuple[str, str]:
    """The failover record Route 53 answers now, and the health it chose from."""
    name = record_name.rstrip(".").lower() + "."
    page = retry(route53.list_resource_record_sets, HostedZoneId=zone_id, StartRecordName=name, MaxItems="10")
    pair = {r["Failover"]: r for r in page["ResourceRecordSets"] if r["Name"].lower() == name and r.get("Failover")}
    if set(pair) != {rules.PRIMARY, rules.SECONDARY}:
        raise LookupError(f"no PRIMARY/SECONDARY failover records named {name}")
    health = {role: _check_healthy(route53, record.get("HealthCheckId")) for role, record in pair.items()}
    healthy = {role: rules.record_healthy(status) for role, status in health.items()}
    answer = rules.failover_answer(healthy[rules.PRIMARY], healthy[rules.SECONDARY])
    return answer, ", ".join(f"{role} {'healthy' if ok else 'unhealthy'}" for role, ok in sorted(healthy.items()))


def _check_healthy(route53: Any, check_id: str | None) -> bool | None:
    """A check's reported status: a CALCULATED one from its children (Route 53 gives no status for it)."""
    if not check_id:
        return None
    config_ = retry(route53.get_health_check, HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
    flags = {"inverted": bool(config_.get("Inverted", False)), "disabled": bool(config_.get("Disabled", False))}
    if config_.get("Type") == "CALCULATED":
        children = [bool(_check_healthy(route53, child)) for child in config_.get("ChildHealthChecks", [])]
        return rules.reported(rules.calculated_healthy(children, int(config_.get("HealthThreshold", 0))), **flags)
    observations = retry(route53.get_health_check_status, HealthCheckId=check_id)["HealthCheckObservations"]
    status = rules.checkers_healthy(o.get("StatusReport", {}).get("Status", "") for o in observations)
    if status is None:
        raise LookupError(f"no checker reports for health check {check_id} yet")
    return rules.reported(status, **flags)


def addresses(name: str) -> set[str]:
    """The addresses a name resolves to here (the resolver's cache included, as any client's)."""
    return {info[4][0] for info in socket.getaddrinfo(name.rstrip("."), 443, proto=socket.IPPROTO_TCP)}


def _resolved(record_name: str, wanted: str, endpoint: str, resolve: Resolve, why: str) -> dict[str, Any]:
    if not endpoint:
        return _check("dns", False, f"{why}; no {wanted} endpoint to compare the name with")
    try:
        answered, expected = resolve(record_name), resolve(endpoint)
    except OSError as error:
        return _check("dns", False, f"{why}; resolving failed: {error}")
    ok = bool(answered & expected)
    verdict = "resolves to" if ok else "does not resolve to"
    return _check("dns", ok, f"{why}; {record_name} {verdict} the {wanted} endpoint {endpoint}")
