"""Change sets: every create and update goes through one, so what will change is known before it happens.

A change set with nothing in it means "no changes": CloudFormation reports it as FAILED ("didn't contain
changes"), refuses it outright ("No updates are to be performed"), or, in moto, completes it with an empty
change list. All three come back as a no-op and leave no change set behind.

moto's ExecuteChangeSet applies the resources but never rebuilds the stack's outputs (a stack created or
updated through it has none), and a CREATE change set on a name moto already knows records a second stack.
So against moto the reviewed change set is discarded and the same template and parameters are applied with
CreateStack/UpdateStack; a create is reviewed from the template itself (every resource is an Add).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drgen.deploy.artifacts import TemplateSource
from drgen.deploy.executor import pause
from drgen.deploy.plan import Change
from drgen.deploy.session import error_text
from drgen.errors import DrgenError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_PENDING = ("CREATE_PENDING", "CREATE_IN_PROGRESS")


@dataclass(frozen=True)
class ChangeRequest:
    """What a stack should become: its template, parameters and tags."""

    stack: str
    kind: str  # CREATE | UPDATE
    template: TemplateSource
    parameters: dict[str, str]
    tags: dict[str, str]

    def api_args(self) -> dict[str, Any]:
        return {
            "StackName": self.stack,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(self.parameters.items())],
            "Capabilities": CAPABILITIES,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
            **self.template.api_args(),
        }


@dataclass(frozen=True)
class ChangeSet:
    request: ChangeRequest
    changes: tuple[Change, ...] = ()
    arn: str | None = None  # None: nothing left in CloudFormation to execute or discard
    stack_id: str = ""

    @property
    def noop(self) -> bool:
        return not self.changes


def create(cf: Any, request: ChangeRequest, poll_seconds: float, sandbox: bool = False) -> ChangeSet:
    """Create a change set for ``request`` and wait until CloudFormation has computed it."""
    if sandbox and request.kind == "CREATE":
        return ChangeSet(request, _adds(request.template.body))
    # Unique per call: moto looks change sets up by name across all stacks of a region.
    name = f"drgen-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    try:
        response = cf.create_change_set(ChangeSetName=name, ChangeSetType=request.kind, **request.api_args())
    except ClientError as exc:
        if _means_no_changes(error_text(exc)):
            return ChangeSet(request)
        raise
    arn = response["Id"]
    described = _wait(cf, arn, poll_seconds)
    if described["Status"] == "FAILED":
        discard(cf, arn)
        reason = described.get("StatusReason", "")
        if _means_no_changes(reason):
            return ChangeSet(request)
        raise DrgenError(f"change set failed: {reason}")
    changes = _changes(cf, arn, described)
    if not changes:
        discard(cf, arn)
        return ChangeSet(request)
    return ChangeSet(request, changes, arn, response["StackId"])


def execute(cf: Any, change_set: ChangeSet, sandbox: bool = False) -> str:
    """Execute the change set (against moto: apply its request directly); returns the stack id."""
    if not sandbox:
        cf.execute_change_set(ChangeSetName=change_set.arn)
        return change_set.stack_id
    discard(cf, change_set.arn)
    request = change_set.request
    apply = cf.create_stack if request.kind == "CREATE" else cf.update_stack
    return str(apply(**request.api_args())["StackId"])


def discard(cf: Any, arn: str | None) -> None:
    if arn:
        cf.delete_change_set(ChangeSetName=arn)


def _means_no_changes(reason: str) -> bool:
    return any(text in reason for text in _NO_CHANGES)


def _adds(body: bytes) -> tuple[Change, ...]:
    resources = json.loads(body).get("Resources", {})
    return tuple(Change("Add", logical_id, r["Type"]) for logical_id, r in sorted(resources.items()))


def _wait(cf: Any, arn: str, poll_seconds: float) -> dict[str, Any]:
    while True:
        described: dict[str, Any] = cf.describe_change_set(ChangeSetName=arn)
        if described["Status"] not in _PENDING:
            return described
        pause(poll_seconds)


def _changes(cf: Any, arn: str, first_page: dict[str, Any]) -> tuple[Change, ...]:
    pages = [first_page]
    while pages[-1].get("NextToken"):
        pages.append(cf.describe_change_set(ChangeSetName=arn, NextToken=pages[-1]["NextToken"]))
    return tuple(
        Change(
            action=rc.get("Action", ""),
            logical_id=rc.get("LogicalResourceId", ""),
            resource_type=rc.get("ResourceType", ""),
            replacement=rc.get("Replacement"),
        )
        for page in pages
        for change in page.get("Changes", [])
        if (rc := change.get("ResourceChange"))
    )
