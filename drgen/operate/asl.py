"""A small interpreter of the failover state machine's definition, for runs Step Functions cannot do.

moto cannot execute a state machine created by CloudFormation, nor run Lambda code without Docker, so the
sandbox (``drgen failover`` against moto, ``drgen drill``) walks ``orchestration.definition`` here: every
state in the order the definition says, each Task calling the Lambda handler its Resource names, with the
definition's Parameters, ResultPath, Retry, Catch and Choice rules. Only what drgen's definition uses is
supported (JSONPath ``$.a.b`` and ``$$.Execution.*``, the intrinsics ``States.JsonMerge`` and
``States.MathAdd``); anything else is an error naming it, never a silent divergence from Step Functions.
Wait states and retry intervals are multiplied by ``time_scale`` (0 in the sandbox: nothing there takes time).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drgen.errors import DrgenError

Invoke = Callable[[str, dict[str, Any]], Any]  # (Task Resource, input) -> result; raises on failure
MAX_TRANSITIONS = 1000
_INTRINSIC = re.compile(r"^(States\.\w+)\((.*)\)$")


@dataclass(frozen=True)
class Step:
    """One state the run went through: when it started (seconds after the run's start) and how long it took."""

    state: str
    kind: str
    started: float
    seconds: float
    ok: bool = True
    detail: str = ""
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "type": self.kind,
            "started_seconds": round(self.started, 3),
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "detail": self.detail,
        }


@dataclass
class Run:
    """The outcome: SUCCEEDED or FAILED, the final data, and every step."""

    status: str = "RUNNING"
    origin: float = 0.0  # the clock's reading when the run started (the steps' times are relative to it)
    output: Any = None
    error: str = ""
    cause: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max((s.started + s.seconds for s in self.steps), default=0.0)


class TaskFailed(Exception):
    """A Task's error as Step Functions names it: the exception's class name, and its message as the cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


def run(
    definition: Mapping[str, Any],
    data: Any,
    context: Mapping[str, Any],
    invoke: Invoke,
    *,
    time_scale: float = 1.0,
    on_step: Callable[[Step], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Run:
    """Execute ``definition`` on ``data``; ``context`` is ``$$`` (Execution.Id, Execution.StartTime, ...)."""
    states: Mapping[str, Any] = definition["States"]
    name: str | None = definition["StartAt"]
    origin = clock()
    result = Run(origin=origin)
    for _ in range(MAX_TRANSITIONS):
        if name is None:
            break
        state = states[name]
        started = clock()
        outcome = _State(name, state, context, invoke, time_scale, sleep).enter(data)
        step = Step(
            name, state["Type"], started - origin, clock() - started, outcome.ok, outcome.detail, outcome.result
        )
        result.steps.append(step)
        on_step(step)
        data, name = outcome.data, outcome.next
        if outcome.end:
            result.status = outcome.end
            result.error, result.cause = outcome.error, outcome.cause
            break
    else:
        raise DrgenError(f"the state machine ran {MAX_TRANSITIONS} transitions without ending")
    result.output = data
    return result


@dataclass
class _Outcome:
    data: Any
    next: str | None
    ok: bool = True
    detail: str = ""
    result: Any = None
    end: str = ""  # SUCCEEDED / FAILED when the run ends here
    error: str = ""
    cause: str = ""


@dataclass
class _State:
    name: str
    state: Mapping[str, Any]
    context: Mapping[str, Any]
    invoke: Invoke
    time_scale: float
    sleep: Callable[[float], None]

    def enter(self, data: Any) -> _Outcome:
        kind = self.state["Type"]
        handler = getattr(self, f"_{kind.lower()}", None)
        if handler is None:
            raise DrgenError(f"state {self.name}: type {kind} is not supported by drgen's local runner")
        outcome: _Outcome = handler(data)
        return outcome

    def _pass(self, data: Any) -> _Outcome:
        if "Result" in self.state:
            value = copy.deepcopy(self.state["Result"])
        elif "Parameters" in self.state:
            value = parameters(self.state["Parameters"], data, self.context)
        else:
            value = data
        return _Outcome(place(data, self.state.get("ResultPath", "$"), value), self.state.get("Next"), result=value)

    def _wait(self, data: Any) -> _Outcome:
        seconds = float(self.state["Seconds"])
        self.sleep(seconds * self.time_scale)
        return _Outcome(
            data, self.state["Next"], detail=f"{seconds:g} s defined, {seconds * self.time_scale:g} s waited"
        )

    def _choice(self, data: Any) -> _Outcome:
        for rule in self.state.get("Choices", []):
            if matches(rule, data):
                return _Outcome(data, rule["Next"], detail=f"-> {rule['Next']}")
        if "Default" not in self.state:
            return _Outcome(
                data, None, ok=False, detail="no choice matched", end="FAILED", error="States.NoChoiceMatched"
            )
        return _Outcome(data, self.state["Default"], detail=f"-> {self.state['Default']}")

    def _succeed(self, data: Any) -> _Outcome:
        return _Outcome(data, None, end="SUCCEEDED")

    def _fail(self, data: Any) -> _Outcome:
        error, cause = self.state.get("Error", ""), self.state.get("Cause", "")
        return _Outcome(data, None, ok=False, detail=f"{error}: {cause}", end="FAILED", error=error, cause=cause)

    def _task(self, data: Any) -> _Outcome:
        payload = (
            parameters(self.state.get("Parameters", {}), data, self.context) if "Parameters" in self.state else data
        )
        try:
            value = self._attempts(payload)
        except TaskFailed as failure:
            return self._caught(data, failure)
        return _Outcome(place(data, self.state.get("ResultPath", "$"), value), self.state.get("Next"), result=value)

    def _attempts(self, payload: Any) -> Any:
        tries: dict[int, int] = {}
        while True:
            try:
                return self.invoke(self.state["Resource"], copy.deepcopy(payload))
            except TaskFailed as failure:
                index, retrier = _retrier(self.state.get("Retry", []), failure.error)
                tried = tries.get(index, 0)
                if retrier is None or tried >= int(retrier.get("MaxAttempts", 3)):
                    raise
                tries[index] = tried + 1
                interval = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** tried
                self.sleep(interval * self.time_scale)

    def _caught(self, data: Any, failure: TaskFailed) -> _Outcome:
        detail = f"{failure.error}: {failure.cause}"
        for catcher in self.state.get("Catch", []):
            if _names(catcher["ErrorEquals"], failure.error):
                error = {"Error": failure.error, "Cause": failure.cause}
                return _Outcome(
                    place(data, catcher.get("ResultPath", "$"), error), catcher["Next"], ok=False, detail=detail
                )
        return _Outcome(data, None, ok=False, detail=detail, end="FAILED", error=failure.error, cause=failure.cause)


def _names(errors: list[str], error: str) -> bool:
    return error in errors or ("States.ALL" in errors) or ("States.TaskFailed" in errors and error != "States.Timeout")


def _retrier(retriers: list[Mapping[str, Any]], error: str) -> tuple[int, Mapping[str, Any] | None]:
    for index, retrier in enumerate(retriers):
        if _names(retrier["ErrorEquals"], error):
            return index, retrier
    return -1, None


# -- paths, parameters and intrinsics ------------------------------------------------------------------------
def path(reference: str, data: Any, context: Mapping[str, Any]) -> Any:
    """``$``, ``$.a.b`` on the data, ``$$.a.b`` on the context; a missing field is an error (as in Step Functions)."""
    root, rest = (context, reference[2:]) if reference.startswith("$$") else (data, reference[1:])
    if not reference.startswith("$") or (rest and not rest.startswith(".")):
        raise DrgenError(f"JSONPath {reference!r} is not supported by drgen's local runner")
    value = root
    for part in filter(None, rest.split(".")):
        if not isinstance(value, Mapping) or part not in value:
            raise DrgenError(f"JSONPath {reference!r} matches nothing")
        value = value[part]
    return value


def parameters(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """A Parameters block: keys ending in ``.$`` take a path or an intrinsic, the rest are literal."""
    if isinstance(template, list):
        return [parameters(v, data, context) for v in template]
    if not isinstance(template, Mapping):
        return template
    result: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            result[key[:-2]] = _expression(value, data, context)
        else:
            result[key] = parameters(value, data, context)
    return result


def _expression(text: str, data: Any, context: Mapping[str, Any]) -> Any:
    call = _INTRINSIC.match(text.strip())
    if call is None:
        return copy.deepcopy(path(text, data, context))
    name, raw = call[1], [a.strip() for a in call[2].split(",")]
    if name not in ("States.JsonMerge", "States.MathAdd"):
        raise DrgenError(f"intrinsic {text!r} is not supported by drgen's local runner")
    args = [_argument(a, data, context) for a in raw]
    if name == "States.JsonMerge" and len(args) == 3 and args[2] is False:
        return {**args[0], **args[1]}
    if name == "States.MathAdd" and len(args) == 2:
        return args[0] + args[1]
    raise DrgenError(f"intrinsic {text!r} is not supported by drgen's local runner")


def _argument(text: str, data: Any, context: Mapping[str, Any]) -> Any:
    if text.startswith("$"):
        return path(text, data, context)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise DrgenError(f"intrinsic argument {text!r} is not supported by drgen's local runner") from None


def place(data: Any, result_path: str | None, value: Any) -> Any:
    """``data`` with ``value`` at ``result_path`` (``$`` replaces it, None discards the value)."""
    if result_path is None:
        return data
    if result_path == "$":
        return value
    if not result_path.startswith("$."):
        raise DrgenError(f"ResultPath {result_path!r} is not supported by drgen's local runner")
    updated = copy.deepcopy(data) if isinstance(data, dict) else {}
    target = updated
    *parents, last = result_path[2:].split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return updated


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a is b,
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: _number(a) and a == b,
    "NumericGreaterThanEquals": lambda a, b: _number(a) and a >= b,
    "NumericGreaterThan": lambda a, b: _number(a) and a > b,
    "NumericLessThan": lambda a, b: _number(a) and a < b,
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def matches(rule: Mapping[str, Any], data: Any) -> bool:
    """A Choice rule: And / Or / Not, IsPresent, and the comparisons in ``_COMPARISONS``."""
    if "And" in rule:
        return all(matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data)
    try:
        value = path(rule["Variable"], data, {})
        present = True
    except DrgenError:
        value, present = None, False
    if "IsPresent" in rule:
        return present is rule["IsPresent"]
    operator = next((k for k in rule if k in _COMPARISONS), None)
    if operator is None:
        raise DrgenError(f"Choice rule {dict(rule)} is not supported by drgen's local runner")
    return present and _COMPARISONS[operator](value, rule[operator])
