"""How an unplanned failover starts, read from the bundle: detection, the trigger that survives, the agreement.

The primary region is lost. Each signal the failover listens to fires some time after that, by the templates'
own values: a rule's alarm (the DR region's probe alarm, or the us-east-1 health-check alarm forwarded to the DR
region), and the primary writer's heartbeat on the DR replica, which the confirm step reads once its age passes
writer_silent_seconds (the lag monitor samples it every SAMPLE_INTERVAL_SECONDS). The trigger is the fastest rule that
survives the loss: with the primary in us-east-1, the us-east-1 alarm and its forwarding are down with it. Only
rules on the ALARM transition start a failover (the ALARM -> OK rule starts a failback). The failover then goes on
once a second signal agrees, or once one has persisted for CONFIRM_SECONDS; the confirm step asks again every
WaitToConfirm seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from drgen.budget import figures as f
from drgen.budget.model import Term
from drgen.budget.views import BundleDocs, Stack, amount, number
from drgen.bundle.manifest import LayerName
from drgen.errors import DrgenError
from drgen.lambda_code import contract

ENDPOINT_CHECKS = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")
LEAST_INTERVAL = 10  # Route 53 RequestInterval: 10 or 30
LEAST_PERIOD = 60  # Route 53 metrics (and the alarms a metric health check watches) are standard resolution
LEAST_HIGH_RESOLUTION_PERIOD = 10  # a high-resolution metric's alarm (the DR region's probe)
LAG_MONITOR = "LagMonitorFunction"
CONFIRM_WAIT = "WaitToConfirm"


@dataclass(frozen=True)
class Path:
    """A trigger: the terms until it starts the machine, and the regions it needs."""

    rule: str
    terms: list[Term]
    regions: frozenset[str]
    alarm: Term  # the term of the alarm the rule listens for

    @property
    def fires(self) -> float:
        """Seconds from the loss until its alarm fires (detection only)."""
        return sum(t.seconds or 0 for t in self.terms if t.phase == "detect")


def trigger_and_confirmation(docs: BundleDocs, orch: Stack) -> list[Term]:
    """The fastest surviving trigger's terms, then the wait until the signals agree."""
    lost = docs.manifest["regions"]["primary"]
    paths = [_trigger_path(docs, orch, rule_id, rule) for rule_id, rule in triggers(orch)]
    if not paths:
        raise DrgenError("the orchestration template has no rule starting the failover state machine on an alarm")
    surviving = [p for p in paths if lost not in p.regions]
    if not surviving:
        raise DrgenError(f"every failover trigger needs {lost}, the region that failed: add one in the DR region")
    fastest = min(surviving, key=lambda p: sum(t.seconds or 0 for t in p.terms))
    return [*fastest.terms, *_confirmation(docs, orch, fastest, surviving)]


def triggers(orch: Stack) -> list[tuple[str, dict[str, Any]]]:
    """The rules that start the failover machine when an alarm goes to ALARM."""
    machines = orch.resources("AWS::StepFunctions::StateMachine")
    found = []
    for logical_id, rule in orch.resources("AWS::Events::Rule").items():
        targets = rule["Properties"].get("Targets", [])
        detail = rule["Properties"].get("EventPattern", {}).get("detail", {})
        if not detail.get("alarmName") or detail.get("state", {}).get("value") != ["ALARM"]:
            continue  # not an alarm rule, or the ALARM -> OK failback rule
        if any(t.get("Arn", {}).get("Ref") in machines for t in targets):
            found.append((logical_id, rule))
    return found


def _trigger_path(docs: BundleDocs, orch: Stack, rule_id: str, rule: dict[str, Any]) -> Path:
    """Detection until the rule's alarm fires, the alarm event's way to the DR region, the rule's start."""
    name = rule["Properties"]["EventPattern"]["detail"]["alarmName"][0]
    found: tuple[Stack, str, dict[str, Any]] | None
    if isinstance(name, dict) and orch.resource(str(name.get("Ref"))) is not None:
        found = (orch, name["Ref"], orch.require(name["Ref"])["Properties"])  # an alarm of the same stack
        name = orch.resolve(found[2].get("AlarmName"))
    else:
        found = docs.alarms().get(name) if isinstance(name, str) else None
    if found is None:
        raise DrgenError(f"no alarm named {name} (rule {rule_id} listens for it) in the bundle; render it again")
    alarm_stack, alarm_id, alarm_props = found
    check_id = _health_check_of(alarm_props)
    detect = health_check(docs, alarm_stack, check_id) if check_id else []
    forwarding = _forwarding(alarm_stack, name) if alarm_stack.region != orch.region else []
    alarm = alarm_term(alarm_stack, alarm_id, alarm_props, "detect", f"{rule_id} listens")
    terms = [
        *detect,
        alarm,
        *forwarding,
        Term(
            "trigger",
            f"{rule_id} starts the state machine",
            f.RULE_TARGET.seconds,
            "EventBridge rule target",
            orch.source(rule_id, "Targets[0]"),
            f.RULE_TARGET,
        ),
    ]
    return Path(rule_id, terms, frozenset({alarm_stack.region, orch.region}), alarm)


def _health_check_of(alarm: dict[str, Any]) -> str | None:
    """The Route 53 health check an alarm watches, if it watches one."""
    for dimension in alarm.get("Dimensions", []):
        if dimension.get("Name") == "HealthCheckId" and isinstance(dimension.get("Value"), dict):
            return str(dimension["Value"].get("Ref"))
    return None


def health_check(docs: BundleDocs, stack: Stack, logical_id: str) -> list[Term]:
    """The terms until ``logical_id`` reports unhealthy; a calculated check waits for enough children."""
    config = stack.require(logical_id)["Properties"]["HealthCheckConfig"]
    kind = config.get("Type")
    if kind in ENDPOINT_CHECKS:
        interval = amount(config.get("RequestInterval", 30))
        threshold = amount(config.get("FailureThreshold", 3))
        return [
            Term(
                "detect",
                f"{logical_id} fails",
                interval * threshold,
                f"RequestInterval {interval} s x FailureThreshold {threshold}",
                stack.source(logical_id, "HealthCheckConfig.RequestInterval, HealthCheckConfig.FailureThreshold"),
                f.HEALTH_CHECK,
                floor=LEAST_INTERVAL,
                setting=f"{logical_id} RequestInterval {LEAST_INTERVAL} (create-only) and FailureThreshold 1 "
                "(scenario routing.health_check)",
            )
        ]
    if kind == "CLOUDWATCH_METRIC":
        name = config["AlarmIdentifier"]["Name"]
        found = docs.alarms().get(name)
        if found is None:
            raise DrgenError(f"{logical_id} watches alarm {name}, which no stack of the bundle creates")
        return [alarm_term(*found, "detect", f"{logical_id} follows")]
    if kind == "CALCULATED":
        children = [health_check(docs, stack, child["Ref"]) for child in config.get("ChildHealthChecks", [])]
        healthy_needed = int(number(config.get("HealthThreshold", 1)) or 0)
        failures_needed = len(children) - healthy_needed + 1  # unhealthy once fewer than HealthThreshold are healthy
        children.sort(key=lambda terms: sum(t.seconds or 0 for t in terms))
        return children[max(failures_needed, 1) - 1]
    raise DrgenError(f"{logical_id}: health checks of type {kind} are not budgeted")


def alarm_term(stack: Stack, logical_id: str, props: dict[str, Any], phase: str, role: str) -> Term:
    period = amount(props.get("Period"))
    evaluations = amount(props.get("EvaluationPeriods"))
    datapoints = amount(props.get("DatapointsToAlarm", evaluations))
    name = stack.resolve(props.get("AlarmName"))
    least = LEAST_HIGH_RESOLUTION_PERIOD if period < LEAST_PERIOD else LEAST_PERIOD
    return Term(
        phase,
        f"{logical_id} fires ({role})",
        period * datapoints,
        f"{name}: Period {period} s x DatapointsToAlarm {datapoints} (of EvaluationPeriods {evaluations})",
        stack.source(logical_id, "Period, DatapointsToAlarm, EvaluationPeriods"),
        f.ALARM,
        floor=least,
        setting=f"{logical_id} DatapointsToAlarm and EvaluationPeriods 1",
        limit=f"the alarm cannot see a failure before one full {least} s period of its metric's data",
    )


def _forwarding(glob: Stack, alarm_name: str) -> list[Term]:
    """The rule that forwards the alarm's state change to the DR region's bus (absent when none is needed)."""
    for logical_id, rule in glob.resources("AWS::Events::Rule").items():
        pattern = rule["Properties"].get("EventPattern", {})
        buses = [t for t in rule["Properties"].get("Targets", []) if ":event-bus/" in json.dumps(t.get("Arn"))]
        if alarm_name in pattern.get("detail", {}).get("alarmName", []) and buses:
            return [
                Term(
                    "trigger",
                    f"{logical_id} forwards to the DR region",
                    f.EVENT_FORWARDING.seconds,
                    "EventBridge cross-Region delivery",
                    glob.source(logical_id, "Targets[0].Arn"),
                    f.EVENT_FORWARDING,
                )
            ]
    return []


# -- the agreement ---------------------------------------------------------------------------------------------
def _confirmation(docs: BundleDocs, orch: Stack, trigger: Path, surviving: list[Path]) -> list[Term]:
    """The wait from the trigger's alarm until a second signal agrees (or the first has persisted)."""
    machine = next(iter(orch.resources("AWS::StepFunctions::StateMachine").values()))
    states = json.loads(machine["Properties"]["DefinitionString"]).get("States", {})
    if CONFIRM_WAIT not in states:
        return []  # a machine without the confirm loop starts on the first signal
    poll = number(states[CONFIRM_WAIT]["Seconds"]) or 0
    others = [(p.fires, f"{p.rule}'s alarm", p.alarm.source) for p in surviving if p is not trigger]
    heartbeat = _heartbeat(docs, states)
    if heartbeat is not None:
        others.append(heartbeat)
    persisted = _persistence(orch, trigger)
    agree = min([*others, persisted], key=lambda o: o[0])
    gap = max(0.0, agree[0] - trigger.fires)
    waited = math.ceil(gap / poll) * poll if poll else gap
    return [
        Term(
            "confirm",
            f"signals agree: {agree[1]}",
            waited,
            f"{agree[1]} at {agree[0]:g} s after the loss, the trigger's alarm at {trigger.fires:g} s; "
            f"the confirm step asks every {poll:g} s",
            agree[2],
            floor=0,
            setting="a second signal as fast as the trigger (the DR probe's alarm and the writer's heartbeat)",
        )
    ]


def _heartbeat(docs: BundleDocs, states: dict[str, Any]) -> tuple[float, str, dict[str, str]] | None:
    """When the writer's heartbeat on the DR replica is older than the Confirm state's writer_silent_seconds, sampled
    as the monitor does."""
    app = docs.stack(LayerName.APP, "secondary")
    monitor = app.resource(LAG_MONITOR) if app else None
    confirm = states.get("Confirm", {}).get("Parameters", {})
    threshold = number(confirm.get(contract.WRITER_SILENT_SECONDS))
    if app is None or monitor is None or threshold is None:
        return None
    sample = number(monitor["Properties"]["Environment"]["Variables"].get(contract.SAMPLE_INTERVAL_SECONDS)) or 0
    source = app.source(LAG_MONITOR, f"Environment.Variables.{contract.SAMPLE_INTERVAL_SECONDS}")
    what = f"the writer's heartbeat (older than {threshold:g} s, sampled every {sample:g} s)"
    return threshold + sample, what, source


def _persistence(orch: Stack, trigger: Path) -> tuple[float, str, dict[str, str]]:
    """The trigger's own signal, once it has fired for the confirm step's CONFIRM_SECONDS."""
    for logical_id, function in orch.resources("AWS::Lambda::Function").items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        seconds = number(orch.resolve(variables.get(contract.CONFIRM_SECONDS)))
        if seconds is not None:
            source = orch.source(logical_id, f"Environment.Variables.{contract.CONFIRM_SECONDS}")
            return trigger.fires + seconds, f"{trigger.rule}'s alarm persisted {seconds:g} s", source
    raise DrgenError(f"the orchestration template's confirm step has no {contract.CONFIRM_SECONDS}; render it again")
