"""Failover step 6: tell people and CloudWatch how it went.

The state machine calls this from the end of every path, with the step results it collected: ``validation``
(validate's result) on the normal path, ``error`` (a Catch's {"Error", "Cause"}) after a failed or refused
step. Success means no error and a valid validation. It publishes the outcome to ALERT_TOPIC_ARN and, unless
the guard refused to start (a duplicate trigger is not a failed failover), FailoverSuccess 1/0 and, on
success, FailoverDuration (seconds since the start recorded in STATE_PARAMETER); a failback publishes
FailbackSuccess and FailbackDuration. Repeating the step for the same execution publishes nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drgen_common import aws, config, logs, metrics
from drgen_common.failover import REFUSALS, Request, read_state, write_state
from drgen_common.metrics import Metric
from drgen_common.notify import publish


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return notify(
        Request.from_event(event),
        event,
        sns=aws.client("sns"),
        ssm=aws.client("ssm"),
        cloudwatch=aws.client("cloudwatch"),
        topic_arn=config.required("ALERT_TOPIC_ARN"),
        parameter=config.required("STATE_PARAMETER"),
        namespace=config.required("METRICS_NAMESPACE"),
        scenario=config.optional("SCENARIO", "drgen"),
    )


def outcome(event: dict[str, Any]) -> str:
    """ "succeeded", "failed" or "refused" (the guard did not start this run)."""
    error = event.get("error")
    if error:
        return "refused" if isinstance(error, dict) and error.get("Error") in REFUSALS else "failed"
    validation = event.get("validation") or {}
    return "succeeded" if validation.get("valid") is True else "failed"


def notify(
    request: Request,
    event: dict[str, Any],
    *,
    sns: Any,
    ssm: Any,
    cloudwatch: Any,
    topic_arn: str,
    parameter: str,
    namespace: str,
    scenario: str,
) -> dict[str, Any]:
    """Publish the outcome once per execution; returns it (and whether this call published it)."""
    result = outcome(event)
    state = read_state(ssm, parameter)
    ours = bool(request.execution_id) and state.get("execution_id") == request.execution_id
    if ours and state.get("status") in ("succeeded", "failed"):
        logs.info("already notified", **state)
        return {"outcome": state["status"], "duration_seconds": state.get("duration_seconds"), "published": False}
    # A refused run must not touch the state of the run that is in progress.
    started_at = state.get("started_at") if ours else request.started_at
    duration = _seconds_since(started_at)
    details = {
        "scenario": scenario,
        "mode": request.mode,
        "planned": request.planned,
        "outcome": result,
        "execution_id": request.execution_id,
        "duration_seconds": duration,
        "validation": event.get("validation"),
        "error": event.get("error"),
    }
    publish(sns, topic_arn, f"drgen {scenario}: {request.mode} {result}", details)
    if result != "refused":
        values = [Metric(metrics.SUCCESS[request.mode], 1.0 if result == "succeeded" else 0.0)]
        if result == "succeeded" and duration is not None:  # the recovery time achieved; a failed run has none
            values.append(Metric(metrics.DURATION[request.mode], duration, "Seconds"))
        metrics.publish(cloudwatch, namespace, *values)
    if ours:
        finished = datetime.now(UTC).isoformat()
        write_state(ssm, parameter, {**state, "status": result, "finished_at": finished, "duration_seconds": duration})
    logs.info("notified", **details)
    return {"outcome": result, "duration_seconds": duration, "published": True}


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
    return round((datetime.now(UTC) - start).total_seconds(), 3)
