"""AWS rules the sandbox does not evaluate, held against every rendered bundle.

moto stores a Route 53 health check's alarm and a target group's health-check settings without judging them; AWS
would refuse or ignore them. Each rule below is AWS's, with where it is documented.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from typing import Any

import pytest

from drgen.budget.views import read
from drgen.bundle.names import camel
from drgen.lambda_code import contract
from drgen.lambda_functions import EVENT_SOURCE_MAPPING_CALLS, calls_for, functions_for
from drgen.operate import lambdas
from drgen.render import render
from drgen.scenario import load
from drgen.scenario.model import Role
from drgen.scenario.presets import PRESETS

from .conftest import resources
from .conftest import stack as stack_entry

ALL = sorted(PRESETS)
ROUTE53_ALARM_STATISTICS = {"Average", "Minimum", "Maximum", "Sum", "SampleCount"}  # API_AlarmIdentifier


def _templates(bundle: Any) -> list[dict[str, Any]]:
    return [json.loads(body) for path, body in sorted(bundle.files.items()) if path.startswith("templates/")]


@pytest.mark.parametrize("name", ALL)
def test_route53_follows_only_standard_resolution_alarms(name, bundles):
    """Route 53 supports CloudWatch alarms on standard-resolution metrics only ("High-resolution metrics aren't
    supported") with one of the "Statistics: Average, Minimum, Maximum, Sum, and SampleCount. Extended statistics
    aren't supported" (https://docs.aws.amazon.com/Route53/latest/APIReference/API_AlarmIdentifier.html): so no
    percentile and no metric math, which has no statistic of its own. The DR probe's 10-second alarm can start the
    failover but must never gate a record."""
    high_resolution = {lambdas.module("probe", "app").PRIMARY_ENDPOINT_HEALTHY}
    docs = read(bundles[name].files)
    alarms = docs.alarms()  # by the name each gets in its stack, as Route 53 looks it up
    followed = 0
    for stack in docs.stacks:
        for logical_id, check in stack.resources("AWS::Route53::HealthCheck").items():
            config = check["Properties"]["HealthCheckConfig"]
            if config["Type"] != "CLOUDWATCH_METRIC":
                continue
            alarm = alarms[config["AlarmIdentifier"]["Name"]][2]
            assert alarm["Period"] % 60 == 0, logical_id
            assert alarm["MetricName"] not in high_resolution, logical_id
            assert alarm.get("Statistic") in ROUTE53_ALARM_STATISTICS, logical_id
            assert not {"ExtendedStatistic", "Metrics"} & set(alarm), logical_id
            followed += 1
    assert followed, "every preset gates a record on an alarm (the engaged signal at least)"


@pytest.mark.parametrize("name", ALL)
def test_target_group_checks_are_within_elbs_limits(name, bundles):
    """ELB: HealthCheckIntervalSeconds 5 to 300, HealthCheckTimeoutSeconds 2 to 120 and shorter than the interval,
    HealthyThresholdCount 2 to 10
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)."""
    for document in _templates(bundles[name]):
        for logical_id, group in resources(document, "AWS::ElasticLoadBalancingV2::TargetGroup").items():
            props = group["Properties"]
            interval = props.get("HealthCheckIntervalSeconds", 30)
            timeout = props.get("HealthCheckTimeoutSeconds", 30 if props.get("TargetType") == "lambda" else 5)
            assert 5 <= interval <= 300 and 2 <= timeout <= 120 and timeout < interval, logical_id
            assert 2 <= props.get("HealthyThresholdCount", 5) <= 10, logical_id


def _allowed(role: dict[str, Any]) -> list[tuple[list[str], list[Any]]]:
    """(actions, resources) of every Allow statement in the role's inline policies."""
    return [
        (statement["Action"], statement["Resource"])
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


def _may(role: dict[str, Any], action: str, key: Any) -> bool:
    return any(
        any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and key in resources
        for actions, resources in _allowed(role)
    )


def _replication_kms_rule(role: dict[str, Any], source_key: Any, replica_key: Any, bucket_key: bool) -> list[str]:
    """What S3 replication of SSE-KMS objects needs from the role S3 assumes, by AWS's rule
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html):
    kms:Decrypt on the source object's key, kms:Encrypt on the replica's key, and, with S3 Bucket Keys, "the AWS
    KMS key policy for the KMS key that's used to encrypt the object replica must include the kms:Decrypt
    permission for the calling principal". The keys' policies delegate to IAM, so the role's grants decide."""
    needs = [("kms:Decrypt", source_key), ("kms:Encrypt", replica_key)]
    if bucket_key:  # the replica keeps the source object's encryption settings, its Bucket Key included
        needs.append(("kms:Decrypt", replica_key))
    return [f"{action} on {key}" for action, key in needs if not _may(role, action, key)]


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].buckets])
def test_replication_roles_may_use_both_keys_as_s3_bucket_keys_require(name, bundles):
    """The primary's buckets replicate to the DR region by their template; after a failover the DR buckets
    replicate back by the rule lambda/failover/returns.py puts. moto evaluates no IAM or KMS, so a missing grant
    would show only on AWS, as replicas that never arrive."""
    templates = {path: json.loads(body) for path, body in bundles[name].files.items() if path.startswith("templates/")}
    foundation = templates["templates/foundation.json"]["Resources"]
    checked = 0
    for logical_id, bucket in resources({"Resources": foundation}, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        source_key = encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        configuration = props["ReplicationConfiguration"]["Fn::If"][1]
        role = foundation[configuration["Role"]["Fn::GetAtt"][0]]
        for rule in configuration["Rules"]:
            replica_key = rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"]
            missing = _replication_kms_rule(role, source_key, replica_key, encryption["BucketKeyEnabled"])
            assert not missing, f"{logical_id}: the replication role may not use {missing}"
            checked += 1
    # The way back: the DR buckets replicate to the primary's with the rule returns.py puts, the role and key it
    # is given. The same foundation template serves both regions, so the DR buckets use S3 Bucket Keys too, with
    # the key `source_key` names in the DR region's stack; the orchestration stack receives each region's key as
    # a parameter fed from that region's foundation output (the manifest's inputs say which).
    bundle = bundles[name]
    key_outputs = {
        o for o, out in templates["templates/foundation.json"]["Outputs"].items() if out["Value"] == source_key
    }
    orchestration_stack = stack_entry(bundle, "orchestration", "secondary")

    def key_parameter(role: str) -> dict[str, str]:
        foundation_stack = stack_entry(bundle, "foundation", role).name
        [parameter] = [
            p
            for p, i in orchestration_stack.inputs.items()
            if i["stack"] == foundation_stack and i["output"] in key_outputs
        ]
        return {"Ref": parameter}

    orchestration = templates["templates/orchestration.json"]["Resources"]
    [variables] = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources({"Resources": orchestration}, "AWS::Lambda::Function").values()
        if contract.RETURN_REPLICATION_ROLE_ARN in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    returns = lambdas.module("failover", "returns")
    put = returns.rule("primary-bucket", "the-key-it-is-given", "aws")["Destination"]["EncryptionConfiguration"]
    assert put == {"ReplicaKmsKeyID": "the-key-it-is-given"}
    assert variables[contract.PRIMARY_KMS_KEY_ARN] == key_parameter("primary")
    role = orchestration[variables[contract.RETURN_REPLICATION_ROLE_ARN]["Fn::GetAtt"][0]]
    missing = _replication_kms_rule(role, key_parameter("secondary"), key_parameter("primary"), True)
    assert not missing, f"the return replication role may not use {missing}"
    assert checked == len(PRESETS[name].buckets)


ENDPOINT_SERVICE = {"cloudwatch": "monitoring"}  # an endpoint's name where it differs from the IAM prefix
ROLE_CONDITION = {"primary": "IsPrimary", "secondary": "IsSecondary"}


def _in_role(resource: dict[str, Any], role: str) -> bool:
    condition = resource.get("Condition")
    assert condition in (None, *ROLE_CONDITION.values()), condition  # the model knows only these
    return condition in (None, ROLE_CONDITION[role])


def _services_of(actions: Any) -> set[str]:
    names = actions if isinstance(actions, list) else [actions]
    return {ENDPOINT_SERVICE.get(a.split(":")[0], a.split(":")[0]) for a in names}


@pytest.mark.parametrize("name", ALL)
def test_what_runs_in_a_vpc_without_nat_has_an_endpoint_for_every_api_it_calls(name, bundles):
    """Lambda: "When you connect a function to a VPC, it can access resources and the internet only through that
    VPC" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html); in a region without a NAT
    gateway that means a VPC endpoint per AWS service it calls (https://docs.aws.amazon.com/vpc/latest/privatelink/
    aws-services-privatelink-support.html), or each call times out. moto answers every call, reachable or not.
    The calls are the catalogue's (held against the code by tests/lambda/test_function_calls.py), less those an
    SQS event source mapping makes from outside the VPC; for ECS tasks, what their task role may do."""
    templates = {p: json.loads(b) for p, b in bundles[name].files.items() if p.startswith("templates/")}
    foundation = templates["templates/foundation.json"]["Resources"]
    catalogue = {f"{camel(f.key)}Function": f for f in functions_for(PRESETS[name])}
    checked = 0
    for role in ROLE_CONDITION:
        if any(r["Type"] == "AWS::EC2::NatGateway" and _in_role(r, role) for r in foundation.values()):
            continue
        reachable = {
            r["Properties"]["ServiceName"]["Fn::Sub"].split("${AWS::Region}.", 1)[1]
            for r in foundation.values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and _in_role(r, role)
        }
        for path, document in sorted(templates.items()):
            found = document["Resources"]
            for logical_id, function in resources(document, "AWS::Lambda::Function").items():
                if "VpcConfig" not in function["Properties"] or not _in_role(function, role):
                    continue
                calls = calls_for(catalogue[logical_id], PRESETS[name])
                called = _services_of([c for c in calls if c not in EVENT_SOURCE_MAPPING_CALLS])
                assert called <= reachable, (
                    f"{path} {logical_id} in the {role} region: no endpoint for {called - reachable}"
                )
                checked += 1
            for logical_id, task in resources(document, "AWS::ECS::TaskDefinition").items():
                task_role = found[task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]]
                granted = set().union(*(_services_of(actions) for actions, _ in _allowed(task_role)))
                assert granted <= reachable, (
                    f"{path} {logical_id} in the {role} region: no endpoint for {granted - reachable}"
                )
                checked += 1
    nat_everywhere = PRESETS[name].network.nat_count(Role.PRIMARY) and PRESETS[name].network.nat_count(Role.SECONDARY)
    assert checked or nat_everywhere


@pytest.mark.parametrize("standby_nat", [0, 1])
def test_the_dr_probe_reaches_cloudwatch_with_or_without_nat(standby_nat):
    """Without NAT the probe's metrics go to this VPC's monitoring endpoint; with NAT (and so no interface
    endpoints) to CloudWatch's public endpoint, which a group allowing HTTPS only to the VPC would block: the
    probe alarm would see no data, and the DR region's own failover signal would never fire."""
    base = load("database-dr", suffix="t")
    scenario = dataclasses.replace(base, network=dataclasses.replace(base.network, standby_nat_gateways=standby_nat))
    document = json.loads(render(scenario).files["templates/orchestration.json"])
    group = document["Resources"]["ProbeSecurityGroup"]
    https = [rule for rule in group["Properties"]["SecurityGroupEgress"] if rule["FromPort"] == 443]
    expected = "0.0.0.0/0" if standby_nat else base.network.secondary_cidr
    assert [rule["CidrIp"] for rule in https] == [expected]
