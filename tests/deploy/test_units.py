"""Pure parts of deploy: decisions, the graph, the sandbox adjustments, the record, the roles template, and the
stack state machine against stubbed CloudFormation answers (states moto cannot produce)."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.cloudformation.parsing import get_model_map

from drgen.bundle.manifest import StackEntry
from drgen.deploy import moto_templates, record
from drgen.deploy.bootstrap import roles_template
from drgen.deploy.destroy import empty_vault
from drgen.deploy.executor import Outcome, StackResult, pause, run_graph
from drgen.deploy.plan import Change, Decision, decide, dependents, wave_numbers
from drgen.deploy.progress import LiveProgress, PlainProgress
from drgen.deploy.stacks import StackDeploy
from drgen.deploy.stacksets import instance_steps
from drgen.deploy.target import Target
from drgen.errors import DrgenError
from drgen.lint.runner import lint_template
from drgen.scenario import Role


@pytest.mark.parametrize(
    ("status", "in_sandbox", "decision"),
    [
        (None, False, Decision.CREATE),
        ("DELETE_COMPLETE", False, Decision.CREATE),
        ("REVIEW_IN_PROGRESS", False, Decision.DISCARD_REVIEW),
        ("ROLLBACK_COMPLETE", False, Decision.RECREATE),
        ("CREATE_IN_PROGRESS", False, Decision.WAIT),
        ("CREATE_IN_PROGRESS", True, Decision.RECREATE),  # moto never finishes a failed create
        ("UPDATE_ROLLBACK_FAILED", False, Decision.CONTINUE_ROLLBACK),
        ("UPDATE_ROLLBACK_COMPLETE", False, Decision.UPDATE),
        ("UPDATE_COMPLETE", False, Decision.UPDATE),
        ("DELETE_FAILED", False, Decision.BLOCKED),
    ],
)
def test_each_stack_status_gets_its_decision(status, in_sandbox, decision):
    assert decide(status, in_sandbox) is decision


def test_instance_steps_follow_the_stack_set_and_the_overrides():
    params = {"Role": "primary", "KmsKeyArn": "arn"}
    assert instance_steps(None, "{}", None, "", params) == ("create-set", "create-instance")
    assert instance_steps("{}", "{}", None, "", params) == ("create-instance",)
    assert instance_steps("{}", "{ }", params, "CURRENT", params) == ()  # the same template, spaced differently
    assert instance_steps('{"a": 1}', "{}", params, "CURRENT", params) == ("update-set",)
    assert instance_steps("{}", "{}", {"Role": "primary"}, "CURRENT", params) == ("update-instance",)
    assert instance_steps("{}", "{}", params, "OUTDATED", params) == ("update-instance",)


def test_only_stateful_replacements_and_removals_lose_data():
    assert Change("Modify", "Db", "AWS::RDS::DBCluster", "True").destructive
    assert Change("Modify", "Db", "AWS::RDS::DBCluster", "Conditional").destructive
    assert Change("Remove", "Bucket", "AWS::S3::Bucket").destructive
    assert not Change("Modify", "Db", "AWS::RDS::DBCluster", "False").destructive
    assert not Change("Modify", "Queue", "AWS::SQS::Queue", "True").destructive


def test_the_graph_starts_with_the_dr_foundation_and_destroy_reverses_it(deploy_bundles):
    bundle = deploy_bundles["database-dr"]
    waves = wave_numbers(bundle.stacks)
    by_role = {(e.layer, e.role): e.name for e in bundle.stacks}
    assert waves[by_role[("foundation", Role.SECONDARY)]] == 0
    assert waves[by_role[("foundation", Role.PRIMARY)]] == 1
    assert waves[by_role[("data", Role.PRIMARY)]] < waves[by_role[("data", Role.SECONDARY)]]
    users = dependents(bundle.stacks)
    assert by_role[("data", Role.SECONDARY)] in users[by_role[("data", Role.PRIMARY)]]


def _entry(name: str, *deps: str, region: str = "us-east-1") -> StackEntry:
    return StackEntry(name, "layer", region, Role.PRIMARY, "t.json", "", deps, {}, {}, {})


def test_the_executor_skips_everything_downstream_of_a_failure_and_finishes_the_rest():
    entries = [_entry("a"), _entry("b", "a"), _entry("c", "b"), _entry("d")]
    started: list[str] = []
    lock = threading.Lock()

    def action(entry: StackEntry) -> StackResult:
        with lock:
            started.append(entry.name)
        if entry.name == "a":
            raise DrgenError("boom")
        return StackResult(entry.name, entry.region, Outcome.CREATED)

    results = {r.name: r for r in run_graph(entries, {e.name: e.depends_on for e in entries}, action, lambda r: None)}
    assert results["a"].outcome is Outcome.FAILED and results["a"].reason == "boom"
    assert results["b"].outcome is Outcome.SKIPPED and results["c"].outcome is Outcome.SKIPPED
    assert results["c"].reason == "b did not succeed"
    assert results["d"].outcome is Outcome.CREATED
    assert sorted(started) == ["a", "d"]


def test_the_executor_runs_independent_stacks_together():
    entries = [_entry("a"), _entry("b"), _entry("c", "a", "b")]
    barrier = threading.Barrier(2, timeout=5)  # a and b must be running at the same time

    def action(entry: StackEntry) -> StackResult:
        if entry.name in ("a", "b"):
            barrier.wait()
        return StackResult(entry.name, entry.region, Outcome.CREATED)

    results = run_graph(entries, {e.name: e.depends_on for e in entries}, action, lambda r: None)
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3


def test_ctrl_c_stops_the_watching_of_running_stacks():
    entries = [_entry("quick"), _entry("slow")]

    def action(entry: StackEntry) -> StackResult:
        while entry.name == "slow":
            pause(0.02)  # a stack that never settles
        return StackResult(entry.name, entry.region, Outcome.CREATED)

    def on_done(result: StackResult) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_graph(entries, {}, action, on_done)
    assert time.monotonic() - started < 2


def test_a_bug_in_an_action_is_not_reported_as_a_stack_failure():
    def action(entry: StackEntry) -> StackResult:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_graph([_entry("a")], {}, action, lambda r: None)


def test_the_sandbox_type_list_is_moto_s():
    supported = {t for t in get_model_map() if t.startswith("AWS::") and t != "AWS::SERVICE::RESOURCE"}
    assert supported == moto_templates.MOTO_TYPES


def test_the_sandbox_leaves_out_what_moto_cannot_build_and_replaces_references_to_it():
    template = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}, "Tags": [{"Key": "k", "Value": "v"}]}},
            "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {"KmsKeyId": {"Ref": "Key"}}},
            "Member": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBClusterIdentifier": {"Ref": "Cluster"}}},
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "DependsOn": ["Cluster", "Key"],
                "Properties": {
                    "Type": "String",
                    "Value": {"Fn::Sub": "${Cluster.Endpoint.Address}:${Key}"},
                    "Tags": {"a": "b"},
                },
            },
        },
        "Outputs": {"Endpoint": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}}},
    }
    adapted = moto_templates.adapt(json.dumps(template).encode())
    body = json.loads(adapted.body)

    assert [logical for logical, _, _ in adapted.left_out] == ["Cluster", "Member"]
    assert adapted.summary() == "AWS::RDS::DBCluster, AWS::RDS::DBInstance"
    assert set(body["Resources"]) == {"Key", "Param"}
    param = body["Resources"]["Param"]
    assert param["DependsOn"] == ["Key"]
    assert param["Properties"]["Value"] == {"Fn::Sub": "sandbox-cluster-endpoint-address:${Key}"}
    assert param["Properties"]["Tags"] == [{"Key": "a", "Value": "b"}]
    assert body["Resources"]["Key"]["Properties"]["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    assert body["Outputs"]["Endpoint"]["Value"] == "sandbox-cluster-endpoint-address"


def test_a_template_moto_takes_as_it_is_is_passed_through_byte_for_byte():
    body = b'{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'
    assert moto_templates.adapt(body) == moto_templates.Adapted(body, ())


def test_the_stackset_roles_template_lints_clean_and_trusts_opt_in_regions(tmp_path):
    path = tmp_path / "roles.json"
    path.write_bytes(roles_template(["us-east-1", "eu-central-2"]))
    assert lint_template(path, ["us-east-1"]) == []
    admin = json.loads(path.read_bytes())["Resources"]["AdministrationRole"]["Properties"]
    principals = admin["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert principals == ["cloudformation.amazonaws.com", "cloudformation.eu-central-2.amazonaws.com"]


def test_the_record_merges_partial_runs_and_is_written_atomically(tmp_path, deploy_bundles):
    bundle = deploy_bundles["database-dr"]
    path = tmp_path / ".drgen" / "database-dr-t.json"
    first, second = bundle.stacks[0], bundle.stacks[1]
    record.update(
        path,
        bundle,
        [StackResult(first.name, first.region, Outcome.CREATED, "CREATE_COMPLETE", outputs={"A": "1"})],
        "deploy",
        "stacks",
        None,
        "123",
    )
    record.update(
        path,
        bundle,
        [
            StackResult(second.name, second.region, Outcome.FAILED, "", reason="x"),
            StackResult(first.name, first.region, Outcome.SKIPPED),
        ],
        "deploy",
        "stacks",
        None,
        "123",
    )
    stacks = {s["name"]: s for s in json.loads(path.read_text())["stacks"]}
    assert stacks[first.name]["outputs"] == {"A": "1"} and stacks[first.name]["status"] == "CREATE_COMPLETE"
    assert stacks[second.name]["outcome"] == "failed" and stacks[second.name]["reason"] == "x"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_plain_and_live_progress_show_each_stack(deploy_bundles):
    entries = deploy_bundles["database-dr"].stacks[:2]
    plain, live = io.StringIO(), io.StringIO()
    for reporter in (PlainProgress(plain), LiveProgress("deploy", entries, live)):
        with reporter:
            reporter.state(entries[0], "CREATE_IN_PROGRESS")
            reporter.event(entries[0], "Key CREATE_COMPLETE")
            reporter.done(StackResult(entries[0].name, entries[0].region, Outcome.CREATED, seconds=1.5))
    assert f"{entries[0].name} ({entries[0].region}): created in 1.5 s" in plain.getvalue()
    assert entries[1].region in live.getvalue() and "created" in live.getvalue() and "waiting" in live.getvalue()


def test_the_live_table_counts_what_is_done_names_what_a_stack_waits_for_and_colours_a_failure(
    deploy_bundles, monkeypatch
):
    """Issue 15 item 8: "n of m", elapsed time, what a waiting stack waits for, failed rows in red."""
    bundle = deploy_bundles["database-dr"]
    first = next(e for e in bundle.stacks if not e.depends_on)
    later = next(e for e in bundle.stacks if first.name in e.depends_on)
    screen = io.StringIO()
    screen.isatty = lambda: True  # type: ignore[method-assign]  (rich colours only what it takes for a terminal)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    with LiveProgress("drgen deploy", bundle.stacks, screen) as live:
        live.done(StackResult(first.name, first.region, Outcome.FAILED, reason="boom"))
    drawn = screen.getvalue()
    assert f"1 of {len(bundle.stacks)} done, 1 FAILED" in drawn
    waiting = next(line for line in drawn.splitlines() if later.name in line)
    assert "waits for" in waiting and first.name in waiting.split("waits for", 1)[1]
    failed = next(line for line in drawn.splitlines() if first.name in line and "boom" in line)
    assert "\x1b[1;31m" in failed  # bold red (SGR 1;31)


# -- states moto cannot produce, answered by a stubbed client -------------------------------------------------


class _StubAws:
    """The slice of Aws a StackDeploy uses, around one stubbed CloudFormation client."""

    def __init__(self, cf: Any) -> None:
        self._cf = cf
        self.target = Target(poll_seconds=0.01)
        self.sandbox = False

    def client(self, service: str, region: str) -> Any:
        return self._cf


def _stack(status: str) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": "arn:stack/s/1",
                "StackName": "s",
                "StackStatus": status,
                "CreationTime": dt.datetime.now(dt.UTC),
            }
        ]
    }


def _events(*failed: tuple[str, str]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "StackEvents": [
            {
                "EventId": f"e{i}",
                "StackId": "arn:stack/s/1",
                "StackName": "s",
                "LogicalResourceId": logical,
                "ResourceStatus": "UPDATE_FAILED",
                "ResourceStatusReason": reason,
                "Timestamp": now,
            }
            for i, (logical, reason) in enumerate(failed)
        ]
    }


@pytest.fixture
def stubbed() -> tuple[Any, Stubber]:
    cf = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(cf) as stub:
        yield cf, stub
        stub.assert_no_pending_responses()


def _deploy(cf: Any, may_recreate: frozenset[str] = frozenset()) -> StackDeploy:
    return StackDeploy(_StubAws(cf), None, None, PlainProgress(io.StringIO()), False, may_recreate)  # type: ignore[arg-type]


def test_a_stack_whose_first_create_failed_is_recreated_only_when_agreed(stubbed):
    cf, stub = stubbed
    stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": "s"})
    result = _deploy(cf)(_entry("s"))
    assert result.outcome is Outcome.FAILED
    assert "rerun with --yes to delete and recreate it" in result.reason


def test_update_rollback_failed_gets_continue_update_rollback_and_is_never_deleted(stubbed):
    """When the rollback fails again, the resources whose rollback failed are named with the command that skips
    them, never skipped by drgen. AWS, ContinueUpdateRollback ResourcesToSkip
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html): "You
    can specify only resources that are in the UPDATE_FAILED state because a rollback failed" ... "If you
    don't, subsequent stack updates might fail, and the stack will become unrecoverable."
    """
    cf, stub = stubbed
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_FAILED"), {"StackName": "s"})
    stub.add_response("continue_update_rollback", {}, {"StackName": "arn:stack/s/1"})
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_FAILED"), {"StackName": "arn:stack/s/1"})
    stub.add_response("describe_stack_events", _events(("Db", "cannot roll back")), {"StackName": "arn:stack/s/1"})
    started = time.monotonic()
    result = _deploy(cf, frozenset({"s"}))(_entry("s"))
    assert result.outcome is Outcome.FAILED and result.blocked  # exit 2: only the user can clear it
    assert result.reason == (
        "continue-update-rollback stopped at UPDATE_ROLLBACK_FAILED again (Db: cannot roll back); fix the cause "
        "and rerun, or skip Db with `aws cloudformation continue-update-rollback --stack-name s --region us-east-1 "
        "--resources-to-skip Db` (skipped resources stay out of sync with the template)"
    )
    assert time.monotonic() - started < 5


def test_templates_over_the_body_limit_go_by_url(deploy_bundles):
    from drgen.deploy.artifacts import Artifacts

    class _Account:
        sandbox = False
        target = Target()

        @staticmethod
        def account_id() -> str:
            return "123456789012"

    bundle = deploy_bundles["database-dr"]
    artifacts = Artifacts(_Account(), bundle)  # type: ignore[arg-type]
    entry = next(e for e in bundle.stacks if e.layer == "orchestration")
    source = artifacts.template(entry)
    assert source.url and source.url.startswith(f"https://drgen-artifacts-123456789012-{entry.region}.s3.")
    assert source.api_args() == {"TemplateURL": source.url}
    small = next(e for e in bundle.stacks if e.layer == "global")
    assert "TemplateBody" in artifacts.template(small).api_args()
    assert Path(source.url).name.startswith("orchestration-")


class _Vault:
    """A backup client's recovery-point calls over an in-memory vault whose deletions finish one poll later
    (AWS deletes recovery points asynchronously; moto implements no recovery points)."""

    def __init__(self, points: int, stuck: int = 0) -> None:
        self.points = {f"arn:rp/{i}": "COMPLETED" for i in range(points)}
        self.stuck = stuck  # points whose deletion never finishes
        self.deleted: list[str] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "list_recovery_points_by_backup_vault"
        vault = self

        class Pages:
            def paginate(self, BackupVaultName: str) -> list[dict[str, Any]]:
                listed = [{"RecoveryPointArn": a, "Status": s} for a, s in sorted(vault.points.items())]
                vault.points = {a: s for a, s in vault.points.items() if s != "DELETING" or a in vault.kept()}
                return [{"RecoveryPoints": listed[:2]}, {"RecoveryPoints": listed[2:]}]

        return Pages()

    def kept(self) -> set[str]:
        return set(sorted(self.points)[: self.stuck])

    def delete_recovery_point(self, BackupVaultName: str, RecoveryPointArn: str) -> None:
        assert self.points[RecoveryPointArn] != "DELETING"
        self.points[RecoveryPointArn] = "DELETING"
        self.deleted.append(RecoveryPointArn)


def test_a_backup_vault_is_emptied_before_its_stack_goes_and_a_stuck_one_is_reported():
    vault = _Vault(points=5)
    sleeps: list[float] = []
    assert empty_vault(vault, "v", 0.5, sleeps.append) == 0
    assert sorted(vault.deleted) == [f"arn:rp/{i}" for i in range(5)] and vault.points == {}
    assert sleeps == [0.5]  # one poll while the deletions finished
    stuck = _Vault(points=3, stuck=1)
    assert empty_vault(stuck, "v", 0, lambda _: None) == 1  # destroy then fails this stack instead of deleting it
    assert len(stuck.deleted) == 3  # each point was asked for once only
