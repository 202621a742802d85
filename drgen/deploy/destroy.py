"""Destroy: the graph in reverse, after the data that will be lost has been listed and confirmed.

A stack CloudFormation would not delete (``undeletable``: termination protection, or a database RDS reports
protected that no update can unprotect) is refused before the question and before anything is deleted.
Before each stack goes it is settled (an operation in progress is waited for, UPDATE_ROLLBACK_FAILED gets
continue-update-rollback, and is deleted as it is when that fails); then a ``DeletionProtection`` parameter
that is "true" is set to "false" by an update where the status allows one (a failed first create is deleted
as it is), every bucket of the stack loses its replication configuration (so nothing arrives while it is
emptied) and then every object version and delete marker, and a backup vault loses its recovery points; the
certificates' DNS validation records (CloudFormation leaves them in the zone) go at the end, when no
certificate left in the account needs them (``validation_records``).
The DR data stack goes before the primary's, so the secondary Aurora cluster has left the global cluster
(CloudFormation's delete of a member cluster does that) before the stack holding the global cluster is
deleted. Stack set instances go the same way (one whose stack is already gone too), and a stack set once its
last instance is gone; a set left at the end is reported (``sets_left``). Nothing ever deletes a stack that
failed to empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from drgen.bundle.catalogue import DATA_TYPES
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import buckets, validation_records, zone
from drgen.deploy.artifacts import PREVIOUS_TEMPLATE, bucket_name
from drgen.deploy.deployer import find, uses_stack_set
from drgen.deploy.executor import Outcome, StackResult, run_graph
from drgen.deploy.plan import Decision, decide, dependents, stack_name
from drgen.deploy.progress import Progress
from drgen.deploy.protection import protected_databases, stack_resources
from drgen.deploy.session import Aws
from drgen.deploy.stacks import StackState, Watcher, apply_change, delete, settle
from drgen.deploy.stacksets import OperationFailed, StackSetOps, describe_set, stack_set_name
from drgen.errors import DrgenError
from drgen.scenario.model import Role

DELETION_PROTECTION = "DeletionProtection"


@dataclass(frozen=True)
class DataItem:
    """Something whose contents are lost with its stack."""

    stack: str
    region: str
    kind: str
    name: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.region:<14} {self.kind:<22} {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Located:
    state: StackState
    instance: bool  # the stack of a stack set instance


def locate(aws: Aws, bundle: RenderedBundle, entry: StackEntry) -> Located | None:
    """Whatever is deployed for ``entry``, in either mode (deploy refuses a second mode): a plain stack, asked in
    the entry's own Region first, so that a stacks-mode deployment is found without the stack sets' administration
    Region (the global layer's, us-east-1, which may be the Region a failover leaves); else a stack set instance."""
    for mode in ("stacks", "stacksets"):
        state = find(aws, bundle, mode, entry)
        if state is not None:
            return Located(state, uses_stack_set(mode, entry))
    return None


def undeletable(aws: Aws, entry: StackEntry, state: StackState, decision: Decision) -> list[str]:
    """Why CloudFormation would refuse or fail to delete this stack whatever destroy does first, one line each
    with what to run; empty when nothing stands in the way. ``decision`` is what the stack's status calls for.

    Termination protection (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-
    stacks.html): "If a user attempts to delete a stack with termination protection enabled, the deletion fails
    and the stack, including its status, remains unchanged." A protected database (``protection``) fails the
    delete unless destroy's update turns ``DeletionProtection`` off, which needs a stack that takes an update.
    """
    where = f"{entry.name} ({entry.region})"
    found = []
    if state.termination_protection:
        found.append(
            f"{where} has termination protection on, so CloudFormation refuses to delete it: `aws cloudformation "
            "update-termination-protection --no-enable-termination-protection "
            f"--stack-name {stack_name(state.stack_id)} --region {entry.region}`, then rerun"
        )
    if decision in (Decision.WAIT, Decision.CONTINUE_ROLLBACK):
        return found  # what it settles in decides; destroy checks again then
    if decision is Decision.UPDATE and state.parameters.get(DELETION_PROTECTION) == "true":
        return found  # destroy's update turns the protection off
    prefix = f"{where}: " if decision is Decision.UPDATE else f"{where} is {state.status} and takes no update: "
    found.extend(prefix + line for line in protected_databases(aws, entry.region, state.stack_id))
    return found


def refuse_undeletable(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry]) -> None:
    """Refuse (DrgenError) a destroy that a stack would stop half-way, before anything is asked or deleted."""
    found = []
    for entry in entries:
        located = locate(aws, bundle, entry)
        if located is not None:
            found.extend(undeletable(aws, entry, located.state, decide(located.state.status, aws.sandbox)))
    if found:
        raise DrgenError("; ".join(found) + "; nothing was deleted")


def inventory(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry]) -> list[DataItem]:
    """The data each deployed stack holds: buckets with their object counts, databases, tables."""
    items = []
    for entry in entries:
        located = locate(aws, bundle, entry)
        if located is None:
            continue
        for resource in stack_resources(aws, entry.region, located.state.stack_id):
            kind = DATA_TYPES.get(resource["ResourceType"])
            if kind is None:
                continue
            name = resource["PhysicalResourceId"]
            items.append(DataItem(entry.name, entry.region, kind, name, _detail(aws, entry.region, kind, name)))
    return items


def _detail(aws: Aws, region: str, kind: str, name: str) -> str:
    if kind != "bucket":
        return ""
    s3 = aws.client("s3", region)
    if not buckets.exists(s3, name):
        return "already gone"
    objects, versions = buckets.count_versions(s3, name)
    return f"{objects} objects, {versions} versions and delete markers"


@dataclass
class StackDestroy:
    """The destroy action for one node: unprotect, empty the buckets, delete the stack or instance."""

    aws: Aws
    bundle: RenderedBundle
    progress: Progress

    def __post_init__(self) -> None:
        self.ops = StackSetOps(self.aws, self.bundle, self.progress)
        self.validation = validation_records.Collected()

    def __call__(self, entry: StackEntry) -> StackResult:
        located = locate(self.aws, self.bundle, entry)
        if located is None:
            return self._orphan(entry)
        cf = self.aws.client("cloudformation", entry.region)
        watcher = Watcher(cf, entry, self.progress, self.aws.target.poll_seconds)
        ready = self._ready(cf, entry, watcher, located)
        if isinstance(ready, StackResult):
            return ready
        state = ready.state
        for resource in stack_resources(self.aws, entry.region, state.stack_id):
            if resource["ResourceType"] == "AWS::S3::Bucket":
                self._empty(entry, resource["PhysicalResourceId"])
            elif resource["ResourceType"] == "AWS::Backup::BackupVault":
                vault = resource["PhysicalResourceId"]
                self.progress.state(entry, f"deleting the recovery points in {vault}")
                left = empty_vault(self.aws.client("backup", entry.region), vault, self.aws.target.poll_seconds)
                if left:
                    reason = f"{vault} still holds {left} recovery point(s); delete them, then run destroy again"
                    return StackResult(entry.name, entry.region, Outcome.FAILED, reason=reason)
            elif resource["ResourceType"] == validation_records.CERTIFICATE:
                acm = self.aws.client("acm", entry.region)
                self.validation.add(acm, resource["PhysicalResourceId"], state.parameters.get(zone.ZONE_PARAMETER))
        self.progress.state(entry, "DELETE_IN_PROGRESS")
        if located.instance:
            try:
                self.ops.delete_instance(entry)
            except OperationFailed as exc:
                return StackResult(entry.name, entry.region, Outcome.FAILED, "DELETE_FAILED", reason=str(exc))
            return StackResult(entry.name, entry.region, Outcome.DELETED, "DELETE_COMPLETE")
        remaining = delete(cf, state, watcher, self.aws.sandbox)
        if remaining is not None:
            return StackResult(
                entry.name, entry.region, Outcome.FAILED, remaining.status, reason=watcher.failure_reason(remaining)
            )
        return StackResult(entry.name, entry.region, Outcome.DELETED, "DELETE_COMPLETE")

    def _orphan(self, entry: StackEntry) -> StackResult:
        """Delete a stack set instance whose stack is gone (INOPERABLE after a failed delete, OUTDATED after a
        rolled-back create): it keeps its set alive. AWS, StackInstance Status INOPERABLE
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstance.html): "You might
        need to perform a DeleteStackInstances operation, with RetainStacks set to true, to delete the stack
        instance, and then delete the stack manually." There is no stack left, so retaining it keeps nothing."""
        if not uses_stack_set("stacksets", entry) or self.ops.instance(entry) is None:
            return StackResult(entry.name, entry.region, Outcome.ABSENT)
        self.progress.state(entry, "deleting the stack set instance, whose stack is gone")
        try:
            self.ops.delete_instance(entry, retain_stack=True)
        except OperationFailed as exc:
            return StackResult(entry.name, entry.region, Outcome.FAILED, reason=f"stack set instance: {exc}")
        return StackResult(entry.name, entry.region, Outcome.DELETED, "DELETE_COMPLETE")

    def _ready(self, cf: Any, entry: StackEntry, watcher: Watcher, located: Located) -> Located | StackResult:
        """Settle the stack (wait out an operation, continue a failed update rollback) and turn its deletion
        protection off where an update can; a StackResult when there is nothing left to do, or when the delete
        could not succeed (``undeletable``: nothing is emptied then)."""
        settled = settle(cf, located.state, watcher, self.aws.sandbox)
        state = settled.state
        if state is None:  # the operation waited for was a delete
            return StackResult(entry.name, entry.region, Outcome.DELETED, "DELETE_COMPLETE")
        if settled.stuck:
            # AWS's stack status codes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-
            # events.html): UPDATE_ROLLBACK_FAILED "When in this state, you can delete the stack or continue
            # rollback." The rollback could not continue: delete it as it is.
            self.progress.event(
                entry, "the rollback cannot continue; deleting the stack as it is (UPDATE_ROLLBACK_FAILED)"
            )
        located = replace(located, state=state)
        walls = undeletable(self.aws, entry, state, settled.decision)
        if walls:
            return StackResult(
                entry.name, entry.region, Outcome.FAILED, state.status, reason="; ".join(walls), blocked=True
            )
        # Unprotecting is an update, which only some statuses allow. AWS's stack status codes: ROLLBACK_COMPLETE
        # "exists only after a failed stack creation ... only a delete operation can be performed"; ROLLBACK_FAILED
        # and DELETE_FAILED: delete the stack (again). Those are deleted as they are: ``undeletable`` has found
        # no database there that RDS reports protected.
        if state.parameters.get(DELETION_PROTECTION) != "true" or settled.decision is not Decision.UPDATE:
            return located
        return self._unprotect(cf, entry, watcher, located) or located

    def _unprotect(self, cf: Any, entry: StackEntry, watcher: Watcher, located: Located) -> StackResult | None:
        """Update DeletionProtection to "false" with the current template; a StackResult when that failed."""
        self.progress.state(entry, "turning deletion protection off")
        parameters = located.state.parameters | {DELETION_PROTECTION: "false"}
        if located.instance:
            try:
                with self.ops.lock(entry.layer):
                    self.ops.run("update-instance", entry, {}, parameters)
            except OperationFailed as exc:
                return StackResult(entry.name, entry.region, Outcome.FAILED, "", reason=f"deletion protection: {exc}")
            return None
        result = apply_change(
            cf,
            entry,
            watcher,
            located.state,
            PREVIOUS_TEMPLATE,
            parameters,
            allow_replace=True,
            sandbox=self.aws.sandbox,
        )
        return None if result.outcome.ok else result

    def _empty(self, entry: StackEntry, bucket: str) -> None:
        s3 = self.aws.client("s3", entry.region)
        if not buckets.exists(s3, bucket):
            return
        self.progress.state(entry, f"emptying s3://{bucket}")
        if buckets.remove_replication(s3, bucket):
            self.progress.event(entry, f"{bucket}: replication removed")
        self.progress.event(entry, f"{bucket}: {buckets.empty(s3, bucket)} versions and delete markers deleted")


VAULT_EMPTY_POLLS = 120  # recovery points are deleted asynchronously; stop waiting after this many polls


def empty_vault(backup: Any, vault: str, poll_seconds: float, sleep: Callable[[float], None] = time.sleep) -> int:
    """Delete every recovery point in ``vault`` (a vault with any left cannot be deleted) and wait until none is
    left; returns how many are still there (0: the vault can go)."""

    def points() -> list[dict[str, Any]]:
        pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault)
        return [point for page in pages for point in page["RecoveryPoints"]]

    for point in points():
        if point.get("Status") != "DELETING":
            backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point["RecoveryPointArn"])
    for _ in range(VAULT_EMPTY_POLLS):
        left = len(points())
        if not left:
            return 0
        sleep(poll_seconds)
    return left


def destroy(
    aws: Aws,
    bundle: RenderedBundle,
    entries: Sequence[StackEntry],
    progress: Progress,
) -> list[StackResult]:
    """Delete ``entries`` in reverse dependency order, then any of their stack sets left without an instance."""
    action = StackDestroy(aws, bundle, progress)
    results = run_graph(entries, dependents(entries), action, progress.done)
    regions = {*bundle.stack_regions, bundle.admin_region}
    validation_records.remove(aws, action.validation, regions, progress.note)
    for layer in sorted({e.layer for e in entries if e.role is not Role.GLOBAL}):
        if action.ops.delete_set_if_empty(layer):
            progress.note(f"stack set {stack_set_name(bundle, layer)} deleted (it had no instance left)")
    return results


def sets_left(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry]) -> list[str]:
    """One line per stack set of ``entries`` that still exists after a destroy (an instance it did not delete,
    in another account or Region, or one that failed): the destroy did not finish."""
    cf = aws.client("cloudformation", bundle.admin_region)
    found = []
    for layer in sorted({e.layer for e in entries if e.role is not Role.GLOBAL}):
        name = stack_set_name(bundle, layer)
        if describe_set(cf, name) is None:
            continue
        pages = cf.get_paginator("list_stack_instances").paginate(StackSetName=name)
        instances = [i for page in pages for i in page.get("Summaries", [])]
        where = ", ".join(sorted(f"{i['Account']}/{i['Region']}" for i in instances)) or "none listed"
        found.append(
            f"stack set {name} ({bundle.admin_region}) is still there, with instances in {where}: delete them "
            f"(`aws cloudformation delete-stack-instances --stack-set-name {name} ...`), then rerun destroy"
        )
    return found


def purge_artifacts(aws: Aws, bundle: RenderedBundle, report: Callable[[str], None]) -> None:
    """Delete the artifact bucket of every region the bundle used (with all its versions)."""
    for region in sorted({*bundle.stack_regions, bundle.admin_region}):
        s3 = aws.client("s3", region)
        name = bucket_name(aws.account_id(), region)
        if buckets.exists(s3, name):
            buckets.delete(s3, name)
            report(f"artifacts: s3://{name} deleted")
