"""RTO terms of an unplanned failover, read from the bundle's templates.

The path is the one the templates build: the primary's Route 53 health check fails (detect), the
health-check alarm the DR region's trigger rule listens for goes to ALARM (detect), EventBridge forwards the
alarm event to the DR region and its rule starts the failover state machine (trigger), the machine runs its
steps on the success path up to the scale step (orchestrate: each Task), and then two branches run at once
(recover): the promotion observed by the poll loop, the DNS shift, validation and resolvers' caches on one;
the standby's scale-out, which the scale step started, on the other.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from drgen.budget import figures as f
from drgen.budget.bundle import BundleDocs, Stack, number
from drgen.budget.model import Term
from drgen.errors import DrgenError

ENDPOINT_CHECKS = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")
LEAST_INTERVAL = 10  # Route 53 RequestInterval: 10 or 30
LEAST_PERIOD = 60  # Route 53 metrics (and the alarms a metric health check watches) are standard resolution
LEAST_TTL = 5  # a failover CNAME's TTL; lower only multiplies queries
LEAST_TARGET_INTERVAL = 5  # ALB HealthCheckIntervalSeconds 5-300
# The two branches of the recover phase.
WRITER_DNS = "writer+dns"  # the promotion, the DNS shift and resolvers' caches, one after the other
CAPACITY = "capacity"  # the scale-out the scale step started


def rto_terms(docs: BundleDocs) -> list[Term]:
    """Detection and trigger along the fastest rule that starts the failover, then the machine and recovery."""
    glob = _required(docs.stack("global", "global"), "the global stack")
    orch = _required(docs.stack("orchestration", "secondary"), "the DR region's orchestration stack")
    paths = [_trigger_path(docs, orch, rule_id, rule) for rule_id, rule in _triggers(orch)]
    if not paths:
        raise DrgenError("the orchestration template has no rule starting the failover state machine on an alarm")
    fastest = min(paths, key=lambda terms: sum(t.seconds or 0 for t in terms))
    return [*fastest, *_state_machine(orch), _dns(glob), *_capacity(docs, orch)]


def _required(stack: Stack | None, what: str) -> Stack:
    if stack is None:
        raise DrgenError(f"the bundle has no {what}; render it again")
    return stack


def _triggers(orch: Stack) -> list[tuple[str, dict[str, Any]]]:
    """The rules that start the failover machine when an alarm fires."""
    machines = orch.resources("AWS::StepFunctions::StateMachine")
    found = []
    for logical_id, rule in orch.resources("AWS::Events::Rule").items():
        targets = rule["Properties"].get("Targets", [])
        alarm = rule["Properties"].get("EventPattern", {}).get("detail", {}).get("alarmName")
        if alarm and any(t.get("Arn", {}).get("Ref") in machines for t in targets):
            found.append((logical_id, rule))
    return found


def _trigger_path(docs: BundleDocs, orch: Stack, rule_id: str, rule: dict[str, Any]) -> list[Term]:
    """Detection until the rule's alarm fires, the alarm event's way to the DR region, the rule's start."""
    name = rule["Properties"]["EventPattern"]["detail"]["alarmName"][0]
    if isinstance(name, dict) and orch.resource(str(name.get("Ref"))) is not None:
        found = (orch, name["Ref"], orch.resource(name["Ref"])["Properties"])  # an alarm of the same stack
        name = orch.resolve(found[2].get("AlarmName"))
    else:
        found = docs.alarms().get(name) if isinstance(name, str) else None
    if found is None:
        raise DrgenError(f"no alarm named {name} (rule {rule_id} listens for it) in the bundle; render it again")
    alarm_stack, alarm_id, alarm_props = found
    check_id = _health_check_of(alarm_props)
    detect = _health_check(docs, alarm_stack, check_id) if check_id else []
    forwarding = _forwarding(alarm_stack, name) if alarm_stack.region != orch.region else []
    return [
        *detect,
        _alarm(alarm_stack, alarm_id, alarm_props, "detect", f"{rule_id} listens"),
        *forwarding,
        Term("trigger", f"{rule_id} starts the state machine", f.RULE_TARGET.seconds, "EventBridge rule target",
             orch.source(rule_id, "Targets[0]"), f.RULE_TARGET),
    ]


def _health_check_of(alarm: dict[str, Any]) -> str | None:
    """The Route 53 health check an alarm watches, if it watches one."""
    for dimension in alarm.get("Dimensions", []):
        if dimension.get("Name") == "HealthCheckId" and isinstance(dimension.get("Value"), dict):
            return str(dimension["Value"].get("Ref"))
    return None


def _health_check(docs: BundleDocs, stack: Stack, logical_id: str) -> list[Term]:
    """The terms until ``logical_id`` reports unhealthy; a calculated check waits for enough children."""
    config = stack.resource(logical_id)["Properties"]["HealthCheckConfig"]
    kind = config.get("Type")
    if kind in ENDPOINT_CHECKS:
        interval = number(config.get("RequestInterval", 30))
        threshold = number(config.get("FailureThreshold", 3))
        return [Term(
            "detect", f"{logical_id} fails", interval * threshold,
            f"RequestInterval {interval} s x FailureThreshold {threshold}",
            stack.source(logical_id, "HealthCheckConfig.RequestInterval, HealthCheckConfig.FailureThreshold"),
            f.HEALTH_CHECK, floor=LEAST_INTERVAL,
            setting=f"{logical_id} RequestInterval {LEAST_INTERVAL} (create-only) and FailureThreshold 1 "
                    "(scenario routing.health_check)",
        )]
    if kind == "CLOUDWATCH_METRIC":
        name = config["AlarmIdentifier"]["Name"]
        found = docs.alarms().get(name)
        if found is None:
            raise DrgenError(f"{logical_id} watches alarm {name}, which no stack of the bundle creates")
        return [_alarm(*found, "detect", f"{logical_id} follows")]
    if kind == "CALCULATED":
        children = [_health_check(docs, stack, child["Ref"]) for child in config.get("ChildHealthChecks", [])]
        healthy_needed = int(number(config.get("HealthThreshold", 1)) or 0)
        failures_needed = len(children) - healthy_needed + 1  # unhealthy once fewer than HealthThreshold are healthy
        children.sort(key=lambda terms: sum(t.seconds or 0 for t in terms))
        return children[max(failures_needed, 1) - 1]
    raise DrgenError(f"{logical_id}: health checks of type {kind} are not budgeted")


def _alarm(stack: Stack, logical_id: str, props: dict[str, Any], phase: str, role: str) -> Term:
    period = number(props.get("Period"))
    evaluations = number(props.get("EvaluationPeriods"))
    datapoints = number(props.get("DatapointsToAlarm", evaluations))
    name = stack.resolve(props.get("AlarmName"))
    return Term(
        phase, f"{logical_id} fires ({role})", period * datapoints,
        f"{name}: Period {period} s x DatapointsToAlarm {datapoints} (of EvaluationPeriods {evaluations})",
        stack.source(logical_id, "Period, DatapointsToAlarm, EvaluationPeriods"),
        f.ALARM, floor=LEAST_PERIOD,
        setting=f"{logical_id} DatapointsToAlarm and EvaluationPeriods 1",
        limit="the alarm cannot see a failure before one full period of one-minute data",
    )


def _forwarding(glob: Stack, alarm_name: str) -> list[Term]:
    """The rule that forwards the alarm's state change to the DR region's bus (absent when none is needed)."""
    for logical_id, rule in glob.resources("AWS::Events::Rule").items():
        pattern = rule["Properties"].get("EventPattern", {})
        buses = [t for t in rule["Properties"].get("Targets", []) if ":event-bus/" in json.dumps(t.get("Arn"))]
        if alarm_name in pattern.get("detail", {}).get("alarmName", []) and buses:
            return [Term("trigger", f"{logical_id} forwards to the DR region",
                         f.EVENT_FORWARDING.seconds, "EventBridge cross-Region delivery",
                         glob.source(logical_id, "Targets[0].Arn"), f.EVENT_FORWARDING)]
    return []


def _state_machine(orch: Stack) -> list[Term]:
    """Each step on the success path of the failover machine, the promotion poll loop as one term. The steps
    after the scale step run while the standby scales out: they are the recover phase's writer+dns branch."""
    machine_id, machine = next(iter(orch.resources("AWS::StepFunctions::StateMachine").items()))
    definition = json.loads(machine["Properties"]["DefinitionString"])
    states = definition["States"]
    scale_state = _scale_state(orch, machine["Properties"], states)
    terms: list[Term] = []
    name, seen, scaled = definition["StartAt"], set(), False
    while name and name not in seen:
        seen.add(name)
        state = states[name]
        where = orch.source(machine_id, f"DefinitionString States.{name}")
        term = None
        if state["Type"] == "Task":
            term = Term("orchestrate", f"step {name}", f.LAMBDA_TASK.seconds, "one Lambda task", where,
                        f.LAMBDA_TASK)
        elif state["Type"] == "Wait":
            term = _wait(states, name, where)
        if term is not None:
            terms.append(replace(term, phase="recover", branch=WRITER_DNS) if scaled else term)
        scaled = scaled or name == scale_state
        name = _next(states, state)
    return terms


def _scale_state(orch: Stack, machine: dict[str, Any], states: dict[str, Any]) -> str | None:
    """The Task that invokes the scale function (the one given ACTIVE_CAPACITY)."""
    for name, state in states.items():
        placeholder = str(state.get("Resource", "")).removeprefix("${").removesuffix("}")
        target = machine.get("DefinitionSubstitutions", {}).get(placeholder, {})
        function = orch.resource(str(target.get("Fn::GetAtt", [""])[0])) if isinstance(target, dict) else None
        if function and "ACTIVE_CAPACITY" in function["Properties"].get("Environment", {}).get("Variables", {}):
            return name
    return None


def _next(states: dict[str, Any], state: dict[str, Any]) -> str | None:
    """The success path: a Choice follows its ``BooleanEquals: true`` branch, else the first of its Default and
    its branches that reaches a Succeed state without recording an error."""
    if state["Type"] != "Choice":
        return state.get("Next")
    for choice in state.get("Choices", []):
        if choice.get("BooleanEquals") is True:
            return choice["Next"]
    candidates = [state.get("Default"), *(choice.get("Next") for choice in state.get("Choices", []))]
    return next((c for c in candidates if c and _succeeds(states, c)), state.get("Default"))


def _succeeds(states: dict[str, Any], start: str) -> bool:
    """True when following Next (a Choice: any branch) from ``start`` reaches a Succeed state without passing a
    state that records an error."""
    pending, seen = [start], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        if state["Type"] == "Succeed":
            return True
        if state.get("ResultPath") == "$.error" or state["Type"] == "Fail":
            continue
        following = [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Choices", []))]
        pending += [name for name in following if name]
    return False


def _wait(states: dict[str, Any], name: str, where: dict[str, str]) -> Term:
    """A Wait in a poll loop observes the promotion: AWS's figure rounded up to whole polls."""
    seconds = number(states[name]["Seconds"])
    limit = _poll_limit(states, name)
    if limit is None:
        return Term("orchestrate", f"wait {name}", seconds, "Wait state", where)
    polls = math.ceil(f.PROMOTION.seconds / seconds)
    return Term(
        "orchestrate", "Aurora promotion, observed by the poll loop", polls * seconds,
        f"AWS figure {f.PROMOTION.seconds} s, polled every {seconds} s ({name}.Seconds): {polls} polls",
        {**where, "property": f"DefinitionString States.{name}.Seconds"}, f.PROMOTION,
        floor=f.PROMOTION.seconds, setting=f"{name} Seconds dividing {f.PROMOTION.seconds}",
        limit=f"AWS's promotion time; the machine gives up after {limit} polls ({limit * seconds} s); a planned "
              "switchover takes as long but loses nothing",
    )


def _poll_limit(states: dict[str, Any], wait: str) -> int | None:
    """The poll count after which the loop through ``wait`` gives up; None when ``wait`` is not in a loop."""
    name, hops = states[wait].get("Next"), 0
    while name and hops < 4:
        state = states[name]
        if state["Type"] == "Choice":
            bounds = [c["NumericGreaterThanEquals"] for c in state["Choices"] if "NumericGreaterThanEquals" in c]
            return int(bounds[0]) if bounds and _reaches(states, state.get("Default"), wait) else None
        name, hops = state.get("Next"), hops + 1
    return None


def _reaches(states: dict[str, Any], start: str | None, target: str) -> bool:
    name, hops = start, 0
    while name and hops < 4:
        if name == target:
            return True
        name, hops = states[name].get("Next"), hops + 1
    return False


def _dns(glob: Stack) -> Term:
    """Resolvers keep the PRIMARY answer until its TTL expires (an alias: its target's 60 s)."""
    for logical_id, record in glob.resources("AWS::Route53::RecordSet").items():
        props = record["Properties"]
        if props.get("Failover") != "PRIMARY":
            continue
        if "AliasTarget" in props:
            return Term("recover", f"{logical_id} cached by resolvers", f.ALIAS_TTL.seconds,
                        "alias record: the target's TTL", glob.source(logical_id, "AliasTarget"), f.ALIAS_TTL,
                        floor=LEAST_TTL, branch=WRITER_DNS,
                        setting=f"{logical_id}: a CNAME failover record to the regional name with TTL {LEAST_TTL} "
                                "instead of an alias (an alias cannot set its TTL)")
        ttl = number(props.get("TTL"))
        return Term("recover", f"{logical_id} cached by resolvers", ttl, f"TTL {ttl} s",
                    glob.source(logical_id, "TTL"), f.RECORD_TTL, floor=min(ttl, LEAST_TTL), branch=WRITER_DNS,
                    setting=f"{logical_id} TTL {LEAST_TTL} (scenario routing.ttl_seconds)")
    raise DrgenError("the global template has no PRIMARY failover record")


def _capacity(docs: BundleDocs, orch: Stack) -> list[Term]:
    """From the standby's size to the active capacity the scale step asks for: start, grace, target health."""
    app = _required(docs.stack("app", "secondary"), "the DR region's app stack")
    active = _active_capacity(orch)
    services = app.resources("AWS::ECS::Service")
    groups = app.resources("AWS::AutoScaling::AutoScalingGroup")
    if services:
        unit_id, unit = next(iter(services.items()))
        size_prop, grace_prop, start = "DesiredCount", "HealthCheckGracePeriodSeconds", f.FARGATE_START
    elif groups:
        unit_id, unit = next(iter(groups.items()))
        size_prop, grace_prop, start = "DesiredCapacity", "HealthCheckGracePeriod", f.EC2_LAUNCH
    else:
        return []  # Lambda, API Gateway or no compute: nothing the failover scales
    standby = number(app.resolve(unit["Properties"].get(size_prop)))
    if active is None or standby is None or standby >= active:
        return []
    raise_standby = (f"run the standby at active capacity ({unit_id} {size_prop} IsSecondary branch {standby} -> "
                     f"{active}, scenario compute.standby_capacity)")
    what = f"{unit_id} {standby} -> {active}"
    terms = [Term("recover", f"scale-out {what}: start", start.seconds, start.documented.split(";")[0],
                  app.source(unit_id, size_prop), start, floor=0, branch=CAPACITY, setting=raise_standby)]
    grace = number(unit["Properties"].get(grace_prop))
    if grace:
        terms.append(Term("recover", f"scale-out {what}: start-up allowance", grace, f"{grace_prop} {grace} s",
                          app.source(unit_id, grace_prop), f.GRACE, floor=0, branch=CAPACITY,
                          setting=f"a shorter {unit_id} {grace_prop}, or {raise_standby}"))
    terms += _target_health(app, raise_standby)
    return terms


def _target_health(app: Stack, raise_standby: str) -> list[Term]:
    for logical_id, group in app.resources("AWS::ElasticLoadBalancingV2::TargetGroup").items():
        props = group["Properties"]
        interval = number(props.get("HealthCheckIntervalSeconds", 30))
        healthy = number(props.get("HealthyThresholdCount", 5))
        return [Term("recover", f"{logical_id} marks new targets healthy", interval * healthy,
                     f"HealthCheckIntervalSeconds {interval} s x HealthyThresholdCount {healthy}",
                     app.source(logical_id, "HealthCheckIntervalSeconds, HealthyThresholdCount"),
                     f.TARGET_HEALTH, floor=0, branch=CAPACITY,
                     setting=f"{logical_id} HealthCheckIntervalSeconds {LEAST_TARGET_INTERVAL} and "
                             f"HealthyThresholdCount 2, or {raise_standby}")]
    return []


def _active_capacity(orch: Stack) -> int | None:
    """ACTIVE_CAPACITY of the function the scale step runs."""
    for function in orch.resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "ACTIVE_CAPACITY" in variables:
            value = number(orch.resolve(variables["ACTIVE_CAPACITY"]))
            return int(value) if value is not None else None
    return None
