"""readiness, failover, failback and drill through the CLI, against moto's server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.bundle.names import health_check_alarm_name
from drgen.deploy import record
from drgen.main import cli
from drgen.operate import failover, lambdas, moto_standins, readiness
from drgen.scenario.model import Role
from tests.operate.conftest import Deployed

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _state(deployed: Deployed) -> dict[str, Any]:
    """What a failover changes: the writer, the primary's health check, the DR capacity, the engaged alarm."""
    aws, env = deployed.aws, deployed.environment
    ecs = aws.client("ecs", env.dr).describe_services(
        cluster=env.app_output("EcsClusterName"), services=[env.app_output("EcsServiceName")]
    )["services"][0]
    record = lambdas.shared("failover").read_state(aws.client("ssm", env.dr), env.state_parameter)
    return {
        "writer": failover.writer(aws, env),
        "dns": readiness.dns_answer(aws, env)[1],
        "desired": ecs["desiredCount"],
        "status": record.get("status"),
        "mode": record.get("mode"),
    }


def _arm(deployed: Deployed) -> None:
    """The first passing readiness test: the DR readiness function arms the failover triggers."""
    result = _invoke("readiness", *deployed.cli_target(), "--health-url", deployed.health_url)
    assert result.exit_code == 0, result.output


def _outage(deployed: Deployed) -> None:
    """What the primary's loss does to the two failure alarms (moto evaluates none: set as CloudWatch would)."""
    env = deployed.environment
    moto_standins.alarm_state(
        deployed.aws, env.dr, env.names.for_region("alarm", "primary-probe", env.dr), "ALARM", "down"
    )
    moto_standins.alarm_state(deployed.aws, "us-east-1", health_check_alarm_name(env.names), "ALARM", "down")


def test_readiness_passes_on_a_ready_standby_and_arms_the_triggers(deploy, capfd):
    ready = deploy()
    capfd.readouterr()
    result = _invoke("readiness", *ready.cli_target(), "--health-url", ready.health_url, "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ready"] is True
    assert "failover triggers armed since" in {c["check"]: c for c in report["checks"]}["armed"]["detail"]
    # The readiness function ran here: its log lines must not reach stdout, where the JSON goes.
    assert capfd.readouterr().out == ""


def test_a_failover_before_the_first_passing_readiness_test_changes_nothing(deploy, promoting):
    """Defect 8: a new environment's triggers are not armed; an operator may still --force."""
    deployed = deploy()
    before = _state(deployed)
    _outage(deployed)
    result = _invoke("failover", "--unplanned", "--yes", *deployed.run_options())
    assert result.exit_code == 1, result.output
    assert "nothing changed: Refused: NotArmedError" in result.output and "drgen readiness" in result.output
    assert _state(deployed) == before


def test_one_failure_signal_alone_stands_the_failover_down(deploy, promoting):
    """Defect 7: the DR probe alone (no agreement from Route 53 or the writer's heartbeat) changes nothing."""
    deployed = deploy()
    _arm(deployed)
    env = deployed.environment
    moto_standins.alarm_state(
        deployed.aws, env.dr, env.names.for_region("alarm", "primary-probe", env.dr), "ALARM", "x"
    )
    moto_standins.alarm_state(deployed.aws, "us-east-1", health_check_alarm_name(env.names), "OK", "healthy")
    before = _state(deployed)
    result = _invoke("failover", "--unplanned", "--yes", *deployed.run_options(), "--output", "json")
    assert result.exit_code == 1, result.output
    run = json.loads(result.output)
    assert run["changed_nothing"].startswith("StoodDown: only probe fires"), run  # waited, then gave up
    after = _state(deployed)
    assert after["status"] == "stood-down"  # the run is on record; the writer, DNS and capacity are not touched
    assert {k: after[k] for k in ("writer", "dns", "desired")} == {k: before[k] for k in ("writer", "dns", "desired")}


def test_a_stale_deployment_record_does_not_steer_readiness(deploy, bundle):
    """The record is a cache (issue 15 item 4): one left by another deployment names resources that are not
    there; readiness reads the stacks' outputs from CloudFormation and passes."""
    ready = deploy()
    stale = {
        "stacks": [
            {
                "name": e.name,
                "outcome": "created",
                "outputs": {
                    "StateMachineArn": "arn:aws:states:eu-west-2:000000000000:stateMachine:gone",
                    "AlertTopicArn": "arn:aws:sns:x:0:gone",
                },
            }
            for e in bundle.stacks
        ]
    }
    path = record.path_for(bundle.scenario, bundle.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stale))
    result = _invoke("readiness", *ready.cli_target(), "--health-url", ready.health_url)
    assert result.exit_code == 0, result.output


def test_a_partly_deployed_scenario_is_named_in_one_line_and_nothing_is_provisioned(sandbox_url, bundle):
    foundation = next(e.name for e in bundle.stacks if not e.depends_on)
    target = ["-s", bundle.scenario, "--suffix", bundle.suffix, "--endpoint-url", sandbox_url]
    assert _invoke("deploy", *target, "--only", foundation, "--require-approval", "never").exit_code == 0
    dr_stacks = [e for e in bundle.stacks if e.region == "eu-west-2"]  # a failover reads the DR region's alone
    for command, missing in (
        (["readiness"], f"{len(bundle.stacks) - 1} of {len(bundle.stacks)} stacks missing ("),
        (
            ["failover", "--planned", "--dry-run"],
            f"{len([e for e in dr_stacks if e.name != foundation])} of {len(dr_stacks)} stacks in eu-west-2 missing (",
        ),
        (["failback", "--planned", "--yes"], f"{len(bundle.stacks) - 1} of {len(bundle.stacks)} stacks missing ("),
    ):
        result = _invoke(*command, *target)
        assert result.exit_code == 2, result.output
        [line] = result.output.splitlines()
        assert line.startswith(
            f"drgen: error: {bundle.scenario} (suffix {bundle.suffix}) is only partly deployed there: {missing}"
        ), line
    assert "sandbox, created once" not in result.output


def test_readiness_fails_when_the_secondary_is_detached(deploy):
    detached = deploy(attach_secondary=False)
    result = _invoke("readiness", *detached.cli_target(), "--output", "json", "--health-url", detached.health_url)
    assert result.exit_code == 1, result.output
    checks = {c["check"]: c for c in json.loads(result.output)["checks"]}
    assert checks["global cluster"]["ok"] is False
    assert "is not a member of trading-ecs-global-db-t" in checks["global cluster"]["detail"]
    # The DR readiness function sees the same missing standby, so nothing is armed.
    assert checks["armed"]["ok"] is False and "standby" in checks["armed"]["detail"]
    assert "NOT armed" in checks["armed"]["detail"]
    assert all(c["ok"] for name, c in checks.items() if name not in ("global cluster", "armed"))


def test_a_failover_run_twice_ends_in_the_same_state(deploy):
    deployed = deploy()
    _arm(deployed)
    _outage(deployed)
    before = _state(deployed)
    with moto_standins.promotion_standin() as calls:
        first = _invoke("failover", "--unplanned", "--yes", *deployed.run_options())
        after_first = _state(deployed)
        second = _invoke("failover", "--unplanned", "--yes", *deployed.run_options(), "--output", "json")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert before["writer"] == deployed.environment.cluster_arn(Role.PRIMARY)
    assert after_first == {
        "writer": deployed.environment.cluster_arn(Role.SECONDARY),
        "dns": deployed.environment.endpoint(Role.SECONDARY),
        "desired": 2,
        "status": "succeeded",
        "mode": "failover",
    }
    assert _state(deployed) == after_first
    # the second run promoted nothing (the provisioned heartbeat is fresh: the writer lives, so a switchover)
    assert [action for action, _ in calls] == ["switchover"]
    rerun = json.loads(second.output)
    steps = {s["state"]: s for s in rerun["steps"]}
    assert rerun["status"] == "SUCCEEDED" and rerun["where"] == "locally (sandbox)"
    assert list(steps)[:4] == ["ChooseMode", "FailoverDefaults", "Request", "Guard"]


def test_failback_is_refused_while_replication_lags_and_runs_once_caught_up(deploy):
    deployed = deploy()
    _arm(deployed)
    _outage(deployed)
    with moto_standins.promotion_standin():
        assert _invoke("failover", "--unplanned", "--yes", *deployed.run_options()).exit_code == 0
        moto_standins.publish_lag(deployed.aws, deployed.environment, deployed.environment.primary, 240.0)
        refused = _invoke("failback", *deployed.run_options())
        assert refused.exit_code == 1
        assert "failback refused: replication lag 240 s in eu-central-1 exceeds 60 s" in refused.output
        assert _state(deployed)["writer"] == deployed.environment.cluster_arn(Role.SECONDARY)

        forced = _invoke("failback", *deployed.run_options(), "--force", "--output", "json")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.output)["status"] == "SUCCEEDED"
    state = _state(deployed)
    assert state["writer"] == deployed.environment.cluster_arn(Role.PRIMARY)
    assert state["dns"] == deployed.environment.endpoint(Role.PRIMARY) and state["mode"] == "failback"


def test_failover_dry_run_changes_nothing(deploy):
    deployed = deploy()
    before = _state(deployed)
    result = _invoke("failover", "--unplanned", *deployed.cli_target(), "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["execution"].startswith("failover-unplanned-")
    assert plan["steps"][0] == "Guard (failover-guard)"
    assert _state(deployed) == before


def test_drill_takes_a_scenario_file_and_a_rendered_bundle(monkeypatch, tmp_path):
    """A variant with its own name is no preset: the drill renders the file itself (issue 15 item 2)."""
    monkeypatch.chdir(tmp_path)
    Path("orders.yaml").write_text("base: trading-ecs\nname: orders\n")
    from_file = _invoke("drill", "-c", "orders.yaml", "--planned")
    assert from_file.exit_code == 0, from_file.output
    assert "drill report: orders, planned" in from_file.output and "drill PASSED" in from_file.output

    assert _invoke("render", "-s", "database-dr", "--suffix", "b", "--no-lint", "--out", "out").exit_code == 0
    from_bundle = _invoke("drill", "--bundle", "out/database-dr", "--planned", "--output", "json")
    assert from_bundle.exit_code == 0, from_bundle.output
    assert json.loads(from_bundle.output)["scenario"] == "database-dr"

    # a bundle rendered from the file carries the scenario: the file is not needed to drill it
    assert _invoke("render", "-c", "orders.yaml", "--suffix", "b", "--no-lint", "--out", "out").exit_code == 0
    Path("orders.yaml").unlink()
    from_file_bundle = _invoke("drill", "--bundle", "out/orders", "--planned", "--output", "json")
    assert from_file_bundle.exit_code == 0, from_file_bundle.output
    assert json.loads(from_file_bundle.output)["scenario"] == "orders"

    manifest = json.loads(Path("out/orders/manifest.json").read_text())
    del manifest["definition"]  # as an older drgen rendered it
    Path("out/orders/manifest.json").write_text(json.dumps(manifest))
    refused = _invoke("drill", "--bundle", "out/orders")
    assert (
        refused.exit_code == 2
        and "rendered from a scenario file (orders); pass that file with --config" in refused.output
    )


def test_drill_passes_end_to_end_through_the_cli(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = _invoke("drill", "-s", "trading-ecs", "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True and report["mode"] == "unplanned"
    assert {v["check"]: v["ok"] for v in report["verified"]} == {
        "ready before": True,
        "armed": True,
        "writer in DR": True,
        "DR compute scaled": True,
        "notification sent": True,
        "DR buckets replicate back": True,
        "DNS answers DR": True,
        "writer in primary": True,
        "primary answers as writer": True,
        "DNS answers primary": True,
    }
    failover_run, failback_run = report["runs"]
    tasks = [s["state"] for s in failover_run["steps"] if s["type"] == "Task"]
    assert tasks == [
        "Guard",
        "Confirm",
        "Promote",
        "Scale",
        "PromotionStatus",
        "ShiftDns",
        "ReturnReplication",
        "Validate",
        "NotifySuccess",
    ]
    assert failback_run["phase"] == "failback" and failback_run["status"] == "SUCCEEDED"
    timeline = report["dns_timeline"]
    assert [s["after_dns_step_seconds"] for s in timeline["failover"]] == [0, 60, 120, 300, 1800, 86400]
    assert {s["answer"] for s in timeline["failover"]} == {"SECONDARY"}
    assert timeline["failback"][-1]["answer"] == "PRIMARY"
    assert any(line.startswith("Aurora global cluster") for line in report["created_through_apis"])


def test_a_deploy_during_a_failover_is_refused_unless_told(deploy):
    """Defect 11: the rendered bundle would put the serving DR region back to standby and reopen the gate."""
    deployed = deploy()
    _arm(deployed)
    _outage(deployed)
    with moto_standins.promotion_standin():
        assert _invoke("failover", "--unplanned", "--yes", *deployed.run_options()).exit_code == 0
    refused = _invoke("deploy", *deployed.cli_target(), "--skip-quota-check")
    assert refused.exit_code == 2, refused.output
    assert "is engaged: traffic goes to eu-west-2 since" in refused.output and "--during-failover" in refused.output
    assert _state(deployed)["desired"] == 2  # still serving at active capacity


def test_a_failover_must_say_planned_or_unplanned_and_an_unplanned_one_is_confirmed(deploy, promoting):
    """Safe defaults: no default kind of failover, and a possibly data-losing one is asked for. A question that
    is declined, or that nothing can answer (no terminal), exits 3 and starts nothing."""
    ready = deploy()
    _arm(ready)
    before = _state(ready)
    runner = CliRunner()
    neither = runner.invoke(cli, ["failover", *ready.run_options()])
    assert neither.exit_code == 2 and "say which failover: --planned" in neither.output
    unanswered = runner.invoke(cli, ["failover", "--unplanned", *ready.run_options()], input="")
    assert unanswered.exit_code == 3 and "could not be asked (no terminal): pass --yes" in unanswered.output
    declined = runner.invoke(cli, ["failover", "--unplanned", *ready.run_options()], input="n\n")
    assert declined.exit_code == 3 and "declined; nothing changed" in declined.output
    assert _state(ready) == before  # nothing started
    executions = ready.aws.client("stepfunctions", ready.environment.dr).list_executions(
        stateMachineArn=ready.environment.state_machine_arn
    )["executions"]
    assert executions == []


@pytest.mark.parametrize("also_lost", [(), ("us-east-1",)], ids=["primary", "primary-and-us-east-1"])
def test_an_unplanned_failover_runs_with_the_primary_regions_apis_unreachable(deploy, monkeypatch, also_lost):
    """The region it leaves is the one that is lost: its CloudFormation answers nothing (every call here to it
    fails to connect, as botocore's EndpointConnectionError does), and the failover still runs from the DR
    region's stacks. Before, it read every stack first, the lost region's included, and stopped there."""
    from botocore.exceptions import EndpointConnectionError

    from drgen.deploy.session import Aws

    deployed = deploy()
    _arm(deployed)
    _outage(deployed)
    unreachable = {deployed.environment.primary, *also_lost}  # us-east-1: the global layer's, STS's default
    reached = Aws.client

    def lost(self, service, region=None):
        if region in unreachable:
            raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com")
        return reached(self, service, region)

    monkeypatch.setattr(Aws, "client", lost)
    with moto_standins.promotion_standin():
        result = _invoke("failover", "--unplanned", "--yes", *deployed.run_options())
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(Aws, "client", reached)
    assert _state(deployed)["writer"] == deployed.environment.cluster_arn(Role.SECONDARY)
