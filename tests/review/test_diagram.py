"""diagram.svg / diagram.png: drawn from the templates, replication and failover edges, deterministic."""

from __future__ import annotations

import importlib.util
import shutil
import xml.etree.ElementTree as ET

import pytest

from drgen.review import build_diagram
from drgen.review.bundle import load_bundle
from drgen.review.diagram import to_dot
from drgen.review.graph import build_graph

from .conftest import template, write_tiny_bundle

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENGINES = [
    pytest.param("graphviz", marks=pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz `dot` not installed")),
    pytest.param("matplotlib", marks=pytest.mark.skipif(
        importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed")),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["trading-ecs", "database-dr"])
def test_the_diagram_is_produced_and_byte_stable(name, engine, bundle_root):
    first = build_diagram(bundle_root / name, engine)
    assert set(first) == {"diagram.svg", "diagram.png"}
    root = ET.fromstring(first["diagram.svg"])
    assert root.tag.endswith("svg")
    assert first["diagram.png"].startswith(PNG_SIGNATURE)
    assert len(first["diagram.png"]) > 20_000
    text = first["diagram.svg"].decode()
    assert "Primary region" in text and "DR region" in text
    assert first == build_diagram(bundle_root / name, engine)


def test_the_default_engine_draws_without_arguments(bundle_root):
    files = build_diagram(bundle_root / "healthcare-lambda")
    assert files["diagram.png"].startswith(PNG_SIGNATURE)


def edges(name, bundle_root):
    graph = build_graph(load_bundle(bundle_root / name))
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
    graph = build_graph(load_bundle(bundle_root / "trading-asg"))
    dot = to_dot(graph)
    assert dot.startswith("digraph drgen {") and dot.rstrip().endswith("}")
    assert "subgraph cluster_primary" in dot and "subgraph cluster_secondary" in dot
    assert dot == to_dot(build_graph(load_bundle(bundle_root / "trading-asg")))


def failover_bundle(tmp_path):
    """Health check -> alarm -> rule -> state machine -> functions that promote the DB and change DNS."""
    def role(action):
        return {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": [action], "Resource": "*"}]}}]}}

    def function(role_id):
        return {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": [role_id, "Arn"]}}}

    resources = {
        "Check": {"Type": "AWS::Route53::HealthCheck", "Properties": {"HealthCheckConfig": {"Type": "HTTPS"}}},
        "CheckAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": "app-primary-health", "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": "Check"}}]}},
        "Trigger": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"detail": {"alarmName": ["app-primary-health"]}},
            "Targets": [{"Id": "sm", "Arn": {"Ref": "Failover"}}]}},
        "Failover": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionSubstitutions": {
            "Promote": {"Fn::GetAtt": ["Promote", "Arn"]}, "Dns": {"Fn::GetAtt": ["Dns", "Arn"]}}}},
        "Promote": function("PromoteRole"),
        "PromoteRole": role("rds:FailoverGlobalCluster"),
        "Dns": function("DnsRole"),
        "DnsRole": role("route53:ChangeResourceRecordSets"),
        "GlobalCluster": {"Type": "AWS::RDS::GlobalCluster", "Properties": {}},
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "example.com"}},
    }
    return write_tiny_bundle(tmp_path, {"global": template(resources)})


def test_the_failover_path_reaches_db_promotion_and_dns(tmp_path):
    found = {(e.source, e.target, e.label) for e in build_graph(load_bundle(failover_bundle(tmp_path))).edges}
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
