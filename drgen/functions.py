"""The catalogue of Lambda functions drgen ships in lambda/: what each does, its handler, where it runs.

The template builders create functions from this table and the packager zips ``lambda/<package>/`` together
with the shared ``lambda/drgen_common/`` package into one deterministic zip per function.
Environment variables listed here are the contract between the templates and the code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from drgen.scenario.model import ComputeKind, Role, Scenario

SHARED_PACKAGE = "drgen_common"


@dataclass(frozen=True)
class Function:
    key: str  # logical name, also the CamelCase logical-id stem and the name part ("failover-promote")
    package: str  # directory under lambda/
    handler: str  # module.function inside the package directory
    roles: tuple[Role, ...]  # where it is deployed
    env: tuple[str, ...]  # environment variables the code reads
    vpc: bool  # runs in the private subnets (needs the database)
    description: str
    timeout: int = 60
    # Why a DR-only function may touch the primary region at all (failback only); empty: it never does.
    # The lint rule E9010 accepts a primary-region reference only from a function that says why.
    primary_region_use: str = ""


BOTH = (Role.PRIMARY, Role.SECONDARY)
DR = (Role.SECONDARY,)

# Common environment every function gets: SCENARIO, SUFFIX, NAMESPACE (custom metrics), ALERT_TOPIC_ARN,
# SECONDARY_REGION. PRIMARY_REGION only where the code calls the primary region (the failover path must not).
COMMON_ENV = ("SCENARIO", "SUFFIX", "METRICS_NAMESPACE", "ALERT_TOPIC_ARN", "SECONDARY_REGION")
DB_ENV = ("DB_SECRET_NAME", "DB_ENDPOINT", "DB_NAME")

FAILOVER_STEPS = (
    Function("failover-guard", "failover", "guard.handler", DR,
             ("CONTROL_TABLE", "STATE_PARAMETER", "PRIMARY_REGION", "GLOBAL_CLUSTER_ID", "DR_CLUSTER_ARN",
              "LOCK_SECONDS"), False,
             "Refuses a run that must not go ahead (not armed, nothing to fail back, lagging), takes the lock",
             primary_region_use="failback only: reads the primary region's replication lag once it is back"),
    Function("failover-confirm", "failover", "confirm.handler", DR,
             ("PROBE_ALARM_NAME", "ROUTE53_ALARM_NAME", "CONFIRM_SECONDS"), False,
             "Confirms an unplanned failover: two signals agree, or one has persisted"),
    Function("failover-promote", "failover", "promote.handler", DR,
             ("GLOBAL_CLUSTER_ID", "DR_CLUSTER_ARN"), False,
             "Promotes the DR cluster: SwitchoverGlobalCluster when nothing can be lost, else FailoverGlobalCluster",
             primary_region_use="failback only: the switchover's target is the primary region's cluster"),
    Function("failover-promotion-status", "failover", "promote.status_handler", DR,
             ("GLOBAL_CLUSTER_ID", "DR_CLUSTER_ARN"), False,
             "Reports whether the DR cluster is the global cluster's writer yet"),
    Function("failover-scale", "failover", "scale.handler", DR,
             ("COMPUTE_KIND", "ECS_CLUSTER", "ECS_SERVICE", "ASG_NAME", "ACTIVE_CAPACITY"), False,
             "Scales the DR compute to active capacity"),
    Function("failover-dns", "failover", "dns.handler", DR, ("CONTROL_TABLE", "PRIMARY_HEALTH_CHECK_ID"), False,
             "Shifts DNS: records where traffic goes and publishes FailoverEngaged, then closes the record's gate"),
    Function("failover-validate", "failover", "validate.handler", DR,
             ("GLOBAL_CLUSTER_ID", "DR_CLUSTER_ARN", "HEALTH_URL", "PRIMARY_HEALTH_URL", "HOSTED_ZONE_ID",
              "RECORD_NAME", "DR_ENDPOINT", "PRIMARY_ENDPOINT"), False,
             "Validates with what AWS says: the writer, the endpoint's health body, Route 53's answer",
             primary_region_use="failback only: checks the primary's endpoint answers as the writer"),
    Function("failover-notify", "failover", "notify.handler", DR, ("STATE_PARAMETER", "CONTROL_TABLE"), False,
             "Records the outcome (metrics, state), releases the lock, then publishes the notice"),
)
# Not a step: every minute it republishes where traffic goes, because Route 53 follows the data stream.
ENGAGED_SIGNAL = Function(
    "engaged-signal", "failover", "engaged.handler", DR, ("CONTROL_TABLE",), False,
    "Every minute: publishes FailoverEngaged from the control table (Route 53 follows the alarm's data stream)",
)

LAG_MONITOR = Function(
    "lag-monitor", "lag_monitor", "app.handler", BOTH, (*DB_ENV, "SAMPLES", "SAMPLE_INTERVAL_SECONDS"), True,
    "Writes a heartbeat in the writer region and measures its age on the replica (replication lag)",
    timeout=90,
)
CONNECTIVITY = Function(
    "connectivity", "connectivity", "app.handler", BOTH, DB_ENV, True,
    "Connects to this region's cluster and publishes DatabaseConnectivity (1 ok, 0 failed)",
)
READINESS = Function(
    "readiness", "readiness", "app.handler", BOTH,
    ("GLOBAL_CLUSTER_ID", "HEALTH_URL", "STATE_MACHINE_ARN", "LAG_THRESHOLD_SECONDS", "CONTROL_TABLE"), False,
    "Hourly failover-readiness test: health endpoint, global cluster membership, lag, state machine; "
    "the first pass arms the failover triggers",
    timeout=120,
)
APP_HEALTH = Function(
    "app-health", "app", "health.handler", BOTH, DB_ENV, True,
    "The application's health endpoint: reads real data from the database (ALB or API Gateway event)",
)
PROBE = Function(
    "primary-probe", "probe", "app.handler", DR, ("PROBE_TARGET", "SEARCH_STRING", "PROBE_TIMEOUT_SECONDS"), False,
    "Probes the primary's endpoint from the DR region every minute and publishes PrimaryEndpointHealthy",
)
BACKUP_EXPORT = Function(
    "backup-export", "backup_export", "app.handler", (Role.PRIMARY,),
    ("CLUSTER_ID", "BACKUP_BUCKET", "EXPORT_ROLE_ARN", "KMS_KEY_ARN"), False,
    "Daily: exports the newest automated Aurora snapshot to the backups bucket (Parquet) and publishes "
    "BackupExportStarted",
)
# The bucket purpose BACKUP_EXPORT writes to; a scenario with such a bucket gets the export.
BACKUPS_PURPOSE = "backups"
TRADE_PROCESSOR = Function(
    "trade-processor", "app", "trades.handler", BOTH, (*DB_ENV, "QUEUE_URL", "EVENT_BUS_NAME", "EVENT_SOURCE"), True,
    "Processes trade orders from SQS into the database, idempotently by order id, and announces them on the bus",
)


def probe_for(scenario: Scenario) -> Function:
    """The probe of the scenario: HTTPS to the public endpoint from outside the VPC, or (database-only
    scenarios) TCP to the primary's cluster over the peering, from the private subnets."""
    return replace(PROBE, vpc=True) if scenario.compute.kind is ComputeKind.CONNECTIVITY else PROBE


def functions_for(scenario: Scenario) -> tuple[Function, ...]:
    """The functions a scenario deploys, in a stable order."""
    result = [*FAILOVER_STEPS, ENGAGED_SIGNAL, LAG_MONITOR, CONNECTIVITY, READINESS, probe_for(scenario)]
    if scenario.compute.kind in (ComputeKind.LAMBDA, ComputeKind.APIGATEWAY):
        result.append(APP_HEALTH)
    if scenario.compute.kind is ComputeKind.APIGATEWAY:
        result.append(TRADE_PROCESSOR)
    if has_backups_bucket(scenario):
        result.append(BACKUP_EXPORT)
    return tuple(result)


def has_backups_bucket(scenario: Scenario) -> bool:
    """Whether the scenario keeps database backups in a bucket of its own (seed 004)."""
    return any(bucket.purpose == BACKUPS_PURPOSE for bucket in scenario.buckets)
