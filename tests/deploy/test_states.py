"""Stack and stack set states moto never reaches, against a fake CloudFormation that keeps AWS's documented rules.

moto updates a stack in any status and finishes a stack set operation inside the call that starts it, so
neither rule below can fail there:

- a stack's status decides which operations it takes. CloudFormation stack status codes
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html): ROLLBACK_COMPLETE
  "exists only after a failed stack creation ... only a delete operation can be performed"; ROLLBACK_FAILED:
  delete the stack; UPDATE_ROLLBACK_FAILED: "you can delete the stack or continue rollback". A stack busy with
  an operation takes no other.
- one operation per stack set at a time: "Another operation is currently in progress for this StackSet. Only
  one operation can be performed for a stack set at a given time." (OperationInProgressException,
  https://docs.aws.amazon.com/botocore/latest/reference/services/cloudformation/client/exceptions/OperationInProgressException.html)
"""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drgen.bundle.manifest import StackEntry
from drgen.deploy.artifacts import TemplateSource
from drgen.deploy.destroy import StackDestroy
from drgen.deploy.executor import Outcome, StackResult
from drgen.deploy.outputs import Outputs
from drgen.deploy.progress import PlainProgress
from drgen.deploy.stacks import StackDeploy
from drgen.deploy.stacksets import InstanceDeploy, StackSetOps
from drgen.deploy.target import Target
from drgen.scenario import Role

ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/s/1"
TEMPLATE = '{"Resources": {}}'
UPDATABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")
HOLDING = (*UPDATABLE, "UPDATE_ROLLBACK_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS")  # its resources
_RUNNING = ("QUEUED", "RUNNING", "STOPPING")


def _refused(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CloudFormation")


class FakeCloudFormation:
    """One stack, and optionally the stack set whose instance it is, moving between statuses as AWS documents.

    A status ``*_IN_PROGRESS`` (but REVIEW_IN_PROGRESS) lasts two DescribeStacks, then becomes ``then`` (None:
    the stack is gone). The stack holds an Aurora cluster (``cluster``: its DeletionProtection as RDS reports
    it; None: no cluster) when its status holds resources; the templates pass the ``DeletionProtection``
    parameter to it, so an update of the parameter sets it. A delete fails (DELETE_FAILED) while the cluster is
    protected, and is refused (the stack unchanged) while termination protection is on. ``busy_polls``:
    ListStackSetOperations calls for which another operation still runs; ``refusals``: starts refused even when
    none runs (another client started one in between). ``rollback_fails``: the logical ids whose rollback fails
    again when it is continued. ``name``/``set_name``: the only stack (set) name answered (None: any);
    ``others``: the set's instances in other Regions. The same object answers the RDS and Backup calls.
    """

    def __init__(
        self,
        status: str,
        then: str | None = None,
        *,
        stack_set: bool = False,
        busy_polls: int = 0,
        refusals: int = 0,
        rollback_fails: tuple[str, ...] = (),
    ) -> None:
        self.status: str | None = status
        self.then = then
        self.polls_left = 2
        self.parameters = {"DeletionProtection": "true"}
        self.cluster: bool | None = True if status in HOLDING else None
        self.termination_protection = False
        self.rollback_fails = rollback_fails
        self.events: list[dict[str, Any]] = []
        self.recovery_points = 0  # in the stack's backup vault (none: no vault)
        self.name: str | None = None
        self.set_name: str | None = None
        self.calls: list[str] = []  # the calls that change something
        self.stack_set = stack_set
        self.instance = stack_set
        self.instance_status = "CURRENT"
        self.others: list[str] = []
        self.retained: list[bool] = []  # RetainStacks of each DeleteStackInstances
        self.operations = [{"OperationId": "other", "Action": "UPDATE", "Status": "RUNNING"}] if busy_polls else []
        self.busy_polls = busy_polls
        self.refusals = refusals
        self.pending: dict[str, str] = {}

    def get_paginator(self, name: str) -> Any:
        method = getattr(self, name)
        return SimpleNamespace(paginate=lambda **kwargs: [method(**kwargs)])

    def _move(self, status: str, then: str | None) -> None:
        self.status, self.then, self.polls_left = status, then, 2

    # -- stacks

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        # an instance's stack has a name of StackSets' choosing: found by the StackId the instance reports
        known = (self.name, STACK_ID) if self.name else (STACK_ID,) if self.stack_set else None
        if self.status is None or (known is not None and StackName not in known):
            raise _refused("ValidationError", f"Stack with id {StackName} does not exist")
        parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()]
        stack = {"StackId": STACK_ID, "StackName": "s", "StackStatus": self.status, "Parameters": parameters}
        stack["EnableTerminationProtection"] = self.termination_protection
        if self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS":
            self.polls_left -= 1
            if not self.polls_left:
                self.status = self.then
        return {"Stacks": [stack | {"CreationTime": dt.datetime.now(dt.UTC)}]}

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": list(reversed(self.events))}  # newest first

    def list_stack_resources(self, StackName: str) -> dict[str, Any]:
        held = [("Cluster", "AWS::RDS::DBCluster", "dbdr-cluster")] if self.cluster is not None else []
        held += [("Vault", "AWS::Backup::BackupVault", "dbdr-vault")] if self.recovery_points else []
        return {
            "StackResourceSummaries": [
                {"LogicalResourceId": logical, "ResourceType": kind, "PhysicalResourceId": physical}
                for logical, kind, physical in held
            ]
        }

    def create_change_set(self, ChangeSetType: str, Parameters: list[dict[str, str]], **_: Any) -> dict[str, str]:
        self.calls.append("create_change_set")
        if ChangeSetType == "UPDATE" and self.status not in UPDATABLE:
            raise _refused("ValidationError", f"Stack:{STACK_ID} is in {self.status} state and can not be updated.")
        self.pending = {p["ParameterKey"]: p["ParameterValue"] for p in Parameters}
        return {"Id": "arn:change-set/1", "StackId": STACK_ID}

    def describe_change_set(self, ChangeSetName: str) -> dict[str, Any]:
        change = {"Action": "Modify", "LogicalResourceId": "Cluster", "ResourceType": "AWS::RDS::DBCluster"}
        return {"Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": change}]}

    def execute_change_set(self, ChangeSetName: str) -> None:
        self.calls.append("execute_change_set")
        self.parameters = self.pending
        if self.cluster is not None:
            self.cluster = self.parameters.get("DeletionProtection") == "true"
        self._move("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")

    def continue_update_rollback(self, StackName: str) -> None:
        self.calls.append("continue_update_rollback")
        if self.status != "UPDATE_ROLLBACK_FAILED":
            raise _refused("ValidationError", f"Stack {STACK_ID} is in {self.status} state")
        if not self.rollback_fails:
            self._move("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE")
            return
        now = dt.datetime.now(dt.UTC)
        for logical in self.rollback_fails:  # each resource's rollback starts, then fails again
            for status, reason in (("UPDATE_IN_PROGRESS", ""), ("UPDATE_FAILED", "Resource handler returned")):
                event = {"EventId": f"e{len(self.events)}", "LogicalResourceId": logical, "ResourceStatus": status}
                self.events.append(event | {"ResourceStatusReason": reason, "Timestamp": now, "StackName": "s"})
        self._move("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED")

    def delete_stack(self, StackName: str) -> None:
        self.calls.append("delete_stack")
        assert self.status is not None
        if self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS":
            raise _refused("ValidationError", f"Stack [{StackName}] cannot be deleted while in status {self.status}")
        if self.termination_protection:
            raise _refused(
                "ValidationError", f"Stack [{StackName}] cannot be deleted while TerminationProtection is enabled"
            )
        self._move("DELETE_IN_PROGRESS", "DELETE_FAILED" if self.cluster else None)

    # -- RDS and Backup

    def describe_db_clusters(self, DBClusterIdentifier: str) -> dict[str, Any]:
        assert self.cluster is not None
        return {"DBClusters": [{"DBClusterIdentifier": DBClusterIdentifier, "DeletionProtection": self.cluster}]}

    def list_recovery_points_by_backup_vault(self, BackupVaultName: str) -> dict[str, Any]:
        return {"RecoveryPoints": [{"RecoveryPointArn": f"arn:rp/{i}"} for i in range(self.recovery_points)]}

    def delete_recovery_point(self, **_: Any) -> None:
        self.calls.append("delete_recovery_point")
        self.recovery_points -= 1

    # -- the stack set

    def describe_stack_set(self, StackSetName: str) -> dict[str, Any]:
        if not self.stack_set or (self.set_name and StackSetName != self.set_name):
            raise _refused("StackSetNotFoundException", f"StackSet {StackSetName} not found")
        return {"StackSet": {"StackSetName": StackSetName, "Status": "ACTIVE", "TemplateBody": TEMPLATE}}

    def list_stack_instances(self, StackSetName: str) -> dict[str, Any]:
        regions = (["us-east-1"] if self.instance else []) + self.others
        return {"Summaries": [{"Account": ACCOUNT, "Region": region} for region in regions]}

    def describe_stack_instance(self, **_: Any) -> dict[str, Any]:
        return {"StackInstance": {"StackId": STACK_ID, "Status": self.instance_status, "ParameterOverrides": []}}

    def list_stack_set_operations(self, StackSetName: str) -> dict[str, Any]:
        if self.busy_polls:
            self.busy_polls -= 1
        elif self.operations and self.operations[0]["Status"] == "RUNNING":
            self.operations[0]["Status"] = "SUCCEEDED"
        return {"Summaries": [dict(o) for o in self.operations]}

    def _start(self, call: str, succeeds: bool = True) -> dict[str, str]:
        self.calls.append(call)
        if any(o["Status"] in _RUNNING for o in self.operations) or self.refusals:
            self.refusals = max(0, self.refusals - 1)
            raise _refused("OperationInProgressException", "Another Operation on StackSet s is in progress")
        operation = {"OperationId": f"op{len(self.operations)}", "Action": call, "Status": "SUCCEEDED"}
        self.operations.append(operation | ({} if succeeds else {"Status": "FAILED"}))
        return {"OperationId": operation["OperationId"]}

    def update_stack_instances(self, **_: Any) -> dict[str, str]:
        return self._start("update_stack_instances", succeeds=self.status in UPDATABLE)

    def create_stack_instances(self, **_: Any) -> dict[str, str]:
        started = self._start("create_stack_instances")
        self.instance, self.instance_status, self.status = True, "CURRENT", "CREATE_COMPLETE"
        return started

    def delete_stack_instances(self, RetainStacks: bool, **_: Any) -> dict[str, str]:
        started = self._start("delete_stack_instances")
        self.retained.append(RetainStacks)
        self.instance, self.status = False, None
        return started

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict[str, Any]:
        return {"StackSetOperation": next(o for o in self.operations if o["OperationId"] == OperationId)}

    def list_stack_set_operation_results(self, **_: Any) -> dict[str, Any]:
        return {"Summaries": [{"Region": "us-east-1", "Status": "FAILED", "StatusReason": "cannot be updated"}]}

    def delete_stack_set(self, StackSetName: str) -> dict[str, Any]:
        self.calls.append("delete_stack_set")
        if any(o["Status"] in _RUNNING for o in self.operations):  # DeleteStackSet lists it among its errors
            raise _refused("OperationInProgressException", "Another Operation on StackSet s is in progress")
        if self.instance or self.others:  # StackSetNotEmptyException
            raise _refused("StackSetNotEmptyException", f"StackSet {StackSetName} is not empty")
        self.stack_set = False
        return {}


class _Aws:
    """The slice of Aws that destroy and the stack set operations use, around one fake client for every region."""

    def __init__(self, cf: FakeCloudFormation) -> None:
        self._cf = cf
        self.target = Target(poll_seconds=0.01)
        self.sandbox = False

    def client(self, service: str, region: str) -> FakeCloudFormation:
        return self._cf

    def account_id(self) -> str:
        return ACCOUNT


BUNDLE = SimpleNamespace(scenario="database-dr", suffix="t", admin_region="us-east-1")
ENTRY = StackEntry("database-dr-data-primary-t", "data", "us-east-1", Role.PRIMARY, "t.json", "", (), {}, {}, {})
UNPROTECT = ["create_change_set", "execute_change_set"]


@pytest.mark.parametrize(
    ("status", "then", "calls"),
    [
        ("UPDATE_COMPLETE", None, [*UNPROTECT, "delete_stack"]),
        ("ROLLBACK_COMPLETE", None, ["delete_stack"]),  # a failed first create: only a delete
        ("ROLLBACK_FAILED", None, ["delete_stack"]),
        ("REVIEW_IN_PROGRESS", None, ["delete_stack"]),  # a create change set never executed
        ("UPDATE_ROLLBACK_FAILED", None, ["continue_update_rollback", *UNPROTECT, "delete_stack"]),
        ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", [*UNPROTECT, "delete_stack"]),  # waited for first
        ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", [*UNPROTECT, "delete_stack"]),
        ("DELETE_IN_PROGRESS", None, []),  # someone else's delete finishes the job
    ],
)
def test_destroy_deletes_a_protected_stack_from_any_status_unprotecting_it_only_where_an_update_may_run(
    status, then, calls
):
    cf = FakeCloudFormation(status, then)
    result = StackDestroy(_Aws(cf), BUNDLE, PlainProgress(io.StringIO()))(ENTRY)  # type: ignore[arg-type]
    assert (result.outcome, result.reason) == (Outcome.DELETED, "")
    assert cf.calls == calls
    assert cf.status is None


def test_destroy_deletes_a_stack_set_instance_whose_first_create_failed_without_updating_it():
    cf = FakeCloudFormation("ROLLBACK_COMPLETE", stack_set=True)
    result = StackDestroy(_Aws(cf), BUNDLE, PlainProgress(io.StringIO()))(ENTRY)  # type: ignore[arg-type]
    assert (result.outcome, result.reason) == (Outcome.DELETED, "")
    assert cf.calls == ["delete_stack_instances", "delete_stack_set"]


def _ops(cf: FakeCloudFormation, log: io.StringIO) -> StackSetOps:
    return StackSetOps(_Aws(cf), BUNDLE, PlainProgress(log))  # type: ignore[arg-type]


@pytest.mark.parametrize("step", ["update-instance", "delete-instance"])
def test_a_stack_set_operation_already_running_is_waited_for_before_the_next_starts(step):
    cf, log = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True, busy_polls=3), io.StringIO()
    ops = _ops(cf, log)
    if step == "update-instance":
        ops.run(step, ENTRY, {}, {"DeletionProtection": "false"})
    else:
        ops.delete_instance(ENTRY)
    assert cf.calls[0] == f"{step.replace('-', '_stack_')}s"  # started once, after the other finished
    assert cf.calls.count(cf.calls[0]) == 1
    assert "waiting for stack set operation other (RUNNING)" in log.getvalue()


def test_a_start_refused_as_operation_in_progress_waits_and_tries_again_a_bounded_number_of_times():
    cf, log = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True, refusals=1), io.StringIO()
    _ops(cf, log).run("update-instance", ENTRY, {}, {})
    assert cf.calls == ["update_stack_instances"] * 2
    assert "another stack set operation started first" in log.getvalue()

    always = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True, refusals=1000)
    with pytest.raises(ClientError, match="OperationInProgressException"):
        _ops(always, io.StringIO()).run("update-instance", ENTRY, {}, {})
    assert 1 < len(always.calls) < 20


def test_an_instance_stack_still_in_progress_after_a_rerun_is_waited_for_not_failed():
    # A rerun after Ctrl-C: the interrupted run's operation still runs and its instance stack is still updating.
    cf = FakeCloudFormation("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", stack_set=True, busy_polls=2)
    cf.parameters = {}
    artifacts = SimpleNamespace(template=lambda entry, region: TemplateSource(TEMPLATE.encode()), bucket=lambda r: "b")
    deploy = InstanceDeploy(_ops(cf, io.StringIO()), artifacts, Outputs((), lambda entry: None))  # type: ignore[arg-type]
    result = deploy(ENTRY)
    assert (result.outcome, result.status, result.reason) == (Outcome.UNCHANGED, "UPDATE_COMPLETE", "")
    assert cf.calls == []


def test_an_empty_stack_set_is_deleted_once_the_operation_running_on_it_ends():
    cf, log = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True, busy_polls=2), io.StringIO()
    cf.instance = False  # its last instance is gone; another client's operation still runs on the set
    assert _ops(cf, log).delete_set_if_empty(ENTRY.layer) is True
    assert cf.calls == ["delete_stack_set"] and not cf.stack_set
    assert "waiting for stack set operation other (RUNNING)" in log.getvalue()


# -- a stack or instance only the user can unblock: named, with what to run, before anything is deleted -------


def _destroy(cf: FakeCloudFormation) -> StackResult:
    return StackDestroy(_Aws(cf), BUNDLE, PlainProgress(io.StringIO()))(ENTRY)  # type: ignore[arg-type]


@pytest.mark.parametrize("protected", [False, True])
def test_destroy_deletes_a_stack_whose_update_rollback_cannot_continue_unless_a_database_stops_it(protected):
    """AWS's stack status codes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.
    html): UPDATE_ROLLBACK_FAILED "When in this state, you can delete the stack or continue rollback." When the
    rollback cannot continue the stack is deleted as it is, which RDS fails while its cluster is protected
    (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html: "The database can't be deleted
    when deletion protection is enabled"): then nothing is deleted, and the line says how to turn it off."""
    cf = FakeCloudFormation("UPDATE_ROLLBACK_FAILED", rollback_fails=("Cluster",))
    cf.cluster = protected
    result = _destroy(cf)
    if not protected:
        assert (result.outcome, result.reason) == (Outcome.DELETED, "")
        assert cf.calls == ["continue_update_rollback", "delete_stack"] and cf.status is None
        return
    assert result.outcome is Outcome.FAILED and result.blocked
    assert result.reason == (
        "database-dr-data-primary-t (us-east-1) is UPDATE_ROLLBACK_FAILED and takes no update: Aurora cluster "
        "dbdr-cluster has deletion protection on, so the delete would fail: `aws rds modify-db-cluster "
        "--db-cluster-identifier dbdr-cluster --no-deletion-protection --region us-east-1`, then rerun"
    )
    assert cf.calls == ["continue_update_rollback"]


def test_a_stack_whose_first_create_left_a_protected_database_is_not_deleted_by_destroy():
    """ROLLBACK_FAILED takes no update, so destroy cannot turn the protection off; deleting anyway would fail on
    the cluster (DELETE_FAILED) on every rerun. Nothing is emptied or deleted; the line names the RDS command."""
    cf = FakeCloudFormation("ROLLBACK_FAILED")
    cf.cluster, cf.recovery_points = True, 2
    result = _destroy(cf)
    assert result.outcome is Outcome.FAILED and result.blocked
    assert "`aws rds modify-db-cluster --db-cluster-identifier dbdr-cluster --no-deletion-protection" in result.reason
    assert cf.calls == [] and cf.recovery_points == 2


def test_a_rollback_that_fails_again_on_deploy_names_the_resources_to_skip_and_exits_2():
    """ContinueUpdateRollback ResourcesToSkip (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/
    API_ContinueUpdateRollback.html): "You can specify only resources that are in the UPDATE_FAILED state because
    a rollback failed" ... "If you don't, subsequent stack updates might fail, and the stack will become
    unrecoverable." drgen names them and the command; skipping is the user's choice."""
    from drgen.cli.options import exit_on_failure

    cf = FakeCloudFormation("UPDATE_ROLLBACK_FAILED", rollback_fails=("Cluster", "Queue"))
    deploy = StackDeploy(_Aws(cf), None, None, PlainProgress(io.StringIO()), False, frozenset())  # type: ignore[arg-type]
    result = deploy(ENTRY)
    assert result.outcome is Outcome.FAILED and result.blocked
    assert (
        "fix the cause and rerun, or skip Cluster, Queue with `aws cloudformation continue-update-rollback "
        "--stack-name s --region us-east-1 --resources-to-skip Cluster Queue` (skipped resources stay out of sync"
    ) in result.reason
    assert cf.calls == ["continue_update_rollback"]  # once: nothing skipped, nothing retried
    with pytest.raises(SystemExit) as exited:
        exit_on_failure([result])
    assert exited.value.code == 2


@pytest.mark.parametrize("rollback_fails", [(), ("Cluster",)])
def test_stacksets_deploy_continues_an_instance_stacks_failed_rollback_before_updating_the_instance(rollback_fails):
    """AWS: "A stack in the UPDATE_ROLLBACK_FAILED state can't be updated"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-continueupdaterollback.html):
    an update-instance there fails. The instance's stack is settled first, as a plain stack is."""
    cf = FakeCloudFormation("UPDATE_ROLLBACK_FAILED", stack_set=True, rollback_fails=rollback_fails)
    cf.instance_status = "OUTDATED"  # the failed operation left the instance behind its set
    artifacts = SimpleNamespace(template=lambda entry, region: TemplateSource(TEMPLATE.encode()), bucket=lambda r: "b")
    deploy = InstanceDeploy(_ops(cf, io.StringIO()), artifacts, Outputs((), lambda entry: None))  # type: ignore[arg-type]
    result = deploy(ENTRY)
    if not rollback_fails:
        assert (result.outcome, result.status, result.reason) == (Outcome.UPDATED, "UPDATE_ROLLBACK_COMPLETE", "")
        assert cf.calls == ["continue_update_rollback", "update_stack_instances"]
        return
    assert result.outcome is Outcome.FAILED and result.blocked and "--resources-to-skip Cluster`" in result.reason
    assert cf.calls == ["continue_update_rollback"]  # no update-instance bound to fail


def _failed_first_create() -> FakeCloudFormation:
    """An instance whose first create failed: AWS, StackInstance Status OUTDATED
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstance.html): "the associated
    stack failed during a CreateStackSet or UpdateStackSet operation"; its stack is ROLLBACK_COMPLETE, where "only
    a delete operation can be performed" (stack status codes), so an update-instance would fail."""
    cf = FakeCloudFormation("ROLLBACK_COMPLETE", stack_set=True)
    cf.instance_status = "OUTDATED"
    return cf


def _instance_deploy(cf: FakeCloudFormation, *agreed: str) -> InstanceDeploy:
    """The action for ``ENTRY``'s instance; ``agreed``: the stacks the user agreed to recreate (default: none)."""
    artifacts = SimpleNamespace(template=lambda entry, region: TemplateSource(TEMPLATE.encode()), bucket=lambda r: "b")
    outputs = Outputs((), lambda entry: None)
    if not agreed:
        return InstanceDeploy(_ops(cf, io.StringIO()), artifacts, outputs)  # type: ignore[arg-type]
    return InstanceDeploy(_ops(cf, io.StringIO()), artifacts, outputs, frozenset(agreed))  # type: ignore[arg-type]


def test_stacksets_deploy_deletes_an_instance_whose_first_create_failed_with_its_stack_and_creates_it_again():
    """Agreed (--yes or the question): the instance goes with its stack (RetainStacks false), as a plain stack
    would, and is created again in the same stack set, which stays although it was left without an instance."""
    cf = _failed_first_create()
    result = _instance_deploy(cf, ENTRY.name)(ENTRY)
    assert (result.outcome, result.status, result.reason) == (Outcome.CREATED, "CREATE_COMPLETE", "")
    assert cf.calls == ["delete_stack_instances", "create_stack_instances"] and cf.retained == [False]
    assert cf.stack_set and cf.instance and cf.instance_status == "CURRENT"


def test_stacksets_deploy_leaves_an_instance_whose_first_create_failed_alone_unless_agreed():
    cf = _failed_first_create()
    result = _instance_deploy(cf)(ENTRY)
    assert (result.outcome, result.status, result.blocked) == (Outcome.FAILED, "ROLLBACK_COMPLETE", True)
    assert result.reason == "a first create failed; rerun with --yes to delete and recreate it"  # as on plain stacks
    assert cf.calls == [] and cf.stack_set and cf.instance and cf.status == "ROLLBACK_COMPLETE"


def test_destroy_deletes_a_stack_set_instance_whose_stack_is_gone_and_then_the_set():
    """AWS, StackInstance Status INOPERABLE (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/
    API_StackInstance.html): "You might need to perform a DeleteStackInstances operation, with RetainStacks set to
    true, to delete the stack instance, and then delete the stack manually." With no stack, nothing is retained."""
    cf = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True)
    cf.status, cf.instance_status = None, "INOPERABLE"  # the instance's stack is gone; the instance is not
    result = _destroy(cf)
    assert (result.outcome, result.reason) == (Outcome.DELETED, "")
    assert cf.calls == ["delete_stack_instances", "delete_stack_set"] and cf.retained == [True]
    assert not cf.stack_set


# -- through the CLI: refused before the question, nothing emptied or deleted, no record ------------------------

DATA_PRIMARY = "dbdr-data-primary-t"  # database-dr's data stack in us-east-1, suffix t


def _destroy_cli(cf: FakeCloudFormation, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    from click.testing import CliRunner

    from drgen.main import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("drgen.commands.destroy.make_aws", lambda target: _Aws(cf))
    return CliRunner().invoke(cli, ["destroy", "-s", "database-dr", "--suffix", "t", "--yes"])


@pytest.mark.parametrize(
    ("status", "termination_protection", "command"),
    [
        (
            "UPDATE_COMPLETE",
            True,
            "`aws cloudformation update-termination-protection --no-enable-termination-protection "
            "--stack-name s --region us-east-1`",
        ),
        (
            "ROLLBACK_FAILED",
            False,
            "`aws rds modify-db-cluster --db-cluster-identifier dbdr-cluster --no-deletion-protection "
            "--region us-east-1`",
        ),
    ],
)
def test_destroy_refuses_a_stack_cloudformation_would_not_delete_before_emptying_anything(
    status, termination_protection, command, monkeypatch, tmp_path
):
    """Termination protection (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-
    stacks.html): "If a user attempts to delete a stack with termination protection enabled, the deletion fails
    and the stack, including its status, remains unchanged." A protected cluster in a stack that takes no update
    fails the delete as surely. Either way the recovery points stay: refused up front, exit 2, one line."""
    cf = FakeCloudFormation(status)
    cf.name, cf.termination_protection, cf.cluster, cf.recovery_points = DATA_PRIMARY, termination_protection, True, 3
    refused = _destroy_cli(cf, monkeypatch, tmp_path)
    assert refused.exit_code == 2, refused.output
    [line] = refused.output.splitlines()
    assert line.startswith(f"drgen: error: {DATA_PRIMARY} (us-east-1) ")
    assert command in line and line.endswith("then rerun; nothing was deleted")
    assert cf.calls == [] and cf.recovery_points == 3
    assert not (tmp_path / ".drgen").exists()  # no record written


def test_destroy_never_exits_0_while_a_stack_set_is_left(monkeypatch, tmp_path):
    """The orphaned instance goes (RetainStacks), but the set also has an instance in a Region the bundle does
    not name, so it stays: destroy says so and exits 1 instead of reporting everything gone."""
    cf = FakeCloudFormation("UPDATE_COMPLETE", stack_set=True)
    cf.status, cf.set_name, cf.others = None, "database-dr-data-t", ["eu-west-3"]
    left = _destroy_cli(cf, monkeypatch, tmp_path)
    assert left.exit_code == 1, left.output
    assert (
        "drgen: failed: stack set database-dr-data-t (us-east-1) is still there, with instances in "
        "123456789012/eu-west-3" in left.output
    )
    assert cf.calls == ["delete_stack_instances"] and cf.retained == [True] and cf.stack_set


def test_a_stack_whose_termination_protection_came_on_after_the_question_is_still_not_emptied():
    """Termination protection read again when the stack's turn comes (someone turned it on meanwhile): the
    delete would be refused, so the vault keeps its recovery points and the stack is reported, exit 2."""
    cf = FakeCloudFormation("UPDATE_COMPLETE")
    cf.termination_protection, cf.recovery_points = True, 2
    result = _destroy(cf)
    assert result.outcome is Outcome.FAILED and result.blocked
    assert "update-termination-protection --no-enable-termination-protection" in result.reason
    assert cf.calls == [] and cf.recovery_points == 2
