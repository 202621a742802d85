"""``drgen readiness``: could the DR region take over right now? Every check says what it saw.

Checks: the global cluster has the DR cluster attached as a replica (and the writer elsewhere), the DR
region's replication lag is reported and under the scenario's threshold, the sessions table's DR replica is
active, every replicated bucket has its replication rule to the DR bucket, the DR compute can scale to active
capacity, both Route 53 health checks exist and Route 53 answers the PRIMARY record (no failover engaged), the
failover state machine is active, and the database secret is replicated to the DR region. ``armed`` runs the DR
region's readiness function, whose first pass arms the failover triggers. A check that cannot run
(missing resource, denied call) fails with the error, it never stops the others.

In a moto sandbox one check is relaxed, and says so: moto models no DynamoDB replicas, so the DR table
existing and active is the check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drgen.bundle.names import AUTO_SCALING_GROUP_NAME, ECS_CLUSTER_NAME, ECS_SERVICE_NAME
from drgen.deploy.session import Aws, error_text
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.lambda_functions import READINESS
from drgen.operate import lambdas, local
from drgen.operate.environment import Environment
from drgen.scenario.model import ComputeKind, Role

LAG_WINDOW_SECONDS = 300  # the lag monitor reports every minute; older data says nothing about now


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def check_all(aws: Aws, environment: Environment) -> list[Check]:
    """Every check, in a stable order."""
    checks: list[tuple[str, Callable[[Aws, Environment], tuple[bool, str]]]] = [
        ("global cluster", _global_cluster),
        ("replication lag", _lag),
        ("sessions table", _table),
        ("bucket replication", _buckets),
        ("DR compute", _compute),
        ("health checks", _health_checks),
        ("state machine", _state_machine),
        ("secret", _secret),
    ]
    return [_run(name, check, aws, environment) for name, check in checks]


def armed(aws: Aws, env: Environment, overrides: Mapping[str, str] | None = None) -> Check:
    """Run the DR region's readiness function now, the test whose first pass arms the failover triggers, and say
    whether they are armed. On AWS it is invoked; in a sandbox its handler runs here (moto runs no Lambda code),
    with ``overrides`` for what moto cannot serve (the health endpoint)."""

    def check(aws: Aws, env: Environment) -> tuple[bool, str]:
        result = _invoke_readiness(aws, env, overrides)
        control = lambdas.shared("control")
        since = control.armed(aws.client("dynamodb", env.dr), env.control_table)
        armed_at = since.get(contract.ARMED_AT, "?")
        if not result.get(contract.READY):
            checks = result.get(contract.CHECKS, [])
            failed = ", ".join(c[contract.CHECK_NAME] for c in checks if not c.get(contract.CHECK_OK)) or "see its log"
            state = f"armed since {armed_at}" if since else "NOT armed: the failover triggers stand down"
            return bool(since), f"the DR readiness function says not ready ({failed}); {state}"
        return bool(since), f"ready; failover triggers armed since {armed_at}"

    return _run("armed", check, aws, env)


def _invoke_readiness(aws: Aws, env: Environment, overrides: Mapping[str, str] | None) -> dict[str, Any]:
    if aws.sandbox:
        return dict(local.call(aws, env, READINESS, {}, overrides))
    response = aws.client("lambda", env.dr).invoke(FunctionName=env.function_name(READINESS.key), Payload=b"{}")
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise DrgenError(f"the DR readiness function failed: {payload.get('errorMessage', payload)}")
    return dict(payload)


def _run(name: str, check: Callable[[Aws, Environment], tuple[bool, str]], aws: Aws, env: Environment) -> Check:
    try:
        ok, detail = check(aws, env)
    except Exception as exc:  # a check that cannot run is a failed check, with what went wrong
        return Check(name, ok=False, detail=error_text(exc))
    return Check(name, ok, detail)


def _global_cluster(aws: Aws, env: Environment) -> tuple[bool, str]:
    failover = lambdas.shared("failover")
    cluster = failover.describe_global_cluster(aws.client("rds", env.dr), env.global_cluster_id)
    dr_arn, writer = env.cluster_arn(Role.SECONDARY), failover.writer_arn(cluster)
    attached = any(m["DBClusterArn"] == dr_arn for m in failover.members(cluster))
    if not attached:
        return False, f"{env.cluster_id(Role.SECONDARY)} is not a member of {env.global_cluster_id}"
    if not writer:
        return False, f"{env.global_cluster_id} has no writer (a failover is under way?)"
    if writer == dr_arn:
        return False, f"the DR cluster already writes: fail back first ({env.global_cluster_id})"
    return True, f"writer {writer.split(':')[3]}, DR replica {env.cluster_id(Role.SECONDARY)} attached"


def _lag(aws: Aws, env: Environment) -> tuple[bool, str]:
    metrics = lambdas.shared("metrics")
    lag = metrics.latest_maximum(
        aws.client("cloudwatch", env.dr), env.namespace, contract.REPLICATION_LAG, LAG_WINDOW_SECONDS
    )
    if lag is None:
        return False, f"no {contract.REPLICATION_LAG} in {env.dr} for {LAG_WINDOW_SECONDS} s"
    return lag <= env.lag_threshold, f"{lag:g} s in {env.dr} (threshold {env.lag_threshold:g} s)"


def _table(aws: Aws, env: Environment) -> tuple[bool, str]:
    if env.table_name is None:
        return True, "no sessions table in this scenario"
    replica = aws.client("dynamodb", env.dr).describe_table(TableName=env.table_name)["Table"]
    if replica["TableStatus"] != "ACTIVE":
        return False, f"{env.table_name} in {env.dr} is {replica['TableStatus']}"
    source = aws.client("dynamodb", env.primary).describe_table(TableName=env.table_name)["Table"]
    replicas = {r["RegionName"]: r.get("ReplicaStatus", "") for r in source.get("Replicas", [])}
    if not replicas and aws.sandbox:
        return True, f"{env.table_name} ACTIVE in {env.dr} (sandbox: moto models no replicas)"
    status = replicas.get(env.dr, "missing")
    return status == "ACTIVE", f"{env.table_name} replica in {env.dr}: {status}"


def _buckets(aws: Aws, env: Environment) -> tuple[bool, str]:
    pairs = env.replicated_buckets()
    if not pairs:
        return True, "no replicated buckets in this scenario"
    s3 = aws.client("s3", env.primary)
    missing = []
    for source, destination in pairs:
        try:
            rules = s3.get_bucket_replication(Bucket=source)["ReplicationConfiguration"]["Rules"]
        except Exception as exc:
            missing.append(f"{source}: {error_text(exc)}")
            continue
        if not any(
            r.get("Status") == "Enabled" and r["Destination"]["Bucket"].endswith(f":::{destination}") for r in rules
        ):
            missing.append(f"{source}: no enabled rule to {destination}")
    return not missing, "; ".join(missing) or f"{len(pairs)} bucket(s) replicate to {env.dr}"


def _compute(aws: Aws, env: Environment) -> tuple[bool, str]:
    wanted = env.scenario.compute.active_capacity
    kind = env.scenario.compute.kind
    if kind is ComputeKind.ECS:
        cluster, service = env.app_output(ECS_CLUSTER_NAME), env.app_output(ECS_SERVICE_NAME)
        found = aws.client("ecs", env.dr).describe_services(cluster=cluster, services=[service])["services"]
        if not found or found[0].get("status", "ACTIVE") != "ACTIVE":
            return False, f"ECS service {service} not active in {env.dr}"
        targets = aws.client("application-autoscaling", env.dr).describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{service}"]
        )["ScalableTargets"]
        ceiling = targets[0]["MaxCapacity"] if targets else None
        if ceiling is not None and ceiling < wanted:
            return False, f"scaling maximum {ceiling} is below the active capacity {wanted}"
        return True, f"{service}: {found[0]['desiredCount']} task(s) now, can scale to {wanted}"
    if kind is ComputeKind.ASG:
        group = env.app_output(AUTO_SCALING_GROUP_NAME)
        found = aws.client("autoscaling", env.dr).describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        if not found["AutoScalingGroups"]:
            return False, f"Auto Scaling group {group} not found in {env.dr}"
        size = found["AutoScalingGroups"][0]
        return size["MaxSize"] >= wanted, f"{group}: {size['DesiredCapacity']} now, maximum {size['MaxSize']}"
    return True, f"{kind.value}: nothing to scale (scales by itself, or no compute)"


def _health_checks(aws: Aws, env: Environment) -> tuple[bool, str]:
    route53 = aws.client("route53", "us-east-1")
    for role in (Role.PRIMARY, Role.SECONDARY):
        route53.get_health_check(HealthCheckId=env.health_check_id(role))
    record, target, why = dns_answer(aws, env)
    if record != "PRIMARY":
        return False, f"{env.record_name} answers {target}, the {record} record ({why}): a failover is engaged"
    return True, f"both regions' checks present; {env.record_name} -> {target} ({why})"


def dns_answer(aws: Aws, env: Environment) -> tuple[str, str, str]:
    """What Route 53 answers for the failover record now: which record, its target, and why. Judged exactly as
    the failover's validation step judges it (the checks' statuses combined by Route 53's rules); in a sandbox
    moto reports every checker successful, so only the gate's HealthThreshold moves the answer there."""
    route53 = aws.client("route53", "us-east-1")
    validate = lambdas.module("failover", "validate")
    record, why = validate.route53_answer(route53, env.hosted_zone_id, env.record_name)
    records = route53.list_resource_record_sets(
        HostedZoneId=env.hosted_zone_id, StartRecordName=env.record_name, MaxItems="10"
    )["ResourceRecordSets"]
    chosen = next(r for r in records if r["Name"].lower() == env.record_name.lower() and r.get("Failover") == record)
    target = chosen.get("AliasTarget", {}).get("DNSName") or chosen["ResourceRecords"][0]["Value"]
    return record, str(target).rstrip("."), why


def _state_machine(aws: Aws, env: Environment) -> tuple[bool, str]:
    machine = aws.client("stepfunctions", env.dr).describe_state_machine(stateMachineArn=env.state_machine_arn)
    status = machine.get("status", "ACTIVE")
    return status == "ACTIVE", f"{machine['name']}: {status}"


def _secret(aws: Aws, env: Environment) -> tuple[bool, str]:
    secret = aws.client("secretsmanager", env.primary).describe_secret(SecretId=env.secret_name)
    status = {r["Region"]: r.get("Status", "") for r in secret.get("ReplicationStatus", [])}.get(env.dr, "missing")
    if status == "InSync":
        aws.client("secretsmanager", env.dr).describe_secret(SecretId=env.secret_name)
    return status == "InSync", f"{env.secret_name} replica in {env.dr}: {status}"
