"""Evidence and procedure (deploy duration, rollback, target, drill report, approvals) and the summary the
review opens with."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from drgen.bundle.manifest import LayerName
from drgen.bundle.reader import from_directory
from drgen.operate import failover
from drgen.operate.asl import Run, Step
from drgen.operate.drill_report import Report
from drgen.operate.readiness import Check
from drgen.review import build_review
from drgen.review.duration import STACK_OVERHEAD_MINUTES, deploy_estimate, longest_path
from drgen.review.summary import COST_MODULE, cost_line
from drgen.route53_model import Moment
from drgen.scenario import PRESETS
from tests.hand_made import manifest

from .test_changes import review

# A small hand-made deploy graph: four stacks, A first, B and C after A, D after both.
MINUTES = {
    "AWS::EC2::VPC": 1,
    "AWS::EC2::NatGateway": 2,
    "AWS::RDS::DBCluster": 10,
    "AWS::RDS::DBInstance": 20,
    "AWS::RDS::GlobalCluster": 5,
    "AWS::SNS::Topic": 1,
    "AWS::CertificateManager::Certificate": 7,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 4,
    "AWS::ElasticLoadBalancingV2::Listener": 1,
    "AWS::IAM::Role": 1,
    "AWS::Lambda::Function": 2,
}
STACKS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "a": ((), {"Vpc": ("AWS::EC2::VPC", []), "Nat": ("AWS::EC2::NatGateway", ["Vpc"])}),
    "b": (
        ("a",),
        {
            "Cluster": ("AWS::RDS::DBCluster", []),
            "Instance": ("AWS::RDS::DBInstance", ["Cluster"]),
            "Global": ("AWS::RDS::GlobalCluster", ["Instance"]),
            "Topic": ("AWS::SNS::Topic", []),
        },
    ),
    "c": (
        ("a",),
        {
            "Cert": ("AWS::CertificateManager::Certificate", []),
            "Lb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", []),
            "Listener": ("AWS::ElasticLoadBalancingV2::Listener", ["Cert", "Lb"]),
        },
    ),
    "d": (("b", "c"), {"Role": ("AWS::IAM::Role", []), "Fn": ("AWS::Lambda::Function", ["Role"])}),
}


def graph_bundle(root: Path) -> Path:
    """The graph above as a bundle: dependencies written as Ref (Properties) and DependsOn, alternately."""
    bundle = root / "graph"
    stacks = []
    for layer, (name, (after, resources)) in zip(LayerName, STACKS.items(), strict=False):
        document: dict[str, Any] = {"Resources": {}}
        for index, (logical_id, (rtype, needs)) in enumerate(resources.items()):
            resource: dict[str, Any] = {"Type": rtype, "Properties": {}}
            if needs and index % 2:
                resource["DependsOn"] = needs
            elif needs:
                resource["Properties"] = {f"P{i}": {"Ref": need} for i, need in enumerate(needs)}
            document["Resources"][logical_id] = resource
        path = bundle / "templates" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        stacks.append(
            {
                "name": name,
                "layer": layer.value,  # any real layer: the graph is in depends_on
                "region": "us-east-1",
                "role": "global",
                "template": f"templates/{name}.json",
                "depends_on": list(after),
                "parameters": {},
                "inputs": {},
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    (bundle / "manifest.json").write_text(json.dumps(manifest(stacks, scenario="graph")))
    return bundle


def all_paths(after: dict[str, tuple[str, ...]], node: str) -> list[list[str]]:
    """Every chain ending at ``node`` (brute force: the independent calculation)."""
    before = [path for parent in after[node] for path in all_paths(after, parent)]
    return [[*path, node] for path in before] or [[node]]


def test_the_deploy_critical_path_equals_a_brute_force_calculation(tmp_path):
    estimate = deploy_estimate(from_directory(graph_bundle(tmp_path)), lambda rtype: MINUTES[rtype])
    stack_minutes = {}
    for name, (_, resources) in STACKS.items():
        needs = {lid: tuple(n) for lid, (_, n) in resources.items()}
        chains = [chain for lid in resources for chain in all_paths(needs, lid)]
        stack_minutes[name] = max(sum(MINUTES[resources[lid][0]] for lid in chain) for chain in chains)
        assert estimate.stacks[name].minutes == stack_minutes[name]
    stack_after = {name: after for name, (after, _) in STACKS.items()}
    chains = [chain for name in STACKS for chain in all_paths(stack_after, name)]
    longest = max(chains, key=lambda chain: sum(stack_minutes[s] + STACK_OVERHEAD_MINUTES for s in chain))
    assert estimate.path.nodes == tuple(longest) == ("a", "b", "d")
    assert estimate.path.minutes == sum(stack_minutes[s] + STACK_OVERHEAD_MINUTES for s in longest)
    assert estimate.stacks["b"].nodes == ("Cluster", "Instance", "Global")  # 35 min; the topic runs beside it


def test_longest_path_ignores_dependencies_outside_the_graph():
    assert longest_path({"x": 2.0, "y": 3.0}, {"y": ("x", "elsewhere")}).nodes == ("x", "y")
    assert longest_path({}, {}).minutes == 0.0


def test_the_deploy_duration_section_names_the_aurora_chain(bundle_root):
    markdown, _ = review(bundle_root / "database-dr")
    duration = markdown.split("### Expected deploy duration", 1)[1].split("\n### ", 1)[0]
    assert "A first deploy takes about **" in duration
    assert "PrimaryCluster (10) -> PrimaryInstance" in duration  # tens of minutes: the Aurora global database


def test_rollback_and_target_come_from_the_bundle(bundle_root):
    markdown, _ = review(bundle_root / "database-dr")
    rollback = markdown.split("### Rollback plan", 1)[1].split("\n### ", 1)[0]
    assert "`drgen destroy -s database-dr --suffix dev`" in rollback
    assert (
        "| `dbdr-data-primary-dev` | primary us-east-1 | `PrimaryCluster` | AWS::RDS::DBCluster | "
        "deleted with its data |"
    ) in rollback
    assert "deletion scheduled" in rollback  # KMS keys: the pending window
    target = markdown.split("### Target account and regions", 1)[1].split("\n### ", 1)[0]
    assert "| account | not pinned" in target and "| DR region | eu-west-1 |" in target


def drill_report() -> dict[str, Any]:
    """A report as `drgen drill --output json` prints it, built from the drill's own classes."""
    steps = [Step("Promote", "Task", 0.0, 95.0, True, "promoted"), Step("Dns", "Task", 95.0, 3.0, True, "UPSERT")]
    outcome = failover.Outcome("drill-1", "arn:aws:states:x", True, True, Run("SUCCEEDED", steps=steps))
    report = Report(
        "database-dr",
        "local moto server",
        "unplanned",
        phases=[("failover", outcome)],
        verifications=[Check("writer in DR", True, "writer arn:x")],
        budget={"Promote": (60.0, "promotion"), "Dns": (5.0, "dns")},
        deploy_seconds=42.0,
        timelines={
            "failover": [
                (0.0, Moment(0.0, "PRIMARY", "p.example", {})),
                (60.0, Moment(60.0, "SECONDARY", "s.example", {})),
            ]
        },
    )
    return json.loads(json.dumps(report.to_dict(), default=str))


def test_the_latest_drill_report_is_embedded(bundle_root, tmp_path):
    bundle = Path(shutil.copytree(bundle_root / "database-dr", tmp_path / "database-dr"))
    markdown, _ = review(bundle)
    assert "| evidence | drill: no drill report;" in markdown
    (bundle / "drill-report.json").write_text(json.dumps(drill_report()))
    markdown, _ = review(bundle)
    assert "| evidence | drill: PASSED (unplanned, local moto server);" in markdown
    drill = markdown.split("### Latest drill report", 1)[1].split("\n## ", 1)[0]
    assert "| Promote | Task | 0.0 | 95.0 | 60.0 | ok **over budget**: promoted |" in drill
    assert "| Dns | Task | 95.0 | 3.0 | 5.0 | ok: UPSERT |" in drill
    assert "| 60.0 | SECONDARY | `s.example` |" in drill
    assert "| writer in DR | ok | writer arn:x |" in drill


def test_a_drill_of_another_scenario_is_not_used(bundle_root, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**drill_report(), "scenario": "trading-ecs"}))
    markdown = build_review(bundle_root / "database-dr", [], None, None, other)["REVIEW.md"].decode()
    assert "other.json is a drill of trading-ecs, not database-dr" in markdown


def summary_lines(markdown: str) -> list[str]:
    return markdown.split("\n## Contents", 1)[0].splitlines()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_review_starts_with_a_one_screen_summary(name, bundle_root):
    markdown, page = review(bundle_root / name)
    lines = summary_lines(markdown)
    assert lines[0] == f"# Change review: {name}" and lines[2] == "|   | summary |"
    assert len(lines) <= 25
    rows = [line.split(" | ", 1)[0].removeprefix("| ") for line in lines[4:] if line.startswith("| ")]
    assert rows == [
        "change",
        "risk: data",
        "risk: broadening",
        "cost",
        "RTO / RPO",
        "deploy",
        "evidence",
        "target",
        "approvals",
    ]
    assert "| RTO / RPO | RTO " in markdown and "| approvals | to fill in" in markdown
    assert page.index("<td>risk: data</td>") < page.index('<nav><h2 id="contents">')


def test_the_cost_row_says_not_estimated_without_the_cost_module(bundle_root, monkeypatch):
    monkeypatch.setitem(sys.modules, COST_MODULE, None)  # the module is not there
    assert cost_line(from_directory(bundle_root / "database-dr")) == "not estimated"
