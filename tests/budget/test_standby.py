"""Pilot light or warm standby: what the DR region runs, what the budget says each gives, and what warm costs."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from drgen.budget import budget_for_bundle
from drgen.render import render
from drgen.scenario import load
from drgen.scenario.model import Standby
from tests.hand_made import put_template

HOURS_PER_MONTH = 730
# AWS's published on-demand list prices, us-east-1: https://aws.amazon.com/fargate/pricing/ (Linux/x86, per vCPU-hour
# and per GB-hour) and https://aws.amazon.com/ec2/pricing/on-demand/ (t3.small, Linux, per hour).
FARGATE = (0.04048, 0.004445)
T3_SMALL = 0.0208


def _warm(name: str) -> Any:
    scenario = load(name, suffix="dev")
    return dataclasses.replace(scenario, compute=dataclasses.replace(scenario.compute, standby=Standby.WARM))


def _dr_app(bundle: Any) -> dict[str, Any]:
    manifest = json.loads(bundle.files["manifest.json"])
    path = next(s["template"] for s in manifest["stacks"] if s["layer"] == "app" and s["role"] == "secondary")
    return json.loads(bundle.files[path])["Resources"]


def _alternative(budget: dict[str, Any]) -> dict[str, Any]:
    (choice,) = budget["rto"]["alternatives"]
    return choice


@pytest.mark.parametrize("name", ["trading-ecs", "trading-asg"])
def test_warm_standby_runs_the_active_capacity_and_the_budget_said_what_it_gives(name, bundles):
    """The pilot-light budget's alternative is what rendering the warm scenario and budgeting it gives."""
    pilot = budget_for_bundle(bundles[name].files)
    warm_bundle = render(_warm(name))
    warm = budget_for_bundle(warm_bundle.files)
    assert not any(t.get("branch") == "capacity" for t in warm["rto"]["terms"])
    assert warm["rto"]["alternatives"] == []  # nothing left to scale
    assert _alternative(pilot)["rto_seconds"] == warm["rto"]["seconds"]
    size = "DesiredCount" if name == "trading-ecs" else "DesiredCapacity"
    unit = next(r for r in _dr_app(warm_bundle).values() if size in r["Properties"])["Properties"][size]
    assert unit["Fn::If"][1:] == [load(name).compute.active_capacity] * 2  # both regions run the active capacity


def test_warm_standbys_cost_follows_the_task_size_in_the_template(bundles):
    files = dict(bundles["trading-ecs"].files)
    app = _dr_app(bundles["trading-ecs"])
    task = next(r for r in app.values() if r["Type"] == "AWS::ECS::TaskDefinition")["Properties"]
    service = next(r for r in app.values() if r["Type"] == "AWS::ECS::Service")["Properties"]
    extra = service["DesiredCount"]["Fn::If"][1] - service["DesiredCount"]["Fn::If"][2]

    def monthly(cpu_units: int, memory_mib: int) -> float:
        return round(extra * (cpu_units / 1024 * FARGATE[0] + memory_mib / 1024 * FARGATE[1]) * HOURS_PER_MONTH, 2)

    before = _alternative(budget_for_bundle(files))
    assert before["monthly_usd_us_east_1"] == monthly(int(task["Cpu"]), int(task["Memory"]))
    manifest = json.loads(files["manifest.json"])
    path = next(s["template"] for s in manifest["stacks"] if s["layer"] == "app" and s["role"] == "secondary")
    document = json.loads(files[path])
    edited = next(r for r in document["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition")
    edited["Properties"]["Cpu"], edited["Properties"]["Memory"] = "2048", "4096"
    put_template(files, path, document)
    assert _alternative(budget_for_bundle(files))["monthly_usd_us_east_1"] == monthly(2048, 4096)


def test_warm_standby_is_sooner_by_what_the_scale_out_outlasts_the_other_branches(bundles):
    """The scale-out waits for drgen's application to install (the launch hook's timeout), longer than the
    promotion's branch: warm standby, whose instances already serve, is sooner by the difference, and by every
    second the hook grows."""
    budget = budget_for_bundle(bundles["trading-asg"].files)
    branches: dict[str, int] = {}
    for term in budget["rto"]["terms"]:
        if "branch" in term:
            branches[term["branch"]] = branches.get(term["branch"], 0) + term["seconds"]
    outlasts = branches.pop("capacity") - max(branches.values())
    assert outlasts > 0 and _alternative(budget)["sooner_seconds"] == outlasts
    files = dict(bundles["trading-asg"].files)
    manifest = json.loads(files["manifest.json"])
    path = next(s["template"] for s in manifest["stacks"] if s["layer"] == "app" and s["role"] == "secondary")
    document = json.loads(files[path])
    group = next(r for r in document["Resources"].values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup")
    group["Properties"]["LifecycleHookSpecificationList"][0]["HeartbeatTimeout"] += 100
    put_template(files, path, document)
    budget = budget_for_bundle(files)
    choice = _alternative(budget)
    assert choice["sooner_seconds"] == outlasts + 100 == budget["rto"]["seconds"] - choice["rto_seconds"]
    assert choice["monthly_usd_us_east_1"] == round(2 * T3_SMALL * HOURS_PER_MONTH, 2)  # 3 active - 1 standby


def test_lambda_and_connectivity_presets_have_nothing_to_scale(bundles):
    for name in ("healthcare-lambda", "trading-serverless", "database-dr"):
        assert budget_for_bundle(bundles[name].files)["rto"]["alternatives"] == []
