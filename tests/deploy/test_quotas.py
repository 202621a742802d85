"""``drgen quotas`` and the quota preflight of plan and deploy, against moto's server (and stubs where moto
has no answer)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from drgen.commands.quotas import to_create
from drgen.deploy.plan import Decision, Plan, StackPlan
from drgen.deploy.quota_model import Probe
from drgen.deploy.quota_needs import template_resources
from drgen.deploy.quotas import REGIONAL, _limit
from drgen.main import cli
from tests.deploy.conftest import client, stacks_left

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes

VPC_QUOTA = "L-F678F1CE"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def fill_vpcs(url: str, region: str, total: int) -> None:
    """Create VPCs in ``region`` until the account holds ``total`` (the default VPC counts)."""
    ec2 = client(url, "ec2", region)
    for octet in range(100, 100 + total - len(ec2.describe_vpcs()["Vpcs"])):
        ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")


def vpc_rows(report: dict) -> dict[str, dict]:
    return {r["region"]: r for r in report["quotas"] if r["quota_code"] == VPC_QUOTA}


def test_a_preset_that_fits_passes_with_a_row_per_region(runner, sandbox):
    result = runner.invoke(cli, ["quotas", "-s", "trading-ecs", "--suffix", "q", "--endpoint-url", sandbox, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["exceeds"] is False and len(report["stacks_to_create"]) == 9
    vpcs = vpc_rows(report)
    assert set(vpcs) == {"eu-central-1", "eu-west-2"}
    assert {(r["needed"], r["in_use"], r["limit"], r["verdict"]) for r in vpcs.values()} == {(1, 1, 5.0, "OK")}
    by_code = {(r["region"], r["quota_code"]): r for r in report["quotas"]}
    # moto knows no RDS quota: reported as unknown, not guessed and not a crash
    assert by_code["eu-central-1", "L-952B80B8"]["verdict"] == "unknown"
    assert by_code["eu-central-1", "L-952B80B8"]["limit"] is None
    # the primary runs two Aurora instances, the standby one; the DR region scales Fargate to full capacity
    assert by_code["eu-central-1", "L-7B6409FD"]["needed"] == 2 and by_code["eu-west-2", "L-7B6409FD"]["needed"] == 1
    assert by_code["eu-west-2", "L-3032A538"]["needed"] == by_code["eu-central-1", "L-3032A538"]["needed"] == 3
    account = [r for r in report["quotas"] if r["account_wide"]]
    assert {r["quota_code"] for r in account} == {"L-ACB674F3", "L-FE177D64", "L-DC2B2D3D"}
    assert {r["region"] for r in account} == {"us-east-1"}

    text = runner.invoke(cli, ["quotas", "-s", "trading-ecs", "--suffix", "q", "--endpoint-url", sandbox])
    assert text.exit_code == 0, text.output
    assert "eu-west-2 (DR)" in text.output and "account-wide (asked in us-east-1)" in text.output
    assert "EXCEEDS:" not in text.output


def test_vpcs_up_to_the_quota_exceed_it_and_name_the_fix(runner, sandbox):
    fill_vpcs(sandbox, "eu-central-1", 5)
    result = runner.invoke(cli, ["quotas", "-s", "trading-ecs", "--suffix", "q", "--endpoint-url", sandbox])
    assert result.exit_code == 1, result.output
    problem = next(line for line in result.output.splitlines() if line.startswith("EXCEEDS:"))
    assert "VPCs per Region (vpc L-F678F1CE) in eu-central-1: needs 1, 5 in use, limit 5" in problem
    assert problem.endswith(
        "aws service-quotas request-service-quota-increase --service-code vpc --quota-code L-F678F1CE "
        "--desired-value 6 --region eu-central-1"
    )
    report = json.loads(
        runner.invoke(cli, ["quotas", "-s", "trading-ecs", "--suffix", "q", "--endpoint-url", sandbox, "--json"]).stdout
    )
    assert report["exceeds"] is True
    assert vpc_rows(report)["eu-central-1"]["verdict"] == "EXCEEDS"
    assert vpc_rows(report)["eu-west-2"]["verdict"] == "OK"


def test_over_eighty_percent_is_tight_and_still_passes(runner, sandbox):
    fill_vpcs(sandbox, "eu-west-2", 4)
    result = runner.invoke(cli, ["quotas", "-s", "trading-ecs", "--suffix", "q", "--endpoint-url", sandbox, "--json"])
    assert result.exit_code == 0, result.output
    assert vpc_rows(json.loads(result.stdout))["eu-west-2"]["verdict"] == "TIGHT"


def test_deploy_refuses_an_exceeded_quota_before_creating_anything_and_plan_warns(runner, sandbox):
    fill_vpcs(sandbox, "us-east-1", 5)
    target = ["-s", "database-dr", "--suffix", "q", "--endpoint-url", sandbox]

    deploy = runner.invoke(cli, ["deploy", *target, "--yes"])
    assert deploy.exit_code == 2, deploy.output
    assert "quota EXCEEDS: VPCs per Region (vpc L-F678F1CE) in us-east-1" in deploy.output
    assert "pass --skip-quota-check" in deploy.output
    assert stacks_left(sandbox, {"us-east-1", "eu-west-1"}) == {}

    plan = runner.invoke(cli, ["plan", *target])
    assert plan.exit_code == 1
    assert "quota EXCEEDS: VPCs per Region" in plan.output and "wave 1" in plan.output


def test_bad_input_exits_2(runner, sandbox):
    unknown = runner.invoke(cli, ["quotas", "-s", "no-such-preset", "--suffix", "q", "--endpoint-url", sandbox])
    assert unknown.exit_code == 2
    assert "no-such-preset" in unknown.output
    neither = runner.invoke(cli, ["quotas", "--suffix", "q", "--endpoint-url", sandbox])
    assert neither.exit_code == 2
    assert "give exactly one of --scenario NAME, --config FILE or --bundle DIR" in neither.output


def test_conditions_and_fn_if_are_resolved_per_role(deploy_bundles):
    bundle = deploy_bundles["trading-asg"]

    def resources(layer: str, role: str) -> list:
        return template_resources(bundle, bundle.stack_of(layer, role))

    def count(layer: str, role: str, rtype: str) -> int:
        return sum(1 for r in resources(layer, role) if r.type == rtype)

    assert count("foundation", "primary", "AWS::EC2::EIP") == 3  # a NAT gateway per AZ
    assert count("foundation", "secondary", "AWS::EC2::EIP") == 1  # one in the standby
    [group] = [r for r in resources("app", "secondary") if r.type.endswith("AutoScalingGroup")]
    assert group.properties["MinSize"] == 1 and group.properties["DesiredCapacity"] == 1


def test_only_stacks_not_yet_deployed_count_as_needed(deploy_bundles):
    entries = deploy_bundles["database-dr"].stacks[:4]
    decisions = [Decision.CREATE, Decision.UPDATE, Decision.RECREATE, Decision.WAIT]
    plan = Plan(
        "database-dr", "t", "stacks", tuple(StackPlan(e, 0, None, d) for e, d in zip(entries, decisions, strict=True))
    )
    assert to_create(plan) == [entries[0], entries[2]]


def test_no_applied_value_falls_back_to_the_aws_default():
    service_quotas = boto3.client(
        "service-quotas", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    probe = Probe(SimpleNamespace(client=lambda *_: service_quotas, sandbox=False), "eu-west-1")
    codes = {"ServiceCode": "vpc", "QuotaCode": VPC_QUOTA}
    with Stubber(service_quotas) as stub:
        stub.add_client_error("get_service_quota", "NoSuchResourceException", "no applied value", 400, codes)
        stub.add_response("get_aws_default_service_quota", {"Quota": {"Value": 5.0}}, codes)
        assert _limit(probe, REGIONAL[0]) == (5.0, "AWS default")
        stub.add_client_error("get_service_quota", "AccessDeniedException", "not allowed", 400, codes)
        assert _limit(probe, REGIONAL[0]) == (None, "quota unknown: AccessDeniedException: not allowed")
