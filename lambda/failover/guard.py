"""Failover step 1: refuse a run that must not go ahead, take the lock, record the start.

Refusals, checked in this order and raised before anything changes:

- NotArmedError: the DR region's readiness test has never passed (the control table's ``armed`` item). Alarms
  of a fresh deploy settle through ALARM; a trigger must not fail a new environment over. ``force`` overrides.
- NothingToFailBackError: a failback while traffic and the writer are both in the primary region already (the
  recovery rule after an alarm that never led to a failover). ``force`` overrides.
- ReplicationLagError: a failback while the primary region's replica lags or reports no lag (the lag monitor
  runs in whichever region is the replica, so after a failover it reports from the primary region).
- ConcurrentFailoverError: another execution holds the lock, a conditional write in the control table, so of
  two triggers firing together exactly one proceeds (ListExecutions, used before, is eventually consistent).
  A holder that has ended without releasing it (stopped: no state runs after StopExecution, so its notify step
  never did; or a notify step that failed) is not a concurrent run: the lock is taken over from it.

The state machine ends a run quietly (Succeed) on the first, second and fourth: nothing is wrong. The start is
recorded in the STATE_PARAMETER SSM parameter; notify reads it back and releases the lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drgen_common import aws, clock, config, control, logs
from drgen_common.contract import (
    CONTROL_TABLE,
    DR_CLUSTER_ARN,
    EXECUTION_ID,
    FAILBACK_LAG_THRESHOLD,
    FORCE,
    GLOBAL_CLUSTER_ID,
    LOCK_SECONDS,
    METRICS_NAMESPACE,
    MODE,
    PLANNED,
    PRIMARY_REGION,
    REPLICATION_LAG,
    RUN_STATUS,
    STARTED_AT,
    STATE_PARAMETER,
    TRAFFIC_DR,
)
from drgen_common.failover import (
    ConcurrentFailoverError,
    NotArmedError,
    NothingToFailBackError,
    ReplicationLagError,
    Request,
    describe_global_cluster,
    read_state,
    write_state,
    writer_arn,
)
from drgen_common.metrics import latest_maximum
from drgen_common.retry import retry

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")  # DescribeExecution status of a closed execution
LAG_WINDOW_SECONDS = 300  # the lag monitor reports every minute; older data says nothing about now


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return guard(
        Request.from_event(event),
        dynamodb=aws.client("dynamodb"),
        ssm=aws.client("ssm"),
        rds=aws.client("rds"),
        sfn=aws.client("stepfunctions"),
        # In a failback the replica to check is the primary region's cluster, reporting in its own region.
        cloudwatch=aws.client("cloudwatch", config.required(PRIMARY_REGION)),
        table=config.required(CONTROL_TABLE),
        parameter=config.required(STATE_PARAMETER),
        namespace=config.required(METRICS_NAMESPACE),
        global_cluster_id=config.required(GLOBAL_CLUSTER_ID),
        dr_cluster_arn=config.required(DR_CLUSTER_ARN),
        lock_seconds=config.number(LOCK_SECONDS),
        now=clock.now(),
    )


def guard(
    request: Request,
    *,
    dynamodb: Any,
    ssm: Any,
    rds: Any,
    cloudwatch: Any,
    sfn: Any,
    table: str,
    parameter: str,
    namespace: str,
    global_cluster_id: str,
    dr_cluster_arn: str,
    lock_seconds: float,
    now: float,
) -> dict[str, Any]:
    """Refuse or record the start; returns the recorded state (the same on a repeated call)."""
    if not request.execution_id:
        raise ValueError(f"{EXECUTION_ID} is missing: the state machine passes $$.Execution.Id")
    if not request.force and not control.armed(dynamodb, table):
        raise NotArmedError("the environment has not passed its readiness test yet: the triggers are not armed")
    lag = None
    if request.failback and not request.force:
        _something_to_fail_back(dynamodb, rds, table, global_cluster_id, dr_cluster_arn)
        lag = _check_lag(cloudwatch, namespace, request)
    holder = control.acquire(dynamodb, table, request.execution_id, now, lock_seconds)
    if (
        holder
        and _ended(sfn, holder)
        and control.take_over(dynamodb, table, request.execution_id, holder, now, lock_seconds)
    ):
        logs.warning("lock taken over from an execution that ended without releasing it", ended=holder)
        holder = ""
    if holder:
        raise ConcurrentFailoverError(f"another failover is already running: {holder}")
    recorded = read_state(ssm, parameter)
    if recorded.get(EXECUTION_ID) == request.execution_id:
        return {**recorded, "lag_seconds": lag}  # a retried step: the start is recorded already
    record = {
        EXECUTION_ID: request.execution_id,
        MODE: request.mode,
        PLANNED: request.planned,
        STARTED_AT: request.started_at or datetime.fromtimestamp(now, UTC).isoformat(),
        RUN_STATUS: "running",
    }
    write_state(ssm, parameter, record)
    logs.info("failover started", **record, lag_seconds=lag)
    return {**record, "lag_seconds": lag}


def _ended(sfn: Any, execution_arn: str) -> bool:
    """Whether the lock's holder is an execution that has ended (DescribeExecution says so). Anything else (not
    found, not readable) keeps the lock: a run that may be going on is never overtaken."""
    try:
        status = retry(sfn.describe_execution, executionArn=execution_arn)["status"]
    except Exception as error:
        logs.warning("cannot tell whether the lock's holder still runs", holder=execution_arn, error=str(error))
        return False
    return status in ENDED


def _something_to_fail_back(dynamodb: Any, rds: Any, table: str, global_cluster_id: str, dr_cluster_arn: str) -> None:
    """Refuse a failback that would change nothing: traffic in the primary region and the writer not in DR."""
    if control.traffic(dynamodb, table) == TRAFFIC_DR:
        return
    writer = writer_arn(describe_global_cluster(rds, global_cluster_id))
    if writer and writer != dr_cluster_arn:
        raise NothingToFailBackError(f"traffic and the writer ({writer}) are in the primary region already")


def _check_lag(cloudwatch: Any, namespace: str, request: Request) -> float:
    """The primary region's replica lag; refuses when it exceeds the threshold or is not reported."""
    if request.lag_threshold_seconds is None:
        raise ValueError(f"a failback needs {FAILBACK_LAG_THRESHOLD} in its input (or {FORCE})")
    lag = latest_maximum(cloudwatch, namespace, REPLICATION_LAG, LAG_WINDOW_SECONDS)
    if lag is None:
        raise ReplicationLagError(
            f"no {REPLICATION_LAG} in the last {LAG_WINDOW_SECONDS} s: replication to the primary region is unproven"
        )
    if lag > request.lag_threshold_seconds:
        raise ReplicationLagError(f"replication lag {lag:g} s exceeds {request.lag_threshold_seconds:g} s")
    return lag
