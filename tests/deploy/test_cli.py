"""The deploy-side commands through click's CliRunner, against moto's server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drgen.main import cli
from drgen.render import render, write_bundles
from drgen.scenario import load
from tests.deploy.conftest import client, stacks_left

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_deploy_twice_then_stacksets_then_destroy_through_the_cli(runner, sandbox):
    target = ["-s", "database-dr", "--suffix", "x", "--endpoint-url", sandbox]

    first = runner.invoke(cli, ["deploy", *target, "--yes", "--require-approval", "never"])
    assert first.exit_code == 0, first.output
    assert "deploy: 9 stack(s): 9 created" in first.output
    assert "sandbox: templates/data.json deployed without what moto cannot emulate" in first.output
    manifest = json.loads(render(load("database-dr", suffix="x")).files["manifest.json"])
    for stack in manifest["stacks"]:
        assert client(sandbox, "cloudformation", stack["region"]).describe_stacks(StackName=stack["name"])

    second = runner.invoke(cli, ["deploy", *target, "--yes"])
    assert second.exit_code == 0, second.output
    assert "no changes: everything is already deployed as rendered" in second.output

    record = json.loads(
        runner.invoke(
            cli, ["outputs", "-s", "database-dr", "--suffix", "x", "--from-record", "--output", "json"]
        ).output
    )
    assert record["mode"] == "stacks" and record["endpoint"] == sandbox
    assert {s["name"] for s in record["stacks"]} == {s["name"] for s in manifest["stacks"]}
    assert all(s["template_sha256"] == m["sha256"] for s, m in zip(record["stacks"], manifest["stacks"], strict=True))
    assert (
        "KmsKeyArn = arn:aws:kms:eu-west-1:"
        in runner.invoke(cli, ["outputs", "-s", "database-dr", "--suffix", "x", "--endpoint-url", sandbox]).output
    )

    switch = runner.invoke(cli, ["deploy", *target, "--yes", "--mode", "stacksets"])
    assert switch.exit_code == 2 and "deployed in stacks mode; `drgen destroy` first" in switch.output

    gone = runner.invoke(cli, ["destroy", *target, "--yes"])
    assert gone.exit_code == 0, gone.output
    assert "data that will be lost:" in gone.output

    sets = runner.invoke(
        cli, ["deploy", *target, "--yes", "--mode", "stacksets", "--output", "json", "--require-approval", "never"]
    )
    assert sets.exit_code == 0, sets.output
    summary = json.loads(sets.stdout)
    assert {r["outcome"] for r in summary} == {"created"}
    assert {"stack", "region", "outcome", "status", "seconds", "outputs"} <= set(summary[0])
    admin = client(sandbox, "cloudformation", "us-east-1")
    live = [s for s in admin.list_stack_sets()["Summaries"] if s["Status"] == "ACTIVE"]
    assert {len(admin.list_stack_instances(StackSetName=s["StackSetName"])["Summaries"]) for s in live} == {2}
    # the instance stacks hold the sets' templates: a redeploy compares with them and broadens nothing
    again = runner.invoke(cli, ["deploy", *target, "--mode", "stacksets"])
    assert again.exit_code == 0 and "broadens" not in again.output, again.output
    live = json.loads(runner.invoke(cli, ["outputs", *target, "--output", "json"]).output)
    assert live["mode"] == "stacksets" and len(live["stacks"]) == len(manifest["stacks"])  # instances found

    final = runner.invoke(cli, ["destroy", *target, "--yes", "--purge-artifacts"])
    assert final.exit_code == 0, final.output
    regions = {s["region"] for s in manifest["stacks"]}
    assert stacks_left(sandbox, regions) == {}
    assert client(sandbox, "s3", "us-east-1").list_buckets()["Buckets"] == []
    assert not [s for s in admin.list_stack_sets()["Summaries"] if s["Status"] == "ACTIVE"]


def test_plan_shows_the_waves_without_credentials_and_the_change_sets_with_them(runner, sandbox, monkeypatch, tmp_path):
    target = ["-s", "trading-ecs", "--suffix", "p"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    offline = runner.invoke(cli, ["plan", *target])
    assert offline.exit_code == 0, offline.output
    assert "no AWS credentials: showing the graph only" in offline.output
    assert "wave 1" in offline.output and "trading-ecs-foundation-secondary-p" in offline.output
    dry = runner.invoke(cli, ["deploy", *target, "--dry-run"])
    assert dry.exit_code == 0 and "plan: trading-ecs (suffix p, stacks mode)" in dry.output
    refused = runner.invoke(cli, ["deploy", *target, "--endpoint-url", sandbox])
    assert refused.exit_code == 2
    assert refused.output.startswith("drgen: error: no AWS credentials found;")

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert (
        runner.invoke(
            cli, ["deploy", *target, "--endpoint-url", sandbox, "--yes", "--require-approval", "never"]
        ).exit_code
        == 0
    )
    planned = json.loads(runner.invoke(cli, ["plan", *target, "--endpoint-url", sandbox, "--output", "json"]).output)
    assert planned["waves"][0] == ["trading-ecs-foundation-secondary-p"]  # the preset's zone exists: no zone stack
    assert all(s["decision"] == "update" and s["changes"] == [] for s in planned["stacks"])


def test_a_bundle_for_another_suffix_or_an_edited_template_is_refused_with_exit_2(runner, sandbox, tmp_path):
    [bundle] = write_bundles([render(load("database-dr", suffix="b"))], tmp_path / "out")
    wrong = runner.invoke(cli, ["deploy", "--bundle", str(bundle), "--suffix", "c", "--endpoint-url", sandbox])
    assert wrong.exit_code == 2
    assert "rendered for suffix 'b', not 'c'" in wrong.output

    template = bundle / "templates" / "data.json"
    template.write_text(template.read_text().replace("Aurora", "aurora"))
    edited = runner.invoke(cli, ["deploy", "--bundle", str(bundle), "--suffix", "b", "--endpoint-url", sandbox])
    assert edited.exit_code == 2
    assert (
        "templates/data.json was edited after rendering (it differs from the sha256 in manifest.json)" in edited.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "--suffix", "x"], "give exactly one of --scenario NAME, --config FILE or --bundle DIR"),
        (["deploy", "-s", "database-dr", "--suffix", "x", "--only", "nope"], "--only nope: no such stack"),
        (["deploy", "-s", "database-dr", "--suffix", "x", "--endpoint-url", "http://127.0.0.1:9"], "cannot reach"),
        (
            ["outputs", "-s", "database-dr", "--suffix", "never", "--endpoint-url", "{sandbox}"],
            "nothing of database-dr (suffix never) is deployed there",
        ),
        (["bootstrap"], "nothing to bootstrap: pass --stacksets"),
        # bad addresses, which botocore would turn into tracebacks
        (["readiness", "-s", "trading-ecs", "--suffix", "x", "--endpoint-url", "foo"], "not an http(s) URL"),
        (
            ["failover", "-s", "trading-ecs", "--suffix", "x", "--planned", "--endpoint-url", "http://[::1"],
            "Invalid IPv6 URL",
        ),
        (
            ["deploy", "-s", "trading-ecs", "--suffix", "x", "--endpoint-url", "http://127.0.0.1:99999"],
            "Port out of range",
        ),
        (["outputs", "-s", "trading-ecs", "--suffix", "x", "--endpoint-url", "ftp://h"], "not an http(s) URL"),
        (["plan", "-s", "trading-ecs", "--suffix", "x", "--endpoint-url", "http://x y"], "holds whitespace"),
        (
            [
                "readiness",
                "-s",
                "trading-ecs",
                "--suffix",
                "x",
                "--endpoint-url",
                "{sandbox}",
                "--health-url",
                "ftp://nope",
            ],
            "--health-url 'ftp://nope': not an http(s) URL",
        ),
        # click's own usage errors, in one line too
        (["render", "-c", "."], "Invalid value for '--config' / '-c': File '.' is a directory; see `"),
        (["deploy", "-s", "trading-ecs"], "Missing option '--suffix'; see `"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(runner, sandbox, args, message):
    result = runner.invoke(cli, [a.replace("{sandbox}", sandbox) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_outputs_reads_cloudformation_and_the_record_is_only_a_cache(runner, sandbox, tmp_path, monkeypatch):
    """Issue 15 item 4: a deployment destroyed from another directory is gone for `outputs` here too."""
    target = ["-s", "database-dr", "--suffix", "rc", "--endpoint-url", sandbox]
    first = "dbdr-foundation-secondary-rc"
    deployed = runner.invoke(cli, ["deploy", *target, "--only", first, "--require-approval", "never"])
    assert deployed.exit_code == 0, deployed.output
    assert first in runner.invoke(cli, ["outputs", *target]).output
    here = Path.cwd()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert runner.invoke(cli, ["destroy", *target, "--yes"]).exit_code == 0
    monkeypatch.chdir(here)

    gone = runner.invoke(cli, ["outputs", *target])
    assert gone.exit_code == 2
    assert (
        "nothing of database-dr (suffix rc) is deployed there; the local record at .drgen/database-dr-rc.json "
        "(last deploy "
        in gone.output
        and "is stale" in gone.output
    )
    offline = runner.invoke(cli, ["outputs", *target, "--from-record"])  # asked for: the record as it is
    assert offline.exit_code == 0 and first in offline.output
    unreachable = runner.invoke(
        cli, ["outputs", "-s", "database-dr", "--suffix", "rc", "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert unreachable.exit_code == 0 and first in unreachable.output
    assert (
        "drgen: warning: CloudFormation could not be asked" in unreachable.output
        and "may be stale" in unreachable.output
    )


def test_a_manifest_with_a_wrong_type_is_one_line(runner, tmp_path):
    [bundle] = write_bundles([render(load("database-dr", suffix="m"))], tmp_path / "out")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["stacks"][0]["template"] = None
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(cli, ["plan", "--bundle", str(bundle), "--suffix", "m"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "manifest.json is not a drgen manifest (a template or artifact path" in result.output


def test_a_record_that_cannot_be_written_is_a_warning_after_the_deploy(runner, sandbox):
    Path(".drgen").write_text("not a directory")  # the cache's place is taken
    target = ["-s", "database-dr", "--suffix", "w", "--endpoint-url", sandbox, "--require-approval", "never"]
    result = runner.invoke(cli, ["deploy", *target, "--only", "dbdr-foundation-secondary-w"])
    assert result.exit_code == 0, result.output  # the stack is deployed; CloudFormation holds it
    assert "drgen: warning: the deployment record .drgen/database-dr-w.json was not written" in result.output


def test_bootstrap_deploys_the_stackset_roles(runner, sandbox):
    result = runner.invoke(cli, ["bootstrap", "--stacksets", "--endpoint-url", sandbox])
    assert result.exit_code == 0, result.output
    iam = client(sandbox, "iam", "us-east-1")
    admin = iam.get_role(RoleName="AWSCloudFormationStackSetAdministrationRole")["Role"]
    assert iam.get_role(RoleName="AWSCloudFormationStackSetExecutionRole")["Role"]["Arn"]
    trusted = admin["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert "cloudformation.eu-central-2.amazonaws.com" in trusted  # trading-asg's opt-in DR region


def test_deploy_only_one_stack_needs_its_dependencies_deployed(runner, sandbox):
    target = ["-s", "database-dr", "--suffix", "o", "--endpoint-url", sandbox]
    deploy = ["deploy", *target, "--require-approval", "never"]
    early = runner.invoke(cli, [*deploy, "--only", "dbdr-foundation-primary-o"])
    assert early.exit_code == 1
    assert "dbdr-foundation-secondary-o is not deployed; deploy it first" in early.output
    assert runner.invoke(cli, [*deploy, "--only", "dbdr-foundation-secondary-o"]).exit_code == 0
    late = runner.invoke(cli, [*deploy, "--only", "dbdr-foundation-primary-o"])
    assert late.exit_code == 0, late.output
    record = json.loads(Path(".drgen/database-dr-o.json").read_text())
    assert [s["name"] for s in record["stacks"]] == ["dbdr-foundation-secondary-o", "dbdr-foundation-primary-o"]

    declined = runner.invoke(cli, ["destroy", *target], input="n\n")
    assert declined.exit_code == 3 and "Delete 9 stack(s)" in declined.output, declined.output
    # Data goes with these stacks: only the scenario's name, typed, lets destroy go on; no terminal exits 3.
    mistyped = runner.invoke(cli, ["destroy", *target], input="dbdr\n")
    assert mistyped.exit_code == 3 and "'dbdr' is not database-dr; declined, nothing changed" in mistyped.output
    unanswered = runner.invoke(cli, ["destroy", *target], input="")
    assert unanswered.exit_code == 3 and "could not be asked (no terminal)" in unanswered.output
    assert client(sandbox, "cloudformation", "eu-west-1").describe_stacks(StackName="dbdr-foundation-secondary-o")


def test_a_stack_another_scenario_owns_is_not_updated(runner, sandbox, tmp_path):
    """Same prefix and suffix, another scenario: the stack names collide, and deploy refuses before any change."""
    target = ["--suffix", "own", "--endpoint-url", sandbox]
    assert (
        runner.invoke(
            cli,
            [
                "deploy",
                "-s",
                "database-dr",
                *target,
                "--only",
                "dbdr-foundation-secondary-own",
                "--require-approval",
                "never",
            ],
        ).exit_code
        == 0
    )
    variant = tmp_path / "variant.yaml"
    variant.write_text("base: database-dr\nname: dbdr-copy\nprefix: dbdr\n")
    rendered = runner.invoke(
        cli, ["render", "--config", str(variant), "--suffix", "own", "--out", str(tmp_path), "--no-lint"]
    )
    assert rendered.exit_code == 0, rendered.output
    refused = runner.invoke(cli, ["deploy", "--bundle", str(tmp_path / "dbdr-copy"), *target, "--yes"])
    assert refused.exit_code == 2
    assert (
        "dbdr-foundation-secondary-own belongs to scenario database-dr (tag drgen:scenario), not dbdr-copy"
        in refused.output
    )


def test_a_bundle_with_a_lint_error_is_not_deployed(runner, sandbox, tmp_path):
    """An error cfn-lint finds fails on AWS; deploy refuses it before any call (the manifest's hash is updated
    with the edit, as a careless hand edit plus re-hash would)."""
    [path] = write_bundles([render(load("database-dr", suffix="lint"))], tmp_path / "out")
    template = path / "templates" / "global.json"
    document = json.loads(template.read_text())
    alarm = next(r for r in document["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    alarm["Properties"]["ComparisonOperator"] = "BiggerThan"  # not an operator CloudWatch knows (E3030)
    data = json.dumps(document, indent=1).encode()
    template.write_bytes(data)
    manifest = json.loads((path / "manifest.json").read_text())
    for stack in manifest["stacks"]:
        if stack["template"] == "templates/global.json":
            stack["sha256"] = hashlib.sha256(data).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    refused = runner.invoke(cli, ["deploy", "--bundle", str(path), "--suffix", "lint", "--endpoint-url", sandbox])
    assert refused.exit_code == 2
    assert refused.output.startswith("drgen: error: 1 lint error(s) in the bundle, the first templates/global.json:")
    assert "E3030" in refused.output
    assert client(sandbox, "s3", "us-east-1").list_buckets()["Buckets"] == []  # nothing created


STUCK = "dbdr-data-primary-b"  # database-dr's data stack in us-east-1, suffix b


def _stuck_in(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    """The data stack reads as ``status`` (moto never reaches these states); every other stack as moto has it."""
    from drgen.deploy import deployer
    from drgen.deploy.stacks import StackState

    real = deployer.find

    def find(aws, bundle, mode, entry):  # type: ignore[no-untyped-def]
        if entry.name == STUCK and mode == "stacks":
            return StackState(f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STUCK}/1", status, "reason")
        return real(aws, bundle, mode, entry)

    monkeypatch.setattr(deployer, "find", find)


def _nothing_created(url: str) -> None:
    for region in ("us-east-1", "eu-west-1"):
        assert client(url, "s3", region).list_buckets()["Buckets"] == []  # no artifact bucket
    assert stacks_left(url, {"us-east-1", "eu-west-1"}) == {}
    assert not Path(".drgen").exists()  # no deployment record


@pytest.mark.parametrize(
    ("status", "command"),
    [
        ("DELETE_FAILED", f"`aws cloudformation delete-stack --stack-name {STUCK} --region us-east-1`"),
        ("UPDATE_FAILED", f"`aws cloudformation rollback-stack --stack-name {STUCK} --region us-east-1`"),
    ],
)
def test_deploy_refuses_a_stack_it_cannot_get_past_before_anything_is_created(
    runner, sandbox, monkeypatch, status, command
):
    """Stack status codes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html):
    DELETE_FAILED "you can't work with or update the stack. Delete the stack again or view the stack events";
    RollbackStack (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html)
    "Rolls back the specified stack to the last known stable state from CREATE_FAILED or UPDATE_FAILED". The
    deploy would stop there, so it does not start: exit 2, one line, no bucket, no stack, no record."""
    _stuck_in(monkeypatch, status)
    target = ["-s", "database-dr", "--suffix", "b", "--endpoint-url", sandbox, "--require-approval", "never"]
    refused = runner.invoke(cli, ["deploy", *target, "--yes"])
    assert refused.exit_code == 2, refused.output
    line = refused.output.splitlines()[-1]
    assert line.startswith(f"drgen: error: {STUCK} (us-east-1) is {status}: ")
    assert command in line and line.endswith("; nothing was deployed")
    _nothing_created(sandbox)


@pytest.mark.parametrize(("answer", "message"), [("n\n", "declined; nothing changed"), ("", "could not be asked")])
def test_deploy_refuses_a_failed_first_create_the_user_did_not_agree_to_recreate(
    runner, sandbox, monkeypatch, answer, message
):
    """Deleting the stack is the user's choice (--yes, or yes on the terminal); without it the deploy would stop
    at that stack, so nothing starts (exit 3, as for every question that guards data)."""
    _stuck_in(monkeypatch, "ROLLBACK_COMPLETE")
    target = ["-s", "database-dr", "--suffix", "b", "--endpoint-url", sandbox, "--require-approval", "never"]
    refused = runner.invoke(cli, ["deploy", *target], input=answer)
    assert refused.exit_code == 3, refused.output
    assert message in refused.output
    _nothing_created(sandbox)


def test_deploy_refuses_to_recreate_a_stack_whose_protected_database_would_fail_the_delete(
    runner, sandbox, monkeypatch
):
    """A failed first create whose rollback could not delete a protected cluster (ROLLBACK_FAILED) would fail the
    delete of the recreate as well (RDS: "The database can't be deleted when deletion protection is enabled",
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html). moto does not emulate the
    cluster in a stack: the RDS reading is the fake's (test_states.py); here, what deploy does with it."""
    from drgen.deploy import deployer

    _stuck_in(monkeypatch, "ROLLBACK_FAILED")
    line = "Aurora cluster c has deletion protection on, so the delete would fail: `aws rds modify-db-cluster ...`"
    monkeypatch.setattr(deployer, "protected_databases", lambda aws, region, stack_id: [line], raising=False)
    target = ["-s", "database-dr", "--suffix", "b", "--endpoint-url", sandbox, "--require-approval", "never"]
    refused = runner.invoke(cli, ["deploy", *target, "--yes"])
    assert refused.exit_code == 2, refused.output
    assert refused.output.splitlines()[-1] == (
        f"drgen: error: {STUCK} (us-east-1) is ROLLBACK_FAILED, to be deleted and created again, but {line}; "
        "nothing was deployed"
    )
    _nothing_created(sandbox)
