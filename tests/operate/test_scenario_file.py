"""A scenario file through every command against a moto server kept between commands, as a user would run it.

Nothing is provisioned by the test: the first operate command creates, once, what moto's CloudFormation skips
(and says so on stderr), so readiness, failover --wait and failback --wait work on the sandbox drgen deployed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from drgen.main import cli
from drgen.operate import moto_standins

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


def test_a_scenario_file_is_deployed_operated_and_destroyed_with_every_command(
    sandbox_url, endpoints, tmp_path, monkeypatch
):
    config = tmp_path / "orders.yaml"
    config.write_text("base: trading-ecs\nname: orders\n")
    target = ["--config", str(config), "--suffix", "e2e", "--endpoint-url", sandbox_url]
    health = ["--health-url", f"{endpoints}/ok"]
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, (args[0], result.output)
        return result.output

    assert "deploy: 9 stack(s): 9 created" in run("deploy", *target, "--yes", "--require-approval", "never")
    assert all(name.startswith("orders-") for name in _stack_names(run("outputs", *target, "--output", "json")))
    ready = run("readiness", *target, *health)
    assert "sandbox, created once: " in ready and "orders (e2e): ready" in ready  # provisioned, then ready
    assert "sandbox, created once: " not in run("readiness", *target, *health)  # once
    # moto implements neither FailoverGlobalCluster nor SwitchoverGlobalCluster: the in-process stand-in answers
    # them (as in drgen drill). The primary is not down here: the operator decides (--force) instead of waiting
    # for two failure signals.
    with moto_standins.promotion_standin() as promotions:
        assert "SUCCEEDED" in run("failover", *target, "--unplanned", "--yes", "--force", "--wait", *health)
        # no lag monitor runs against moto (it needs a database): the guard would wait for lag data, so --force
        assert "SUCCEEDED" in run("failback", *target, "--planned", "--force", "--wait", *health)
    # the primary was up, so even the unplanned run lost nothing: it switched over, as the promote step chooses
    assert [action for action, _ in promotions] == ["switchover", "switchover"]
    assert "Seed outputs" in run("outputs", *target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no local record here: the deployment is read from CloudFormation
    live = run("outputs", "--config", str(config), "--suffix", "e2e", "--endpoint-url", sandbox_url)
    assert "now, from CloudFormation" in live and "Seed outputs (orders-global-e2e, us-east-1)" in live
    assert "destroy: 9 stack(s): 9 deleted" in run("destroy", *target, "--yes")


def _stack_names(record_json: str) -> list[str]:
    import json

    return [stack["name"] for stack in json.loads(record_json)["stacks"]]
