"""Failover step: record how the run went, release the lock, then tell people.

The state machine calls this at the end of every path past the guard, with what the run collected: ``validation``
(on the normal path), ``error`` (a Catch's {"Error", "Cause"} after a failed or refused step) and, on the
failure path, ``progress`` (everything the earlier steps returned, to say what was already done).

The outcome is ``succeeded``, ``failed``, ``refused`` (the guard refused a failback) or ``stood-down`` (the
signals cleared before they agreed). In this order, so that nothing depends on the notice getting out:

1. CloudWatch: FailoverSuccess 1/0 (FailbackSuccess for a failback) and, on success, the duration since the
   start the guard recorded; a refusal or a stand-down publishes no outcome (it is not a failed failover);
2. the run's record in STATE_PARAMETER (status, finish time, duration);
3. the lock in the control table, released if this execution holds it;
4. last, best effort, the notice to ALERT_TOPIC_ARN: a topic under a customer key needs kms:GenerateDataKey*
   from the publisher, and a missing grant or an SNS outage must not turn a done failover into a failed run.

Repeating the step for the same execution publishes nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drgen_common import aws, clock, config, control, logs, metrics
from drgen_common.contract import (
    ALERT_TOPIC_ARN,
    CONFIRMATION,
    CONFIRMED,
    CONTROL_TABLE,
    DNS,
    DURATION,
    ERROR,
    EXECUTION_ID,
    METRICS_NAMESPACE,
    MODE,
    PLANNED,
    PROGRESS,
    PROMOTION,
    REFUSALS,
    RUN_STATUS,
    SCALE,
    SCENARIO,
    STARTED_AT,
    STATE_PARAMETER,
    SUCCESS,
    VALID,
    VALIDATION,
)
from drgen_common.failover import Request, read_state, write_state
from drgen_common.metrics import Metric
from drgen_common.notify import publish_best_effort

FINISHED = ("succeeded", "failed", "refused", "stood-down")


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return notify(
        Request.from_event(event),
        event,
        sns=aws.client("sns"),
        ssm=aws.client("ssm"),
        cloudwatch=aws.client("cloudwatch"),
        dynamodb=aws.client("dynamodb"),
        topic_arn=config.required(ALERT_TOPIC_ARN),
        parameter=config.required(STATE_PARAMETER),
        table=config.required(CONTROL_TABLE),
        namespace=config.required(METRICS_NAMESPACE),
        scenario=config.optional(SCENARIO, "drgen"),
    )


def outcome(event: dict[str, Any]) -> str:
    """How the run ended (see the module's docstring)."""
    error = event.get(ERROR)
    if error:
        return "refused" if isinstance(error, dict) and error.get("Error") in REFUSALS else "failed"
    confirmation = event.get(CONFIRMATION) or {}
    if confirmation and confirmation.get(CONFIRMED) is not True:
        return "stood-down"
    validation = event.get(VALIDATION) or {}
    return "succeeded" if validation.get(VALID) is True else "failed"


def done_so_far(progress: dict[str, Any] | None) -> dict[str, Any]:
    """What the earlier steps changed before a failure, and whether that left the worst state: a promoted
    writer whose traffic did not follow."""
    progress = progress or {}
    promotion = progress.get(PROMOTION) or {}
    dns = progress.get(DNS) or {}
    scale = progress.get(SCALE) or {}
    promoted = promotion.get("action") in ("failover", "switchover") or promotion.get("changed") is True
    moved = bool(dns.get("traffic_to"))
    return {
        "promotion_started": promoted,
        "promotion_target": promotion.get("target"),
        "traffic_moved_to": dns.get("traffic_to"),
        "capacity_raised": bool(scale.get("changed")),
        "writer_promoted_without_traffic": promoted and not moved,
    }


def _subject(scenario: str, request: Request, result: str, done: dict[str, Any]) -> str:
    if result == "failed" and done["writer_promoted_without_traffic"]:
        return f"CRITICAL drgen {scenario}: {request.mode} failed after promoting the writer; DNS not moved"
    return f"drgen {scenario}: {request.mode} {result}"


def notify(
    request: Request,
    event: dict[str, Any],
    *,
    sns: Any,
    ssm: Any,
    cloudwatch: Any,
    dynamodb: Any,
    topic_arn: str,
    parameter: str,
    table: str,
    namespace: str,
    scenario: str,
) -> dict[str, Any]:
    """Record the outcome once per execution, release the lock, then try the notice; returns what happened."""
    result = outcome(event)
    state = read_state(ssm, parameter)
    ours = bool(request.execution_id) and state.get(EXECUTION_ID) == request.execution_id
    if ours and state.get(RUN_STATUS) in FINISHED:
        logs.info("already notified", **state)
        return {"outcome": state[RUN_STATUS], "duration_seconds": state.get("duration_seconds"), "published": False}
    started_at = state.get(STARTED_AT) if ours else request.started_at
    duration = _seconds_since(started_at)
    done = done_so_far(event.get(PROGRESS))
    if result in ("succeeded", "failed"):
        values = [Metric(SUCCESS[request.mode], 1.0 if result == "succeeded" else 0.0)]
        if result == "succeeded" and duration is not None:  # the recovery time achieved; a failed run has none
            values.append(Metric(DURATION[request.mode], duration, "Seconds"))
        metrics.publish(cloudwatch, namespace, *values)
    if ours:
        finished = clock.utcnow().isoformat()
        write_state(
            ssm, parameter, {**state, RUN_STATUS: result, "finished_at": finished, "duration_seconds": duration}
        )
    released = control.release(dynamodb, table, request.execution_id) if request.execution_id else False
    details = {
        "scenario": scenario,
        MODE: request.mode,
        PLANNED: request.planned,
        "outcome": result,
        EXECUTION_ID: request.execution_id,
        "duration_seconds": duration,
        "done": done,
        CONFIRMATION: event.get(CONFIRMATION),
        VALIDATION: event.get(VALIDATION),
        ERROR: event.get(ERROR),
    }
    published = publish_best_effort(sns, topic_arn, _subject(scenario, request, result, done), details)
    logs.info("notified", **details, published=published, lock_released=released)
    return {"outcome": result, "duration_seconds": duration, "published": published, "lock_released": released}


def _seconds_since(started_at: str | None) -> float | None:
    """Seconds from an ISO-8601 start time to now; None when it is unknown or unreadable."""
    if not started_at:
        return None
    try:
        start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return round((clock.utcnow() - start).total_seconds(), 3)
