"""Failover step 1: refuse a second concurrent run, refuse a failback while replication lags, record the start.

Two triggers may start the state machine at the same moment (the us-east-1 health-check alarm and the DR
region's own probe). Each run lists the RUNNING executions: the oldest one proceeds, every later one is refused
with ConcurrentFailoverError, so exactly one failover runs. The start is recorded in the STATE_PARAMETER
SSM parameter (execution id and time); notify reads it back for the duration metric.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drgen_common import aws, config, logs
from drgen_common.failover import ConcurrentFailoverError, ReplicationLagError, Request, read_state, write_state
from drgen_common.metrics import REPLICATION_LAG, latest_maximum
from drgen_common.retry import retry

LAG_WINDOW_SECONDS = 300  # the lag monitor reports every minute; older data says nothing about now


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    return guard(
        request,
        sfn=aws.client("stepfunctions"),
        ssm=aws.client("ssm"),
        # In a failback the replica to check is the primary region's cluster, reporting in its own region.
        cloudwatch=aws.client("cloudwatch", config.required("PRIMARY_REGION")),
        state_machine_arn=config.required("STATE_MACHINE_ARN"),
        parameter=config.required("STATE_PARAMETER"),
        namespace=config.required("METRICS_NAMESPACE"),
    )


def guard(
    request: Request,
    *,
    sfn: Any,
    ssm: Any,
    cloudwatch: Any,
    state_machine_arn: str,
    parameter: str,
    namespace: str,
) -> dict[str, Any]:
    """Refuse or record the start; returns the recorded state (the same on a repeated call)."""
    if not request.execution_id:
        raise ValueError("execution_id is missing: the state machine passes $$.Execution.Id")
    earlier = _earlier_runs(sfn, state_machine_arn, request.execution_id)
    if earlier:
        raise ConcurrentFailoverError(f"another failover is already running: {earlier[0]}")
    lag = None if not request.failback or request.force else _check_lag(cloudwatch, namespace, request)
    recorded = read_state(ssm, parameter)
    if recorded.get("execution_id") == request.execution_id:
        return {**recorded, "lag_seconds": lag}  # a retried step: the start is recorded already
    record = {
        "execution_id": request.execution_id,
        "mode": request.mode,
        "planned": request.planned,
        "started_at": request.started_at or datetime.now(UTC).isoformat(),
        "status": "running",
    }
    write_state(ssm, parameter, record)
    logs.info("failover started", **record, lag_seconds=lag)
    return {**record, "lag_seconds": lag}


def _earlier_runs(sfn: Any, state_machine_arn: str, execution_id: str) -> list[str]:
    """RUNNING executions that started before this one (ties broken by ARN, so exactly one run is first)."""
    running: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = retry(sfn.list_executions, stateMachineArn=state_machine_arn, statusFilter="RUNNING", **token)
        running.extend(page["executions"])
        if not page.get("nextToken"):
            break
        token = {"nextToken": page["nextToken"]}
    mine = next((e for e in running if e["executionArn"] == execution_id), None)
    if mine is None:  # not (or no longer) running: any running execution comes first
        return [e["executionArn"] for e in running]
    key = (mine["startDate"], execution_id)
    return [e["executionArn"] for e in running if (e["startDate"], e["executionArn"]) < key]


def _check_lag(cloudwatch: Any, namespace: str, request: Request) -> float:
    """The primary region's replica lag; refuses when it exceeds the threshold or is not reported."""
    if request.lag_threshold_seconds is None:
        raise ValueError("a failback needs lag_threshold_seconds in its input (or force)")
    lag = latest_maximum(cloudwatch, namespace, REPLICATION_LAG, LAG_WINDOW_SECONDS)
    if lag is None:
        raise ReplicationLagError(
            f"no {REPLICATION_LAG} in the last {LAG_WINDOW_SECONDS} s: replication to the primary region is unproven"
        )
    if lag > request.lag_threshold_seconds:
        raise ReplicationLagError(f"replication lag {lag:g} s exceeds {request.lag_threshold_seconds:g} s")
    return lag
