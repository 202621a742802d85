"""The catalogue of Lambda functions drgen ships in lambda/: what each does, its handler, where it runs.

The builders create functions from this table; the packager zips ``lambda/<package>/`` with ``drgen_common/``
into one deterministic zip per function. The environment variables listed are the ones the templates set and
the code reads, named in the contract both sides import (lambda/drgen_common/contract.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from drgen.lambda_code import contract
from drgen.scenario.model import LAMBDA_TARGETS, ComputeKind, Role, Scenario

SHARED_PACKAGE = "drgen_common"


@dataclass(frozen=True)
class Function:
    key: str  # logical name, also the CamelCase logical-id stem and the name part ("failover-promote")
    package: str  # directory under lambda/
    handler: str  # module.function inside the package directory
    roles: tuple[Role, ...]  # where it is deployed
    env: tuple[str, ...]  # environment variables the code reads (the metrics namespace follows from ``calls``)
    vpc: bool  # runs in the private subnets (needs the database)
    description: str
    timeout: int = 60
    # Why a DR-only function may touch the primary region at all (failback only); empty: it never does.
    # The lint rule E9010 accepts a primary-region reference only from a function that says why.
    primary_region_use: str = ""
    # Every AWS API its code calls (service:Action), besides logs and X-Ray: a test holds this against the code's
    # boto3 calls, and lint rule E9011 checks that the function's role grants each and the KMS calls it implies.
    calls: tuple[str, ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        """What the template sets: ``env``, and the namespace wherever the code publishes or reads drgen's metrics."""
        metrics = any(call in METRIC_CALLS for call in self.calls)
        return (*self.env, contract.METRICS_NAMESPACE) if metrics else self.env


METRIC_CALLS = ("cloudwatch:PutMetricData", "cloudwatch:GetMetricData")

# What the scale step calls per compute kind (the template grants only the scenario's: ``calls_for``).
SCALE_CALLS = {
    ComputeKind.ECS: (
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:RegisterScalableTarget",
    ),
    ComputeKind.ASG: ("autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup"),
}
# What an SQS event source mapping does with the function's role: Lambda's pollers, not the function's code.
EVENT_SOURCE_MAPPING_CALLS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
BOTH = (Role.PRIMARY, Role.SECONDARY)
DR = (Role.SECONDARY,)

DB_ENV = (contract.DB_SECRET_NAME, contract.DB_ENDPOINT, contract.DB_NAME)
LEDGER_ENV = (contract.LEDGER_TABLE, contract.QUEUE_URL)

FAILOVER_STEPS = (
    Function(
        "failover-guard",
        "failover",
        "guard.handler",
        DR,
        (
            contract.CONTROL_TABLE,
            contract.STATE_PARAMETER,
            contract.PRIMARY_REGION,
            contract.GLOBAL_CLUSTER_ID,
            contract.DR_CLUSTER_ARN,
            contract.LOCK_SECONDS,
        ),
        vpc=False,
        description="Refuses a run that must not go ahead (not armed, nothing to fail back, lagging), takes the lock",
        primary_region_use="failback only: reads the primary region's replication lag once it is back",
        calls=(
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "ssm:GetParameter",
            "ssm:PutParameter",
            "rds:DescribeGlobalClusters",
            "cloudwatch:GetMetricData",
            "states:DescribeExecution",
        ),
    ),
    Function(
        "failover-confirm",
        "failover",
        "confirm.handler",
        DR,
        (contract.PROBE_ALARM_NAME, contract.ROUTE53_ALARM_NAME, contract.CONFIRM_SECONDS),
        vpc=False,
        description="Confirms an unplanned failover: two signals agree, or one has persisted",
        calls=("cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"),
    ),
    Function(
        "failover-promote",
        "failover",
        "promote.handler",
        DR,
        (contract.GLOBAL_CLUSTER_ID, contract.DR_CLUSTER_ARN),
        vpc=False,
        description="Promotes the DR cluster: SwitchoverGlobalCluster when nothing can be lost, else "
        "FailoverGlobalCluster",
        primary_region_use="switchover only (a planned run, a primary writer that still beats, a failback): AWS "
        "runs it in the current primary's Region; a failover with data loss runs in the DR region",
        calls=("rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"),
    ),
    Function(
        "failover-promotion-status",
        "failover",
        "promote.status_handler",
        DR,
        (contract.GLOBAL_CLUSTER_ID, contract.DR_CLUSTER_ARN),
        vpc=False,
        description="Reports whether the DR cluster is the global cluster's writer yet",
        calls=("rds:DescribeGlobalClusters",),
    ),
    Function(
        "failover-scale",
        "failover",
        "scale.handler",
        DR,
        (
            contract.COMPUTE_KIND,
            contract.ECS_CLUSTER,
            contract.ECS_SERVICE,
            contract.ASG_NAME,
            contract.ACTIVE_CAPACITY,
        ),
        vpc=False,
        description="Scales the DR compute to active capacity",
        calls=(*SCALE_CALLS[ComputeKind.ECS], *SCALE_CALLS[ComputeKind.ASG]),
    ),
    Function(
        "failover-dns",
        "failover",
        "dns.handler",
        DR,
        (contract.CONTROL_TABLE, contract.PRIMARY_HEALTH_CHECK_ID),
        vpc=False,
        description=f"Shifts DNS: records where traffic goes and publishes {contract.FAILOVER_ENGAGED}, then closes "
        "the record's gate",
        calls=("dynamodb:PutItem", "cloudwatch:PutMetricData", "route53:GetHealthCheck", "route53:UpdateHealthCheck"),
    ),
    Function(
        "failover-validate",
        "failover",
        "validate.handler",
        DR,
        (
            contract.GLOBAL_CLUSTER_ID,
            contract.DR_CLUSTER_ARN,
            contract.HEALTH_URL,
            contract.PRIMARY_HEALTH_URL,
            contract.HOSTED_ZONE_ID,
            contract.RECORD_NAME,
            contract.DR_ENDPOINT,
            contract.PRIMARY_ENDPOINT,
        ),
        vpc=False,
        description="Validates with what AWS says: the writer, the endpoint's health body, Route 53's answer",
        primary_region_use="failback only: checks the primary's endpoint answers as the writer",
        calls=(
            "rds:DescribeGlobalClusters",
            "route53:ListResourceRecordSets",
            "route53:GetHealthCheck",
            "route53:GetHealthCheckStatus",
        ),
    ),
    Function(
        "failover-notify",
        "failover",
        "notify.handler",
        DR,
        (contract.STATE_PARAMETER, contract.CONTROL_TABLE, contract.SCENARIO, contract.ALERT_TOPIC_ARN),
        vpc=False,
        description="Records the outcome (metrics, state), releases the lock, then publishes the notice",
        calls=(
            "ssm:GetParameter",
            "ssm:PutParameter",
            "cloudwatch:PutMetricData",
            "dynamodb:DeleteItem",
            "sns:Publish",
        ),
    ),
)
RETURN_REPLICATION_USE = (
    "best effort: replicates the DR region's writes back to the primary's buckets; the failover neither waits for "
    "nor fails on it (a failure is reported)"
)
# A step only where the scenario replicates buckets: what the DR region writes goes back to the primary's buckets.
RETURN_REPLICATION = Function(
    "failover-return-replication",
    "failover",
    "returns.handler",
    DR,
    (contract.RETURN_BUCKETS, contract.RETURN_REPLICATION_ROLE_ARN, contract.PRIMARY_KMS_KEY_ARN),
    vpc=False,
    description="Turns on replication from the DR region's buckets back to the primary's once the DR region serves",
    primary_region_use=RETURN_REPLICATION_USE,
    calls=("s3:PutReplicationConfiguration", "iam:PassRole"),
)
# Not a step: every minute it republishes where traffic goes, because Route 53 follows the data stream.
ENGAGED_SIGNAL = Function(
    "engaged-signal",
    "failover",
    "engaged.handler",
    DR,
    (contract.CONTROL_TABLE,),
    vpc=False,
    description=f"Every minute: publishes {contract.FAILOVER_ENGAGED} from the control table (Route 53 follows the "
    "alarm's data "
    "stream)",
    calls=("dynamodb:GetItem", "cloudwatch:PutMetricData"),
)

LAG_MONITOR = Function(
    "lag-monitor",
    "lag_monitor",
    "app.handler",
    BOTH,
    (*DB_ENV, contract.DB_READER_ENDPOINT, contract.SAMPLES, contract.SAMPLE_INTERVAL_SECONDS),
    vpc=True,
    description="Writes a heartbeat in the writer region and measures its age on the replica (replication lag)",
    timeout=100,  # the writer beats 90 s (lambda/lag_monitor/app.py OVERLAP_SECONDS), plus the margin
    calls=("secretsmanager:GetSecretValue", "cloudwatch:PutMetricData"),
)
CONNECTIVITY = Function(
    "connectivity",
    "connectivity",
    "app.handler",
    BOTH,
    DB_ENV,
    vpc=True,
    description=f"Connects to this region's cluster and publishes {contract.DATABASE_CONNECTIVITY} (1 ok, 0 failed)",
    calls=("secretsmanager:GetSecretValue", "cloudwatch:PutMetricData"),
)
READINESS = Function(
    "readiness",
    "readiness",
    "app.handler",
    BOTH,
    (
        contract.GLOBAL_CLUSTER_ID,
        contract.HEALTH_URL,
        contract.STATE_MACHINE_ARN,
        contract.LAG_THRESHOLD_SECONDS,
        contract.CONTROL_TABLE,
        contract.ALERT_TOPIC_ARN,
    ),
    vpc=False,
    description="Hourly failover-readiness test: health endpoint, global cluster membership, lag, state machine; "
    "the first pass arms the failover triggers",
    timeout=120,
    calls=(
        "rds:DescribeGlobalClusters",
        "cloudwatch:GetMetricData",
        "cloudwatch:PutMetricData",
        "states:DescribeStateMachine",
        "dynamodb:PutItem",
        "sns:Publish",
    ),
)
APP_HEALTH = Function(
    "app-health",
    "app",
    "health.handler",
    BOTH,
    DB_ENV,
    vpc=True,
    description="The application's health endpoint: reads real data from the database (ALB or API Gateway event)",
    calls=("secretsmanager:GetSecretValue",),
)
PROBE = Function(
    "primary-probe",
    "probe",
    "app.handler",
    DR,
    (
        contract.PROBE_TARGET,
        contract.SEARCH_STRING,
        contract.PROBE_TIMEOUT_SECONDS,
        contract.SAMPLES,
        contract.SAMPLE_INTERVAL_SECONDS,
    ),
    vpc=False,
    description="Probes the primary's endpoint from the DR region every 10 s and publishes "
    f"{contract.PRIMARY_ENDPOINT_HEALTHY}",
    calls=("cloudwatch:PutMetricData",),
)
BACKUP_EXPORT = Function(
    "backup-export",
    "backup_export",
    "app.handler",
    (Role.PRIMARY,),
    (contract.CLUSTER_ID, contract.BACKUP_BUCKET, contract.EXPORT_ROLE_ARN, contract.KMS_KEY_ARN),
    vpc=False,
    description="Daily: exports the newest automated Aurora snapshot to the backups bucket (Parquet) and publishes "
    f"{contract.BACKUP_EXPORT_STARTED}",
    calls=(
        "rds:DescribeDBClusterSnapshots",
        "rds:DescribeExportTasks",
        "rds:StartExportTask",
        "iam:PassRole",
        "cloudwatch:PutMetricData",
    ),
)
# The bucket purpose BACKUP_EXPORT writes to; a scenario with such a bucket gets the export.
BACKUPS_PURPOSE = "backups"
TRADE_PROCESSOR = Function(
    "trade-processor",
    "app",
    "trades.handler",
    BOTH,
    (*DB_ENV, contract.GLOBAL_CLUSTER_ID, contract.EVENT_BUS_NAME, contract.EVENT_SOURCE),
    vpc=True,
    description="Processes trade orders from SQS into the database (through the global writer endpoint), "
    "idempotently by order id, and announces them on the bus",
    calls=(
        "secretsmanager:GetSecretValue",
        "rds:DescribeGlobalClusters",
        "events:PutEvents",
        *EVENT_SOURCE_MAPPING_CALLS,
    ),
)

# The order ledger (``ledger.enabled``): an order is acknowledged once a DynamoDB global table with multi-Region
# strong consistency holds it; the queue only delivers it, and a failover replays the ledger into the writer's.
ORDER_INTAKE = Function(
    "order-intake",
    "app",
    "intake.handler",
    BOTH,
    LEDGER_ENV,
    vpc=False,
    description="Accepts a trade order: writes it to the order ledger (synchronously replicated), queues it, answers "
    "202",
    calls=("dynamodb:PutItem", "dynamodb:GetItem", "sqs:SendMessage", "cloudwatch:PutMetricData"),
)
REPLAY_USE = "failback only: queues the ledger's recent orders in the primary region's trade queue"
LEDGER_REPLAY = Function(
    "failover-replay-ledger",
    "failover",
    "replay.handler",
    DR,
    (*LEDGER_ENV, contract.PRIMARY_QUEUE_URL, contract.PRIMARY_REGION, contract.REPLAY_SECONDS),
    vpc=False,
    description="Queues the ledger's recent orders again where the writer now is, so processing catches up "
    "idempotently",
    timeout=900,  # Lambda's longest: a strongly consistent scan of days of orders (the step retries as a whole)
    primary_region_use=REPLAY_USE,
    calls=("dynamodb:Scan", "sqs:SendMessage"),
)


def probe_for(scenario: Scenario) -> Function:
    """The probe of the scenario: HTTPS to the public endpoint from outside the VPC, or (database-only
    scenarios) TCP to the primary's cluster over the peering, from the private subnets."""
    return replace(PROBE, vpc=True) if scenario.compute.kind is ComputeKind.CONNECTIVITY else PROBE


def returns_data(scenario: Scenario) -> bool:
    """Whether the scenario has buckets whose writes in the DR region must come back (any it replicates)."""
    return any(bucket.replicate for bucket in scenario.buckets)


def failover_steps(scenario: Scenario) -> tuple[Function, ...]:
    """The state machine's functions in this scenario."""
    optional = ((LEDGER_REPLAY, scenario.ledger.enabled), (RETURN_REPLICATION, returns_data(scenario)))
    return (*FAILOVER_STEPS, *(step for step, wanted in optional if wanted))


def calls_for(spec: Function, scenario: Scenario) -> tuple[str, ...]:
    """The calls ``spec`` makes in ``scenario``: the scale step resizes only the scenario's kind of compute."""
    if spec.key == "failover-scale":
        return SCALE_CALLS.get(scenario.compute.kind, ())
    return spec.calls


def functions_for(scenario: Scenario) -> tuple[Function, ...]:
    """The functions a scenario deploys, in a stable order."""
    result = [*failover_steps(scenario), ENGAGED_SIGNAL, LAG_MONITOR, CONNECTIVITY, READINESS, probe_for(scenario)]
    if scenario.compute.kind in LAMBDA_TARGETS:
        result.append(APP_HEALTH)
    if scenario.compute.kind is ComputeKind.APIGATEWAY:
        result.append(TRADE_PROCESSOR)
    if scenario.ledger.enabled:
        result.append(ORDER_INTAKE)
    if has_backups_bucket(scenario):
        result.append(BACKUP_EXPORT)
    return tuple(result)


def has_backups_bucket(scenario: Scenario) -> bool:
    """Whether the scenario keeps database backups in a bucket of its own (seed 004)."""
    return any(bucket.purpose == BACKUPS_PURPOSE for bucket in scenario.buckets)
