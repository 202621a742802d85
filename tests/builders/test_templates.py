"""Behaviour of the rendered templates, per preset: what a DR reviewer checks first."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.errors import ScenarioError
from drgen.lambda_functions import functions_for
from drgen.layers import LAYERS
from drgen.naming import PLACEHOLDER_ACCOUNT, Names
from drgen.scenario import PRESETS, load
from drgen.scenario.model import HealthCheckType, Role

from ..conftest import resources, stack, template

ALL = sorted(PRESETS)
# The zone layer exists only with routing.create_zone (no preset asks for it).
LAYER_NAMES = [layer.name for layer in LAYERS if layer.name != "zone"]


def only(mapping: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    assert len(mapping) == 1, sorted(mapping)
    return next(iter(mapping.items()))


ACCOUNT = PLACEHOLDER_ACCOUNT


def substitute(value: Any, region: str, peer: str) -> str:
    """Resolve a Sub name as CloudFormation would in ``region``."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    text = text.replace("${AWS::Region}", region).replace("${PeerRegion}", peer).replace("${AWS::Partition}", "aws")
    return text.replace("${AWS::AccountId}", ACCOUNT)


def clusters(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    by_condition = {v.get("Condition"): v for v in resources(doc, "AWS::RDS::DBCluster").values()}
    return by_condition["IsPrimary"], by_condition["IsSecondary"]


@pytest.mark.parametrize("name", ALL)
def test_secondary_cluster_has_no_credentials_and_joins_the_global_cluster(name, bundles):
    bundle = bundles[name]
    doc = template(bundle, "data")
    primary, secondary = clusters(doc)
    props = secondary["Properties"]
    assert "MasterUsername" not in props and "MasterUserPassword" not in props
    assert props["GlobalClusterIdentifier"] == {"Ref": "GlobalClusterIdentifier"}
    # the parameter is fed from the primary data stack's output, which is the global cluster
    dr = stack(bundle, "data", "secondary")
    source = dr.inputs["GlobalClusterIdentifier"]
    assert source["stack"] == stack(bundle, "data", "primary").name
    _, global_cluster = only(resources(doc, "AWS::RDS::GlobalCluster"))
    assert global_cluster["Condition"] == "IsPrimary"
    output = doc["Outputs"][source["output"]]["Value"]
    assert output["Ref"] in {k for k, v in doc["Resources"].items() if v["Type"] == "AWS::RDS::GlobalCluster"}
    # the primary takes its password from the generated, replicated secret (never a literal)
    assert "{{resolve:secretsmanager:" in json.dumps(primary["Properties"]["MasterUserPassword"])


@pytest.mark.parametrize("name", ALL)
def test_clusters_are_encrypted_with_their_own_regions_key_and_destroyable(name, bundles):
    doc = template(bundles[name], "data")
    for cluster in clusters(doc):
        assert cluster["Properties"]["StorageEncrypted"] is True
        assert cluster["Properties"]["KmsKeyId"] == {"Ref": "KmsKeyArn"}
    for rtype in sorted(STATEFUL_TYPES):
        for layer in ("foundation", "data"):
            for logical, res in resources(template(bundles[name], layer), rtype).items():
                assert res.get("DeletionPolicy") == "Delete", (layer, logical)


@pytest.mark.parametrize("name", ALL)
def test_database_class_matches_the_seed(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "data")
    classes = {r["Properties"]["DBInstanceClass"] for r in resources(doc, "AWS::RDS::DBInstance").values()}
    assert classes == {s.database.instance_class}
    primary, _ = clusters(doc)
    if s.database.serverless:
        scaling = primary["Properties"]["ServerlessV2ScalingConfiguration"]
        assert scaling["MinCapacity"] == s.database.serverless_min_acu
    assert primary["Properties"]["BackupRetentionPeriod"] == s.database.backup_retention_days


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].buckets])
def test_primary_buckets_replicate_to_the_dr_buckets_with_the_dr_key(name, bundles):
    s = PRESETS[name]
    bundle = bundles[name]
    doc = template(bundle, "foundation")
    buckets = resources(doc, "AWS::S3::Bucket")
    assert len(buckets) == len(s.buckets)
    for spec in s.buckets:
        (bucket,) = (v for v in buckets.values() if f"-{spec.purpose}-" in v["Properties"]["BucketName"]["Fn::Sub"])
        props = bucket["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled"
        replication = props["ReplicationConfiguration"]["Fn::If"]
        assert replication[0] == "IsPrimary" and replication[2] == {"Ref": "AWS::NoValue"}
        rule = replication[1]["Rules"][0]
        destination = rule["Destination"]
        # in the primary region the destination resolves to the bucket this template names in the DR region
        resolved = substitute(destination["Bucket"], s.regions.primary, s.regions.secondary)
        dr_bucket = substitute(props["BucketName"], s.regions.secondary, s.regions.primary)
        assert resolved == f"arn:aws:s3:::{dr_bucket}"
        assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == {"Ref": "PeerKmsKeyArn"}
    primary_foundation = stack(bundle, "foundation", "primary")
    assert primary_foundation.inputs["PeerKmsKeyArn"]["stack"] == stack(bundle, "foundation", "secondary").name


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].buckets])
def test_buckets_block_public_access_and_expire_as_the_seed_says(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "foundation")
    for bucket in resources(doc, "AWS::S3::Bucket").values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(
            block[k] is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        )
        assert "KMSMasterKeyID" in json.dumps(bucket["Properties"]["BucketEncryption"])
    for spec in s.buckets:
        if spec.expire_days:
            rules = json.dumps(
                [b["Properties"]["LifecycleConfiguration"] for b in resources(doc, "AWS::S3::Bucket").values()]
            )
            assert f'"ExpirationInDays": {spec.expire_days}' in rules


@pytest.mark.parametrize("name", ALL)
def test_health_checks_match_the_seed(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "global")
    wanted = s.routing.health_check
    checks = [r["Properties"]["HealthCheckConfig"] for r in resources(doc, "AWS::Route53::HealthCheck").values()]
    kinds = {c["Type"] for c in checks}
    if wanted.type is HealthCheckType.CLOUDWATCH_METRIC:
        assert kinds == {"CLOUDWATCH_METRIC", "CALCULATED"}
        calculated = [c for c in checks if c["Type"] == "CALCULATED"]
        # Only the PRIMARY record's gate (connectivity AND not engaged). Each region's record follows its database
        # connectivity alone: a SECONDARY gated on lag would send clients to the failed primary (Route 53 answers
        # PRIMARY whenever SECONDARY is unhealthy); lag stays in its alarm, the readiness test and the guard.
        assert [len(c["ChildHealthChecks"]) for c in calculated] == [2]
        metrics = sorted(c["AlarmIdentifier"]["Name"] for c in checks if c["Type"] == "CLOUDWATCH_METRIC")
        assert [("db-connectivity" in m, "failover-engaged" in m) for m in metrics] == [(True, False)] * 2 + [
            (False, True)
        ]
    else:
        # The endpoint checks, plus the PRIMARY record's gate on the DR region's failover-engaged alarm.
        assert kinds == {wanted.type.value, "CALCULATED", "CLOUDWATCH_METRIC"}
        for c in (c for c in checks if c["Type"] == wanted.type.value):
            assert c["RequestInterval"] == wanted.interval_seconds
            assert c["FailureThreshold"] == wanted.failure_threshold
            assert c["ResourcePath"] == wanted.path
            if wanted.type is HealthCheckType.HTTPS_STR_MATCH:
                assert c["SearchString"] == wanted.search_string


@pytest.mark.parametrize("name", ALL)
def test_failover_records_point_primary_and_secondary_at_the_two_regions(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "global")
    records = {
        r["Properties"]["Failover"]: r["Properties"]
        for r in resources(doc, "AWS::Route53::RecordSet").values()
        if "Failover" in r["Properties"]
    }
    assert set(records) == {"PRIMARY", "SECONDARY"}
    for role, record in records.items():
        assert record["Name"] == f"{s.routing.record}.{s.routing.domain}."
        # only PRIMARY is gated: a SECONDARY that could turn unhealthy sends clients to PRIMARY (test_route53_model)
        assert ("HealthCheckId" in record) is (role == "PRIMARY")
        assert (record.get("AliasTarget") or {}).get("EvaluateTargetHealth", False) is (
            role == "PRIMARY" and "AliasTarget" in record
        )
        target = json.dumps(record.get("AliasTarget") or record.get("ResourceRecords"))
        assert ("Primary" if role == "PRIMARY" else "Secondary") in target


@pytest.mark.parametrize("name", ALL)
def test_lag_alarm_threshold_matches_the_seed_in_the_metrics_unit(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "data")
    lag = [
        a
        for a in resources(doc, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "AuroraGlobalDBReplicationLag"
    ]
    (alarm,) = lag
    assert alarm["Condition"] == "IsSecondary"  # the metric exists only in the secondary region
    assert alarm["Properties"]["Namespace"] == "AWS/RDS"
    assert alarm["Properties"]["Threshold"] == s.database.lag_alarm_seconds * 1000  # milliseconds


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].sessions.enabled])
def test_sessions_global_table_has_pitr_and_a_key_per_replica(name, bundles):
    doc = template(bundles[name], "data")
    table = resources(doc, "AWS::DynamoDB::GlobalTable")["SessionsTable"]
    assert table["Condition"] == "IsPrimary"
    replicas = table["Properties"]["Replicas"]
    assert [r["Region"] for r in replicas] == [{"Ref": "AWS::Region"}, {"Ref": "PeerRegion"}]
    assert [r["SSESpecification"]["KMSMasterKeyId"] for r in replicas] == [
        {"Ref": "KmsKeyArn"},
        {"Ref": "PeerKmsKeyArn"},
    ]
    assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in replicas)


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].network.peering])
def test_peering_routes_exist_on_both_sides(name, bundles):
    s = PRESETS[name]
    bundle = bundles[name]
    foundation, data = template(bundle, "foundation"), template(bundle, "data")
    _, peering = only(resources(foundation, "AWS::EC2::VPCPeeringConnection"))
    assert peering["Condition"] == "IsPrimary"
    assert peering["Properties"]["PeerRegion"] == {"Ref": "PeerRegion"}
    requester = [
        r for r in resources(foundation, "AWS::EC2::Route").values() if "VpcPeeringConnectionId" in r["Properties"]
    ]
    accepter = [r for r in resources(data, "AWS::EC2::Route").values() if "VpcPeeringConnectionId" in r["Properties"]]
    assert len(requester) == len(accepter) == s.network.az_count
    assert {r["Properties"]["DestinationCidrBlock"] for r in requester} == {s.network.secondary_cidr}
    assert {r["Properties"]["DestinationCidrBlock"] for r in accepter} == {s.network.primary_cidr}
    assert all(r["Condition"] == "IsSecondary" for r in accepter)
    assert (
        stack(bundle, "data", "secondary").inputs["PeeringConnectionId"]["stack"]
        == stack(bundle, "foundation", "primary").name
    )


@pytest.mark.parametrize("name", ALL)
def test_nat_gateways_per_role_follow_the_seed(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "foundation")
    nats = resources(doc, "AWS::EC2::NatGateway").values()
    conditions = doc.get("Conditions", {})

    def count(role: str) -> int:
        return sum(1 for n in nats if _holds(conditions, n.get("Condition"), role))

    from drgen.scenario.model import Role

    assert count("primary") == s.network.nat_count(Role.PRIMARY)
    assert count("secondary") == s.network.nat_count(Role.SECONDARY)
    endpoints = resources(doc, "AWS::EC2::VPCEndpoint")
    assert any("s3" in json.dumps(e["Properties"]["ServiceName"]) for e in endpoints.values())


def _holds(conditions: dict[str, Any], name: str | None, role: str) -> bool:
    """Evaluate a condition for a Role parameter value (Equals/And/Or/Not over Ref Role)."""
    if name is None:
        return True

    def ev(expr: Any) -> Any:
        if isinstance(expr, dict):
            ((fn, arg),) = expr.items()
            if fn == "Fn::Equals":
                return ev(arg[0]) == ev(arg[1])
            if fn == "Fn::And":
                return all(ev(a) for a in arg)
            if fn == "Fn::Or":
                return any(ev(a) for a in arg)
            if fn == "Fn::Not":
                return not ev(arg[0])
            if fn == "Condition":
                return ev(conditions[arg])
            if fn == "Ref" and arg == "Role":
                return role
            raise AssertionError(f"cannot evaluate {expr}")
        return expr

    return ev(conditions[name])


@pytest.mark.parametrize("name", ALL)
def test_scenario_tags_on_every_taggable_resource(name, bundles):
    s = PRESETS[name]
    for layer in LAYER_NAMES:
        doc = template(bundles[name], layer)
        for logical, res in doc["Resources"].items():
            tags = res.get("Properties", {}).get("Tags")
            if tags is None:
                continue
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags}
            assert {k for k, _ in s.tags} <= keys, (layer, logical)


NAME_PROPERTIES = (
    "BucketName",
    "DBClusterIdentifier",
    "GlobalClusterIdentifier",
    "RoleName",
    "TopicName",
    "QueueName",
    "TableName",
    "AlarmName",
    "DashboardName",
    "Name",
    "AliasName",
    "DBInstanceIdentifier",
    "FunctionName",
    "StateMachineName",
    "ClusterName",
    "LogGroupName",
    "AutoScalingGroupName",
    "RepositoryName",
    "PolicyName",
)


@pytest.mark.parametrize("name", ALL)
def test_every_explicit_name_carries_the_suffix(name):
    bundle = __import__("drgen.render", fromlist=["render"]).render(load(name, suffix="sfx9"))
    for layer in LAYER_NAMES:
        doc = json.loads(bundle.files[f"templates/{layer}.json"])
        for logical, res in doc["Resources"].items():
            if res["Type"].startswith("AWS::Route53::"):
                continue  # DNS names are the scenario's domain, not ours to suffix
            for prop in NAME_PROPERTIES:
                value = res.get("Properties", {}).get(prop)
                # a Ref or GetAtt names another resource (or a parameter), not an explicit name of this one
                if isinstance(value, (str, dict)) and not {"Ref", "Fn::GetAtt"} & set(_keys(value)):
                    assert "sfx9" in json.dumps(value), (layer, logical, prop, value)


def _keys(value: Any) -> list[str]:
    """Every mapping key below ``value`` (intrinsic function names included)."""
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in (key, *_keys(item))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


@pytest.mark.parametrize("name", ALL)
def test_dashboard_plots_the_recovery_time_achieved_against_the_rto(name, bundles):
    """The notify step publishes each run's duration in the DR region, where the machine runs; the dashboard
    plots both directions there with the scenario's RTO as a line."""
    scenario = PRESETS[name]
    if not scenario.alerting.dashboard:
        pytest.skip("no dashboard")
    doc = template(bundles[name], "global")
    pattern, _ = doc["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    [widget] = [
        w["properties"]
        for w in json.loads(pattern)["widgets"]
        if {m[1] for m in w["properties"].get("metrics", []) if isinstance(m[0], str)}
        == {"FailoverDuration", "FailbackDuration"}
    ]
    assert widget["region"] == scenario.regions.secondary
    assert {m[0] for m in widget["metrics"]} == {f"drgen/{name}"}
    assert [line["value"] for line in widget["annotations"]["horizontal"]] == [scenario.objectives.rto_seconds]


@pytest.mark.parametrize("name", ALL)
def test_dashboard_shows_readiness_connectivity_and_the_application_per_region(name, bundles):
    """Seeds 000-30/000-69/000-81, 001-18/001-60, 002-27/002-29: per region the readiness and connectivity
    metrics, and for load-balanced scenarios the ALB's health, requests and 5XX, the ECS tasks or the Lambda
    invocations; deploy-time dimensions come from the app stacks' outputs."""
    scenario = PRESETS[name]
    if not scenario.alerting.dashboard:
        pytest.skip("no dashboard")
    doc = template(bundles[name], "global")
    pattern, variables = doc["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = [w["properties"] for w in json.loads(pattern)["widgets"]]
    regions = (scenario.regions.primary, scenario.regions.secondary)

    def metrics_in(region: str) -> set[tuple[str, str]]:
        return {
            (m[0], m[1])
            for w in widgets
            if w["region"] == region
            for m in w.get("metrics", [])
            if isinstance(m[0], str)
        }

    namespace = f"drgen/{name}"
    kind = scenario.compute.kind.value
    bundle_functions = functions_for(load(name, suffix="dev"))
    for title, region in zip(("Primary", "Secondary"), regions, strict=True):
        # Both regions' function logs are read in one place: a Logs Insights query per region over every
        # function deployed there.
        (logs,) = [w for w in widgets if "query" in w and w["region"] == region]
        role = Role.PRIMARY if title == "Primary" else Role.SECONDARY
        wanted = {f"/aws/lambda/{PRESETS[name].prefix}-{f.key}-dev" for f in bundle_functions if role in f.roles}
        assert set(re.findall(r"SOURCE '([^']+)'", logs["query"])) == wanted
        assert "ERROR" in logs["query"]
        found = metrics_in(region)
        assert {(namespace, "FailoverReadiness"), (namespace, "DatabaseConnectivity")} <= found
        if kind not in ("ecs", "asg", "lambda"):
            continue
        alb = {("AWS/ApplicationELB", m) for m in ("HealthyHostCount", "RequestCount", "HTTPCode_Target_5XX_Count")}
        assert alb <= found
        assert (("ECS/ContainerInsights", "RunningTaskCount") in found) == (kind == "ecs")
        assert (("AWS/Lambda", "Invocations") in found) == (kind == "lambda")
        for output in ("LoadBalancerFullName", "TargetGroupFullName"):
            assert variables[f"{title}{output}"] == {"Ref": f"{title}{output}"}
            assert f"${{{title}{output}}}" in pattern
            assert output in template(bundles[name], "app")["Outputs"]


@pytest.mark.parametrize("name", ALL)
def test_every_bucket_name_carries_the_account_id_so_no_other_account_can_take_it(name, bundles):
    """S3 bucket names are unique across all accounts of a partition (bucketnamingrules.html): a name without the
    account id is taken by the first account, or squatter, that deploys the same preset and suffix."""
    for path, data in bundles[name].files.items():
        if not path.endswith(".json") or not path.startswith("templates/"):
            continue
        for logical, resource in json.loads(data).get("Resources", {}).items():
            if resource["Type"] == "AWS::S3::Bucket":
                bucket_name = resource["Properties"]["BucketName"]["Fn::Sub"]
                assert "${AWS::AccountId}" in bucket_name, (path, logical)
                assert len(substitute(bucket_name, "ap-southeast-4", "ap-southeast-4")) <= 63


def test_the_suffix_limit_counts_the_account_id_exactly():
    scenario = load("trading-ecs", suffix="dev")
    names = Names(scenario)
    longest = max(
        len(names.for_region("bucket", b.purpose, r, ACCOUNT))
        for b in scenario.buckets
        for r in (scenario.regions.primary, scenario.regions.secondary)
    )
    room = 63 - (longest - len("dev"))
    assert room == 15  # "trading-ecs-artifacts-<12 digits>-eu-central-1-": 48 characters before the suffix
    for b in scenario.buckets:
        Names(dataclasses.replace(scenario, suffix="s" * room)).regional("bucket", b.purpose)
    with pytest.raises(ScenarioError, match=f"use a suffix of at most {room} characters"):
        for b in scenario.buckets:
            Names(dataclasses.replace(scenario, suffix="s" * (room + 1))).regional("bucket", b.purpose)
