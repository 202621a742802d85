"""Hourly failover-readiness test: could the DR region take over right now?

Checks: the health endpoint answers (HEALTH_URL), the global cluster has a replica in another region than its
writer, that replica's lag (ReplicationLagSeconds from the lag monitor, in the replica's region) is under
LAG_THRESHOLD_SECONDS, and the failover state machine exists. Publishes FailoverReadiness 1/0 and notifies
the alert topic when not ready. A failed check never fails the invocation: the result says what failed.

In the DR region (where CONTROL_TABLE is set) the first passing test arms the failover triggers: until then the
failover's guard stands every trigger down, because a fresh deploy's alarms pass through ALARM while they settle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drgen_common import aws, clock, config, control, logs, metrics, probe
from drgen_common.contract import (
    ALERT_TOPIC_ARN,
    CHECK_DETAIL,
    CHECK_NAME,
    CHECK_OK,
    CHECKS,
    CONTROL_TABLE,
    FAILOVER_READINESS,
    GLOBAL_CLUSTER_ID,
    HEALTH_URL,
    LAG_THRESHOLD_SECONDS,
    METRICS_NAMESPACE,
    READY,
    REPLICATION_LAG,
    STATE_MACHINE_ARN,
)
from drgen_common.failover import describe_global_cluster, members, writer_arn
from drgen_common.metrics import Metric
from drgen_common.notify import publish_best_effort
from drgen_common.retry import retry

LAG_WINDOW_SECONDS = 300

Check = dict[str, Any]


def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return readiness(
        aws.client,
        global_cluster_id=config.required(GLOBAL_CLUSTER_ID),
        health_url=config.optional(HEALTH_URL),
        state_machine_arn=config.required(STATE_MACHINE_ARN),
        lag_threshold=config.number(LAG_THRESHOLD_SECONDS),
        namespace=config.required(METRICS_NAMESPACE),
        topic_arn=config.required(ALERT_TOPIC_ARN),
        region=config.region(),
        control_table=config.optional(CONTROL_TABLE),
    )


def readiness(
    client: Callable[..., Any],
    *,
    global_cluster_id: str,
    health_url: str,
    state_machine_arn: str,
    lag_threshold: float,
    namespace: str,
    topic_arn: str,
    region: str,
    control_table: str = "",
) -> dict[str, Any]:
    """Run every check; ``client(service, region)`` builds the clients (some checks look at the other region)."""
    checks: list[Check] = []
    if health_url:
        answer = probe.get(health_url)
        checks.append({CHECK_NAME: "endpoint", CHECK_OK: answer.ok, CHECK_DETAIL: answer.describe()})
    standby = _run("standby", lambda: _standby(client("rds", region), global_cluster_id))
    replica_region = standby.pop("replica_region", "")
    checks.append(standby)
    checks.append(_run("replication lag", lambda: _lag(client, replica_region, namespace, lag_threshold)))
    checks.append(_run("state machine", lambda: _state_machine(client, state_machine_arn)))
    ready = all(check[CHECK_OK] for check in checks)
    metrics.publish(client("cloudwatch", region), namespace, Metric(FAILOVER_READINESS, 1.0 if ready else 0.0))
    armed = (
        ready
        and bool(control_table)
        and control.arm(client("dynamodb", region), control_table, clock.utcnow().isoformat(), "readiness")
    )
    if armed:
        logs.info("failover triggers armed: the first readiness test passed", region=region)
    if not ready:
        failed = ", ".join(check[CHECK_NAME] for check in checks if not check[CHECK_OK])
        subject = f"drgen: failover not ready in {region} ({failed})"
        publish_best_effort(client("sns", region), topic_arn, subject, {"region": region, CHECKS: checks})
    logs.info("readiness", ready=ready, checks=checks)
    return {READY: ready, CHECKS: checks, "armed_now": armed}


def _run(name: str, check: Callable[[], Check]) -> Check:
    """A check's result; an exception (missing resource, denied call) is a failed check, not a failed test."""
    try:
        return {CHECK_NAME: name, **check()}
    except Exception as error:
        return {CHECK_NAME: name, CHECK_OK: False, CHECK_DETAIL: f"{type(error).__name__}: {error}"}


def _standby(rds: Any, global_cluster_id: str) -> Check:
    """The global cluster has one writer and a replica in another region (somewhere to fail over to)."""
    cluster = describe_global_cluster(rds, global_cluster_id)
    writer = writer_arn(cluster)
    if not writer:
        return {CHECK_OK: False, CHECK_DETAIL: "the global cluster has no writer (a failover is under way?)"}
    writer_region = aws.arn_region(writer)
    replicas = [m["DBClusterArn"] for m in members(cluster) if aws.arn_region(m["DBClusterArn"]) != writer_region]
    if not replicas:
        return {CHECK_OK: False, CHECK_DETAIL: f"no replica outside the writer's region {writer_region}"}
    return {
        CHECK_OK: True,
        CHECK_DETAIL: f"writer {writer}, replica {replicas[0]}",
        "replica_region": aws.arn_region(replicas[0]),
    }


def _lag(client: Callable[..., Any], replica_region: str, namespace: str, threshold: float) -> Check:
    """The replica region's latest ReplicationLagSeconds is reported and under the threshold."""
    if not replica_region:
        return {CHECK_OK: False, CHECK_DETAIL: "no replica to measure"}
    lag = metrics.latest_maximum(client("cloudwatch", replica_region), namespace, REPLICATION_LAG, LAG_WINDOW_SECONDS)
    if lag is None:
        return {CHECK_OK: False, CHECK_DETAIL: f"no {REPLICATION_LAG} in {replica_region} for {LAG_WINDOW_SECONDS} s"}
    return {CHECK_OK: lag <= threshold, CHECK_DETAIL: f"{lag:g} s in {replica_region} (threshold {threshold:g} s)"}


def _state_machine(client: Callable[..., Any], arn: str) -> Check:
    """The failover state machine exists and is active (it lives in the DR region)."""
    machine = retry(client("stepfunctions", aws.arn_region(arn)).describe_state_machine, stateMachineArn=arn)
    status = machine.get("status", "ACTIVE")
    return {CHECK_OK: status == "ACTIVE", CHECK_DETAIL: f"{machine['name']}: {status}"}
