"""One CloudFormation stack: read its state, settle it, change it through a change set, watch it, delete it.

Watching polls once per interval (``--poll-seconds``, 2 s by default, never the waiters' 30 s) with one
DescribeStacks and one DescribeStackEvents, and reports each new event as it arrives. The reason of a
failure is the first failed resource event of the operation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from drgen.bundle.manifest import StackEntry
from drgen.deploy import changesets
from drgen.deploy.artifacts import Artifacts, TemplateSource
from drgen.deploy.executor import Outcome, StackResult, pause
from drgen.deploy.outputs import Outputs, declared_parameters, parameters_for
from drgen.deploy.plan import RECREATE_ADVICE, Decision, blocked_advice, decide, stack_name
from drgen.deploy.progress import Progress
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code, error_text

_CANCELLED = ("Resource creation cancelled", "Resource update cancelled")


@dataclass(frozen=True)
class StackState:
    stack_id: str
    status: str
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    termination_protection: bool = False  # EnableTerminationProtection: CloudFormation refuses to delete it

    @property
    def ok(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")


def describe(cf: Any, name_or_id: str) -> StackState | None:
    """The stack's state, or None when there is no such stack (a deleted one counts as none)."""
    try:
        stack = cf.describe_stacks(StackName=name_or_id)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in error_text(exc):
            return None
        if error_code(exc) != "ValidationError":
            raise
        # moto answers DescribeStacks of a stack whose create failed half-way with that failure (a 400, or a
        # 500 below); ListStacks still answers with its status.
        return _listed(cf, name_or_id)
    except ResponseParserError:  # moto's 500 for a stack whose create failed half-way: ListStacks still answers
        return _listed(cf, name_or_id)
    if stack["StackStatus"] == "DELETE_COMPLETE":
        return None
    return StackState(
        stack_id=stack["StackId"],
        status=stack["StackStatus"],
        reason=stack.get("StackStatusReason", ""),
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
        tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
        termination_protection=bool(stack.get("EnableTerminationProtection")),
    )


def _listed(cf: Any, name_or_id: str) -> StackState | None:
    pages = cf.get_paginator("list_stacks").paginate()
    for summary in (s for page in pages for s in page.get("StackSummaries", [])):
        if name_or_id in (summary["StackName"], summary["StackId"]) and summary["StackStatus"] != "DELETE_COMPLETE":
            return StackState(summary["StackId"], summary["StackStatus"], summary.get("StackStatusReason", ""))
    return None


class Watcher:
    """Follows one operation on one stack until it settles, reporting its events on the way."""

    def __init__(self, cf: Any, entry: StackEntry, progress: Progress, poll_seconds: float) -> None:
        self._cf = cf
        self.entry = entry
        self.progress = progress
        self.poll_seconds = poll_seconds
        self._since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)  # allow for clock skew
        self._seen: set[str] = set()
        self.events: list[dict[str, Any]] = []

    def until_settled(self, stack_id: str) -> StackState | None:
        """Poll until the status no longer ends in _IN_PROGRESS; None when the stack is gone (deleted)."""
        reported = ""
        while True:
            state = describe(self._cf, stack_id)
            self.report_events(stack_id)
            if state is None or not state.status.endswith("_IN_PROGRESS"):
                return state
            if state.status != reported:
                self.progress.state(self.entry, state.status)
                reported = state.status
            pause(self.poll_seconds)

    def failure_reason(self, state: StackState | None) -> str:
        for event in self.events:
            reason = event.get("ResourceStatusReason", "")
            if event["ResourceStatus"].endswith("_FAILED") and reason and not reason.startswith(_CANCELLED):
                return f"{event['LogicalResourceId']}: {reason}"
        if state is None:
            return "the stack disappeared"
        return state.reason or state.status

    def report_events(self, stack_id: str) -> None:
        try:
            page = self._cf.describe_stack_events(StackName=stack_id)["StackEvents"]
        except ClientError:
            return  # a deleted stack by name, or throttling: events are a courtesy, the status decides
        fresh = [e for e in page if e["EventId"] not in self._seen and _aware(e["Timestamp"]) >= self._since]
        for event in reversed(fresh):  # the API lists newest first
            self._seen.add(event["EventId"])
            self.events.append(event)
            text = f"{event['LogicalResourceId']} {event['ResourceStatus']}"
            reason = event.get("ResourceStatusReason")
            self.progress.event(self.entry, text + (f": {reason}" if reason else ""))


def _aware(timestamp: dt.datetime) -> dt.datetime:
    return timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=dt.UTC)


def apply_change(
    cf: Any,
    entry: StackEntry,
    watcher: Watcher,
    state: StackState | None,
    template: TemplateSource,
    parameters: dict[str, str],
    *,
    allow_replace: bool,
    sandbox: bool,
) -> StackResult:
    """Create, review and execute a change set for ``entry``; ``state`` is its settled state (None: new stack)."""
    request = changesets.ChangeRequest(entry.name, "UPDATE" if state else "CREATE", template, parameters, entry.tags)
    watcher.progress.state(entry, f"{request.kind.lower()} change set")
    change_set = changesets.create(cf, request, watcher.poll_seconds, sandbox)
    if change_set.noop:
        assert state is not None  # a CREATE always has resources to add
        return StackResult(entry.name, entry.region, Outcome.UNCHANGED, state.status, outputs=state.outputs)
    risky = [c for c in change_set.changes if c.destructive]
    if risky and not allow_replace:
        changesets.discard(cf, change_set.arn)
        what = ", ".join(f"{c.logical_id} ({c.resource_type}, {c.action.lower()})" for c in risky)
        reason = f"would replace or remove stateful {what}; rerun with --allow-replace if that data may go"
        return StackResult(entry.name, entry.region, Outcome.FAILED, state.status if state else "", reason=reason)
    watcher.progress.state(entry, f"executing {len(change_set.changes)} change(s)")
    try:
        stack_id = changesets.execute(cf, change_set, sandbox)
    except CLOUD_ERRORS as exc:  # moto fails synchronously here, and real AWS may refuse the execution
        return StackResult(entry.name, entry.region, Outcome.FAILED, "", reason=error_text(exc))
    final = watcher.until_settled(stack_id)
    if final is None or not final.ok:
        status = final.status if final else "DELETE_COMPLETE"
        return StackResult(entry.name, entry.region, Outcome.FAILED, status, reason=watcher.failure_reason(final))
    outcome = Outcome.UPDATED if request.kind == "UPDATE" else Outcome.CREATED
    return StackResult(entry.name, entry.region, outcome, final.status, outputs=final.outputs)


@dataclass
class StackDeploy:
    """The stacks-mode action for one node of the graph: from whatever state the stack is in to deployed."""

    aws: Aws
    artifacts: Artifacts
    outputs: Outputs
    progress: Progress
    allow_replace: bool
    may_recreate: frozenset[str]

    def __call__(self, entry: StackEntry) -> StackResult:
        cf = self.aws.client("cloudformation", entry.region)
        watcher = Watcher(cf, entry, self.progress, self.aws.target.poll_seconds)
        state = self._settle(cf, entry, watcher)
        if isinstance(state, StackResult):
            return state
        template = self.artifacts.template(entry)
        parameters = parameters_for(
            entry, declared_parameters(template.body), self.outputs, self.artifacts.bucket(entry.region)
        )
        result = apply_change(
            cf, entry, watcher, state, template, parameters, allow_replace=self.allow_replace, sandbox=self.aws.sandbox
        )
        if result.outcome.ok:
            self.outputs.put(entry.name, result.outputs)
        return result

    def _settle(self, cf: Any, entry: StackEntry, watcher: Watcher) -> StackState | StackResult | None:
        """Bring the stack to a state a change set can start from; a StackResult when that is impossible."""
        settled = settle(cf, describe(cf, entry.name), watcher, self.aws.sandbox)
        state, decision = settled.state, settled.decision
        if settled.stuck:
            return self._failed(entry, state, settled.stuck, blocked=True)
        if decision is Decision.CREATE:
            return None
        if decision is Decision.UPDATE:
            return state
        assert state is not None
        if decision is Decision.DISCARD_REVIEW or (decision is Decision.RECREATE and entry.name in self.may_recreate):
            self.progress.state(entry, f"{state.status}: deleting the empty stack to create it again")
            left = delete(cf, state, watcher, self.aws.sandbox)
            if left is not None:
                return self._failed(entry, left, f"could not delete: {watcher.failure_reason(left)}")
            return None
        if decision is Decision.RECREATE:
            return self._failed(entry, state, RECREATE_ADVICE, blocked=True)
        advice = blocked_advice(state.stack_id, entry.region, state.status)
        return self._failed(entry, state, f"{state.reason or state.status}; {advice}", blocked=True)

    @staticmethod
    def _failed(entry: StackEntry, state: StackState | None, reason: str, blocked: bool = False) -> StackResult:
        status = state.status if state else ""
        return StackResult(entry.name, entry.region, Outcome.FAILED, status, reason=reason, blocked=blocked)


@dataclass(frozen=True)
class Settled:
    """Where ``settle`` left a stack: its state, what that state calls for, and why it is stuck (if it is)."""

    state: StackState | None
    decision: Decision  # never WAIT or CONTINUE_ROLLBACK
    stuck: str = ""  # set when continue-update-rollback left the stack in UPDATE_ROLLBACK_FAILED: why, what to do


def settle(cf: Any, state: StackState | None, watcher: Watcher, sandbox: bool) -> Settled:
    """Wait out an operation in progress and continue a failed update rollback, until the stack's status calls
    for something else (``decide``): create, update, recreate, discard the review, or a human."""
    while True:
        decision = decide(state.status if state else None, sandbox)
        if decision is Decision.WAIT:
            assert state is not None
            watcher.progress.state(watcher.entry, f"waiting: {state.status}")
            state = watcher.until_settled(state.stack_id)
        elif decision is Decision.CONTINUE_ROLLBACK:
            assert state is not None
            # AWS: a stack in UPDATE_ROLLBACK_FAILED "can't be updated, but it can be rolled back to a working
            # state (UPDATE_ROLLBACK_COMPLETE)" (Continue rolling back an update, CloudFormation User Guide).
            watcher.progress.state(watcher.entry, "UPDATE_ROLLBACK_FAILED: continuing the rollback")
            cf.continue_update_rollback(StackName=state.stack_id)
            state = watcher.until_settled(state.stack_id)
            if state is not None and state.status == "UPDATE_ROLLBACK_FAILED":  # else decide again
                return Settled(state, Decision.BLOCKED, rollback_stuck(watcher, state))
        else:
            return Settled(state, decision)


def rollback_stuck(watcher: Watcher, state: StackState) -> str:
    """Why continue-update-rollback stopped at UPDATE_ROLLBACK_FAILED again, and the two ways on; drgen never
    skips a resource itself. AWS, ContinueUpdateRollback ResourcesToSkip
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html): "You
    can specify only resources that are in the UPDATE_FAILED state because a rollback failed" ... "the state of
    the skipped resources will be inconsistent with the state of the resources in the stack template ... If you
    don't, subsequent stack updates might fail, and the stack will become unrecoverable."
    """
    name = stack_name(state.stack_id)
    latest: dict[str, str] = {}  # each resource's last status in the events seen (oldest first)
    for event in watcher.events:
        if event["LogicalResourceId"] != name and event.get("PhysicalResourceId") != state.stack_id:
            latest[event["LogicalResourceId"]] = event["ResourceStatus"]
    failed = [logical for logical, status in latest.items() if status == "UPDATE_FAILED"]
    skip = " ".join(failed) or "<the logical ids its events show UPDATE_FAILED>"
    command = (
        f"aws cloudformation continue-update-rollback --stack-name {name} --region {watcher.entry.region} "
        f"--resources-to-skip {skip}"
    )
    return (
        f"continue-update-rollback stopped at UPDATE_ROLLBACK_FAILED again ({watcher.failure_reason(state)}); "
        f"fix the cause and rerun, or skip {', '.join(failed) or 'those resources'} with `{command}` "
        "(skipped resources stay out of sync with the template)"
    )


def delete(cf: Any, state: StackState, watcher: Watcher, sandbox: bool) -> StackState | None:
    """Delete the stack and wait; None when it is gone, else its state (DELETE_FAILED).

    moto deletes inside the call and drops the stack even when one of its resources refuses to go (a VPC
    whose route tables moto cannot delete): the error is reported and the stack counts as gone.
    """
    try:
        cf.delete_stack(StackName=state.stack_id)
    except ClientError as exc:
        if not sandbox:
            raise
        watcher.progress.event(watcher.entry, f"moto left resources behind: {error_text(exc)}")
    return watcher.until_settled(state.stack_id)
