"""The local state-machine runner, the execution history reader and the idempotent execution name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drgen.builders.failover_definition import MAX_POLLS, MAX_VALIDATIONS, definition
from drgen.errors import DrgenError
from drgen.operate import asl, execution
from drgen.scenario import PRESETS

CONTEXT = {"Execution": {"Id": "arn:aws:states:eu-west-2:1:execution:m:run", "StartTime": "2026-01-01T00:00:00Z"}}


def _script(results):
    """An invoke that answers each Task from ``results[state]`` (a list consumed in order; an Exception raises)."""
    calls = []

    def invoke(resource, payload):
        calls.append((resource, payload))
        answer = results[resource].pop(0)
        if isinstance(answer, asl.TaskFailed):
            raise answer
        return answer

    return invoke, calls


def _machine_results(promoted_after=1, valid=True, mode="failover", confirmations=None):
    step = "${Failover%sArn}"
    dns = {"traffic_to": "dr"} if mode == "failover" else {"traffic_to": "primary"}
    validations = [{"valid": valid, "checks": []}] * (1 if valid else MAX_VALIDATIONS + 1)
    return {
        step % "Guard": [{"status": "running"}],
        step % "Confirm": confirmations or [{"confirmed": True, "waiting": False, "writer_alive": False}],
        step % "Promote": [{"action": "failover"}],
        step % "PromotionStatus": [{"promoted": i + 1 >= promoted_after} for i in range(promoted_after)],
        step % "Scale": [{"changed": True}],
        step % "Dns": [dns],
        step % "ReturnReplication": [{"changed": True, "returning": True, "buckets": []}],
        step % "Validate": validations,
        step % "Notify": [{"outcome": "succeeded" if valid else "failed"}, {"outcome": "failed"}],
    }


def test_the_failover_definition_runs_its_tasks_in_order_and_polls_until_promoted():
    invoke, calls = _script(_machine_results(promoted_after=3))
    run = asl.run(definition(PRESETS["trading-ecs"]), {"planned": True}, CONTEXT, invoke, time_scale=0)

    assert run.status == "SUCCEEDED"
    tasks = [s.state for s in run.steps if s.kind == "Task"]
    assert tasks == [
        "Guard",
        "Confirm",
        "Promote",
        "Scale",
        "PromotionStatus",
        "PromotionStatus",
        "PromotionStatus",
        "ShiftDns",
        "ReturnReplication",
        "Validate",
        "NotifySuccess",
    ]
    guard_input = calls[0][1]
    assert guard_input["mode"] == "failover" and guard_input["planned"] is True and guard_input["force"] is False
    assert guard_input["execution_id"] == CONTEXT["Execution"]["Id"]
    assert run.output["polls"] == {"count": 2}
    assert calls[-1][1]["validation"] == {"valid": True, "checks": []}


def test_a_failed_validation_notifies_the_failure_and_fails_the_run():
    invoke, calls = _script(_machine_results(valid=False, mode="failback"))
    run = asl.run(definition(PRESETS["database-dr"]), {"mode": "failback"}, CONTEXT, invoke, time_scale=0)

    assert run.status == "FAILED" and run.error == "FailoverFailed"
    assert [s.state for s in run.steps][-3:] == ["ValidationFailed", "NotifyFailure", "FailoverFailed"]
    assert sum(1 for s in run.steps if s.state == "Validate") == MAX_VALIDATIONS + 1  # retried, then given up
    assert calls[0][1]["mode"] == "failback" and calls[0][1]["planned"] is True  # failback defaults
    assert calls[-1][1]["error"]["Error"] == "ValidationFailed"
    assert calls[-1][1]["progress"]["dns"] == {"traffic_to": "primary"}  # told what was done


def test_a_refusal_is_not_retried_and_other_errors_are_retried_then_caught():
    results = _machine_results()
    results["${FailoverGuardArn}"] = [asl.TaskFailed("ReplicationLagError", "lag 240 s")]
    invoke, calls = _script(results)
    run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
    assert run.status == "FAILED"
    assert [c[0] for c in calls] == ["${FailoverGuardArn}", "${FailoverNotifyArn}"]
    assert calls[-1][1]["error"] == {"Error": "ReplicationLagError", "Cause": "lag 240 s"}

    results = _machine_results()
    results["${FailoverScaleArn}"] = [asl.TaskFailed("Throttling", "slow down")] * 2 + [{"changed": True}]
    invoke, calls = _script(results)
    run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
    assert run.status == "SUCCEEDED"
    assert [c[0] for c in calls].count("${FailoverScaleArn}") == 3


def test_duplicates_and_unarmed_triggers_end_quietly_without_touching_anything():
    for refusal in ("ConcurrentFailoverError", "NotArmedError", "NothingToFailBackError"):
        results = _machine_results()
        results["${FailoverGuardArn}"] = [asl.TaskFailed(refusal, "no")]
        invoke, calls = _script(results)
        run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
        assert run.status == "SUCCEEDED" and [s.state for s in run.steps][-1] == "Refused"
        assert [c[0] for c in calls] == ["${FailoverGuardArn}"]


def test_one_signal_waits_for_agreement_and_a_cleared_one_stands_down():
    waiting = {"confirmed": False, "waiting": True, "writer_alive": True}
    results = _machine_results(confirmations=[waiting, waiting, {**waiting, "confirmed": True, "waiting": False}])
    invoke, calls = _script(results)
    run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
    assert run.status == "SUCCEEDED" and [c[0] for c in calls].count("${FailoverConfirmArn}") == 3
    assert next(p for r, p in calls if r == "${FailoverPromoteArn}")["writer_alive"] is True

    cleared = {"confirmed": False, "waiting": False, "writer_alive": True}
    invoke, calls = _script(_machine_results(confirmations=[waiting, cleared]))
    run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
    assert run.status == "SUCCEEDED" and [s.state for s in run.steps][-2:] == ["NotifyStandDown", "StoodDown"]
    assert "${FailoverPromoteArn}" not in [c[0] for c in calls]  # nothing was changed


def test_the_poll_loop_gives_up_after_the_definitions_bound():
    results = _machine_results(promoted_after=MAX_POLLS + 5)
    invoke, _ = _script(results)
    run = asl.run(definition(PRESETS["trading-ecs"]), {}, CONTEXT, invoke, time_scale=0)
    assert run.status == "FAILED"
    assert "PromotionTimedOut" in [s.state for s in run.steps]
    assert sum(1 for s in run.steps if s.state == "PromotionStatus") == MAX_POLLS + 1


def test_unsupported_definitions_are_refused_by_name():
    machine = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}}
    with pytest.raises(DrgenError, match="Parallel is not supported"):
        asl.run(machine, {}, CONTEXT, lambda *_: None)
    with pytest.raises(DrgenError, match="intrinsic"):
        asl.parameters({"x.$": "States.Format('{}', $.a)"}, {"a": 1}, {})


def test_the_history_becomes_steps_with_timings_and_the_final_status():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def event(n, kind, seconds, **details):
        return {"id": n, "type": kind, "timestamp": t0 + timedelta(seconds=seconds), **details}

    events = [
        event(1, "ExecutionStarted", 0),
        event(2, "TaskStateEntered", 0.5, stateEnteredEventDetails={"name": "Guard"}),
        event(3, "TaskStateExited", 2.5, stateExitedEventDetails={"name": "Guard"}),
        event(4, "TaskStateEntered", 2.5, stateEnteredEventDetails={"name": "Promote"}),
        event(5, "TaskFailed", 3.0, taskFailedEventDetails={"error": "Boom", "cause": "it broke"}),
        event(6, "TaskStateExited", 3.0, stateExitedEventDetails={"name": "Promote"}),
        event(7, "ExecutionFailed", 3.5, executionFailedEventDetails={"error": "FailoverFailed", "cause": "see"}),
    ]
    run = execution.steps_from_history(events)
    assert run.status == "FAILED" and run.error == "FailoverFailed"
    assert [(s.state, s.kind, s.started, s.seconds, s.ok) for s in run.steps] == [
        ("Guard", "Task", 0.5, 2.0, True),
        ("Promote", "Task", 2.5, 0.5, False),
    ]
    assert run.steps[1].detail == "Boom: it broke"
    assert execution.steps_from_history(events[:4]).status == "RUNNING"


def test_the_execution_name_is_the_same_for_the_same_request_and_recorded_state():
    request = {"mode": "failover", "planned": False, "force": False}
    name = execution.execution_name(request, "initial")
    assert name == execution.execution_name(dict(request), "initial")
    assert name.startswith("failover-unplanned-") and len(name) <= 80
    assert name != execution.execution_name(request, "arn:previous-run")
    assert name != execution.execution_name({**request, "planned": True}, "initial")


class _StepFunctions:
    """StartExecution as the API reference words it for a repeated name: "When the original execution is closed,
    the ExecutionAlreadyExists message is returned regardless of input"; an open one with other input too."""

    def __init__(self, closed: dict[str, str]) -> None:
        self.executions = dict(closed)  # name -> status
        self.started: list[str] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
        if name in self.executions:
            error = {"Error": {"Code": "ExecutionAlreadyExists", "Message": f"Execution Already Exists: {name}"}}
            raise ClientError(error, "StartExecution")
        self.executions[name] = "RUNNING"
        self.started.append(name)
        return {"executionArn": f"arn:aws:states:eu-west-2:1:execution:m:{name}"}

    def describe_execution(self, executionArn: str) -> dict[str, str]:
        return {"status": self.executions[executionArn.rsplit(":", 1)[1]]}


MACHINE = "arn:aws:states:eu-west-2:1:stateMachine:m"


class _Running(_StepFunctions):
    """One execution running, started with ``mode``."""

    def __init__(self, mode: str) -> None:
        super().__init__({"run": "RUNNING"})
        self.mode = mode

    def get_paginator(self, name: str) -> Any:
        started = datetime(2026, 1, 1, tzinfo=UTC)
        page = {"executions": [{"executionArn": f"{MACHINE}:run", "startDate": started}]}
        return type("Pages", (), {"paginate": lambda self, **_: [page]})()

    def describe_execution(self, executionArn: str) -> dict[str, str]:
        return {"status": "RUNNING", "input": json.dumps({"mode": self.mode})}


def test_a_request_joins_a_running_execution_of_its_mode_and_refuses_one_of_the_other():
    assert execution.running_of(_Running("failback"), MACHINE, {"mode": "failback"}) == f"{MACHINE}:run"
    with pytest.raises(DrgenError, match=r"a failover is running .*then ask for the failback again"):
        execution.running_of(_Running("failover"), MACHINE, {"mode": "failback"})


def test_a_request_refused_before_it_recorded_anything_can_be_asked_again():
    """The guard refused the first run (not armed) before recording a start, so the recorded state, and with it
    the name, is the same the next time: the request starts under the next name instead of showing the refusal."""
    sfn = _StepFunctions({"failover-unplanned-abc": "SUCCEEDED", "failover-unplanned-abc-2": "FAILED"})
    arn, started = execution.start(sfn, MACHINE, "failover-unplanned-abc", {"mode": "failover"})
    assert (arn.rsplit(":", 1)[1], started) == ("failover-unplanned-abc-3", True)
    assert sfn.started == ["failover-unplanned-abc-3"]


def test_a_run_of_the_same_request_still_open_is_followed_not_started_again():
    sfn = _StepFunctions({"failover-unplanned-abc": "RUNNING"})
    arn, started = execution.start(sfn, MACHINE, "failover-unplanned-abc", {"mode": "failover"})
    assert (arn, started) == (f"{MACHINE.replace(':stateMachine:', ':execution:')}:failover-unplanned-abc", False)
    assert sfn.started == []


def test_a_step_whose_retry_succeeded_is_reported_as_succeeded():
    """A Retry stays inside its state: LambdaFunctionFailed, then LambdaFunctionScheduled and Succeeded, then
    TaskStateExited (HistoryEvent types); the exit is a success."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": t0},
        {"id": 2, "type": "TaskStateEntered", "timestamp": t0, "stateEnteredEventDetails": {"name": "Scale"}},
        {"id": 3, "type": "LambdaFunctionFailed", "timestamp": t0, "lambdaFunctionFailedEventDetails": {"error": "X"}},
        {"id": 4, "type": "LambdaFunctionSucceeded", "timestamp": t0 + timedelta(seconds=3)},
        {
            "id": 5,
            "type": "TaskStateExited",
            "timestamp": t0 + timedelta(seconds=3),
            "stateExitedEventDetails": {"name": "Scale"},
        },
    ]
    [step] = execution.steps_from_history(events).steps
    assert (step.state, step.ok, step.detail) == ("Scale", True, "")
