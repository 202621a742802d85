"""The opt-in AWS ARC Region switch plan (issue 14, item 6): only when asked for, once, naming what the other
layers create, linting clean, and with an execution role that may do what each of its blocks does.

Expected values come from the scenario and from the other stacks' templates, resolved the way CloudFormation and
drgen's deployer would (parameters, inputs fed from other stacks' outputs, Fn::Sub, Fn::If), never from
drgen/builders/arc_plan.py.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from drgen.budget import budget_for_bundle
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import from_files
from drgen.errors import ScenarioError
from drgen.lint import lint_template
from drgen.render import Bundle, render, write_bundles
from drgen.review import build_review
from drgen.scenario import PRESETS, load
from drgen.scenario.model import ComputeKind
from drgen.stability import failover_path, primary_dependencies
from tests.conftest import stack

PLAN = "AWS::ARCRegionSwitch::Plan"
ACCOUNT = "123456789012"
DOCS = "https://docs.aws.amazon.com/r53recovery/latest/dg/"
# What AWS's sample execution-role policy for each execution block allows (the pages cited), and the starting
# policy every plan's role needs: plan evaluation simulates the role's own policy and reads the plan.
BLOCK_ACTIONS = {
    # security_iam_region_switch_aurora.html
    "AuroraGlobalDatabase": {
        "rds:DescribeGlobalClusters",
        "rds:DescribeDBClusters",
        "rds:FailoverGlobalCluster",
        "rds:SwitchoverGlobalCluster",
    },
    # security_iam_region_switch_ecs.html
    "ECSServiceScaling": {
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "ecs:DescribeClusters",
        "ecs:ListServices",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:RegisterScalableTarget",
        "cloudwatch:GetMetricStatistics",
    },
    # security_iam_region_switch_lambda.html
    "CustomActionLambda": {"lambda:GetFunction", "lambda:InvokeFunction"},
}
# security_iam_region_switch_complete_policy.html
EVERY_PLAN = {
    "iam:SimulatePrincipalPolicy",
    "arc-region-switch:GetPlan",
    "arc-region-switch:GetPlanExecution",
    "arc-region-switch:ListPlanExecutions",
}
TRUSTED = "arc-region-switch.amazonaws.com"  # security_iam_region_switch_trust_policy.html
# Read-only calls AWS authorizes on "*" only; nothing else may be granted on "*".
UNSCOPED = {"ecs:ListServices", "application-autoscaling:DescribeScalableTargets", "cloudwatch:GetMetricStatistics"}
# The explicit name of each resource type an output below refers to.
NAME_OF = {
    "AWS::RDS::GlobalCluster": "GlobalClusterIdentifier",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
}


@pytest.fixture(scope="module")
def arc_bundles() -> dict[str, Bundle]:
    return {name: render(dataclasses.replace(load(name, suffix="dev"), arc_plan=True)) for name in PRESETS}


# -- resolving values as a deployment would -----------------------------------------------------------------
class Stack:
    """One stack of a bundle, resolving its template's values as deployed (account ACCOUNT, partition aws)."""

    def __init__(self, bundle: Bundle, entry: StackEntry) -> None:
        self.bundle, self.entry = bundle, entry
        self.doc = json.loads(bundle.files[entry.template])

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            name, attribute = value["Fn::GetAtt"]
            return self._attribute(name, attribute)
        if "Fn::If" in value:
            condition, yes, no = value["Fn::If"]
            wanted = {"IsPrimary": "primary", "IsSecondary": "secondary"}[condition]
            return self.value(yes if self.entry.role.value == wanted else no)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else sub
            known = {k: self.value(v) for k, v in variables.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: known.get(m[1]) or self._ref(m[1]), text)
        return {k: self.value(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.entry.region, "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT}
        if name in pseudo:
            return pseudo[name]
        if name in self.entry.parameters:
            return self.entry.parameters[name]
        if name in self.entry.inputs:  # fed from another stack's output by the deployer
            source = self.entry.inputs[name]
            upstream = next(s for s in self.bundle.stacks if s.name == source["stack"])
            feeder = Stack(self.bundle, upstream)
            return feeder.value(feeder.doc["Outputs"][source["output"]]["Value"])
        return self._attribute(name, "Name")

    def _attribute(self, name: str, attribute: str) -> str:
        resource = self.doc["Resources"][name]
        explicit = self.value(resource["Properties"][NAME_OF[resource["Type"]]])
        service = {"AWS::Lambda::Function": "lambda", "AWS::IAM::Role": "iam"}.get(resource["Type"])
        if attribute == "Arn" and service == "lambda":
            return f"arn:aws:lambda:{self.entry.region}:{ACCOUNT}:function:{explicit}"
        if attribute == "Arn" and service == "iam":
            return f"arn:aws:iam::{ACCOUNT}:role/{explicit}"
        return explicit


def _named(stack_: Stack, rtype: str, condition: str | None = None) -> str:
    """The explicit name of the (one) resource of ``rtype`` in the stack, for its role."""
    found = [n for n, r in stack_.doc["Resources"].items() if r["Type"] == rtype and r.get("Condition") == condition]
    assert len(found) == 1, (rtype, found)
    return stack_._attribute(found[0], "Name")


def _dr_orchestration(bundle: Bundle) -> Stack:
    return Stack(bundle, stack(bundle, "orchestration", "secondary"))


def _plan(bundle: Bundle) -> dict[str, Any]:
    plans = [
        r for r in json.loads(bundle.files["templates/orchestration.json"])["Resources"].values() if r["Type"] == PLAN
    ]
    assert len(plans) == 1
    return plans[0]


def _blocks(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, those inside a Parallel block included."""
    found = []
    for step in steps:
        found.append(step)
        found += _blocks(step["ExecutionBlockConfiguration"].get("ParallelConfig", {}).get("Steps", []))
    return found


# -- (a) opt-in only --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_without_the_flag_have_no_region_switch_plan(name: str, bundles: dict[str, Bundle]) -> None:
    assert PRESETS[name].arc_plan is False
    for path, data in bundles[name].files.items():
        if path.startswith("templates/"):
            assert PLAN not in {r["Type"] for r in json.loads(data)["Resources"].values()}, path


# -- (b) what the plan names ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_plan_names_the_global_database_the_dr_compute_the_regions_and_the_rto(
    name: str, arc_bundles: dict[str, Bundle]
) -> None:
    bundle = arc_bundles[name]
    scenario = bundle.scenario
    primary, secondary = scenario.regions.primary, scenario.regions.secondary
    # Once, in the DR region: the plan is one global resource, executed from the Region it activates.
    for path, data in bundle.files.items():
        if path.startswith("templates/") and path != "templates/orchestration.json":
            assert PLAN not in {r["Type"] for r in json.loads(data)["Resources"].values()}, path
    plan = _plan(bundle)
    assert plan["Condition"] == "IsSecondary"
    dr = _dr_orchestration(bundle)
    props = dr.value(plan["Properties"])
    assert props["RecoveryApproach"] == "activePassive"
    assert props["PrimaryRegion"] == primary and sorted(props["Regions"]) == sorted([primary, secondary])
    assert props["RecoveryTimeObjectiveMinutes"] == math.ceil(scenario.objectives.rto_seconds / 60)
    assert props["ExecutionRole"] == dr.value({"Fn::GetAtt": ["RegionSwitchPlanRole", "Arn"]})

    data = {role: Stack(bundle, stack(bundle, "data", role)) for role in ("primary", "secondary")}
    global_id = _named(data["primary"], "AWS::RDS::GlobalCluster", "IsPrimary")
    clusters = {
        f"arn:aws:rds:{data[role].entry.region}:{ACCOUNT}:cluster:"
        + _named(data[role], "AWS::RDS::DBCluster", "IsPrimary" if role == "primary" else "IsSecondary")
        for role in data
    }
    by_region = {w["WorkflowTargetRegion"]: w for w in props["Workflows"]}
    assert set(by_region) == {primary, secondary} and {w["WorkflowTargetAction"] for w in by_region.values()} == {
        "activate"
    }
    for workflow in by_region.values():
        aurora = [b for b in _blocks(workflow["Steps"]) if b["ExecutionBlockType"] == "AuroraGlobalDatabase"]
        assert len(aurora) == 1
        config = aurora[0]["ExecutionBlockConfiguration"]["GlobalAuroraConfig"]
        assert config["GlobalClusterIdentifier"] == global_id
        assert set(config["DatabaseClusterArns"]) == clusters
        # Graceful: SwitchoverGlobalCluster (nothing lost); ungraceful: FailoverGlobalCluster (API reference).
        assert config["Behavior"] == "switchoverOnly" and config["Ungraceful"] == {"Ungraceful": "failover"}

    failover = _blocks(by_region[secondary]["Steps"])
    kinds = [b["ExecutionBlockType"] for b in failover]
    handlers = {
        n: r["Properties"]["Handler"]
        for n, r in dr.doc["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r.get("Condition") == "IsSecondary"
    }
    dns = dr.value({"Fn::GetAtt": [next(n for n, h in handlers.items() if h == "dns.handler"), "Arn"]})
    lambdas = {
        (b["Name"], c["Lambdas"][0]["Arn"], json.loads(c["Lambdas"][0]["Payload"])["mode"], c["RegionToRun"])
        for b in failover
        if (c := b["ExecutionBlockConfiguration"].get("CustomActionLambdaConfig"))
    }
    # DNS last, after the database (the Aurora block waits for the promotion), run in the Region it activates.
    assert failover[-1]["ExecutionBlockType"] == "CustomActionLambda"
    assert (failover[-1]["Name"], dns, "failover", "activatingRegion") in lambdas
    kind = scenario.compute.kind
    if kind is ComputeKind.ECS:
        app = {role: Stack(bundle, stack(bundle, "app", role)) for role in ("primary", "secondary")}
        services = set()
        for app_stack in app.values():
            cluster = _named(app_stack, "AWS::ECS::Cluster")
            region = app_stack.entry.region
            services.add(
                (
                    f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cluster}",
                    f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{_named(app_stack, 'AWS::ECS::Service')}",
                )
            )
        ecs = next(b for b in failover if b["ExecutionBlockType"] == "ECSServiceScaling")
        config = ecs["ExecutionBlockConfiguration"]["EcsCapacityIncreaseConfig"]
        assert {(s["ClusterArn"], s["ServiceArn"]) for s in config["Services"]} == services
        assert kinds[0] == "Parallel"  # scaled while Aurora promotes, as drgen's own machine does
    elif kind is ComputeKind.ASG:
        scale = dr.value({"Fn::GetAtt": [next(n for n, h in handlers.items() if h == "scale.handler"), "Arn"]})
        assert ("compute", scale, "failover", "activatingRegion") in lambdas and kinds[0] == "Parallel"
    else:
        assert kinds == ["AuroraGlobalDatabase", "CustomActionLambda"]  # nothing to scale
    failback = _blocks(by_region[primary]["Steps"])[-1]["ExecutionBlockConfiguration"]["CustomActionLambdaConfig"]
    assert failback["Lambdas"][0]["Arn"] == dns and json.loads(failback["Lambdas"][0]["Payload"]) == {
        "mode": "failback"
    }


# -- (c) cfn-lint, drgen's rules included ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_template_with_the_plan_lints_clean_and_the_failover_still_needs_nothing_from_the_primary(
    name: str, arc_bundles: dict[str, Bundle], tmp_path: Path
) -> None:
    bundle = arc_bundles[name]
    path = tmp_path / "orchestration.json"
    path.write_bytes(bundle.files["templates/orchestration.json"])
    assert lint_template(path, bundle.template_regions["templates/orchestration.json"]) == []
    assert primary_dependencies(failover_path(from_files(bundle.files, "test"))) == []


# -- (d) the execution role -----------------------------------------------------------------------------------
def _allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(
        action in s["Action"] and any(fnmatch.fnmatchcase(arn, pattern) for pattern in s["Resource"])
        for s in statements
        if s["Effect"] == "Allow"
    )


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_execution_role_may_do_what_each_block_needs_per_the_aws_docs(
    name: str, arc_bundles: dict[str, Bundle]
) -> None:
    """The sample policies: https://docs.aws.amazon.com/r53recovery/latest/dg/security_iam_region_switch_aurora.html,
    ..._ecs.html, ..._lambda.html, ..._complete_policy.html and ..._trust_policy.html (DOCS + page)."""
    bundle = arc_bundles[name]
    dr = _dr_orchestration(bundle)
    plan = dr.value(_plan(bundle)["Properties"])
    role_id = _plan(bundle)["Properties"]["ExecutionRole"]["Fn::GetAtt"][0]
    role = dr.doc["Resources"][role_id]
    assert role["Condition"] == "IsSecondary"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Principal"]["Service"], s["Action"]) for s in trust] == [([TRUSTED], ["sts:AssumeRole"])]
    statements = [s for p in dr.value(role["Properties"]["Policies"]) for s in p["PolicyDocument"]["Statement"]]
    granted = {a for s in statements for a in s["Action"]}
    blocks = [b for w in plan["Workflows"] for b in _blocks(w["Steps"]) if b["ExecutionBlockType"] != "Parallel"]
    needed = EVERY_PLAN.union(*(BLOCK_ACTIONS[b["ExecutionBlockType"]] for b in blocks))
    assert needed <= granted, f"missing {sorted(needed - granted)} (see {DOCS})"
    assert granted <= EVERY_PLAN.union(*BLOCK_ACTIONS.values())  # nothing the blocks do not need
    for s in statements:  # least privilege: only the unscopable reads on "*"
        if "*" in s["Resource"]:
            assert set(s["Action"]) <= UNSCOPED, s

    assert _allowed(statements, "iam:SimulatePrincipalPolicy", dr.value({"Fn::GetAtt": [role_id, "Arn"]}))
    plan_arn = f"arn:aws:arc-region-switch::{ACCOUNT}:plan/{plan['Name']}:a1b2c3"  # the API's ARN pattern
    assert all(_allowed(statements, a, plan_arn) for a in EVERY_PLAN if a.startswith("arc-region-switch:"))
    for block in blocks:
        config = next(iter(block["ExecutionBlockConfiguration"].values()))
        if block["ExecutionBlockType"] == "AuroraGlobalDatabase":
            global_arn = f"arn:aws:rds::{ACCOUNT}:global-cluster:{config['GlobalClusterIdentifier']}"
            for arn in [global_arn, *config["DatabaseClusterArns"]]:
                assert _allowed(statements, "rds:FailoverGlobalCluster", arn)
                assert _allowed(statements, "rds:SwitchoverGlobalCluster", arn)
            assert _allowed(statements, "rds:DescribeGlobalClusters", global_arn)
            assert all(_allowed(statements, "rds:DescribeDBClusters", a) for a in config["DatabaseClusterArns"])
        elif block["ExecutionBlockType"] == "ECSServiceScaling":
            for service in config["Services"]:
                assert _allowed(statements, "ecs:UpdateService", service["ServiceArn"])
                assert _allowed(statements, "ecs:DescribeServices", service["ServiceArn"])
                assert _allowed(statements, "ecs:DescribeClusters", service["ClusterArn"])
                region = service["ServiceArn"].split(":")[3]
                target = f"arn:aws:application-autoscaling:{region}:{ACCOUNT}:scalable-target/0123abcd"
                assert _allowed(statements, "application-autoscaling:RegisterScalableTarget", target)
        else:
            for function in config["Lambdas"]:
                assert _allowed(statements, "lambda:InvokeFunction", function["Arn"])
                assert _allowed(statements, "lambda:GetFunction", function["Arn"])


def test_a_plan_name_aws_would_refuse_is_refused_before_anything_is_written() -> None:
    # The plan's Name allows 32 characters: healthcare-lambda's other names allow a longer suffix than it does.
    with pytest.raises(ScenarioError, match=r"Region switch plan name .* at most 16"):
        render(dataclasses.replace(load("healthcare-lambda", suffix="a" * 17), arc_plan=True))


def test_the_review_shows_the_plan_and_the_budget_names_its_measurement(tmp_path: Path) -> None:
    """The change board sees each workflow's steps as the template writes them, and the budget says which AWS
    figure measures the plan (https://docs.aws.amazon.com/arc-region-switch/latest/api/API_GetPlanExecution.html)."""
    scenario = dataclasses.replace(load("trading-asg", suffix="dev"), arc_plan=True)
    bundle = render(scenario)
    (written,) = write_bundles([bundle], tmp_path)
    review = build_review(written, [], None, None)["REVIEW.md"].decode()
    plan = next(
        r for r in json.loads(bundle.files["templates/orchestration.json"])["Resources"].values() if r["Type"] == PLAN
    )["Properties"]
    assert "## AWS ARC Region switch plan" in review
    for workflow in plan["Workflows"]:
        for step in workflow["Steps"]:
            assert step["Name"] in review
    assert f"activate {scenario.regions.secondary}" in review and f"activate {scenario.regions.primary}" in review
    assert "actualRecoveryTime" in budget_for_bundle(bundle.files)["rto"]["measurement"]
    assert "measurement" not in budget_for_bundle(render(load("trading-asg", suffix="dev")).files)["rto"]
