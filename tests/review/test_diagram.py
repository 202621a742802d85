"""The two pictures: the architecture view (diagram.svg / .png) and the full resource graph (diagram-full.*):
drawn from the templates, every resource inside its region's container, the request path, replication and the
failover path, deterministic."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from drgen.bundle.reader import from_directory
from drgen.review import build_diagram
from drgen.review.architecture import build_architecture
from drgen.review.diagram import to_dot
from drgen.review.graph import build_graph, node_id, placed_resources
from drgen.scenario import PRESETS

from .conftest import template, write_tiny_bundle

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENGINES = [
    pytest.param("graphviz", marks=pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz `dot` not installed")),
    pytest.param(
        "matplotlib",
        marks=pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed"),
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["trading-ecs", "database-dr"])
def test_the_diagram_is_produced_and_byte_stable(name, engine, bundle_root):
    first = build_diagram(bundle_root / name, engine)
    assert set(first) == {"diagram.svg", "diagram.png", "diagram-full.svg", "diagram-full.png"}
    for svg, png in (("diagram.svg", "diagram.png"), ("diagram-full.svg", "diagram-full.png")):
        assert ET.fromstring(first[svg]).tag.endswith("svg")
        assert first[png].startswith(PNG_SIGNATURE)
        assert len(first[png]) > 20_000
        text = first[svg].decode()
        assert "Primary region" in text and "DR region" in text
    assert first == build_diagram(bundle_root / name, engine)


def test_the_default_engine_draws_without_arguments(bundle_root):
    files = build_diagram(bundle_root / "healthcare-lambda")
    assert files["diagram.png"].startswith(PNG_SIGNATURE)


def edges(name, bundle_root):
    graph = build_graph(from_directory(bundle_root / name))
    return {(e.source, e.target, e.label) for e in graph.edges}, graph


def test_replication_arrows_connect_the_data_stores(bundle_root):
    found, graph = edges("trading-ecs", bundle_root)
    assert ("primary_data_PrimaryCluster", "primary_data_GlobalCluster", "source (writer)") in found
    assert ("primary_data_GlobalCluster", "secondary_data_SecondaryCluster", "storage replication") in found
    assert ("primary_foundation_ArtifactsBucket", "secondary_foundation_ArtifactsBucket", "S3 replication") in found
    assert ("table_SessionsTable_eu_central_1", "table_SessionsTable_eu_west_2", "global table replication") in found
    assert graph.nodes["table_SessionsTable_eu_west_2"].cluster == "secondary"
    assert any(label == "secret replication" for _, _, label in found)
    assert set(graph.clusters) == {"primary", "secondary", "globaldb", "global"}


def test_the_failover_path_runs_from_alarms_through_health_checks_to_dns(bundle_root):
    found, _ = edges("database-dr", bundle_root)
    assert ("secondary_data_DatabaseConnectivityAlarm", "global_global_SecondaryHealthCheck", "alarm state") in found
    assert not any("Lag" in target for _, target, _ in found if target.startswith("global_global_"))
    # The PRIMARY record's gate: the primary's checks AND the DR region's failover-engaged alarm (static stability).
    assert ("global_global_PrimaryRecordHealthCheck", "global_global_PrimaryFailoverRecord", "gates") in found
    assert ("global_global_FailoverEngagedHealthCheck", "global_global_PrimaryRecordHealthCheck", "child") in found
    assert ("secondary_data_FailoverEngagedAlarm", "global_global_FailoverEngagedHealthCheck", "alarm state") in found
    assert ("global_global_PrimaryFailoverRecord", "primary_data_PrimaryCluster", "routes to") in found
    assert ("primary_foundation_Vpc", "secondary_foundation_Vpc", "VPC peering") in found


def test_dot_source_is_sorted_and_quoted(bundle_root):
    graph = build_graph(from_directory(bundle_root / "trading-asg"))
    dot = to_dot(graph)
    assert dot.startswith("digraph drgen {") and dot.rstrip().endswith("}")
    assert "subgraph cluster_primary" in dot and "subgraph cluster_secondary" in dot
    assert dot == to_dot(build_graph(from_directory(bundle_root / "trading-asg")))


def failover_bundle(tmp_path):
    """Health check -> alarm -> rule -> state machine -> functions that promote the DB and change DNS."""

    def role(action):
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": [action], "Resource": "*"}]},
                    }
                ],
            },
        }

    def function(role_id):
        return {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": [role_id, "Arn"]}}}

    resources = {
        "Check": {"Type": "AWS::Route53::HealthCheck", "Properties": {"HealthCheckConfig": {"Type": "HTTPS"}}},
        "CheckAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "app-primary-health",
                "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": "Check"}}],
            },
        },
        "Trigger": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {"detail": {"alarmName": ["app-primary-health"]}},
                "Targets": [{"Id": "sm", "Arn": {"Ref": "Failover"}}],
            },
        },
        "Failover": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "DefinitionSubstitutions": {
                    "Promote": {"Fn::GetAtt": ["Promote", "Arn"]},
                    "Dns": {"Fn::GetAtt": ["Dns", "Arn"]},
                }
            },
        },
        "Promote": function("PromoteRole"),
        "PromoteRole": role("rds:FailoverGlobalCluster"),
        "Dns": function("DnsRole"),
        "DnsRole": role("route53:ChangeResourceRecordSets"),
        "GlobalCluster": {"Type": "AWS::RDS::GlobalCluster", "Properties": {}},
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "example.com"}},
    }
    return write_tiny_bundle(tmp_path, {"global": template(resources)})


def test_the_failover_path_reaches_db_promotion_and_dns(tmp_path):
    found = {(e.source, e.target, e.label) for e in build_graph(from_directory(failover_bundle(tmp_path))).edges}
    path = [
        ("global_global_Check", "global_global_CheckAlarm", "status"),
        ("global_global_CheckAlarm", "global_global_Trigger", "alarm state"),
        ("global_global_Trigger", "global_global_Failover", "starts"),
        ("global_global_Failover", "global_global_Promote", "invokes"),
        ("global_global_Promote", "global_global_GlobalCluster", "promote DR cluster"),
        ("global_global_Failover", "global_global_Dns", "invokes"),
        ("global_global_Dns", "global_global_Zone", "DNS change"),
    ]
    assert [edge for edge in path if edge not in found] == []


# -- the drawing: every resource inside its region's container -------------------------------------------------
SVG_NS = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
REGIONAL = ("cluster_primary", "cluster_secondary", "cluster_global")
needs_dot = pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz `dot` not installed")


@functools.cache
def drawn(bundle_dir: Path) -> dict[str, bytes]:
    return build_diagram(bundle_dir, "graphviz")


def boxes(svg: bytes) -> dict[str, dict[str, tuple[float, float, float, float]]]:
    """Bounding boxes (x0, y0, x1, y1) of the drawn nodes and containers, by their Graphviz title."""
    found: dict[str, dict[str, tuple[float, float, float, float]]] = {"node": {}, "cluster": {}}
    for group in ET.fromstring(svg).iter(f"{SVG_NS}g"):
        kind = group.get("class")
        if kind not in found:
            continue
        xs: list[float] = []
        ys: list[float] = []
        for shape in group:
            if shape.tag in (f"{SVG_NS}path", f"{SVG_NS}polygon"):
                numbers = [float(n) for n in NUMBER.findall(shape.get("d") or shape.get("points") or "")]
                xs += numbers[0::2]
                ys += numbers[1::2]
            elif shape.tag == f"{SVG_NS}ellipse":
                cx, cy, rx, ry = (float(shape.get(a, 0)) for a in ("cx", "cy", "rx", "ry"))
                xs += [cx - rx, cx + rx]
                ys += [cy - ry, cy + ry]
        found[kind][group.findtext(f"{SVG_NS}title")] = (min(xs), min(ys), max(xs), max(ys))
    return found


def inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


@needs_dot
@pytest.mark.parametrize("view", ["diagram.svg", "diagram-full.svg"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_resource_is_drawn_inside_its_regions_container(name, view, bundle_root):
    bundle = from_directory(bundle_root / name)
    graph = build_architecture(bundle) if view == "diagram.svg" else build_graph(bundle)
    drawing = boxes(drawn(bundle_root / name)[view])
    assert set(drawing["node"]) == set(graph.nodes)
    assert {f"cluster_{c}" for c in graph.clusters} == set(drawing["cluster"])
    misplaced = []
    for node in graph.nodes.values():
        box = drawing["node"][node.id]
        home = f"cluster_{node.cluster}"
        others = [c for c in REGIONAL if c != home and c in drawing["cluster"]]
        if home in drawing["cluster"] and not inside(box, drawing["cluster"][home]):
            misplaced.append(f"{node.id} outside {home}")
        misplaced += [f"{node.id} inside {c}" for c in others if inside(box, drawing["cluster"][c])]
    assert misplaced == []


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_architecture_view_puts_each_resource_in_its_stacks_region(name, bundle_root):
    bundle = from_directory(bundle_root / name)
    graph = build_architecture(bundle)
    stacks = {node_id(stack, logical_id): stack for stack, logical_id in placed_resources(bundle)}
    assert set(graph.clusters) == {"primary", "secondary", "global"}
    assert 15 <= len(graph.nodes) <= 40, "a curated view, not a resource dump"
    for node in graph.nodes.values():
        if node.id in stacks:
            assert node.cluster == stacks[node.id].role, node.id
    # the DR cluster exists only in the DR stack (IsSecondary): drawn once, in the DR container
    assert graph.nodes["secondary_data_SecondaryCluster"].cluster == "secondary"
    assert not any(n.endswith("_SecondaryCluster") and n != "secondary_data_SecondaryCluster" for n in graph.nodes)
    assert not any("ConnectivityFunction" in n or "LagMonitor" in n for n in graph.nodes)


def has_path(graph, ids, kind="request"):
    found = {(e.source, e.target) for e in graph.edges if e.kind == kind}
    return [pair for pair in itertools.pairwise(ids) if pair not in found]


def test_the_architecture_view_shows_request_path_replication_and_failover(bundle_root):
    graph = build_architecture(from_directory(bundle_root / "trading-ecs"))
    for role, record in (("primary", "PrimaryFailoverRecord"), ("secondary", "SecondaryFailoverRecord")):
        cluster = "PrimaryCluster" if role == "primary" else "SecondaryCluster"
        path = [
            "clients",
            f"global_global_{record}",
            f"{role}_app_LoadBalancer",
            f"{role}_app_EcsService",
            f"{role}_data_{cluster}",
        ]
        assert has_path(graph, path) == []
        assert f"{role}_foundation_ArtifactsBucket" in {e.target for e in graph.edges if e.source == path[3]}
    assert (
        has_path(
            graph,
            ["primary_data_PrimaryCluster", "primary_data_GlobalCluster", "secondary_data_SecondaryCluster"],
            "replication",
        )
        == []
    )
    assert (
        has_path(graph, ["primary_foundation_ArtifactsBucket", "secondary_foundation_ArtifactsBucket"], "replication")
        == []
    )
    assert has_path(graph, ["table_SessionsTable_eu_central_1", "table_SessionsTable_eu_west_2"], "replication") == []
    machine = "secondary_orchestration_FailoverStateMachine"
    trigger = [
        "global_global_PrimaryHealthCheck",
        "global_global_PrimaryHealthCheckAlarm",
        "secondary_orchestration_FailoverTrigger",
        machine,
    ]
    assert has_path(graph, trigger, "failover") == []
    acts = {(e.target, e.label) for e in graph.edges if e.source == machine}
    assert acts >= {
        ("secondary_data_SecondaryCluster", "promote"),
        ("secondary_app_EcsService", "scale up"),
        ("global_global_PrimaryRecordHealthCheck", "DNS failover"),
    }


def test_the_serverless_request_path_runs_through_the_queue(bundle_root):
    graph = build_architecture(from_directory(bundle_root / "trading-serverless"))
    path = [
        "clients",
        "global_global_PrimaryFailoverRecord",
        "primary_app_Api",
        "primary_app_OrderIntakeFunction",
        "primary_app_TradeQueue",
        "primary_app_TradeProcessorFunction",
        "primary_data_PrimaryCluster",
    ]
    assert has_path(graph, path) == []
    assert has_path(graph, ["primary_app_TradeProcessorFunction", "primary_app_TradeQueue"]) != []  # no cycle
    assert has_path(graph, ["primary_app_OrderIntakeFunction", "table_LedgerTable_us_east_1"]) == []


def test_database_dns_routes_straight_to_the_clusters(bundle_root):
    graph = build_architecture(from_directory(bundle_root / "database-dr"))
    assert has_path(graph, ["clients", "global_global_PrimaryFailoverRecord", "primary_data_PrimaryCluster"]) == []
    assert (
        has_path(graph, ["clients", "global_global_SecondaryFailoverRecord", "secondary_data_SecondaryCluster"]) == []
    )


def test_a_rule_naming_its_alarm_by_ref_is_on_the_failover_path(bundle_root):
    found, _ = edges("trading-ecs", bundle_root)
    assert (
        "secondary_orchestration_PrimaryProbeAlarm",
        "secondary_orchestration_ProbeFailoverTrigger",
        "alarm state",
    ) in found


def test_the_architecture_dot_stacks_the_regions_below_the_global_layer(bundle_root):
    dot = to_dot(build_architecture(from_directory(bundle_root / "trading-asg")))
    assert "rankdir=TB" in dot and "subgraph cluster_global" in dot
    assert "style=invis, minlen=1" in dot and "{rank=same;" in dot
    assert dot.index("clients [") < dot.index("subgraph cluster_global")  # the clients stand outside every container
