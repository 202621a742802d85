"""The app and orchestration layers per preset: compute in both regions at the right capacity, endpoints with
TLS and health paths, the functions from the catalogue with logs, tracing and schedules, and the wiring the
global stack and the failover read."""

from __future__ import annotations

import ast
import dataclasses
import json
from dataclasses import replace
from typing import Any

import pytest

from drgen.bundle.names import camel
from drgen.errors import ScenarioError
from drgen.lambda_code import LAMBDA_ROOT
from drgen.lambda_functions import functions_for
from drgen.packaging import ARTIFACT_BUCKET_PARAMETER, key_parameter
from drgen.render import render
from drgen.scenario import PRESETS, load
from drgen.scenario.model import ComputeKind, Role
from drgen.scenario.validate import validate

from ..conftest import resources, stack, template

ALL = sorted(PRESETS)
ROLES = ("primary", "secondary")
FUNCTION_LAYERS = ("app", "orchestration")


def of_kind(kind: ComputeKind) -> list[str]:
    return [n for n in ALL if PRESETS[n].compute.kind is kind]


def resolve(value: Any, role: str) -> Any:
    """A value as CloudFormation sees it in the ``role`` stack (Fn::If on the role conditions chosen)."""
    if isinstance(value, dict):
        if list(value) == ["Fn::If"] and value["Fn::If"][0] in ("IsPrimary", "IsSecondary"):
            condition, yes, no = value["Fn::If"]
            holds = (condition == "IsPrimary") == (role == "primary")
            return resolve(yes if holds else no, role)
        return {k: resolve(v, role) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, role) for v in value]
    return value


def exists(resource: dict[str, Any], role: str) -> bool:
    condition = resource.get("Condition")
    return condition is None or (condition == "IsPrimary") == (role == "primary")


def only(doc: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    found = resources(doc, rtype)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def functions_in(bundles: dict[str, Any], name: str) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Function name (catalogue key) -> (layer, template, resource), across the layers that carry functions."""
    found = {}
    for layer in FUNCTION_LAYERS:
        doc = template(bundles[name], layer)
        for logical, res in resources(doc, "AWS::Lambda::Function").items():
            found[logical.removesuffix("Function")] = (layer, doc, res)
    return found


# -- compute -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", of_kind(ComputeKind.ECS))
def test_ecs_service_runs_in_both_regions_with_capacity_per_role(name, bundles):
    s = PRESETS[name].compute
    doc = template(bundles[name], "app")
    _, service = only(doc, "AWS::ECS::Service")
    _, target = only(doc, "AWS::ApplicationAutoScaling::ScalableTarget")
    for role, count in (("primary", s.active_capacity), ("secondary", s.dr_capacity)):
        assert exists(service, role)
        assert resolve(service["Properties"]["DesiredCount"], role) == count
        assert resolve(target["Properties"]["MinCapacity"], role) == count
    assert target["Properties"]["MaxCapacity"] == s.max_capacity
    props = service["Properties"]
    assert props["LaunchType"] == "FARGATE"
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    _, task = only(doc, "AWS::ECS::TaskDefinition")
    container = _application_container(task)
    assert "ContainerImageTag" in json.dumps(container["Image"])
    assert template(bundles[name], "app")["Parameters"]["ContainerImageTag"]["Default"] == "v1"
    assert resources(doc, "AWS::ApplicationAutoScaling::ScalingPolicy")
    # the image comes from this region's repository through the ECR endpoints (no NAT in this VPC)
    foundation = template(bundles[name], "foundation")
    _, repository = only(foundation, "AWS::ECR::Repository")
    assert repository["Properties"]["EmptyOnDelete"] is True and repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    services = {
        json.dumps(e["Properties"]["ServiceName"]) for e in resources(foundation, "AWS::EC2::VPCEndpoint").values()
    }
    assert {s for s in services if ".ecr." in s} == {
        '{"Fn::Sub": "com.amazonaws.${AWS::Region}.ecr.api"}',
        '{"Fn::Sub": "com.amazonaws.${AWS::Region}.ecr.dkr"}',
    }


def _application_container(task: dict[str, Any]) -> dict[str, Any]:
    """The essential container (beside it runs the non-essential X-Ray daemon)."""
    (container,) = [c for c in task["Properties"]["ContainerDefinitions"] if c["Essential"]]
    return container


@pytest.mark.parametrize("name", of_kind(ComputeKind.ECS))
def test_ecs_task_reads_and_writes_its_regions_sessions_and_reads_the_artifacts(name, bundles):
    """Seed 000-33: the task role reaches this region's sessions replica and the artifacts bucket, and the
    container is told their names."""
    scenario = load(name, suffix="dev")
    doc = template(bundles[name], "app")
    _, task = only(doc, "AWS::ECS::TaskDefinition")
    environment = {e["Name"]: e["Value"] for e in _application_container(task)["Environment"]}
    role = doc["Resources"][task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_resource = {json.dumps(r): s["Action"] for s in statements for r in s["Resource"]}
    table = f"{scenario.prefix}-{scenario.sessions.table}-dev"
    assert environment["SESSIONS_TABLE"] == table
    table_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"}
    assert sorted(by_resource[json.dumps(table_arn)]) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    bucket = f"{scenario.prefix}-artifacts-${{AWS::AccountId}}-${{AWS::Region}}-dev"
    assert environment["ARTIFACTS_BUCKET"] == {"Fn::Sub": bucket}
    assert by_resource[json.dumps({"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/*"})] == ["s3:GetObject"]


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].compute.kind is not ComputeKind.ECS])
def test_only_ecs_scenarios_get_an_image_repository_and_ecr_endpoints(name, bundles):
    foundation = template(bundles[name], "foundation")
    assert not resources(foundation, "AWS::ECR::Repository")
    assert not resources(foundation, "AWS::ECR::PullThroughCacheRule")
    assert ".ecr." not in json.dumps(resources(foundation, "AWS::EC2::VPCEndpoint"))


@pytest.mark.parametrize("name", of_kind(ComputeKind.ECS))
def test_ecs_tasks_trace_requests_through_an_x_ray_daemon_beside_the_application(name, bundles):
    """Seed 000: X-Ray tracing for distributed request tracking. The daemon's image comes from the account's own
    ECR in each region (no public pull: this VPC has no NAT, and a pull-through cache's first pull through
    interface endpoints needs one, https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html);
    its traces leave through the X-Ray endpoint."""
    reference = PRESETS[name].compute.tracing_image
    assert reference and not reference.startswith("public.ecr.aws")
    foundation = template(bundles[name], "foundation")
    assert not resources(foundation, "AWS::ECR::PullThroughCacheRule")
    assert ".xray" in json.dumps(resources(foundation, "AWS::EC2::VPCEndpoint"))
    doc = template(bundles[name], "app")
    _, task = only(doc, "AWS::ECS::TaskDefinition")
    containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
    daemon = containers["xray-daemon"]
    assert daemon["Image"] == {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + reference}
    assert daemon["Essential"] is False  # tracing never stops the service
    assert daemon["PortMappings"] == [{"ContainerPort": 2000, "Protocol": "udp"}]
    (app,) = [c for c in containers.values() if c is not daemon]
    assert {"Name": "AWS_XRAY_DAEMON_ADDRESS", "Value": "127.0.0.1:2000"} in app["Environment"]
    role = doc["Resources"][task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]]
    statements = [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]
    actions = {a for st in statements for a in st["Action"]}
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions
    execution = doc["Resources"][task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]]
    pulls = json.dumps(execution["Properties"]["Policies"])
    assert "BatchImportUpstreamImage" not in pulls
    assert f"repository/{reference.split(':')[0]}" in pulls


def test_a_named_image_runs_from_the_accounts_registry_in_each_region_and_no_repository_is_made():
    scenario = load("trading-ecs", suffix="dev")
    image = "team/orders@sha256:" + "a" * 64
    compute = dataclasses.replace(scenario.compute, image=image, tracing_image=None)
    named = dataclasses.replace(scenario, compute=compute)
    files = render(named).files
    foundation, app = json.loads(files["templates/foundation.json"]), json.loads(files["templates/app.json"])
    assert not resources(foundation, "AWS::ECR::Repository")
    _, task = only(app, "AWS::ECS::TaskDefinition")
    (container,) = task["Properties"]["ContainerDefinitions"]  # no tracing image: no daemon
    assert container["Image"] == {
        "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/team/orders@sha256:" + "a" * 64
    }
    assert "AWS_XRAY_DAEMON_ADDRESS" not in json.dumps(container["Environment"])
    execution = app["Resources"][task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]]
    assert 'repository/team/orders"' in json.dumps(execution["Properties"]["Policies"])
    assert json.loads(files["manifest.json"])["deployment"]["image"] == {
        "kind": "ecs",
        "ref": "team/orders@sha256:" + "a" * 64,
    }


@pytest.mark.parametrize(
    ("kind", "image", "problem"),
    [
        ("trading-ecs", "public.ecr.aws/nginx/nginx:1", "is not 'repository:tag'"),
        ("trading-ecs", "App:v1", "is not 'repository:tag'"),
        ("trading-asg", "ami-0123456789abcdef0", "is not an SSM parameter name"),
        ("healthcare-lambda", "app:v1", "runs drgen's functions, not an image"),
    ],
)
def test_an_image_the_compute_cannot_run_is_refused_with_the_fix(kind, image, problem):
    scenario = load(kind, suffix="dev")
    with pytest.raises(ScenarioError, match=problem):
        validate(dataclasses.replace(scenario, compute=dataclasses.replace(scenario.compute, image=image)))


@pytest.mark.parametrize("name", of_kind(ComputeKind.ASG))
def test_auto_scaling_standby_runs_minimal_capacity_and_scales_out(name, bundles):
    s = PRESETS[name].compute
    doc = template(bundles[name], "app")
    _, group = only(doc, "AWS::AutoScaling::AutoScalingGroup")
    props = group["Properties"]
    for role, count in (("primary", s.active_capacity), ("secondary", s.dr_capacity)):
        assert resolve(props["MinSize"], role) == resolve(props["DesiredCapacity"], role) == count
    assert props["MaxSize"] == str(s.max_capacity)
    assert props["HealthCheckType"] == "ELB"
    _, policy = only(doc, "AWS::AutoScaling::ScalingPolicy")
    assert policy["Properties"]["AutoScalingGroupName"] == {"Ref": "AutoScalingGroup"}
    assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
    _, launch = only(doc, "AWS::EC2::LaunchTemplate")
    data = launch["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(
        m["Ebs"]["Encrypted"] and m["Ebs"]["KmsKeyId"] == {"Ref": "KmsKeyArn"}  # the region's key
        for m in data["BlockDeviceMappings"]
    )
    # In transit all the way: the ALB reaches the instances over HTTPS, with a certificate each makes at boot.
    _, group_ = only(doc, "AWS::ElasticLoadBalancingV2::TargetGroup")
    wanted = "HTTPS" if s.target_tls else "HTTP"
    assert (group_["Properties"]["Protocol"], group_["Properties"]["HealthCheckProtocol"]) == (wanted, wanted)
    user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    assert ("openssl req -x509" in user_data and "APP_TLS_CERT=" in user_data) is s.target_tls
    # every scenario tag reaches the instances
    tags = {t["Key"]: t for t in props["Tags"]}
    assert {k for k, _ in PRESETS[name].tags} <= set(tags)
    assert all(t["PropagateAtLaunch"] is True for t in tags.values())


GRACE = {
    "AWS::ECS::Service": "HealthCheckGracePeriodSeconds",
    "AWS::AutoScaling::AutoScalingGroup": "HealthCheckGracePeriod",
}


@pytest.mark.parametrize("name", of_kind(ComputeKind.ECS) + of_kind(ComputeKind.ASG))
def test_the_health_check_grace_period_is_the_scenarios_startup_time(name, bundles):
    """The failover's scale-out waits this long (drgen budget counts it), so it comes from the scenario."""

    def grace(bundle: Any) -> int:
        doc = template(bundle, "app")
        return next(r["Properties"][prop] for rtype, prop in GRACE.items() for r in resources(doc, rtype).values())

    scenario = load(name, suffix="dev")
    assert grace(bundles[name]) == scenario.compute.startup_seconds
    slower = replace(scenario, compute=replace(scenario.compute, startup_seconds=240))
    assert grace(render(slower)) == 240


@pytest.mark.parametrize("name", of_kind(ComputeKind.LAMBDA))
def test_lambda_target_behind_the_alb_runs_in_the_vpc(name, bundles):
    doc = template(bundles[name], "app")
    _, group = only(doc, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["Properties"]["TargetType"] == "lambda"
    (target,) = group["Properties"]["Targets"]
    assert target["Id"] == {"Fn::GetAtt": ["AppHealthFunction", "Arn"]}
    assert group["Properties"]["HealthCheckPath"] == PRESETS[name].routing.health_check.path
    function = doc["Resources"]["AppHealthFunction"]
    assert "Condition" not in function  # both regions
    assert function["Properties"]["VpcConfig"]["SubnetIds"] == {"Fn::Split": [",", {"Ref": "PrivateSubnetIds"}]}
    permission = doc["Resources"][group["DependsOn"][0]]
    assert permission["Properties"]["Principal"] == "elasticloadbalancing.amazonaws.com"


@pytest.mark.parametrize(
    "name", [n for n in ALL if PRESETS[n].compute.kind in (ComputeKind.ECS, ComputeKind.ASG, ComputeKind.LAMBDA)]
)
def test_alb_serves_https_with_a_dns_validated_certificate_and_redirects_http(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "app")
    listeners = {
        r["Properties"]["Protocol"]: r["Properties"]
        for r in resources(doc, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {"HTTPS", "HTTP"}
    assert listeners["HTTPS"]["Port"] == 443 and listeners["HTTPS"]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (redirect,) = listeners["HTTP"]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    _check_certificate(doc, s)
    _, balancer = only(doc, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Properties"]["Scheme"] == "internet-facing"


def _check_certificate(doc: dict[str, Any], s: Any) -> None:
    _, cert = only(doc, "AWS::CertificateManager::Certificate")
    props = cert["Properties"]
    assert props["DomainName"] == f"{s.routing.record}.{s.routing.domain}"
    assert props["SubjectAlternativeNames"] == [{"Fn::Sub": f"{s.routing.record}.${{AWS::Region}}.{s.routing.domain}"}]
    assert props["ValidationMethod"] == "DNS"
    assert {json.dumps(o["HostedZoneId"]) for o in props["DomainValidationOptions"]} == {'{"Ref": "HostedZoneId"}'}


@pytest.mark.parametrize("name", of_kind(ComputeKind.APIGATEWAY))
def test_api_has_custom_domains_base_path_mappings_and_access_logging(name, bundles):
    s = PRESETS[name]
    doc = template(bundles[name], "app")
    _, api = only(doc, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    domains = resources(doc, "AWS::ApiGateway::DomainName")
    names = {json.dumps(d["Properties"]["DomainName"]) for d in domains.values()}
    assert names == {
        json.dumps(f"{s.routing.record}.{s.routing.domain}"),
        json.dumps({"Fn::Sub": f"{s.routing.record}.${{AWS::Region}}.{s.routing.domain}"}),
    }
    assert all(d["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"] for d in domains.values())
    mappings = resources(doc, "AWS::ApiGateway::BasePathMapping").values()
    assert {m["Properties"]["DomainName"]["Ref"] for m in mappings} == set(domains)
    _, stage = only(doc, "AWS::ApiGateway::Stage")
    assert all(m["Properties"]["Stage"] == {"Ref": "ApiStage"} for m in mappings)
    access = stage["Properties"]["AccessLogSetting"]
    group = doc["Resources"][access["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"] > 0
    assert "$context.requestId" in access["Format"]
    assert stage["Properties"]["TracingEnabled"] is True
    assert resources(doc, "AWS::ApiGateway::Account")
    _check_certificate(doc, s)


@pytest.mark.parametrize("name", of_kind(ComputeKind.APIGATEWAY))
def test_sqs_queue_with_dead_letters_feeds_the_trade_processor(name, bundles):
    doc = template(bundles[name], "app")
    _, mapping = only(doc, "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["FunctionName"] == {"Ref": "TradeProcessorFunction"}
    queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
    queue = doc["Resources"][queue_id]["Properties"]
    dead_letters = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert doc["Resources"][dead_letters]["Type"] == "AWS::SQS::Queue"
    assert queue["KmsMasterKeyId"] == {"Ref": "KmsKeyArn"}
    assert queue["VisibilityTimeout"] >= 6 * 60
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("name", of_kind(ComputeKind.APIGATEWAY))
def test_region_specific_configuration_lives_in_parameter_store(name, bundles):
    doc = template(bundles[name], "app")
    parameters = {p["Properties"]["Name"]: p["Properties"] for p in resources(doc, "AWS::SSM::Parameter").values()}
    keys = {n.rsplit("/", 1)[1] for n in parameters}
    assert {"role", "peer-region", "db-endpoint", "db-secret-name", "health-url", "trade-queue-url"} <= keys
    assert all(n.startswith(f"/{PRESETS[name].prefix}-config-dev/") for n in parameters)
    (role,) = [p for n, p in parameters.items() if n.endswith("/role")]
    assert role["Value"] == {"Ref": "Role"}


@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].compute.event_bus])
def test_application_buses_forward_their_own_events_to_the_other_region(name, bundles):
    doc = template(bundles[name], "app")
    _, bus = only(doc, "AWS::Events::EventBus")
    (rule,) = [r for r in resources(doc, "AWS::Events::Rule").values() if "EventBusName" in r["Properties"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["region"] == [{"Ref": "AWS::Region"}]  # forwarded events are not forwarded back
    (target,) = rule["Properties"]["Targets"]
    arn = target["Arn"]["Fn::Sub"]
    assert "${PeerRegion}" in arn and arn.endswith(
        bus["Properties"]["Name"]["Fn::Sub"].replace("AWS::Region", "PeerRegion")
    )
    # What arrives from the other region is archived here, replayable after a failover.
    _, archive = only(doc, "AWS::Events::Archive")
    assert archive["Properties"]["SourceArn"] == {
        "Fn::GetAtt": [next(iter(resources(doc, "AWS::Events::EventBus"))), "Arn"]
    }
    assert archive["Properties"]["EventPattern"]["region"] == [{"Ref": "PeerRegion"}]
    assert archive["Properties"]["EventPattern"]["source"] == pattern["source"]
    assert archive["Properties"]["RetentionDays"] >= 1


def _delivery_is_reliable(doc: dict[str, Any], rule_id: str, key: Any) -> None:
    """The rule's cross-region target retries by EventBridge's default (24 hours, 185 times: the most it allows),
    then parks the event in an encrypted dead-letter queue only that rule may write to, and an alarm pages on the
    first parked event. It sets no RetryPolicy: AWS's CDK reference says event-bus targets do not support one."""
    (target,) = doc["Resources"][rule_id]["Properties"]["Targets"]
    assert target["Arn"]["Fn::Sub"].startswith("arn:${AWS::Partition}:events:") and "RetryPolicy" not in target
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = doc["Resources"][queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == key and queue["MessageRetentionPeriod"] == 14 * 86400
    (policy,) = [
        p["Properties"]
        for p in resources(doc, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    alarms = [a["Properties"] for a in resources(doc, "AWS::CloudWatch::Alarm").values()]
    assert any(
        a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
        and a["AlarmActions"]
        for a in alarms
    )


def _grants_events_to_queues(key_policy: dict[str, Any]) -> bool:
    return any(
        s.get("Principal", {}).get("Service") == ["events.amazonaws.com"]
        and "kms:EncryptionContext:aws:sqs:arn" in s.get("Condition", {}).get("ArnLike", {})
        for s in key_policy["Statement"]
    )


@pytest.mark.parametrize("name", ALL)
def test_only_auto_scaling_scenarios_let_its_service_role_use_the_region_key(name, bundles):
    (key,) = resources(template(bundles[name], "foundation"), "AWS::KMS::Key").values()
    named = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "AWSServiceRoleForAutoScaling" in json.dumps(s.get("Principal"))
    ]
    if PRESETS[name].compute.kind is not ComputeKind.ASG:
        assert named == []
        return
    actions = {a for s in named for a in s["Action"]}
    assert {"kms:GenerateDataKey*", "kms:Decrypt", "kms:CreateGrant"} <= actions
    (grant,) = [s for s in named if "kms:CreateGrant" in s["Action"]]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}


@pytest.mark.parametrize("name", ALL)
def test_cross_region_event_delivery_never_loses_an_event_silently(name, bundles):
    glob = template(bundles[name], "global")
    if PRESETS[name].regions.secondary != "us-east-1":
        _delivery_is_reliable(glob, "ForwardPrimaryHealthAlarm", {"Ref": "GlobalAlertKey"})
        assert _grants_events_to_queues(glob["Resources"]["GlobalAlertKey"]["Properties"]["KeyPolicy"])
    (key,) = resources(template(bundles[name], "foundation"), "AWS::KMS::Key").values()
    has_bus = PRESETS[name].compute.event_bus
    assert _grants_events_to_queues(key["Properties"]["KeyPolicy"]) is has_bus  # only where a bus needs it
    if has_bus:
        _delivery_is_reliable(template(bundles[name], "app"), "ForwardApplicationEvents", {"Ref": "KmsKeyArn"})


# -- functions ----------------------------------------------------------------------------------------------
def _opens_database(source: ast.Module) -> bool:
    """Whether a handler module imports drgen_common's database client."""
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "drgen_common" and any(a.name == "db" for a in node.names)
        for node in ast.walk(source)
    )


@pytest.mark.parametrize("name", ALL)
def test_every_catalogue_function_is_deployed_in_its_roles_with_its_environment(name, bundles):
    catalogue = functions_for(load(name, suffix="dev"))
    found = functions_in(bundles, name)
    assert set(found) == {camel(f.key) for f in catalogue}
    for spec in catalogue:
        *_, function = found[camel(spec.key)]
        for role in ROLES:
            assert exists(function, role) == (Role(role) in spec.roles), (spec.key, role)
        variables = function["Properties"]["Environment"]["Variables"]
        assert set(spec.env) <= set(variables), spec.key
        code = function["Properties"]["Code"]
        assert code == {"S3Bucket": {"Ref": ARTIFACT_BUCKET_PARAMETER}, "S3Key": {"Ref": key_parameter(spec.package)}}
        # held against the code in lambda/, not the catalogue: the handler exists, and code that opens a database
        # connection runs in the VPC (the clusters have no public endpoint)
        module, handler = function["Properties"]["Handler"].split(".")
        source = ast.parse((LAMBDA_ROOT / spec.package / f"{module}.py").read_text())
        assert handler in {node.name for node in source.body if isinstance(node, ast.FunctionDef)}, spec.key
        if _opens_database(source):
            assert "VpcConfig" in function["Properties"], spec.key


@pytest.mark.parametrize("name", ALL)
def test_every_function_traces_and_logs_to_its_own_encrypted_group_with_retention(name, bundles):
    for logical, (_, doc, function) in functions_in(bundles, name).items():
        props = function["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, logical
        group = doc["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert group["Properties"]["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert group["Properties"]["RetentionInDays"] > 0 and group["Properties"]["KmsKeyId"] == {"Ref": "KmsKeyArn"}
        assert group.get("Condition") == function.get("Condition")
        role = doc["Resources"][props["Role"]["Fn::GetAtt"][0]]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert any("xray:PutTraceSegments" in s["Action"] for s in statements), logical


@pytest.mark.parametrize("name", ALL)
def test_monitors_run_on_their_schedules_in_both_regions(name, bundles):
    expected = {"LagMonitor": "rate(1 minute)", "Connectivity": "rate(1 minute)", "Readiness": "rate(1 hour)"}
    schedules = {}
    for layer in FUNCTION_LAYERS:
        doc = template(bundles[name], layer)
        for rule in resources(doc, "AWS::Events::Rule").values():
            if "ScheduleExpression" in rule["Properties"]:
                (target,) = rule["Properties"]["Targets"]
                monitor = target["Arn"]["Fn::GetAtt"][0].removesuffix("Function")
                if monitor == "BackupExport":
                    continue  # daily and primary-only: tests/builders/test_snapshot_export.py
                # The DR region's probe of the primary (static stability) and the engaged signal (Route 53 follows
                # its data stream) are the one-region schedules.
                dr_only = monitor in ("PrimaryProbe", "EngagedSignal")
                assert rule.get("Condition") == ("IsSecondary" if dr_only else None)
                schedules[monitor] = rule["Properties"]
    every_minute_in_dr = {"PrimaryProbe": "rate(1 minute)", "EngagedSignal": "rate(1 minute)"}
    assert {k: v["ScheduleExpression"] for k, v in schedules.items()} == {**expected, **every_minute_in_dr}
    # seed 001's lag every 30 s: each one-minute run samples the whole minute at most 30 s apart, and the template
    # says how
    variables = template(bundles[name], "app")["Resources"]["LagMonitorFunction"]["Properties"]["Environment"]
    samples, interval = int(variables["Variables"]["SAMPLES"]), int(variables["Variables"]["SAMPLE_INTERVAL_SECONDS"])
    assert interval <= 30 and samples * interval == 60
    assert f"samples {samples} times, {interval} s apart" in schedules["LagMonitor"]["Description"]
    decisions = template(bundles[name], "app")["Metadata"]["drgen"]["decisions"]
    assert any(f"{interval} s apart" in d for d in decisions)


@pytest.mark.parametrize("name", of_kind(ComputeKind.CONNECTIVITY))
def test_connectivity_tests_run_in_both_regions_against_their_own_cluster(name, bundles):
    doc = template(bundles[name], "app")
    function = doc["Resources"]["ConnectivityFunction"]
    assert "Condition" not in function
    endpoint = function["Properties"]["Environment"]["Variables"]["DB_ENDPOINT"]
    assert resolve(endpoint, "primary") == {"Ref": "ClusterEndpoint"}
    assert resolve(endpoint, "secondary") == {"Ref": "ReaderEndpoint"}
    for role in ROLES:
        st = stack(bundles[name], "app", role)
        assert st.inputs["ClusterEndpoint"]["region"] == st.region


@pytest.mark.parametrize("name", ALL)
def test_no_wildcard_actions_and_star_resources_only_where_aws_requires_them(name, bundles):
    star_ok = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "ecr:GetAuthorizationToken",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "application-autoscaling:DescribeScalableTargets",
        "autoscaling:DescribeAutoScalingGroups",
    }
    for layer in ("app", "global", "orchestration"):
        doc = template(bundles[name], layer)
        for logical, role in resources(doc, "AWS::IAM::Role").items():
            for policy in role["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    assert all("*" not in a for a in statement["Action"]), (logical, statement["Action"])
                    if "*" in statement["Resource"]:
                        assert set(statement["Action"]) <= star_ok, (logical, statement["Action"])


# -- wiring -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in ALL if PRESETS[n].compute.kind is not ComputeKind.CONNECTIVITY])
def test_global_records_and_health_checks_always_exist_fed_by_the_app_stacks(name, bundles):
    bundle = bundles[name]
    doc = template(bundle, "global")
    assert "Conditions" not in doc  # no optional endpoints any more
    checks = resources(doc, "AWS::Route53::HealthCheck")
    fqdns = {
        c["Properties"]["HealthCheckConfig"]["FullyQualifiedDomainName"]["Ref"]
        for c in checks.values()
        if "FullyQualifiedDomainName" in c["Properties"]["HealthCheckConfig"]
    }
    assert fqdns == {"PrimaryHealthCheckFqdn", "SecondaryHealthCheckFqdn"}
    inputs = stack(bundle, "global", "global").inputs
    for role in ROLES:
        title = role.capitalize()
        fed = [(f"{title}HealthCheckFqdn", "HealthCheckFqdn"), (f"{title}EndpointDnsName", "EndpointDnsName")]
        if PRESETS[name].routing.alias:  # an alias record names its target's zone; a CNAME needs none
            fed.append((f"{title}EndpointHostedZoneId", "EndpointHostedZoneId"))
        else:
            assert f"{title}EndpointHostedZoneId" not in inputs
        for parameter, output in fed:
            assert inputs[parameter] == {
                "stack": stack(bundle, "app", role).name,
                "region": PRESETS[name].region(Role(role)),
                "output": output,
            }
    records = [r["Properties"] for r in resources(doc, "AWS::Route53::RecordSet").values()]
    assert all(r["HostedZoneId"] == {"Ref": "HostedZoneId"} for r in records)
    # The presets name an existing zone by its domain: deploy finds it; no stack feeds it, no render-time value.
    assert "HostedZoneId" not in inputs and "HostedZoneId" not in stack(bundle, "global", "global").parameters


@pytest.mark.parametrize("name", ALL)
def test_failover_functions_read_the_dr_regions_stacks_and_the_global_health_check(name, bundles):
    bundle = bundles[name]
    dr = stack(bundle, "orchestration", "secondary")
    # The DNS step's second way inverts the check gating the PRIMARY record (endpoint AND not engaged).
    assert dr.inputs["PrimaryRecordHealthCheckId"] == {
        "stack": stack(bundle, "global", "global").name,
        "region": "us-east-1",
        "output": "PrimaryRecordHealthCheckId",
    }
    assert dr.inputs["DrClusterArn"]["stack"] == stack(bundle, "data", "secondary").name
    assert dr.inputs["GlobalClusterIdentifier"]["stack"] == stack(bundle, "data", "primary").name
    assert stack(bundle, "global", "global").name in dr.depends_on
    kind = PRESETS[name].compute.kind
    scale = template(bundle, "orchestration")["Resources"]["FailoverScaleFunction"]["Properties"]
    variables = scale["Environment"]["Variables"]
    assert variables["COMPUTE_KIND"] == kind.value
    if kind is ComputeKind.ECS:
        assert dr.inputs["EcsServiceName"]["stack"] == stack(bundle, "app", "secondary").name
    if kind is ComputeKind.ASG:
        assert dr.inputs["AutoScalingGroupName"]["stack"] == stack(bundle, "app", "secondary").name
    validate = template(bundle, "orchestration")["Resources"]["FailoverValidateFunction"]["Properties"]
    health = validate["Environment"]["Variables"]["HEALTH_URL"]
    assert health == ("" if kind is ComputeKind.CONNECTIVITY else {"Ref": "HealthUrl"})


@pytest.mark.parametrize("name", ALL)
def test_app_alarms_watch_what_each_seed_names_in_both_regions(name, bundles):
    kind = PRESETS[name].compute.kind
    doc = template(bundles[name], "app")
    alarms = resources(doc, "AWS::CloudWatch::Alarm")
    # The backup export's alarms exist where the export runs, the primary (tests/builders/test_snapshot_export.py).
    assert all("Condition" not in a for k, a in alarms.items() if not k.startswith("BackupExport"))
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlertTopicArn"}] for a in alarms.values())
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()}
    functions = [k.removesuffix("Function") for k in resources(doc, "AWS::Lambda::Function")]
    assert {f"{f}ErrorsAlarm" for f in functions} <= set(alarms)
    if kind in (ComputeKind.ECS, ComputeKind.ASG, ComputeKind.LAMBDA):
        assert ("AWS/ApplicationELB", "HealthyHostCount") in metrics
    if kind is ComputeKind.ECS:
        assert ("ECS/ContainerInsights", "RunningTaskCount") in metrics
    if kind is ComputeKind.APIGATEWAY:
        assert {
            ("AWS/ApiGateway", "5XXError"),
            ("AWS/ApiGateway", "Latency"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        } <= metrics


def _role_statements(doc: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for p in doc["Resources"][role_id]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


GLOBAL_CLUSTER_ARN = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:${Id}",
        {"Id": {"Ref": "GlobalClusterIdentifier"}},
    ]
}


@pytest.mark.parametrize(
    "name", [*of_kind(ComputeKind.ECS), *of_kind(ComputeKind.ASG), *of_kind(ComputeKind.APIGATEWAY)]
)
def test_writers_can_find_the_global_writer_endpoint(name, bundles):
    """Issue 14 (4): the application and the trade processor write through the global writer endpoint, which Aurora
    moves to the promoted writer; CloudFormation exposes it only as an object, so each reads it from the global
    cluster (GLOBAL_CLUSTER_ID, rds:DescribeGlobalClusters on that cluster) and keeps this region's endpoint too."""
    doc = template(bundles[name], "app")
    inputs = stack(bundles[name], "app", "primary").inputs
    assert inputs["GlobalClusterIdentifier"]["output"] == "GlobalClusterIdentifier"
    kind = PRESETS[name].compute.kind
    if kind is ComputeKind.ECS:
        task = next(iter(resources(doc, "AWS::ECS::TaskDefinition").values()))["Properties"]
        env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
        role_id = task["TaskRoleArn"]["Fn::GetAtt"][0]
    elif kind is ComputeKind.ASG:
        user_data = next(iter(resources(doc, "AWS::EC2::LaunchTemplate").values()))["Properties"]
        text, values = user_data["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        env = {"GLOBAL_CLUSTER_ID": values["GlobalCluster"]}
        assert "GLOBAL_CLUSTER_ID=${GlobalCluster}" in text.splitlines()
        role_id = "InstanceRole"
    else:
        function = doc["Resources"]["TradeProcessorFunction"]["Properties"]
        env = function["Environment"]["Variables"]
        role_id = function["Role"]["Fn::GetAtt"][0]
    assert env["GLOBAL_CLUSTER_ID"] == {"Ref": "GlobalClusterIdentifier"}
    describe = [s for s in _role_statements(doc, role_id) if "rds:DescribeGlobalClusters" in s["Action"]]
    assert describe and describe[0]["Resource"] == [GLOBAL_CLUSTER_ARN]


def test_asg_instances_run_drgens_health_endpoint_unless_the_scenario_names_its_ami():
    """Amazon Linux 2023 answers nothing on the application port: without an AMI of its own, each instance
    fetches the app package from this region's artifact bucket and serves the health contract (serve.py)."""
    scenario = load("trading-asg", suffix="dev")
    files = render(scenario).files
    app = json.loads(files["templates/app.json"])
    manifest = json.loads(files["manifest.json"])
    (artifact,) = [a for a in manifest["artifacts"] if a["package"] == "app"]
    data = app["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    script, variables = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "aws s3 cp s3://${AppBucket}/${AppKey}" in script and "serve.py" in script
    assert variables["AppKey"] == {"Ref": "AppCodeKey"}
    app_stacks = [s for s in manifest["stacks"] if s["layer"] == "app"]
    assert all(s["parameters"]["AppCodeKey"] == artifact["key"] for s in app_stacks)
    role = json.dumps(app["Resources"]["InstanceRole"]["Properties"]["Policies"])
    assert "s3:GetObject" in role and "${Bucket}/${Key}" in role

    compute = dataclasses.replace(scenario.compute, image="/acme/golden-ami/app")
    own = render(dataclasses.replace(scenario, compute=compute)).files
    own_app = json.loads(own["templates/app.json"])
    assert own_app["Parameters"]["ApplicationImageId"]["Default"] == "/acme/golden-ami/app"
    own_script = own_app["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]
    assert "serve.py" not in json.dumps(own_script)
    assert not [a for a in json.loads(own["manifest.json"])["artifacts"] if a["package"] == "app"]


def test_asg_without_an_ami_needs_nat_to_install_the_application():
    scenario = load("trading-asg", suffix="dev")
    network = dataclasses.replace(scenario.network, standby_nat_gateways=0)
    with pytest.raises(ScenarioError, match=r"set network\.nat_gateways .* or name your AMI"):
        validate(dataclasses.replace(scenario, network=network))
