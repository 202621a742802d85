"""The names both sides of the Lambda boundary spell: the templates drgen renders (drgen/builders), the commands
that operate a deployment (drgen/operate, drgen/deploy, drgen/budget), and the functions here.

Each name is defined once, here: the builders import this module (drgen/lambda_code.py puts it on the path, from
the checkout or from the installed package) and so do the functions, whose zips carry it. Renaming a value on one
side alone would leave an alarm watching a metric nothing publishes, a variable nobody sets, or a Catch that never
matches; tests/lambda/test_contract.py fails when a builder or a handler spells one of these values as a literal,
and holds the rendered templates against them. Standard library only: it runs inside every function.
"""

from __future__ import annotations

from typing import Final

# -- the failover's direction ----------------------------------------------------------------------------------
# The state machine's ``mode`` (its trigger rules, the Region switch plan and ``drgen failover``/``failback`` send
# it; every step reads it), and the key of the per-direction metrics below.
FAILOVER = "failover"
FAILBACK = "failback"

# -- CloudWatch metrics ----------------------------------------------------------------------------------------
# The functions publish these, without dimensions, into the scenario's namespace (the templates pass it as
# METRICS_NAMESPACE); the templates' alarms, Route 53's metric checks, the dashboard and drgen's readiness and
# failback checks read them there.
REPLICATION_LAG = "ReplicationLagSeconds"  # lag monitor, replica region: age of the writer's heartbeat
DATABASE_CONNECTIVITY = "DatabaseConnectivity"  # connectivity test: 1 connected, 0 failed
FAILOVER_READINESS = "FailoverReadiness"  # readiness test: 1 ready, 0 not
FAILOVER_ENGAGED = "FailoverEngaged"  # DNS step and engaged signal, DR region: 1 traffic to DR, 0 to the primary
PRIMARY_ENDPOINT_HEALTHY = "PrimaryEndpointHealthy"  # the DR region's probe of the primary: 1 healthy, 0 not
BACKUP_EXPORT_STARTED = "BackupExportStarted"  # daily backup export: 1 when it started an export
ORDERS_NOT_QUEUED = "OrdersNotQueued"  # order intake: 1 per order committed to the ledger but not queued
SUCCESS = {FAILOVER: "FailoverSuccess", FAILBACK: "FailbackSuccess"}  # notify: 1 succeeded, 0 failed
DURATION = {FAILOVER: "FailoverDuration", FAILBACK: "FailbackDuration"}  # notify: seconds since the start


def metrics_namespace(scenario: str) -> str:
    """The CloudWatch namespace of ``scenario``'s custom metrics."""
    return f"drgen/{scenario}"


# -- alarm-name stems ------------------------------------------------------------------------------------------
# Alarms the confirm step reads by name (the templates pass the full names, built from these stems, as
# PROBE_ALARM_NAME and ROUTE53_ALARM_NAME).
PROBE_ALARM = "primary-probe"  # on PRIMARY_ENDPOINT_HEALTHY, DR region
PRIMARY_HEALTH_ALARM = "primary-health"  # on the primary's Route 53 health check, us-east-1

# -- environment variables -------------------------------------------------------------------------------------
# What the templates set and the functions read (drgen/lambda_functions.py lists each function's).
# Any function whose code reads them (the notice's scenario, custom metrics, the alert topic):
SCENARIO = "SCENARIO"
METRICS_NAMESPACE = "METRICS_NAMESPACE"
ALERT_TOPIC_ARN = "ALERT_TOPIC_ARN"
# The database's functions, and the application's containers and instances:
DB_SECRET_NAME = "DB_SECRET_NAME"
DB_ENDPOINT = "DB_ENDPOINT"
DB_NAME = "DB_NAME"
DB_READER_ENDPOINT = "DB_READER_ENDPOINT"
GLOBAL_CLUSTER_ID = "GLOBAL_CLUSTER_ID"
# drgen's default application on EC2 (lambda/app/serve.py, from the launch template's /etc/drgen/app.env):
APP_PORT = "APP_PORT"
HEALTH_PATH = "HEALTH_PATH"
APP_TLS_CERT = "APP_TLS_CERT"
APP_TLS_KEY = "APP_TLS_KEY"
# The failover steps, the engaged signal, the probe and the readiness test:
PRIMARY_REGION = "PRIMARY_REGION"
STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
STATE_PARAMETER = "STATE_PARAMETER"
CONTROL_TABLE = "CONTROL_TABLE"
LOCK_SECONDS = "LOCK_SECONDS"
DR_CLUSTER_ARN = "DR_CLUSTER_ARN"
COMPUTE_KIND = "COMPUTE_KIND"
ECS_CLUSTER = "ECS_CLUSTER"
ECS_SERVICE = "ECS_SERVICE"
ASG_NAME = "ASG_NAME"
ACTIVE_CAPACITY = "ACTIVE_CAPACITY"
HOSTED_ZONE_ID = "HOSTED_ZONE_ID"
PRIMARY_HEALTH_CHECK_ID = "PRIMARY_HEALTH_CHECK_ID"
RECORD_NAME = "RECORD_NAME"
PROBE_TARGET = "PROBE_TARGET"
SEARCH_STRING = "SEARCH_STRING"
PROBE_TIMEOUT_SECONDS = "PROBE_TIMEOUT_SECONDS"
SAMPLES = "SAMPLES"
SAMPLE_INTERVAL_SECONDS = "SAMPLE_INTERVAL_SECONDS"
PROBE_ALARM_NAME = "PROBE_ALARM_NAME"
ROUTE53_ALARM_NAME = "ROUTE53_ALARM_NAME"
CONFIRM_SECONDS = "CONFIRM_SECONDS"
HEALTH_URL = "HEALTH_URL"
PRIMARY_HEALTH_URL = "PRIMARY_HEALTH_URL"
DR_ENDPOINT = "DR_ENDPOINT"
PRIMARY_ENDPOINT = "PRIMARY_ENDPOINT"
LAG_THRESHOLD_SECONDS = "LAG_THRESHOLD_SECONDS"
RETURN_BUCKETS = "RETURN_BUCKETS"
RETURN_REPLICATION_ROLE_ARN = "RETURN_REPLICATION_ROLE_ARN"
PRIMARY_KMS_KEY_ARN = "PRIMARY_KMS_KEY_ARN"
# The trades, the order ledger and its replay:
QUEUE_URL = "QUEUE_URL"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
EVENT_SOURCE = "EVENT_SOURCE"
LEDGER_TABLE = "LEDGER_TABLE"
PRIMARY_QUEUE_URL = "PRIMARY_QUEUE_URL"
REPLAY_SECONDS = "REPLAY_SECONDS"
# The backup export:
CLUSTER_ID = "CLUSTER_ID"
BACKUP_BUCKET = "BACKUP_BUCKET"
EXPORT_ROLE_ARN = "EXPORT_ROLE_ARN"
KMS_KEY_ARN = "KMS_KEY_ARN"

# -- environment values ----------------------------------------------------------------------------------------
# COMPUTE_KIND values the scale step resizes (the scenario's compute kinds, drgen/scenario/model.py ComputeKind,
# whose enum takes them from here: Final keeps their literal types there).
ECS: Final = "ecs"
ASG: Final = "asg"
# PROBE_TARGET of a database-only scenario: the primary's cluster port, over TCP (else the HTTPS health URL).
TCP_SCHEME = "tcp://"

# -- refusals --------------------------------------------------------------------------------------------------
# The guard's refusals (lambda/drgen_common/failover.py, one exception class each: Lambda reports the class name
# as the error, and the state machine matches it). Retrying one cannot succeed; the quiet ones end the run in
# Succeed (nothing is wrong, there is nothing for this run to do).
CONCURRENT_FAILOVER = "ConcurrentFailoverError"
NOT_ARMED = "NotArmedError"
NOTHING_TO_FAIL_BACK = "NothingToFailBackError"
REPLICATION_LAGGING = "ReplicationLagError"
QUIET_REFUSALS = (CONCURRENT_FAILOVER, NOT_ARMED, NOTHING_TO_FAIL_BACK)
REFUSALS = (*QUIET_REFUSALS, REPLICATION_LAGGING)

# -- the state machine's payload -------------------------------------------------------------------------------
# The request every step receives (the definition's Parameters; the trigger rules' and drgen's input).
MODE = "mode"
PLANNED = "planned"
FORCE = "force"
FAILBACK_LAG_THRESHOLD = "lag_threshold_seconds"  # the failback's bound on the replica's lag
EXECUTION_ID = "execution_id"  # also in the run's record (STATE_PARAMETER), where drgen reads the last run
STARTED_AT = "started_at"
# What one step is given besides: the confirm step the scenario's silence bound, the promote step whether the
# confirm step saw the writer alive (also the confirm step's result, read by the definition).
WRITER_SILENT_SECONDS = "writer_silent_seconds"
WRITER_ALIVE = "writer_alive"
# Where the definition puts results that the notify step reads: the confirmation and validation, a Catch's error,
# and (on the failure path) ``progress``, the whole state, holding the promotion's, the DNS step's and the scale
# step's results.
CONFIRMATION = "confirmation"
VALIDATION = "validation"
ERROR = "error"
PROGRESS = "progress"
PROMOTION = "promotion"
DNS = "dns"
SCALE = "scale"
# Results the definition's Choices read: confirm's, the promotion status's and the validation's.
CONFIRMED = "confirmed"
WAITING = "waiting"
PROMOTED = "promoted"
VALID = "valid"
# Results drgen reads: the checks of the validation and of the readiness test (each with its name, whether it
# passed and what it saw), the readiness verdict, and why the confirm step stood down.
CHECKS = "checks"
CHECK_NAME = "name"
CHECK_OK = "ok"
CHECK_DETAIL = "detail"
READY = "ready"
REASON = "reason"
# The run's record in STATE_PARAMETER: its status field (the template creates the parameter with an idle one).
RUN_STATUS = "status"

# -- the failover control table --------------------------------------------------------------------------------
# Its partition key (the template defines the table), where traffic goes (the traffic item's ``to``, ``since``,
# ``execution``: drgen's deploy refuses while it says DR) and when the triggers were armed (``at``: drgen's
# readiness reports it). lambda/drgen_common/control.py says what each item is for.
CONTROL_KEY = "id"
TRAFFIC_DR = "dr"
TRAFFIC_PRIMARY = "primary"
TRAFFIC_TO = "to"
TRAFFIC_SINCE = "since"
TRAFFIC_EXECUTION = "execution"
ARMED_AT = "at"

# -- the order ledger ------------------------------------------------------------------------------------------
# Its partition key (the template defines the table; the intake writes it, the replay reads it), also the order's
# field in the trade processor's message.
ORDER_ID = "order_id"

# -- the backup export -----------------------------------------------------------------------------------------
# Where the export writes in the backups bucket (the template grants the export role that prefix).
EXPORT_PREFIX = "aurora-exports"

# -- the health endpoint's answer ------------------------------------------------------------------------------
# lambda/app/health.py answers ``{"status":"ok", ..., "database": {"writer": ...}}``: Route 53's string-matching
# check and the probe look for HEALTH_OK_BODY (the scenario's default search string), the validation and drgen's
# drill read whether the database is the writer.
HEALTH_STATUS = "status"
HEALTH_OK = "ok"
HEALTH_DATABASE = "database"
HEALTH_WRITER = "writer"
HEALTH_OK_BODY = f'"{HEALTH_STATUS}":"{HEALTH_OK}"'
