"""The failover state machine's definition (Amazon States Language), as a dict; pure, no template resources.

Input ``{mode, planned, force}`` (each optional: an alarm-started run is an unplanned failover, a failback is
planned unless told otherwise). The success path:

guard (armed? something to fail back? lag? take the lock) -> confirm (an unplanned run waits until two signals
agree or one persists; if every signal clears it stands down) -> promote -> scale (the compute starts while
Aurora promotes) -> poll the promotion (bounded) -> shift DNS -> (with an order ledger) queue its recent orders
where the writer is now -> (with replicated buckets) turn on their replication back to the primary ->
validate with what AWS says (retried, bounded: Route 53's checkers need a minute or two to see the engaged
signal) -> notify -> Succeed.

A quiet refusal (not armed, nothing to fail back, another run holds the lock) ends in Succeed without touching
anything; any other failure is caught into NotifyFailure, which is told everything done so far, and ends in
Fail. Every Task retries with exponential backoff and jitter, refusals excepted. Lambda ARNs are ``${...}``
placeholders that the template's DefinitionSubstitutions fill (``drgen.bundle.names.substitution``). The fields
the steps read and return, and the refusals, are named in the Lambda contract (lambda/drgen_common/contract.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drgen.bundle.names import REFUSED, STOOD_DOWN, substitution
from drgen.lambda_code import contract
from drgen.lambda_functions import functions_for, returns_data
from drgen.scenario.model import Scenario

POLL_SECONDS = 15
# Aurora promotes "within a few minutes"; 40 polls of 15 s give it 10 minutes before the run counts as failed.
MAX_POLLS = 40
# Confirmation: one signal alone must persist for the scenario's confirm_seconds; ask again every 10 s until
# then (a second signal is seen within 10 s of its arrival), and stop asking a minute after it (the signal then
# either persisted or cleared).
CONFIRM_POLL_SECONDS = 10
CONFIRM_MARGIN_SECONDS = 60
# Validation: the first engaged datapoint needs its minute to complete before Route 53's checkers see it.
VALIDATE_POLL_SECONDS = 30
MAX_VALIDATIONS = 10
TASK_MAX_ATTEMPTS = 3
TASK_RETRY = {"IntervalSeconds": 2, "MaxAttempts": TASK_MAX_ATTEMPTS, "BackoffRate": 2.0, "JitterStrategy": "FULL"}
# A Task runs 1 + MaxAttempts times, each up to its function's timeout; a timed-out execution skips the
# validation and the failure notice ("catchers are available for Task, Parallel and Map states, but not for
# top-level state machine execution failures", https://docs.aws.amazon.com/step-functions/latest/dg/
# concepts-error-handling.html). So a Task retries fewer times when its worst case would pass half the execution's
# time: the ledger replay, whose function may run Lambda's full 15 minutes, retries once.
EXECUTION_TIMEOUT_SECONDS = 3600
# state name -> the catalogue function its Task invokes
TASKS = {
    "Guard": "failover-guard",
    "Confirm": "failover-confirm",
    "Promote": "failover-promote",
    "PromotionStatus": "failover-promotion-status",
    "Scale": "failover-scale",
    "ShiftDns": "failover-dns",
    "ReplayLedger": "failover-replay-ledger",
    "ReturnReplication": "failover-return-replication",
    "Validate": "failover-validate",
    "NotifySuccess": "failover-notify",
    "NotifyStandDown": "failover-notify",
    "NotifyFailure": "failover-notify",
}
FAILED = "FailoverFailed"
SUCCEEDED = "FailoverSucceeded"
NOTIFY_FAILURE = "NotifyFailure"


def _at(*fields: str) -> str:
    """The JSONPath of a field of the state's data: ``_at(CONFIRMATION, CONFIRMED)`` is ``$.confirmation.confirmed``."""
    return ".".join(("$", *fields))


def _taken(field: str) -> str:
    """The Parameters key that takes ``field``'s value from a path (``error.$``)."""
    return f"{field}.$"


def tasks(scenario: Scenario) -> dict[str, str]:
    """The Task states of ``scenario``'s machine and their functions (no return replication without buckets, no
    ledger replay without a ledger)."""
    optional = _optional_steps(scenario)
    return {state: key for state, key in TASKS.items() if state not in OPTIONAL_STEPS or state in optional}


OPTIONAL_STEPS = ("ReplayLedger", "ReturnReplication")  # after the DNS step, in this order, where they apply


def _optional_steps(scenario: Scenario) -> list[str]:
    wanted = {"ReplayLedger": scenario.ledger.enabled, "ReturnReplication": returns_data(scenario)}
    return [state for state in OPTIONAL_STEPS if wanted[state]]


def max_confirmations(scenario: Scenario) -> int:
    """How often the confirm step may ask again before the run stands down."""
    return -(-(scenario.confirm_seconds + CONFIRM_MARGIN_SECONDS) // CONFIRM_POLL_SECONDS)


def definition(scenario: Scenario) -> dict[str, Any]:
    """The failover state machine as a dict; Lambda ARNs are ${...} placeholders."""
    states: dict[str, Any] = {
        "ChooseMode": {
            "Type": "Choice",
            "Comment": "A failback is planned unless the input says otherwise; a failover is not.",
            "Choices": [
                {
                    "And": [
                        {"Variable": _at(contract.MODE), "IsPresent": True},
                        {"Variable": _at(contract.MODE), "StringEquals": contract.FAILBACK},
                    ],
                    "Next": "FailbackDefaults",
                }
            ],
            "Default": "FailoverDefaults",
        },
        "FailoverDefaults": _defaults(contract.FAILOVER, planned=False),
        "FailbackDefaults": _defaults(contract.FAILBACK, planned=True),
        "Request": {
            "Type": "Pass",
            "Comment": "The input over the defaults: every step receives the same request.",
            "Parameters": {"request.$": "States.JsonMerge($.defaults, $.input, false)"},
            "Next": "Guard",
        },
        "Guard": _task(scenario, "Guard", "$.guard", "StartConfirming", quiet=REFUSED),
        **_loop("Confirm", "$.confirms", CONFIRM_POLL_SECONDS),
        "Confirm": _task(
            scenario,
            "Confirm",
            _at(contract.CONFIRMATION),
            "Confirmed",
            {contract.WRITER_SILENT_SECONDS: scenario.writer_silent_seconds},
        ),
        "Confirmed": {
            "Type": "Choice",
            "Choices": [
                {"Variable": _at(contract.CONFIRMATION, contract.CONFIRMED), "BooleanEquals": True, "Next": "Promote"},
                {
                    "And": [
                        {"Variable": _at(contract.CONFIRMATION, contract.WAITING), "BooleanEquals": True},
                        {"Variable": "$.confirms.count", "NumericLessThan": max_confirmations(scenario)},
                    ],
                    "Next": "WaitToConfirm",
                },
            ],
            "Default": "NotifyStandDown",
        },
        "NotifyStandDown": _task(
            scenario,
            "NotifyStandDown",
            "$.notification",
            STOOD_DOWN,
            {_taken(contract.CONFIRMATION): _at(contract.CONFIRMATION)},
        ),
        "Promote": _task(
            scenario,
            "Promote",
            _at(contract.PROMOTION),
            "Scale",
            {_taken(contract.WRITER_ALIVE): _at(contract.CONFIRMATION, contract.WRITER_ALIVE)},
        ),
        # The stateless tier does not need the writer to start: scaling while Aurora promotes overlaps the two
        # longest waits of the failover (a failback scales nothing).
        "Scale": _task(scenario, "Scale", _at(contract.SCALE), "StartPolling"),
        "StartPolling": {"Type": "Pass", "Result": {"count": 0}, "ResultPath": "$.polls", "Next": "WaitForPromotion"},
        "WaitForPromotion": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "PromotionStatus"},
        "PromotionStatus": _task(scenario, "PromotionStatus", "$.promotion_status", "PromotedYet"),
        "PromotedYet": {
            "Type": "Choice",
            "Choices": [
                {"Variable": _at("promotion_status", contract.PROMOTED), "BooleanEquals": True, "Next": "ShiftDns"},
                {"Variable": "$.polls.count", "NumericGreaterThanEquals": MAX_POLLS, "Next": "PromotionTimedOut"},
            ],
            "Default": "CountPoll",
        },
        "CountPoll": _count("$.polls", "WaitForPromotion"),
        "PromotionTimedOut": _error("PromotionTimedOut", f"not promoted after {MAX_POLLS * POLL_SECONDS} s"),
        "ShiftDns": _task(scenario, "ShiftDns", _at(contract.DNS), (*_optional_steps(scenario), "StartValidating")[0]),
        **_loop("Validate", "$.validations", VALIDATE_POLL_SECONDS),
        "Validate": _task(scenario, "Validate", _at(contract.VALIDATION), "Valid"),
        "Valid": {
            "Type": "Choice",
            "Choices": [
                {"Variable": _at(contract.VALIDATION, contract.VALID), "BooleanEquals": True, "Next": "NotifySuccess"},
                {"Variable": "$.validations.count", "NumericLessThan": MAX_VALIDATIONS, "Next": "WaitToValidate"},
            ],
            "Default": "ValidationFailed",
        },
        "ValidationFailed": _error(
            "ValidationFailed",
            f"still not valid after {MAX_VALIDATIONS} tries: see {_at(contract.VALIDATION, contract.CHECKS)}",
        ),
        "NotifySuccess": _task(
            scenario,
            "NotifySuccess",
            "$.notification",
            SUCCEEDED,
            {
                _taken(contract.VALIDATION): _at(contract.VALIDATION),
                _taken(contract.CONFIRMATION): _at(contract.CONFIRMATION),
            },
        ),
        # Told everything done so far: a promoted writer whose traffic did not follow must be announced as such.
        NOTIFY_FAILURE: _task(
            scenario,
            NOTIFY_FAILURE,
            "$.notification",
            FAILED,
            {_taken(contract.ERROR): _at(contract.ERROR), _taken(contract.PROGRESS): _at()},
        ),
        SUCCEEDED: {"Type": "Succeed"},
        REFUSED: {"Type": "Succeed", "Comment": "Refused quietly: not armed, nothing to fail back, or running."},
        STOOD_DOWN: {"Type": "Succeed", "Comment": "The signals cleared before they agreed: nothing was changed."},
        FAILED: {"Type": "Fail", "Error": FAILED, "Cause": "The failover did not complete; see the notification."},
    }
    # The writer is promoted and DNS shifted: the ledger's recent orders are queued again where the writer is now
    # (processing catches up, idempotently), and what the DR region writes to its buckets goes back to the
    # primary's (best effort).
    chain = _optional_steps(scenario)
    results = {"ReplayLedger": "$.replay", "ReturnReplication": "$.returns"}
    for state, following in zip(chain, [*chain[1:], "StartValidating"], strict=True):
        states[state] = _task(scenario, state, results[state], following)
    return {
        "Comment": f"drgen {scenario.name}: failover to the DR region (mode failback reverses it)",
        "StartAt": "ChooseMode",
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": states,
    }


def _retries(scenario: Scenario, state: str) -> int:
    """TASK_MAX_ATTEMPTS, or fewer where (1 + retries) x the function's timeout would pass half the execution's."""
    timeout = next(f.timeout for f in functions_for(scenario) if f.key == TASKS[state])
    return max(0, min(TASK_MAX_ATTEMPTS, EXECUTION_TIMEOUT_SECONDS // (2 * timeout) - 1))


def _loop(task: str, counter: str, seconds: int) -> dict[str, Any]:
    """Start<Task>s (counter 0), WaitTo<Task> and Count<Task>: a bounded retry loop around ``task``."""
    start = {"Type": "Pass", "Result": {"count": 0}, "ResultPath": counter, "Next": task}
    wait = {"Type": "Wait", "Seconds": seconds, "Next": f"Count{task}"}
    return {_start_name(task): start, f"WaitTo{task}": wait, f"Count{task}": _count(counter, task)}


def _start_name(task: str) -> str:
    return {"Confirm": "StartConfirming", "Validate": "StartValidating"}[task]


def _count(counter: str, next_state: str) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Parameters": {"count.$": f"States.MathAdd({counter}.count, 1)"},
        "ResultPath": counter,
        "Next": next_state,
    }


def _defaults(mode: str, *, planned: bool) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Parameters": {
            "defaults": {contract.MODE: mode, contract.PLANNED: planned, contract.FORCE: False},
            "input.$": "$",
        },
        "Next": "Request",
    }


def _error(error: str, cause: str) -> dict[str, Any]:
    """Record why the run failed where a Catch would, then notify the failure."""
    result = {"Error": error, "Cause": cause}
    return {"Type": "Pass", "Result": result, "ResultPath": _at(contract.ERROR), "Next": NOTIFY_FAILURE}


def _task(
    scenario: Scenario,
    state: str,
    result_path: str,
    next_state: str,
    extra: Mapping[str, Any] | None = None,
    *,
    quiet: str | None = None,
) -> dict[str, Any]:
    """A Lambda Task: the common request in, its result at ``result_path``; retried, and caught into the failure
    notification (whose own failure ends the run). ``quiet``: where a quiet refusal goes instead."""
    catch = FAILED if state == NOTIFY_FAILURE else NOTIFY_FAILURE
    parameters = {
        **{_taken(field): _at("request", field) for field in (contract.MODE, contract.PLANNED, contract.FORCE)},
        contract.FAILBACK_LAG_THRESHOLD: scenario.database.lag_alarm_seconds,
        _taken(contract.EXECUTION_ID): "$$.Execution.Id",
        _taken(contract.STARTED_AT): "$$.Execution.StartTime",
        **(extra or {}),
    }
    catchers = [{"ErrorEquals": ["States.ALL"], "ResultPath": _at(contract.ERROR), "Next": catch}]
    if quiet:
        catchers.insert(
            0, {"ErrorEquals": list(contract.QUIET_REFUSALS), "ResultPath": _at(contract.ERROR), "Next": quiet}
        )
    return {
        "Type": "Task",
        "Resource": "${" + substitution(TASKS[state]) + "}",
        "Parameters": parameters,
        "ResultPath": result_path,
        "Retry": [
            {"ErrorEquals": list(contract.REFUSALS), "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"], **TASK_RETRY, "MaxAttempts": _retries(scenario, state)},
        ],
        "Catch": catchers,
        "Next": next_state,
    }
