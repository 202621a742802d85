"""RTO terms of an unplanned failover after the loss of the primary region, read from the bundle's templates.

The path is the one the templates build: the fastest trigger that survives the loss fires (detect, trigger;
``signals``), the failover goes on once a second signal agrees (confirm), the machine runs its steps on the
success path up to the scale step (orchestrate: each Task), and then three branches run at once (recover): the
promotion observed by the poll loop and the steps after it (writer); resolvers' caches, counted from the moment
the PRIMARY record's gate failed with the primary's own check, not from the DNS step (dns); the standby's
scale-out, which the scale step started (capacity). The recover phase lasts as long as its longest branch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from drgen.budget import figures as f
from drgen.budget import signals
from drgen.budget.model import Term
from drgen.budget.signals import trigger_and_confirmation
from drgen.budget.views import BundleDocs, Stack, amount, number
from drgen.bundle.manifest import LayerName
from drgen.errors import DrgenError
from drgen.lambda_code import contract

LEAST_TTL = 5  # a failover CNAME's TTL; lower only multiplies queries
LEAST_TARGET_INTERVAL = 5  # ALB HealthCheckIntervalSeconds 5-300
# The two branches of the recover phase.
WRITER = "writer"  # the promotion and the steps after it (the DNS step, validation, the notice)
DNS = "dns"  # resolvers' caches, from the moment the PRIMARY record's gate failed
CAPACITY = "capacity"  # the scale-out the scale step started


def rto_terms(docs: BundleDocs) -> list[Term]:
    """The primary region lost: the trigger that survives and the signals' agreement, the machine's steps, then
    three branches at once: the promotion and the steps after it, resolvers' caches, the scale-out."""
    glob = _required(docs.stack(LayerName.GLOBAL, "global"), "the global stack")
    orch = _required(docs.stack(LayerName.ORCHESTRATION, "secondary"), "the DR region's orchestration stack")
    head = [*trigger_and_confirmation(docs, orch), *_state_machine(orch)]
    elapsed = sum(t.seconds or 0 for t in head if not t.branch)
    return [*head, _dns(docs, glob, elapsed), *_capacity(docs, orch)]


def _required(stack: Stack | None, what: str) -> Stack:
    if stack is None:
        raise DrgenError(f"the bundle has no {what}; render it again")
    return stack


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
            term = Term("orchestrate", f"step {name}", f.LAMBDA_TASK.seconds, "one Lambda task", where, f.LAMBDA_TASK)
        elif state["Type"] == "Wait":
            term = _wait(states, name, where)
        if term is not None:
            terms.append(replace(term, phase="recover", branch=WRITER) if scaled else term)
        scaled = scaled or name == scale_state
        name = _next(states, state)
    return terms


def _scale_state(orch: Stack, machine: dict[str, Any], states: dict[str, Any]) -> str | None:
    """The Task that invokes the scale function (the one given ACTIVE_CAPACITY)."""
    for name, state in states.items():
        placeholder = str(state.get("Resource", "")).removeprefix("${").removesuffix("}")
        target = machine.get("DefinitionSubstitutions", {}).get(placeholder, {})
        function = orch.resource(str(target.get("Fn::GetAtt", [""])[0])) if isinstance(target, dict) else None
        if function and contract.ACTIVE_CAPACITY in function["Properties"].get("Environment", {}).get("Variables", {}):
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
        if state.get("ResultPath") == f"$.{contract.ERROR}" or state["Type"] == "Fail":
            continue
        following = [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Choices", []))]
        pending += [name for name in following if name]
    return False


def _wait(states: dict[str, Any], name: str, where: dict[str, str]) -> Term:
    """A Wait in a poll loop observes the promotion: AWS's figure rounded up to whole polls."""
    seconds = amount(states[name]["Seconds"])
    limit = _poll_limit(states, name)
    if limit is None:
        return Term("orchestrate", f"wait {name}", seconds, "Wait state", where)
    polls = math.ceil(f.PROMOTION.figure / seconds)
    return Term(
        "orchestrate",
        "Aurora promotion, observed by the poll loop",
        polls * seconds,
        f"AWS figure {f.PROMOTION.seconds} s, polled every {seconds} s ({name}.Seconds): {polls} polls",
        {**where, "property": f"DefinitionString States.{name}.Seconds"},
        f.PROMOTION,
        floor=f.PROMOTION.seconds,
        setting=f"{name} Seconds dividing {f.PROMOTION.seconds}",
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


@dataclass(frozen=True)
class Cache:
    """How long resolvers keep the PRIMARY record's answer, and what would shorten it."""

    seconds: int | float
    least: int | float
    what: str
    source: dict[str, str]
    figure: f.Figure
    setting: str


def primary_record(glob: Stack) -> tuple[str, dict[str, Any]]:
    for logical_id, record in glob.resources("AWS::Route53::RecordSet").items():
        if record["Properties"].get("Failover") == "PRIMARY":
            return logical_id, record["Properties"]
    raise DrgenError("the global template has no PRIMARY failover record")


def record_cache(glob: Stack, logical_id: str, props: dict[str, Any]) -> Cache:
    """An alias is cached for its target's TTL (60 s), a CNAME for its own."""
    if "AliasTarget" in props:
        return Cache(
            f.ALIAS_TTL.figure,
            LEAST_TTL,
            "alias record: the target's TTL",
            glob.source(logical_id, "AliasTarget"),
            f.ALIAS_TTL,
            f"{logical_id}: a CNAME failover record to the regional name with "
            f"TTL {LEAST_TTL} instead of an alias (an alias cannot set its TTL; scenario routing.alias)",
        )
    ttl = amount(props.get("TTL"))
    return Cache(
        ttl,
        min(ttl, LEAST_TTL),
        f"TTL {ttl} s",
        glob.source(logical_id, "TTL"),
        f.RECORD_TTL,
        f"{logical_id} TTL {LEAST_TTL} (scenario routing.ttl_seconds)",
    )


def _dns(docs: BundleDocs, glob: Stack, elapsed: float) -> Term:
    """Resolvers' caches. The PRIMARY record's gate fails as soon as the primary's own check does (the loss needs
    no DNS step): Route 53 answers SECONDARY from then, and clients follow once their cached answer expires, its
    TTL after that (an alias: its target's 60 s). The branch is what is left of that when the recover phase starts."""
    logical_id, props = primary_record(glob)
    fails, check = gate_fails(docs, glob, props)
    cache = record_cache(glob, logical_id, props)
    return Term(
        "recover",
        f"{logical_id} cached by resolvers",
        _whole(max(0.0, fails + cache.seconds - elapsed)),
        f"{cache.what}, from {check} failing at {fails:g} s; the recover phase starts at {elapsed:g} s",
        cache.source,
        cache.figure,
        floor=_whole(max(0.0, fails + cache.least - elapsed)),
        branch=DNS,
        setting=cache.setting,
    )


def _whole(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds


def gate_fails(docs: BundleDocs, glob: Stack, record: dict[str, Any]) -> tuple[float, str]:
    """When the PRIMARY record's check fails once the region is lost: its first child to fail, the engaged
    check aside (it changes only when a failover's DNS step publishes)."""
    check_id = str((record.get("HealthCheckId") or {}).get("Ref", ""))
    check = glob.resource(check_id)
    if check is None:
        raise DrgenError("the PRIMARY failover record has no health check of the global stack")
    config = check["Properties"]["HealthCheckConfig"]
    children = [c["Ref"] for c in config.get("ChildHealthChecks", [])] or [check_id]
    times = [
        (sum(t.seconds or 0 for t in signals.health_check(docs, glob, child)), child)
        for child in children
        if not _engaged(docs, glob, child)
    ]
    if not times:
        raise DrgenError(f"{check_id} has no child that fails with the primary region")
    return min(times)


def _engaged(docs: BundleDocs, glob: Stack, check_id: str) -> bool:
    """Whether a check follows the DR region's FailoverEngaged alarm."""
    config = glob.require(check_id)["Properties"]["HealthCheckConfig"]
    name = (config.get("AlarmIdentifier") or {}).get("Name")
    found = docs.alarms().get(name) if isinstance(name, str) else None
    return found is not None and found[2].get("MetricName") == contract.FAILOVER_ENGAGED


def _capacity(docs: BundleDocs, orch: Stack) -> list[Term]:
    """From the standby's size to the active capacity the scale step asks for: start, grace, target health."""
    app = _required(docs.stack(LayerName.APP, "secondary"), "the DR region's app stack")
    active = active_capacity(orch)
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
    raise_standby = (
        f"run the standby at active capacity ({unit_id} {size_prop} IsSecondary branch {standby} -> "
        f"{active}, scenario compute.standby_capacity)"
    )
    what = f"{unit_id} {standby} -> {active}"
    terms = [
        Term(
            "recover",
            f"scale-out {what}: start",
            start.seconds,
            start.documented.split(";")[0],
            app.source(unit_id, size_prop),
            start,
            floor=0,
            branch=CAPACITY,
            setting=raise_standby,
        )
    ]
    hook = _launch_hook(unit["Properties"])
    if hook is not None:  # the instance serves only once the hook completes; the grace period starts after
        terms.append(
            Term(
                "recover",
                f"scale-out {what}: start-up in the launch lifecycle hook",
                number(hook.get("HeartbeatTimeout")) or 3600,  # the hook's default timeout is one hour
                f"{hook.get('LifecycleHookName')} HeartbeatTimeout {hook.get('HeartbeatTimeout')} s",
                app.source(unit_id, "LifecycleHookSpecificationList"),
                f.LAUNCH_HOOK,
                floor=0,
                branch=CAPACITY,
                setting=f"a shorter HeartbeatTimeout (an image that starts faster), or {raise_standby}",
            )
        )
    grace = number(unit["Properties"].get(grace_prop)) if hook is None else None
    if grace:
        terms.append(
            Term(
                "recover",
                f"scale-out {what}: start-up allowance",
                grace,
                f"{grace_prop} {grace} s",
                app.source(unit_id, grace_prop),
                f.GRACE,
                floor=0,
                branch=CAPACITY,
                setting=f"a shorter {unit_id} {grace_prop}, or {raise_standby}",
            )
        )
    terms += _target_health(app, raise_standby)
    return terms


def _launch_hook(group: dict[str, Any]) -> dict[str, Any] | None:
    """The group's launch lifecycle hook, if it has one."""
    hooks = group.get("LifecycleHookSpecificationList") or []
    return next((h for h in hooks if h.get("LifecycleTransition") == "autoscaling:EC2_INSTANCE_LAUNCHING"), None)


def _target_health(app: Stack, raise_standby: str) -> list[Term]:
    for logical_id, group in app.resources("AWS::ElasticLoadBalancingV2::TargetGroup").items():
        props = group["Properties"]
        interval = amount(props.get("HealthCheckIntervalSeconds", 30))
        healthy = amount(props.get("HealthyThresholdCount", 5))
        return [
            Term(
                "recover",
                f"{logical_id} marks new targets healthy",
                interval * healthy,
                f"HealthCheckIntervalSeconds {interval} s x HealthyThresholdCount {healthy}",
                app.source(logical_id, "HealthCheckIntervalSeconds, HealthyThresholdCount"),
                f.TARGET_HEALTH,
                floor=0,
                branch=CAPACITY,
                setting=f"{logical_id} HealthCheckIntervalSeconds {LEAST_TARGET_INTERVAL} and "
                f"HealthyThresholdCount 2, or {raise_standby}",
            )
        ]
    return []


def active_capacity(orch: Stack) -> int | None:
    """ACTIVE_CAPACITY of the function the scale step runs."""
    for function in orch.resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if contract.ACTIVE_CAPACITY in variables:
            value = number(orch.resolve(variables[contract.ACTIVE_CAPACITY]))
            return int(value) if value is not None else None
    return None
