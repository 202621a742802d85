"""The failover state machine as rendered: every Task retries and catches, every path ends, the Tasks call
functions the template defines, Choices read fields earlier states produce, and the trigger starts it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from drgen.builders.failover_definition import (
    max_confirmations,
)
from drgen.lambda_code import contract
from drgen.scenario import PRESETS

from ..conftest import resources, template

ALL = sorted(PRESETS)
TERMINAL = {"Succeed", "Fail"}
PLACEHOLDER = re.compile(r"^\$\{(\w+)\}$")


def machine(bundles: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(template, the state machine resource, its parsed definition) of a preset's orchestration layer."""
    doc = template(bundles[name], "orchestration")
    (resource,) = resources(doc, "AWS::StepFunctions::StateMachine").values()
    return doc, resource, json.loads(resource["Properties"]["DefinitionString"])


def successors(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


@pytest.mark.parametrize("name", ALL)
def test_machine_is_standard_traced_logged_and_lives_in_the_dr_region_only(name, bundles):
    doc, resource, _ = machine(bundles, name)
    assert resource["Condition"] == "IsSecondary"
    props = resource["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    (destination,) = props["LoggingConfiguration"]["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert doc["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in doc["Resources"][group]["Properties"]


@pytest.mark.parametrize("name", ALL)
def test_every_task_retries_with_backoff_and_catches_everything(name, bundles):
    _, _, definition = machine(bundles, name)
    tasks = {k: s for k, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) >= 7
    for state_name, state in tasks.items():
        retriers = state.get("Retry", [])
        assert retriers, f"{state_name} has no Retry"
        general = [r for r in retriers if r["ErrorEquals"] == ["States.ALL"]]
        assert general and general[0]["BackoffRate"] > 1 and general[0]["MaxAttempts"] >= 1, state_name
        assert retriers[-1]["ErrorEquals"] == ["States.ALL"], "States.ALL must be the last retrier"
        refusals = [r for r in retriers if set(r["ErrorEquals"]) == set(contract.REFUSALS)]
        assert refusals and refusals[0]["MaxAttempts"] == 0, f"{state_name}: a refusal must not be retried"
        catchers = state.get("Catch", [])
        assert any(c["ErrorEquals"] == ["States.ALL"] for c in catchers), f"{state_name} does not catch everything"
        assert all(c["ResultPath"] == "$.error" for c in catchers), state_name


@pytest.mark.parametrize("name", ALL)
def test_no_task_can_spend_half_the_executions_time_on_retries(name, bundles):
    """A Task runs at most 1 + MaxAttempts times ("MaxAttempts ... how many times to retry"), each up to its
    function's Timeout; a run that hits the execution's TimeoutSeconds ends TIMED_OUT with no catcher, so neither
    the validation nor the failure notice runs (concepts-error-handling.html). Each Task's worst case must leave
    half the execution's time to the rest."""
    doc, resource, definition = machine(bundles, name)
    substitutions = resource["Properties"]["DefinitionSubstitutions"]
    for state_name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        function = doc["Resources"][substitutions[PLACEHOLDER.match(state["Resource"]).group(1)]["Fn::GetAtt"][0]]
        [general] = [r for r in state["Retry"] if r["ErrorEquals"] == ["States.ALL"]]
        worst = (1 + general["MaxAttempts"]) * function["Properties"]["Timeout"]
        assert worst <= definition["TimeoutSeconds"] / 2, f"{state_name}: {worst} s of retries"


@pytest.mark.parametrize("name", ALL)
def test_every_path_ends_in_succeed_or_fail(name, bundles):
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    reachable, pending = set(), [definition["StartAt"]]
    while pending:
        current = pending.pop()
        if current in reachable:
            continue
        assert current in states, f"transition to undefined state {current}"
        reachable.add(current)
        state = states[current]
        assert not state.get("End"), f"{current} ends the run without saying how (use Succeed or Fail)"
        nxt = successors(state)
        assert nxt or state["Type"] in TERMINAL, f"{current} has nowhere to go"
        pending.extend(nxt)
    assert reachable == set(states), f"unreachable states: {sorted(set(states) - reachable)}"
    # from every state some terminal state is reachable (no loop without an exit)
    ends = {k for k, s in states.items() if s["Type"] in TERMINAL}
    can_end = set(ends)
    changed = True
    while changed:
        changed = False
        for key, state in states.items():
            if key not in can_end and any(n in can_end for n in successors(state)):
                can_end.add(key)
                changed = True
    assert can_end == set(states)
    assert {states[e]["Type"] for e in ends} == TERMINAL


@pytest.mark.parametrize("name", ALL)
def test_every_task_calls_a_function_this_template_defines(name, bundles):
    doc, resource, definition = machine(bundles, name)
    substitutions = resource["Properties"]["DefinitionSubstitutions"]
    called = set()
    for state_name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        match = PLACEHOLDER.match(state["Resource"])
        assert match, f"{state_name}: Resource must be a substituted function ARN"
        variable = match.group(1)
        logical, attribute = substitutions[variable]["Fn::GetAtt"]
        target = doc["Resources"][logical]
        assert target["Type"] == "AWS::Lambda::Function" and attribute == "Arn"
        assert target.get("Condition") == "IsSecondary", f"{logical} must exist where the machine does"
        called.add(logical)
    # the role may invoke exactly the functions the machine calls
    role = doc["Resources"][resource["Properties"]["RoleArn"]["Fn::GetAtt"][0]]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if s["Action"] == ["lambda:InvokeFunction"]]
    assert {r["Fn::GetAtt"][0] for r in invoke["Resource"]} == called
    assert set(substitutions) == {f"{logical.removesuffix('Function')}Arn" for logical in called}


def produced(state: dict[str, Any], fields: frozenset[str]) -> frozenset[str]:
    """The top-level fields of the state's output, given those of its input (JSONPath states, no OutputPath)."""
    if state["Type"] in ("Pass", "Task") and "ResultPath" in state:
        return fields | {state["ResultPath"].removeprefix("$.").split(".")[0]}
    if state["Type"] == "Pass" and "Parameters" in state:
        return frozenset(k.removesuffix(".$") for k in state["Parameters"])
    return fields


def catch_output(fields: frozenset[str]) -> frozenset[str]:
    return fields | {"error"}


@pytest.mark.parametrize("name", ALL)
def test_choices_and_parameters_read_fields_earlier_states_produce(name, bundles):
    """A dataflow over the graph: the fields present on every path into a state must cover what it reads."""
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    everything = frozenset({"*"})
    guaranteed: dict[str, frozenset[str]] = {k: everything for k in states}
    guaranteed[definition["StartAt"]] = frozenset()  # the input: nothing is guaranteed
    changed = True
    while changed:
        changed = False
        for key, state in states.items():
            if guaranteed[key] == everything:
                continue
            out = produced(state, guaranteed[key])
            edges = [(n, out) for n in ([state["Next"]] if "Next" in state else [])]
            edges += [(c["Next"], out) for c in state.get("Choices", [])]
            edges += [(state["Default"], out)] if "Default" in state else []
            edges += [(c["Next"], catch_output(guaranteed[key])) for c in state.get("Catch", [])]
            for target, fields in edges:
                merged = fields if guaranteed[target] == everything else guaranteed[target] & fields
                if merged != guaranteed[target]:
                    guaranteed[target] = merged
                    changed = True
    for key, state in states.items():
        for path in _read_paths(state):
            field = path.removeprefix("$.").split(".")[0]
            assert field in guaranteed[key], f"{key} reads {path}, not produced on every path into it"


def _read_paths(state: dict[str, Any]) -> list[str]:
    """``$.x`` paths a state reads (Choice variables not guarded by IsPresent, Parameters, intrinsic args)."""
    found: list[str] = []
    for choice in state.get("Choices", []):
        rules = choice.get("And", [choice])
        guarded = {r["Variable"] for r in rules if "IsPresent" in r}
        found += [r["Variable"] for r in rules if r["Variable"] not in guarded]
    for key, value in state.get("Parameters", {}).items():
        if key.endswith(".$"):
            found += [p for p in re.findall(r"\$\.[\w.]+", value) if not value.startswith("$$")]
    return found


@pytest.mark.parametrize("name", ALL)
def test_promotion_polling_is_bounded(name, bundles):
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    seconds = states["WaitForPromotion"]["Seconds"]
    bound = [c for c in states["PromotedYet"]["Choices"] if "NumericGreaterThanEquals" in c]
    assert bound[0]["Variable"] == "$.polls.count"
    # AWS: "Typically, the chosen secondary cluster assumes the primary role within a few minutes" (Aurora user
    # guide, "Recovering an Amazon Aurora global database from an unplanned outage"). The loop must outlast "a
    # few minutes" (read as 5) twice over, and poll often enough that a promotion is seen within a minute.
    assert seconds * bound[0]["NumericGreaterThanEquals"] >= 2 * 5 * 60
    assert 0 < seconds <= 60
    assert "States.MathAdd($.polls.count, 1)" in states["CountPoll"]["Parameters"]["count.$"]
    assert states["CountPoll"]["Next"] == "WaitForPromotion"


@pytest.mark.parametrize("name", ALL)
def test_validation_waits_and_retries_a_bounded_number_of_times_then_decides(name, bundles):
    """Defect 6: Route 53's checkers need a minute or two to see the engaged stream; validation retries, bounded."""
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    after_dns = states["ShiftDns"]["Next"]
    # scenarios with an order ledger replay it, those with replicated buckets turn the way back on, in this order
    for optional in ("ReplayLedger", "ReturnReplication"):
        if after_dns == optional:
            after_dns = states[optional]["Next"]
    assert after_dns == "StartValidating" and states["StartValidating"]["Next"] == "Validate"
    assert states["Validate"]["Next"] == "Valid"
    valid, again = states["Valid"]["Choices"]
    assert valid["Variable"] == "$.validation.valid" and valid["BooleanEquals"] is True
    assert states[valid["Next"]]["Next"] == "FailoverSucceeded"
    assert again["Variable"] == "$.validations.count" and again["Next"] == "WaitToValidate"
    # Route 53's checkers see a new health-check state after a few evaluation periods: with a 30 s interval and
    # 3 failures, 90 s, and Route 53 asks checkers in several regions (Route 53 developer guide, "How Amazon
    # Route 53 determines whether a health check is healthy"); validation must wait longer than that, bounded.
    assert again["NumericLessThan"] * states["WaitToValidate"]["Seconds"] >= 3 * 30 * 2
    assert again["NumericLessThan"] * states["WaitToValidate"]["Seconds"] <= 15 * 60
    assert states[states["WaitToValidate"]["Next"]]["Next"] == "Validate"
    failure = states[states["Valid"]["Default"]]
    assert states[failure["Next"]]["Next"] == "FailoverFailed"
    assert states["FailoverFailed"]["Type"] == "Fail"


@pytest.mark.parametrize("name", ALL)
def test_quiet_refusals_end_in_success_and_a_lagging_failback_is_reported(name, bundles):
    """Defect 9: a refused duplicate (or an unarmed trigger) ends in Succeed; a refused failback is news."""
    _, _, definition = machine(bundles, name)
    guard = definition["States"]["Guard"]
    quiet, everything = guard["Catch"]
    assert (
        quiet["ErrorEquals"] == list(contract.QUIET_REFUSALS)
        and definition["States"][quiet["Next"]]["Type"] == "Succeed"
    )
    assert everything["ErrorEquals"] == ["States.ALL"] and everything["Next"] == "NotifyFailure"
    assert "ReplicationLagError" in contract.REFUSALS and "ReplicationLagError" not in contract.QUIET_REFUSALS


@pytest.mark.parametrize("name", ALL)
def test_confirmation_is_bounded_and_the_promotion_learns_whether_the_writer_lives(name, bundles):
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    confirmed, waiting = states["Confirmed"]["Choices"]
    assert confirmed == {"Variable": "$.confirmation.confirmed", "BooleanEquals": True, "Next": "Promote"}
    bound = next(r for r in waiting["And"] if "NumericLessThan" in r)
    assert bound["NumericLessThan"] == max_confirmations(PRESETS[name])
    assert bound["NumericLessThan"] * 20 >= PRESETS[name].confirm_seconds  # long enough for persistence
    assert states["Confirmed"]["Default"] == "NotifyStandDown"
    assert states["Promote"]["Parameters"]["writer_alive.$"] == "$.confirmation.writer_alive"
    assert states["NotifyFailure"]["Parameters"]["progress.$"] == "$"  # told everything done so far


@pytest.mark.parametrize("name", ALL)
def test_failback_is_the_same_machine_planned_by_default(name, bundles):
    _, _, definition = machine(bundles, name)
    states = definition["States"]
    (choice,) = states["ChooseMode"]["Choices"]
    assert {"Variable": "$.mode", "StringEquals": "failback"} in choice["And"]
    assert states[choice["Next"]]["Parameters"]["defaults"] == {"mode": "failback", "planned": True, "force": False}
    unplanned = states[states["ChooseMode"]["Default"]]["Parameters"]["defaults"]
    assert unplanned == {"mode": "failover", "planned": False, "force": False}
    lag = PRESETS[name].database.lag_alarm_seconds
    assert states["Guard"]["Parameters"]["lag_threshold_seconds"] == lag


def _primary_health_alarm(bundle: Any) -> str:
    """The name the global template gives the alarm on the primary's Route 53 health check (the rendered alarm,
    read from its HealthCheckId dimension, not the builder's naming helper)."""
    doc = template(bundle, "global")
    checks = resources(doc, "AWS::Route53::HealthCheck")
    primary = [
        alarm["Properties"]["AlarmName"]
        for alarm in resources(doc, "AWS::CloudWatch::Alarm").values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "HealthCheckId"
        and dimension["Value"].get("Ref") in checks
        and "Primary" in dimension["Value"]["Ref"]
    ]
    assert len(primary) == 1 and isinstance(primary[0], str), primary
    return primary[0]


@pytest.mark.parametrize("name", ALL)
def test_the_forwarded_primary_health_alarm_starts_the_machine(name, bundles):
    doc, resource, _ = machine(bundles, name)
    machine_id = next(k for k, v in doc["Resources"].items() if v is resource)
    rule = doc["Resources"]["FailoverTrigger"]  # ProbeFailoverTrigger, the DR region's own: test_static_stability
    assert rule["Condition"] == "IsSecondary"
    pattern = rule["Properties"]["EventPattern"]
    alarm = _primary_health_alarm(bundles[name])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"alarmName": [alarm], "state": {"value": ["ALARM"]}}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": machine_id}
    assert json.loads(target["Input"]) == {"mode": "failover", "planned": False, "force": False}
    role = doc["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["states:StartExecution"] and statement["Resource"] == [{"Ref": machine_id}]


@pytest.mark.parametrize("name", ALL)
def test_the_global_stack_forwards_that_alarm_to_the_dr_regions_bus(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "global")
    rules = list(resources(doc, "AWS::Events::Rule").values())
    if s.regions.secondary == "us-east-1":
        assert not rules
        return
    (rule,) = rules
    alarm = _primary_health_alarm(bundles[name])
    assert rule["Properties"]["EventPattern"]["detail"]["alarmName"] == [alarm]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:events:{s.regions.secondary}:${{AWS::AccountId}}:event-bus/default"
    }
    role = doc["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["events:PutEvents"] and statement["Resource"] == [target["Arn"]]


@pytest.mark.parametrize("name", ALL)
def test_every_failover_function_arn_is_an_output(name, bundles):
    doc = template(bundles[name], "orchestration")
    outputs = doc["Outputs"]
    for key in ("Guard", "Confirm", "Promote", "PromotionStatus", "Scale", "Dns", "Validate", "Notify"):
        output = outputs[f"Failover{key}Arn"]
        assert output["Condition"] == "IsSecondary"
        assert output["Value"] == {"Fn::GetAtt": [f"Failover{key}Function", "Arn"]}


def test_automatic_failback_only_where_the_seed_asks_and_only_on_recovery(bundles):
    """Seed 003 asks for automatic failback when the primary recovers: ALARM -> OK of the primary's alarm."""
    import json as _json

    from ..conftest import template as _template

    doc = _template(bundles["trading-serverless"], "orchestration")
    rule = doc["Resources"]["FailbackTrigger"]
    assert rule["Condition"] == "IsSecondary"
    detail = rule["Properties"]["EventPattern"]["detail"]
    assert detail["state"] == {"value": ["OK"]} and detail["previousState"] == {"value": ["ALARM"]}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "FailoverStateMachine"}
    assert _json.loads(target["Input"]) == {"force": False, "mode": "failback", "planned": True}
    for name in ("trading-ecs", "database-dr"):
        assert "FailbackTrigger" not in _template(bundles[name], "orchestration")["Resources"]


@pytest.mark.parametrize("name", ALL)
def test_a_failover_that_fails_does_not_fail_silently(name, bundles):
    """Defect 10: alarms on failed, timed-out or aborted executions (every path without a FailoverSuccess ends in
    one), on a published failure, on any failover function's error and on a trigger that cannot start the run."""
    from drgen.operate import lambdas

    doc, resource, _ = machine(bundles, name)
    machine_id = next(k for k, v in doc["Resources"].items() if v is resource)
    alarms = {
        r["Properties"]["AlarmName"]["Fn::Sub"]: r
        for r in resources(doc, "AWS::CloudWatch::Alarm").values()
        if "Metrics" in r["Properties"]
    }

    def queries(stem: str) -> list[dict[str, Any]]:
        found = [a for n, a in alarms.items() if stem in n]  # a metric-math alarm holds 10 metrics at most
        assert found and all(len(a["Properties"]["Metrics"]) <= 11 for a in found)
        for alarm in found:
            assert alarm["Condition"] == "IsSecondary"
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopicArn"}]
        return [q["MetricStat"]["Metric"] for a in found for q in a["Properties"]["Metrics"] if "MetricStat" in q]

    executions = queries("failover-executions-failed")
    assert {m["MetricName"] for m in executions} == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert all(m["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}] for m in executions)
    # The outcome alarm watches the names notify publishes, taken from the Lambda code itself.
    success = lambdas.shared("contract").SUCCESS
    assert {m["MetricName"] for m in queries("failover-outcome-failed")} == set(success.values())
    functions = {d["Value"]["Ref"] for m in queries("failover-function-errors") for d in m["Dimensions"]}
    step_functions = {r["Fn::GetAtt"][0] for r in resource["Properties"]["DefinitionSubstitutions"].values()}
    assert step_functions | {"EngagedSignalFunction", "PrimaryProbeFunction"} == functions
    rules = {d["Value"]["Ref"] for m in queries("failover-trigger-failed") for d in m["Dimensions"]}
    starting = {
        n
        for n, r in resources(doc, "AWS::Events::Rule").items()
        if any(t.get("Arn") == {"Ref": machine_id} for t in r["Properties"].get("Targets", []))
    }
    assert rules == starting and {"FailoverTrigger", "ProbeFailoverTrigger"} <= rules
