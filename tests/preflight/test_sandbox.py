"""``drgen preflight`` through the CLI against moto's server: a line per check, OK or UNKNOWN, for every preset;
and what plan and deploy do with a check that fails there."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from drgen.main import cli
from drgen.scenario import PRESETS
from tests.deploy.conftest import client, stacks_left

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes

CHECKS = {"account", "region", "zone", "service-role", "orderable", "image", "quotas"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_passes_in_the_sandbox_with_a_line_per_check(runner, sandbox, name):
    target = ["-s", name, "--suffix", "pf", "--endpoint-url", sandbox]
    text = runner.invoke(cli, ["preflight", *target])
    assert text.exit_code == 0, text.output
    assert "Traceback" not in text.output
    lines = text.stdout.splitlines()
    rows = [line.split(None, 3) for line in lines]
    assert all(status in ("OK", "UNKNOWN") for _, _, status, _ in rows), text.stdout
    assert {check for _, check, _, _ in rows} >= CHECKS - {"image"}
    scenario = PRESETS[name]
    regions = {where for where, _, _, _ in rows}
    assert {"global", scenario.regions.primary, scenario.regions.secondary} <= regions
    assert text.stderr.startswith(f"preflight: {name} (suffix pf) in account 123456789012: ")

    listed = json.loads(runner.invoke(cli, ["preflight", *target, "--json"]).stdout)
    assert [(c["region"], c["check"], c["status"]) for c in listed] == [tuple(r[:3]) for r in rows]
    assert all(set(c) == {"region", "check", "status", "detail"} for c in listed)


def test_the_sandbox_says_what_only_aws_can_confirm(runner, sandbox):
    result = runner.invoke(cli, ["preflight", "-s", "trading-asg", "--suffix", "pf", "--endpoint-url", sandbox])
    assert result.exit_code == 0, result.output
    lines = {tuple(line.split(None, 2)[:2]): line for line in result.stdout.splitlines()}
    # moto lists the opt-in Zurich region as not opted in, but serves it: UNKNOWN, with the command for AWS
    assert "UNKNOWN sandbox: eu-central-2 is not enabled" in lines["eu-central-2", "region"]
    assert "aws account enable-region --region-name eu-central-2" in lines["eu-central-2", "region"]
    assert (
        "AWS documents aurora-postgresql 16.8 on db.r6g.large global databases in eu-central-2"
        in (lines["eu-central-2", "orderable"])
    )
    assert "OK" in lines["eu-central-2", "image"] and "available" in lines["eu-central-2", "image"]
    assert "AWSServiceRoleForAutoScaling missing; deploy creates it" in lines["global", "service-role"]


def test_a_failed_check_stops_preflight_plan_and_deploy_before_anything_is_created(runner, sandbox):
    route53 = client(sandbox, "route53", "us-east-1")
    for reference in ("one", "two"):  # two public zones of the domain: deploy could not tell which to use
        route53.create_hosted_zone(Name="dbdr.example.com", CallerReference=reference)
    target = ["-s", "database-dr", "--suffix", "pf", "--endpoint-url", sandbox]

    checked = runner.invoke(cli, ["preflight", *target, "--output", "json"])
    assert checked.exit_code == 2, checked.output
    [failed] = [c for c in json.loads(checked.stdout) if c["status"] == "FAIL"]
    assert failed["check"] == "zone" and "name one with routing.zone_id" in failed["detail"]

    for command in (["deploy", *target, "--yes"], ["plan", *target]):
        refused = runner.invoke(cli, command)
        assert refused.exit_code == 2, refused.output
        last = refused.output.strip().splitlines()[-1]
        assert last.startswith("drgen: error: preflight zone (global) failed: 2 public hosted zones are named")
        assert last.endswith("name one with routing.zone_id")
    assert stacks_left(sandbox, {"us-east-1", "eu-west-1"}) == {}
    assert client(sandbox, "s3", "us-east-1").list_buckets()["Buckets"] == []
