"""Failover step 2: do the signals agree that the primary region is down? (unplanned failovers only)

A failover that may lose data starts on two independent signals that agree, or on one that has persisted for
CONFIRM_SECONDS; one bad minute of one signal (an application fault, a network partition) is not enough. The
signals, each read in the region where it lives:

- ``probe``: this (DR) region's probe of the primary's endpoint: its alarm PROBE_ALARM_NAME is in ALARM;
- ``route53``: the primary's Route 53 health-check alarm ROUTE53_ALARM_NAME in us-east-1, where Route 53
  publishes its metrics. Read once, without retries: with us-east-1 as the failed primary it does not answer,
  and the signal is then unknown, not a reason to wait;
- ``database``: the primary writer's heartbeat as the lag monitor measures it on this region's replica
  (ReplicationLagSeconds): older than ``writer_silent_seconds`` (the Confirm state passes the scenario's) means
  the writer stopped writing or replicating. The writer beats every second, so a few seconds of silence say it
  fast: this is the second signal that lets the probe's 20-second alarm go on without waiting.

A planned run, a failback or a forced run is confirmed by the operator's request. The result says
``confirmed`` (go on), ``waiting`` (ask again after the definition's wait, up to its bound) or neither (no
signal fires any more: stand down). ``writer_alive`` says whether the heartbeat is fresh: the promotion then
switches over without loss instead of failing over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drgen_common import aws, clock, config, logs
from drgen_common.contract import (
    CONFIRM_SECONDS,
    CONFIRMED,
    METRICS_NAMESPACE,
    PROBE_ALARM_NAME,
    REASON,
    REPLICATION_LAG,
    ROUTE53_ALARM_NAME,
    WAITING,
    WRITER_ALIVE,
    WRITER_SILENT_SECONDS,
)
from drgen_common.failover import Request
from drgen_common.metrics import latest_maximum

ROUTE53_METRICS_REGION = "us-east-1"  # Route 53 publishes health-check metrics only there
LAG_WINDOW_SECONDS = 300


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    cloudwatch = aws.client("cloudwatch")
    return confirm(
        request,
        probe=alarm_signal(cloudwatch, config.required(PROBE_ALARM_NAME)),
        route53=alarm_signal_once(
            lambda: aws.client("cloudwatch", ROUTE53_METRICS_REGION), config.required(ROUTE53_ALARM_NAME)
        ),
        lag_seconds=latest_maximum(cloudwatch, config.required(METRICS_NAMESPACE), REPLICATION_LAG, LAG_WINDOW_SECONDS),
        confirm_seconds=config.number(CONFIRM_SECONDS),
        silent_seconds=_silent_seconds(event),
        now=clock.now(),
    )


def _silent_seconds(event: dict[str, Any]) -> float:
    value = event.get(WRITER_SILENT_SECONDS)
    if value is None:
        raise ValueError(f"the Confirm state passes {WRITER_SILENT_SECONDS}; deploy the rendered state machine")
    return float(value)


def alarm_signal(cloudwatch: Any, name: str) -> dict[str, Any]:
    """``firing`` (the alarm is in ALARM) and since when (epoch seconds); unknown when the alarm is missing."""
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not found:
        return {"known": False, "firing": False, "since": None, "detail": f"no alarm {name}"}
    alarm = found[0]
    # Since when it has been in this state: StateTransitionedTimestamp, "the date and time that the alarm's
    # StateValue most recently changed"; StateUpdatedTimestamp also moves when only the EvaluationState changes
    # (MetricAlarm, CloudWatch API reference), and is the fallback where the first is not reported (moto).
    since = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    return {
        "known": alarm["StateValue"] != "INSUFFICIENT_DATA",
        "firing": alarm["StateValue"] == "ALARM",
        "since": since.timestamp() if isinstance(since, datetime) else None,
        "detail": f"{name} {alarm['StateValue']}",
    }


def alarm_signal_once(client: Any, name: str) -> dict[str, Any]:
    """``alarm_signal`` in another region, where any failure to answer makes the signal unknown."""
    try:
        return alarm_signal(client(), name)
    except Exception as error:  # that region may be the one that failed
        return {"known": False, "firing": False, "since": None, "detail": f"{type(error).__name__}: {error}"}


def database_signal(lag_seconds: float | None, threshold: float) -> dict[str, Any]:
    """The writer's heartbeat age on this region's replica: firing above the threshold, unknown without data."""
    if lag_seconds is None:
        return {"known": False, "firing": False, "age": None, "detail": f"no {REPLICATION_LAG} here"}
    return {
        "known": True,
        "firing": lag_seconds > threshold,
        "age": lag_seconds,
        "detail": f"heartbeat {lag_seconds:g} s old (threshold {threshold:g} s)",
    }


def confirm(
    request: Request,
    *,
    probe: dict[str, Any],
    route53: dict[str, Any],
    lag_seconds: float | None,
    confirm_seconds: float,
    silent_seconds: float,
    now: float,
) -> dict[str, Any]:
    """Whether this run may go on; see the module's docstring."""
    threshold = silent_seconds
    signals = {"probe": probe, "route53": route53, "database": database_signal(lag_seconds, threshold)}
    alive = signals["database"]["known"] and not signals["database"]["firing"]
    result: dict[str, Any] = {"signals": signals, WRITER_ALIVE: alive, WAITING: False}
    if request.planned or request.failback or request.force:
        return {**result, CONFIRMED: True, REASON: "requested by an operator (planned, failback or forced)"}
    firing = [name for name, signal in signals.items() if signal["firing"]]
    persisted = [name for name in firing if _lasted(signals[name], threshold, now) >= confirm_seconds]
    if len(firing) >= 2:
        reason = f"{' and '.join(firing)} agree"
    elif persisted:
        reason = f"{persisted[0]} has fired for at least {confirm_seconds:g} s"
    elif firing:
        result |= {CONFIRMED: False, WAITING: True, REASON: f"only {firing[0]} fires: waiting for agreement"}
        logs.info("failover not confirmed yet", **result)
        return result
    else:
        result |= {CONFIRMED: False, REASON: "no signal fires any more: standing down"}
        logs.warning("failover stood down", **result)
        return result
    logs.info("failover confirmed", reason=reason, **result)
    return {**result, CONFIRMED: True, REASON: reason}


def _lasted(signal: dict[str, Any], threshold: float, now: float) -> float:
    """How long a firing signal has fired: since its alarm changed state, or the heartbeat's age past the
    threshold."""
    if signal.get("age") is not None:
        return float(signal["age"]) - threshold
    since = signal.get("since")
    return now - since if since is not None else 0.0
