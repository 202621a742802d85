"""Failover and failback on AWS: start the DR region's state machine once, then follow it step by step.

The execution name is idempotent: it is derived from the request (mode, planned or not) and the failover
state the guard recorded last (its execution id), so repeating the command before anything else ran asks
Step Functions for the same name, and a run already under way is followed instead of a second one started; a
closed run of that name was refused before it recorded anything, and the request is asked again under a new name.
Steps and their timings come from the execution history (entered / exited events per state).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from drgen.deploy.session import error_code
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.operate.asl import Run, Step

TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
FAILURES = ("TaskFailed", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "ExecutionFailed")
# A Retry stays inside its state: a failed attempt, then a successful one, then the state exits successfully.
SUCCESSES = ("TaskSucceeded", "LambdaFunctionSucceeded")
START_ATTEMPTS = 20  # names tried for one request (Step Functions allows 80 characters; these stay under 40)


def execution_name(request: Mapping[str, Any], generation: str) -> str:
    """``failover-unplanned-<12 hex>``: the same request on the same recorded state gets the same name."""
    kind = "planned" if request.get(contract.PLANNED) else "unplanned"
    digest = hashlib.sha256(json.dumps([dict(request), generation], sort_keys=True).encode()).hexdigest()[:12]
    return f"{request[contract.MODE]}-{kind}-{digest}"


def running(sfn: Any, machine_arn: str) -> list[str]:
    """The RUNNING executions' ARNs, oldest first."""
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, statusFilter="RUNNING"):
        found.extend(page["executions"])
    return [e["executionArn"] for e in sorted(found, key=lambda e: (e["startDate"], e["executionArn"]))]


def running_of(sfn: Any, machine_arn: str, request: Mapping[str, Any]) -> str:
    """The running execution this request joins ("" when none runs). One running in the other mode is refused:
    its result would not answer this request (a failback reporting a failover's success)."""
    under_way = running(sfn, machine_arn)
    if not under_way:
        return ""
    started_with = json.loads(sfn.describe_execution(executionArn=under_way[0]).get("input") or "{}")
    mode = started_with.get(contract.MODE, contract.FAILOVER)
    if mode != request[contract.MODE]:
        raise DrgenError(
            f"a {mode} is running ({under_way[0]}): wait for it to end (or stop it), then ask for the "
            f"{request[contract.MODE]} again"
        )
    return under_way[0]


def start(sfn: Any, machine_arn: str, name: str, request: Mapping[str, Any]) -> tuple[str, bool]:
    """Start ``name``; returns the execution's ARN and whether this call started it.

    A run of that name still open is this request already under way: it is followed. A closed one never recorded
    its start (the name derives from the recorded state): it was refused or failed before changing anything, so
    the request starts again as ``name-2``, ``name-3``, ... Step Functions keeps a name for 90 days: "When the
    original execution is closed, the ExecutionAlreadyExists message is returned regardless of input"
    (StartExecution, ``name``), so without a new name a refused failover could not be asked for again.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        candidate = name if attempt == 1 else f"{name}-{attempt}"
        try:
            response = sfn.start_execution(stateMachineArn=machine_arn, name=candidate, input=json.dumps(dict(request)))
        except Exception as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            arn = machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{candidate}"
            if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                return arn, False
            continue
        return str(response["executionArn"]), True
    raise DrgenError(
        f"{START_ATTEMPTS} runs named {name}[-n] ended without recording a start (each refused or failed early); "
        "read their histories in the Step Functions console before asking again"
    )


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def steps_from_history(events: Sequence[Mapping[str, Any]]) -> Run:
    """The run as far as the history goes: a step per exited state, its failure details, the final status."""
    result = Run()
    origin: datetime | None = None
    entered: dict[str, tuple[str, datetime]] = {}
    failures: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        kind, when = str(event["type"]), event["timestamp"]
        origin = origin or when
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            entered[name] = (kind.removesuffix("StateEntered"), when)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            state_kind, began = entered.pop(name, (kind.removesuffix("StateExited"), when))
            detail = failures.pop("open", "")
            result.steps.append(
                Step(
                    name,
                    state_kind,
                    (began - origin).total_seconds(),
                    (when - began).total_seconds(),
                    not detail,
                    detail,
                )
            )
        elif kind in SUCCESSES:
            failures.pop("open", None)  # an earlier attempt's failure, retried: the state did not fail
        elif kind in FAILURES:
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            failures["open"] = f"{details.get('error', '')}: {details.get('cause', '')}".strip(": ")
            if kind == "ExecutionFailed":
                result.error, result.cause = details.get("error", ""), details.get("cause", "")
        if kind in TERMINAL:
            result.status = TERMINAL[kind]
    return result


def follow(
    sfn: Any,
    execution_arn: str,
    on_step: Callable[[Step], None],
    pause: Callable[[float], None],
    poll_seconds: float,
) -> Run:
    """Poll the history until the execution ends, reporting each step once as it completes."""
    reported = 0
    while True:
        run = steps_from_history(history(sfn, execution_arn))
        for step in run.steps[reported:]:
            on_step(step)
        reported = len(run.steps)
        if run.status != "RUNNING":
            return run
        pause(poll_seconds)
