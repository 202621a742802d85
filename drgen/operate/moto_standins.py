"""What a moto sandbox cannot build from the templates, created through the service APIs; and the one stand-in.

moto's CloudFormation skips (see drgen/deploy/moto_templates.py) the Aurora global cluster and its clusters, the
DynamoDB global table, the Secrets Manager secret, CloudWatch alarms, SNS subscriptions and Application Auto
Scaling, and drops S3 versioning and replication. ``provision`` creates those the operations look at, with the
names the templates give them, through the APIs moto does implement:

- the Aurora global cluster, the primary cluster (writer) and the DR cluster joined to it (or left out of it);
- the database secret in the primary region, replicated to the DR region;
- the sessions table and the order ledger in each region (moto has no global tables: plain tables, no
  replication);
- versioning on both sides and the replication rule on each primary bucket;
- the DR ECS service's scalable target (standby minimum, maximum capacity);
- every alarm of the templates, by name (the confirm step reads the failure alarms' states; alarms never evaluate);
- the CALCULATED health checks' children and threshold (moto's CloudFormation drops them);
- the DR alert topic's subscription to the alert inbox queue (SNS -> SQS delivers in moto);
- one ReplicationLagSeconds sample where the lag monitor (which needs a real database) would publish it.

``promotion_standin`` replaces FailoverGlobalCluster and SwitchoverGlobalCluster, which moto does not
implement, by a server-side patch that makes the target member the writer at once. It is narrow on purpose:
those two operations only, only in a moto server running in this process, and real Aurora takes minutes and
shows a FailoverState meanwhile (the promotion-status polling is exercised with real describe results only).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import LayerName
from drgen.bundle.names import ALERT_INBOX_QUEUE_ARN, ECS_CLUSTER_NAME, ECS_SERVICE_NAME, SESSION_PARTITION_KEY
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.session import Aws
from drgen.lambda_code import contract
from drgen.operate.environment import Environment
from drgen.route53_model import literal_name
from drgen.scenario.model import ComputeKind, Role

ENGINE = "aurora-postgresql"
SANDBOX_PASSWORD = "sandbox-only-not-a-secret"  # moto stores it; nothing listens
ECS_DIMENSION = "ecs:service:DesiredCount"


def provisioned(aws: Aws, environment: Environment) -> bool:
    """Whether ``provision`` already ran for this deployment (its first step creates the global cluster, which
    every member Region lists: asked in the DR region, so an operation that reads only the DR region's stacks can
    tell)."""
    found = aws.client("rds", environment.dr).describe_global_clusters()["GlobalClusters"]
    return any(c["GlobalClusterIdentifier"] == environment.global_cluster_id for c in found)


def provision(
    aws: Aws,
    environment: Environment,
    bundle: RenderedBundle,
    *,
    attach_secondary: bool = True,
    lag_seconds: float = 1.0,
) -> list[str]:
    """Create what the operations need and moto's CloudFormation skipped; returns one line per thing created."""
    made: list[str] = []
    steps: list[Callable[[Aws, Environment], str | None]] = [
        lambda a, e: _aurora(a, e, attach_secondary),
        _secret,
        _tables,
        _bucket_replication,
        _scalable_target,
        lambda a, e: _alarms(a, e, bundle),
        lambda a, e: _calculated_checks(a, e, bundle),
        _alert_subscription,
        lambda a, e: publish_lag(a, e, e.dr, lag_seconds),
    ]
    for step in steps:
        line = step(aws, environment)
        if line:
            made.append(line)
    return made


def _aurora(aws: Aws, environment: Environment, attach_secondary: bool) -> str:
    database = environment.scenario.database
    rds = aws.client("rds", environment.primary)
    rds.create_global_cluster(
        GlobalClusterIdentifier=environment.global_cluster_id, Engine=ENGINE, EngineVersion=database.engine_version
    )
    common = {"Engine": ENGINE, "EngineVersion": database.engine_version, "DatabaseName": database.database_name}
    rds.create_db_cluster(
        DBClusterIdentifier=environment.cluster_id(Role.PRIMARY),
        GlobalClusterIdentifier=environment.global_cluster_id,
        MasterUsername=database.master_username,
        MasterUserPassword=SANDBOX_PASSWORD,
        **common,
    )
    secondary: dict[str, Any] = (
        {"GlobalClusterIdentifier": environment.global_cluster_id}
        if attach_secondary
        else {"MasterUsername": database.master_username, "MasterUserPassword": SANDBOX_PASSWORD}
    )
    aws.client("rds", environment.dr).create_db_cluster(
        DBClusterIdentifier=environment.cluster_id(Role.SECONDARY), **common, **secondary
    )
    joined = "joined to it" if attach_secondary else "NOT joined to it"
    return (
        f"Aurora global cluster {environment.global_cluster_id}: writer in {environment.primary}, DR cluster {joined}"
    )


def _secret(aws: Aws, environment: Environment) -> str:
    value = {"username": environment.scenario.database.master_username, "password": SANDBOX_PASSWORD}
    aws.client("secretsmanager", environment.primary).create_secret(
        Name=environment.secret_name, SecretString=json.dumps(value), AddReplicaRegions=[{"Region": environment.dr}]
    )
    return f"secret {environment.secret_name} in {environment.primary}, replicated to {environment.dr}"


def _tables(aws: Aws, environment: Environment) -> str | None:
    """The global tables as one plain table per region (moto has none): the sessions table and the order ledger,
    whose strongly consistent replication tests/lambda check against a model of AWS's rule instead."""
    tables = [
        (name, key)
        for name, key in (
            (environment.table_name, SESSION_PARTITION_KEY),
            (environment.ledger_table_name, contract.ORDER_ID),
        )
        if name
    ]
    for table, key in tables:
        for region in (environment.primary, environment.dr):
            aws.client("dynamodb", region).create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
    if not tables:
        return None
    names = " and ".join(table for table, _ in tables)
    return f"table {names} in both regions (moto has no global tables: nothing replicates)"


def _bucket_replication(aws: Aws, environment: Environment) -> str | None:
    pairs = environment.replicated_buckets()
    if not pairs:
        return None
    role = environment.names.for_region("iam", "s3-replication", environment.primary)
    for source, destination in pairs:
        for region, bucket in ((environment.primary, source), (environment.dr, destination)):
            aws.client("s3", region).put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        aws.client("s3", environment.primary).put_bucket_replication(
            Bucket=source,
            ReplicationConfiguration={
                "Role": f"arn:{environment.partition}:iam::{environment.account}:role/{role}",
                "Rules": [
                    {
                        "ID": "to-dr",
                        "Priority": 1,
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Enabled"},
                        "Destination": {"Bucket": f"arn:{environment.partition}:s3:::{destination}"},
                    }
                ],
            },
        )
    return f"replication rules on {', '.join(s for s, _ in pairs)} (stored only: moto copies no objects)"


def _scalable_target(aws: Aws, environment: Environment) -> str | None:
    if environment.scenario.compute.kind is not ComputeKind.ECS:
        return None
    compute_ = environment.scenario.compute
    resource = f"service/{environment.app_output(ECS_CLUSTER_NAME)}/{environment.app_output(ECS_SERVICE_NAME)}"
    aws.client("application-autoscaling", environment.dr).register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension=ECS_DIMENSION,
        MinCapacity=compute_.dr_capacity,
        MaxCapacity=compute_.max_capacity,
    )
    return f"scalable target {resource} in {environment.dr} ({compute_.dr_capacity}..{compute_.max_capacity})"


def _alarms(aws: Aws, environment: Environment, bundle: RenderedBundle) -> str | None:
    """Every alarm of every stack, by the name its template gives it in that stack's region, with the template's
    literal settings (a setting that refers to another resource is left at a neutral default): the operations
    set and read alarm states by name, and moto never evaluates an alarm anyway."""
    made = []
    for entry in bundle.stacks:
        env = Env(bundle.document(entry), entry)
        for resource in env.resources(ALARM).values():
            settings = resource["Properties"]
            name = literal_name(env, settings["AlarmName"])
            aws.client("cloudwatch", entry.region).put_metric_alarm(
                AlarmName=name, **{key: _literal(settings, key, default) for key, default in ALARM_DEFAULTS.items()}
            )
            made.append(f"{name} ({entry.region})")
    return f"alarms {', '.join(sorted(made))}" if made else None


ALARM = "AWS::CloudWatch::Alarm"
ALARM_DEFAULTS: dict[str, Any] = {
    "Namespace": "drgen/sandbox",
    "MetricName": "StandIn",
    "Statistic": "Maximum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 0.0,
    "ComparisonOperator": "GreaterThanThreshold",
}


def _literal(settings: dict[str, Any], key: str, default: Any) -> Any:
    value = settings.get(key, default)
    if isinstance(value, str) and isinstance(default, int | float):
        try:
            value = type(default)(value)
        except ValueError:
            return default
    return value if isinstance(value, type(default)) else default


def _calculated_checks(aws: Aws, environment: Environment, bundle: RenderedBundle) -> str | None:
    """moto's CloudFormation drops a CALCULATED check's children and threshold: set them as the template does
    (the failover's DNS step reads them back to close the gate)."""
    from drgen.operate import dns_verdict

    layer = dns_verdict.deployed(aws, environment, bundle)
    route53 = aws.client("route53", "us-east-1")
    fixed = []
    for name, check in sorted(layer.topology.checks.items()):
        if check.type != "CALCULATED":
            continue
        physical = layer.physical[name]
        version = route53.get_health_check(HealthCheckId=physical)["HealthCheck"]["HealthCheckVersion"]
        route53.update_health_check(
            HealthCheckId=physical,
            HealthCheckVersion=version,
            HealthThreshold=check.threshold,
            ChildHealthChecks=[layer.physical[child] for child in check.children],
        )
        fixed.append(name)
    return f"children and threshold of {', '.join(fixed)} (moto's CloudFormation drops them)" if fixed else None


def _alert_subscription(aws: Aws, environment: Environment) -> str | None:
    inbox = environment.outputs.get((LayerName.FOUNDATION, Role.SECONDARY), {}).get(ALERT_INBOX_QUEUE_ARN)
    if not inbox:
        return None
    aws.client("sns", environment.dr).subscribe(
        TopicArn=environment.alert_topic_arn, Protocol="sqs", Endpoint=inbox, Attributes={"RawMessageDelivery": "false"}
    )
    return f"subscription of {environment.alert_topic_arn.rsplit(':', 1)[1]} to {inbox.rsplit(':', 1)[1]}"


def publish_lag(aws: Aws, environment: Environment, region: str, seconds: float) -> str:
    """A ReplicationLagSeconds sample in ``region``, as the lag monitor publishes it there."""
    aws.client("cloudwatch", region).put_metric_data(
        Namespace=environment.namespace,
        MetricData=[{"MetricName": contract.REPLICATION_LAG, "Value": float(seconds), "Timestamp": datetime.now(UTC)}],
    )
    return f"{contract.REPLICATION_LAG} {seconds:g} s in {region} (the lag monitor needs a real database)"


def alarm_state(aws: Aws, region: str, name: str, state: str, reason: str) -> None:
    aws.client("cloudwatch", region).set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


@contextlib.contextmanager
def promotion_standin() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """FailoverGlobalCluster / SwitchoverGlobalCluster for an in-process moto server; yields the calls made."""
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    calls: list[tuple[str, dict[str, Any]]] = []

    def promoting(action: str) -> Callable[[RDSResponse], ActionResult]:
        def operation(self: RDSResponse) -> ActionResult:
            params = dict(self.params)
            cluster = self.global_backend.global_clusters.get(params["global_cluster_identifier"])
            if cluster is None:  # as RDS answers (the API reference lists GlobalClusterNotFoundFault)
                raise RDSClientError("GlobalClusterNotFoundFault", f"{params['global_cluster_identifier']} not found")
            calls.append((action, params))
            for member in cluster.members:
                member.is_writer = member.db_cluster_arn == params["target_db_cluster_identifier"]
            return ActionResult({"GlobalCluster": cluster})

        return operation

    names = ("failover_global_cluster", "switchover_global_cluster")
    saved = {name: RDSResponse.__dict__.get(name) for name in names}
    setattr(RDSResponse, "failover_global_cluster", promoting("failover"))  # noqa: B010  (moto lacks them)
    setattr(RDSResponse, "switchover_global_cluster", promoting("switchover"))  # noqa: B010
    try:
        yield calls
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(RDSResponse, name)
            else:
                setattr(RDSResponse, name, original)


PROMOTIONS = ("FailoverGlobalCluster", "SwitchoverGlobalCluster")


def unserved_promotion(aws: Aws, region: str) -> str | None:
    """The first of ``PROMOTIONS`` the sandbox cannot serve, else None: the promote step calls them.

    Asked about a global cluster that does not exist, a server that implements the action answers
    GlobalClusterNotFoundFault; moto, which does not, answers with an HTML 500 page (ResponseParserError).
    """
    rds = aws.client("rds", region)
    probe = {"GlobalClusterIdentifier": "drgen-sandbox-probe", "TargetDbClusterIdentifier": "drgen-sandbox-probe"}
    for action, call in zip(PROMOTIONS, (rds.failover_global_cluster, rds.switchover_global_cluster), strict=True):
        try:
            call(**probe)
        except ResponseParserError:
            return action
        except ClientError:
            continue  # an AWS error: the action is served
    return None


CHECKERS = 16  # Route 53 health checkers reporting on one check (any number: the model answers for all of them)


@contextlib.contextmanager
def health_check_standin(healthy: Callable[[str], bool | None]) -> Iterator[list[str]]:
    """GetHealthCheckStatus for an in-process moto server, answered by ``healthy(health_check_id)`` (drgen's
    model of Route 53: moto reports every checker successful, whatever the endpoint or data stream says).
    ``None`` leaves moto's answer. Yields the ids asked about."""
    from moto.core.responses import ActionResult
    from moto.route53.responses import Route53

    asked: list[str] = []
    original = Route53.__dict__.get("get_health_check_status")

    def status(self: Route53) -> ActionResult:
        check_id = self._get_param("HealthCheckId")
        asked.append(check_id)
        verdict = healthy(check_id)
        if verdict is None and original is not None:
            return original(self)
        self.backend.get_health_check(check_id)  # an unknown id is NoSuchHealthCheck, as in AWS
        report = "Success: HTTP Status Code 200, OK" if verdict else "Failure: the model of Route 53 says unhealthy"
        observation = {
            "Region": "us-east-1",
            "IPAddress": "127.0.13.37",
            "StatusReport": {"Status": report, "CheckedTime": datetime.now(UTC)},
        }
        return ActionResult({"HealthCheckObservations": [observation] * CHECKERS})

    Route53.get_health_check_status = status  # type: ignore[method-assign]
    try:
        yield asked
    finally:
        if original is None:
            delattr(Route53, "get_health_check_status")
        else:
            Route53.get_health_check_status = original  # type: ignore[method-assign]
