"""StackSets mode: each regional layer is one stack set (self-managed), with one instance per region.

The stack sets live in the administration region (the global layer's, us-east-1). Each instance is a node of
the same graph as in stacks mode, so the foundation instance in the DR region still comes before the
primary's, and the outputs of one instance feed the ParameterOverrides of the next. Overrides always carry
the full parameter list: AWS merges them with the stack set's parameters, moto replaces them.

Stack sets have no change sets. What an instance needs is decided from the stack set's template and the
instance's overrides (``instance_steps``); nothing to do means "no changes".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import changesets
from drgen.deploy.artifacts import Artifacts
from drgen.deploy.executor import Outcome, StackResult, pause
from drgen.deploy.outputs import Outputs, declared_parameters, parameters_for
from drgen.deploy.plan import RECREATE_ADVICE, Decision, decide
from drgen.deploy.progress import Progress
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code, error_text
from drgen.deploy.stacks import StackState, Watcher, describe, settle
from drgen.errors import DrgenError

ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
_RUNNING = ("QUEUED", "RUNNING", "STOPPING")
START_ATTEMPTS = 5  # starts refused with OperationInProgressException before the refusal is the step's failure


def stack_set_name(bundle: RenderedBundle, layer: str) -> str:
    return f"{bundle.scenario}-{layer}-{bundle.suffix}"


def instance_steps(
    set_template: str | None,
    template: str,
    overrides: dict[str, str] | None,
    instance_status: str,
    parameters: dict[str, str],
) -> tuple[str, ...]:
    """What to do for one instance: create-set, update-set, create-instance, update-instance (or nothing).

    ``set_template`` is None when the stack set does not exist, ``overrides`` None when the instance does not.
    """
    steps: list[str] = []
    if set_template is None:
        steps.append("create-set")
    elif _parsed(set_template) != _parsed(template):
        steps.append("update-set")  # redeploys this region's instance with the new template
    if overrides is None:
        steps.append("create-instance")
    elif overrides != parameters or (instance_status == "OUTDATED" and "update-set" not in steps):
        steps.append("update-instance")
    return tuple(steps)


def _parsed(template: str) -> Any:
    try:
        return json.loads(template)
    except ValueError:
        return template


@dataclass
class StackSetOps:
    """Operations on the stack sets of one bundle, each waited for, one at a time per stack set."""

    aws: Aws
    bundle: RenderedBundle
    progress: Progress
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cf(self) -> Any:
        return self.aws.client("cloudformation", self.bundle.admin_region)

    def lock(self, layer: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(layer, threading.Lock())

    def run(self, step: str, entry: StackEntry, template: dict[str, str], parameters: dict[str, str]) -> None:
        """One step of ``instance_steps`` for ``entry``'s region; OperationFailed or ClientError on failure."""
        name = stack_set_name(self.bundle, entry.layer)
        listed = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        where = {"Accounts": [self.aws.account_id()], "Regions": [entry.region]}
        if step == "create-set":
            self.cf.create_stack_set(
                StackSetName=name,
                Description=f"drgen {self.bundle.scenario} {entry.layer} layer ({self.bundle.suffix})",
                Parameters=listed,
                Capabilities=changesets.CAPABILITIES,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(entry.tags.items())],
                PermissionModel="SELF_MANAGED",
                **template,
            )
            return
        if step == "update-set":
            has_instance = describe_instance(self.cf, name, self.aws.account_id(), entry.region) is not None
            operation = self._operation(
                name,
                entry,
                self.cf.update_stack_set,
                StackSetName=name,
                Parameters=listed,
                Capabilities=changesets.CAPABILITIES,
                **template,
                **(where if has_instance else {}),
            )
        elif step == "create-instance":
            operation = self._operation(
                name, entry, self.cf.create_stack_instances, StackSetName=name, ParameterOverrides=listed, **where
            )
        else:
            operation = self._operation(
                name, entry, self.cf.update_stack_instances, StackSetName=name, ParameterOverrides=listed, **where
            )
        self._wait(name, operation, entry)

    def delete_instance(self, entry: StackEntry, retain_stack: bool = False) -> None:
        """Delete ``entry``'s instance (and its stack, unless ``retain_stack``); the stack set too once it has no
        instance left."""
        with self.lock(entry.layer):
            self.remove_instance(entry, retain_stack)
            self.delete_set_if_empty(entry.layer)

    def remove_instance(self, entry: StackEntry, retain_stack: bool = False) -> None:
        """Delete ``entry``'s instance (and its stack, unless ``retain_stack``) and wait; the stack set stays, even
        empty. The caller holds the set's lock."""
        name = stack_set_name(self.bundle, entry.layer)
        where: dict[str, Any] = {"StackSetName": name, "Accounts": [self.aws.account_id()], "Regions": [entry.region]}
        where |= {"RetainStacks": retain_stack}  # False: the stack goes with its instance
        try:
            operation = self._operation(name, entry, self.cf.delete_stack_instances, **where)
        except ClientError as exc:
            if not self.aws.sandbox:
                raise
            # moto drops the instance's stack even when one of its resources refuses to go, but keeps the
            # instance; asked again, it finds no stack and removes the instance.
            self.progress.event(entry, f"moto left resources behind: {error_text(exc)}")
            operation = self._operation(name, entry, self.cf.delete_stack_instances, **where)
        self._wait(name, operation, entry)

    def instance(self, entry: StackEntry) -> dict[str, Any] | None:
        """``entry``'s instance of its layer's stack set, whether or not its stack exists; None when there is none."""
        name = stack_set_name(self.bundle, entry.layer)
        if describe_set(self.cf, name) is None:
            return None
        return describe_instance(self.cf, name, self.aws.account_id(), entry.region)

    def delete_set_if_empty(self, layer: str) -> bool:
        """Delete the layer's stack set when it exists without instances; True when it did."""
        name = stack_set_name(self.bundle, layer)
        if describe_set(self.cf, name) is None or self.cf.list_stack_instances(StackSetName=name).get("Summaries"):
            return False
        self._start(name, None, self.cf.delete_stack_set, StackSetName=name)  # refused too while one runs
        return True

    def _report(self, entry: StackEntry | None) -> Callable[[str], None]:
        """Progress about ``entry``, or a note when the work is the stack set's own (deleting it)."""
        return self.progress.note if entry is None else lambda text: self.progress.state(entry, text)

    def wait_idle(self, name: str, entry: StackEntry | None) -> None:
        """Wait until no operation is queued, running or stopping on set ``name`` (one that does not exist: none).

        AWS runs one operation per stack set at a time ("Only one operation can be performed for a stack set at
        a given time", OperationInProgressException): one another drgen or the console started, or the one a
        run interrupted with Ctrl-C left behind, goes first.
        """
        reported = ""
        while True:
            try:
                pages = self.cf.get_paginator("list_stack_set_operations").paginate(StackSetName=name)
                running = [o for page in pages for o in page.get("Summaries", []) if o.get("Status") in _RUNNING]
            except ClientError as exc:
                if error_code(exc) != "StackSetNotFoundException":
                    raise
                return
            if not running:
                return
            text = f"waiting for stack set operation {running[0]['OperationId']} ({running[0]['Status']})"
            if text != reported:
                self._report(entry)(text)
                reported = text
            pause(self.aws.target.poll_seconds)

    def _operation(self, name: str, entry: StackEntry, call: Callable[..., Any], **kwargs: Any) -> str:
        """``_start`` for a call that starts a stack set operation: its OperationId."""
        return str(self._start(name, entry, call, **kwargs)["OperationId"])

    def _start(self, name: str, entry: StackEntry | None, call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        """Start an operation on set ``name`` once no other runs there; returns the call's response.

        OperationInProgressException despite an idle listing (another client started one in between) waits
        and tries again, up to START_ATTEMPTS times.
        """
        attempt = 1
        while True:
            self.wait_idle(name, entry)
            try:
                return dict(call(**kwargs))
            except ClientError as exc:
                if error_code(exc) != "OperationInProgressException" or attempt >= START_ATTEMPTS:
                    raise
            self._report(entry)("another stack set operation started first; waiting for it")
            attempt += 1
            pause(self.aws.target.poll_seconds)

    def _wait(self, name: str, operation_id: str, entry: StackEntry) -> None:
        """Poll the operation, showing the instance stack's events; OperationFailed with a reason per region."""
        regional = self.aws.client("cloudformation", entry.region)
        watcher = Watcher(regional, entry, self.progress, self.aws.target.poll_seconds)
        stack_id = ""
        while True:
            operation = self.cf.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)
            status = operation["StackSetOperation"]["Status"]
            if not stack_id:
                stack = instance_stack(self.aws, self.bundle, entry)
                stack_id = stack.stack_id if stack else ""
            if stack_id:
                watcher.report_events(stack_id)
            if status not in _RUNNING:
                break
            self.progress.state(entry, f"stack set operation {status}")
            pause(self.aws.target.poll_seconds)
        if status != "SUCCEEDED":
            raise OperationFailed(operation_failures(self.cf, name, operation_id) or status)


@dataclass
class InstanceDeploy:
    """The StackSets-mode action for a regional node: bring this region's instance of the layer's set up to date."""

    ops: StackSetOps
    artifacts: Artifacts
    outputs: Outputs
    may_recreate: frozenset[str] = frozenset()  # instances the user agreed to delete and create again

    def __call__(self, entry: StackEntry) -> StackResult:
        aws, bundle = self.ops.aws, self.ops.bundle
        template = self.artifacts.template(entry, region=bundle.admin_region)
        parameters = parameters_for(
            entry, declared_parameters(template.body), self.outputs, self.artifacts.bucket(entry.region)
        )
        with self.ops.lock(entry.layer):
            self.ops.wait_idle(stack_set_name(bundle, entry.layer), entry)  # the steps follow what it leaves
            stuck = self._settle(entry)
            if stuck is not None:
                return stuck
            steps = self.steps(entry, template.body.decode("utf-8"), parameters)
            try:
                for step in steps:
                    self.ops.progress.state(entry, f"{step} {stack_set_name(bundle, entry.layer)}")
                    self.ops.run(step, entry, template.api_args(), parameters)
            except CLOUD_ERRORS as exc:  # moto builds the instance inside the call and fails there
                return StackResult(entry.name, entry.region, Outcome.FAILED, "", reason=error_text(exc))
            except OperationFailed as exc:
                return StackResult(entry.name, entry.region, Outcome.FAILED, "FAILED", reason=str(exc))
        stack = instance_stack(aws, bundle, entry)
        if stack is not None and decide(stack.status, aws.sandbox) is Decision.WAIT:  # still settling
            regional = aws.client("cloudformation", entry.region)
            stack = Watcher(regional, entry, self.ops.progress, aws.target.poll_seconds).until_settled(stack.stack_id)
        if stack is None or decide(stack.status) is not Decision.UPDATE:  # not settled in a usable state
            status = stack.status if stack else ""
            return StackResult(
                entry.name, entry.region, Outcome.FAILED, status, reason=f"instance stack {status or 'missing'}"
            )
        self.outputs.put(entry.name, stack.outputs)
        outcome = Outcome.CREATED if "create-instance" in steps else Outcome.UPDATED if steps else Outcome.UNCHANGED
        return StackResult(entry.name, entry.region, outcome, stack.status, outputs=stack.outputs)

    def _settle(self, entry: StackEntry) -> StackResult | None:
        """Settle the instance's stack in its Region as a plain stack is (``settle``); a StackResult when the
        rollback it needed cannot continue, or a failed first create may not be undone. AWS: "A stack in the
        UPDATE_ROLLBACK_FAILED state can't be updated"
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-continueupdaterollback.html),
        and an instance is updated through its stack.

        A failed first create (``Decision.RECREATE``) the user agreed to undo: the instance goes with its stack
        (RetainStacks false), as on plain stacks, and the steps then create it again. ROLLBACK_COMPLETE "exists
        only after a failed stack creation ... When in this state, only a delete operation can be performed"
        (stack status codes, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html),
        so its stack takes no update. The stack set stays (it may hold other Regions' instances)."""
        aws = self.ops.aws
        stack = instance_stack(aws, self.ops.bundle, entry)
        if stack is None:
            return None
        regional = aws.client("cloudformation", entry.region)
        watcher = Watcher(regional, entry, self.ops.progress, aws.target.poll_seconds)
        settled = settle(regional, stack, watcher, aws.sandbox)
        status = settled.state.status if settled.state else ""
        if settled.stuck:
            return StackResult(entry.name, entry.region, Outcome.FAILED, status, reason=settled.stuck, blocked=True)
        if settled.decision is not Decision.RECREATE:
            return None
        if entry.name not in self.may_recreate:
            return StackResult(entry.name, entry.region, Outcome.FAILED, status, reason=RECREATE_ADVICE, blocked=True)
        self.ops.progress.state(entry, f"{status}: deleting the instance and its stack to create them again")
        try:
            self.ops.remove_instance(entry)  # under the set's lock, which __call__ holds
        except CLOUD_ERRORS as exc:
            problem = error_text(exc)
        except OperationFailed as exc:  # the operation failed, e.g. the stack would not delete
            problem = str(exc)
        else:
            return None
        return StackResult(entry.name, entry.region, Outcome.FAILED, status, reason=f"could not delete: {problem}")

    def steps(self, entry: StackEntry, template: str, parameters: dict[str, str]) -> tuple[str, ...]:
        name = stack_set_name(self.ops.bundle, entry.layer)
        current = describe_set(self.ops.cf, name)
        instance = describe_instance(self.ops.cf, name, self.ops.aws.account_id(), entry.region) if current else None
        overrides = _overrides(instance) if instance else None
        status = instance.get("Status", "") if instance else ""
        return instance_steps(current["TemplateBody"] if current else None, template, overrides, status, parameters)


class OperationFailed(DrgenError):
    """A stack set operation ended FAILED or STOPPED; the message names each failed region and why."""


def operation_failures(cf: Any, name: str, operation_id: str) -> str:
    pages = cf.get_paginator("list_stack_set_operation_results").paginate(StackSetName=name, OperationId=operation_id)
    failed = [
        f"{r['Region']}: {r.get('StatusReason') or r['Status']}"
        for page in pages
        for r in page.get("Summaries", [])
        if r.get("Status") != "SUCCEEDED"
    ]
    return "; ".join(failed)


def describe_set(cf: Any, name: str) -> dict[str, Any] | None:
    try:
        stack_set: dict[str, Any] = cf.describe_stack_set(StackSetName=name)["StackSet"]
    except ClientError as exc:
        if error_code(exc) == "StackSetNotFoundException":
            return None
        raise
    return None if stack_set.get("Status") == "DELETED" else stack_set


def describe_instance(cf: Any, name: str, account: str, region: str) -> dict[str, Any] | None:
    """The instance of set ``name`` in ``account`` and ``region`` (with its overrides), or None.

    Listed first: moto answers DescribeStackInstance for a missing instance with a 500.
    """
    pages = cf.get_paginator("list_stack_instances").paginate(StackSetName=name)
    listed = [
        i for page in pages for i in page.get("Summaries", []) if (i["Account"], i["Region"]) == (account, region)
    ]
    if not listed:
        return None
    try:
        instance: dict[str, Any] = cf.describe_stack_instance(
            StackSetName=name, StackInstanceAccount=account, StackInstanceRegion=region
        )["StackInstance"]
    except ClientError as exc:
        if error_code(exc) in ("StackInstanceNotFoundException", "StackSetNotFoundException"):
            return None
        raise
    return instance


def instance_stack(aws: Aws, bundle: RenderedBundle, entry: StackEntry) -> StackState | None:
    """The stack behind ``entry``'s instance, found by the StackId the instance reports.

    moto reports a StackId that matches no stack and names the stack ``StackSet:<set name>``; that name is
    the fallback.
    """
    name = stack_set_name(bundle, entry.layer)
    admin = aws.client("cloudformation", bundle.admin_region)
    if describe_set(admin, name) is None:
        return None
    instance = describe_instance(admin, name, aws.account_id(), entry.region)
    if instance is None:
        return None
    regional = aws.client("cloudformation", entry.region)
    found = describe(regional, instance["StackId"]) if instance.get("StackId") else None
    return found or describe(regional, f"StackSet:{name}")


def _overrides(instance: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in instance.get("ParameterOverrides", [])}
