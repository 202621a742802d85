"""moto as the local AWS stand-in: the template adjustments its CloudFormation needs, applied only against moto.

moto's CloudFormation provisions about a hundred resource types and silently skips the rest, but a Ref or
GetAtt to a skipped resource breaks the whole stack (a ValidationError, or an HTTP 500 for an Output). Against
a moto endpoint drgen therefore deploys each template without the resources moto cannot build, and puts a
``sandbox-<logical id>[-<attribute>]`` placeholder wherever the template referenced them, so dependent stacks
still receive a value. The rendered bundle is unchanged; the deployment record keeps its hashes. Every
adjustment is reported, so a green sandbox run never hides what was not deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# moto 5.2.5's CloudFormation model map (moto.cloudformation.parsing.get_model_map); tests/deploy checks it.
_MOTO_CFN_TYPES = {
    "ApiGateway": "Deployment Method Resource RestApi",
    "AutoScaling": "AutoScalingGroup LaunchConfiguration ScheduledAction",
    "Batch": "ComputeEnvironment JobDefinition JobQueue",
    "CloudFormation": "Stack",
    "CloudWatch": "Dashboard",
    "DataPipeline": "Pipeline",
    "DynamoDB": "Table",
    "EC2": "EIP FlowLog Instance InternetGateway LaunchTemplate NatGateway NetworkInterface Route RouteTable "
    "SecurityGroup SecurityGroupIngress SpotFleet Subnet SubnetRouteTableAssociation TransitGateway VPC "
    "VPCEndpoint VPCGatewayAttachment VPCPeeringConnection VPNGateway Volume VolumeAttachment",
    "ECR": "Repository",
    "ECS": "Cluster Service TaskDefinition",
    "EFS": "AccessPoint FileSystem MountTarget",
    "EMR": "Cluster InstanceGroupConfig SecurityConfiguration",
    "ElasticLoadBalancing": "LoadBalancer",
    "ElasticLoadBalancingV2": "Listener ListenerRule LoadBalancer TargetGroup",
    "Events": "Archive EventBus Rule",
    "IAM": "AccessKey InstanceProfile ManagedPolicy Policy Role User",
    "IoT": "BillingGroup JobTemplate Policy RoleAlias Thing ThingType",
    "KMS": "Alias Key",
    "Kinesis": "Stream",
    "Lambda": "EventSourceMapping Function LayerVersion Permission Version",
    "Logs": "LogGroup ResourcePolicy",
    "RDS": "DBInstance DBParameterGroup DBSecurityGroup DBSubnetGroup",
    "Redshift": "Cluster ClusterParameterGroup ClusterSubnetGroup",
    "Route53": "HealthCheck HostedZone RecordSet RecordSetGroup",
    "S3": "Bucket",
    "SNS": "Topic",
    "SQS": "Queue",
    "SSM": "Document Parameter",
    "SageMaker": "Endpoint EndpointConfig Model NotebookInstance NotebookInstanceLifecycleConfig",
    "StepFunctions": "StateMachine",
}
MOTO_TYPES = frozenset(f"AWS::{svc}::{name}" for svc, names in _MOTO_CFN_TYPES.items() for name in names.split())

# Supported types that still fail in moto with a property drgen sets: (type, property, why).
_BROKEN = (
    ("AWS::EC2::VPCPeeringConnection", "PeerRegion", "moto looks the peer VPC up in the requester's region"),
    ("AWS::EC2::Route", "VpcPeeringConnectionId", "the cross-region peering connection is not emulated"),
    ("AWS::RDS::DBInstance", "DBClusterIdentifier", "its Aurora cluster is not emulated"),
    ("AWS::ElasticLoadBalancingV2::Listener", "Certificates", "moto checks the certificate, which it cannot create"),
    # (SourceArn is always set: the archive as drgen renders it.)
    ("AWS::Events::Archive", "SourceArn", "moto reads EventPattern only as text and reports no physical id"),
)
# A Ref moto resolves to its model object instead of the name: replaced by this property.
_REF_AS_PROPERTY = {"AWS::Events::EventBus": "Name"}
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}")


@dataclass(frozen=True)
class Adapted:
    body: bytes
    left_out: tuple[tuple[str, str, str], ...]  # (logical id, type, why)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for _, rtype, _ in self.left_out:
            counts[rtype] = counts.get(rtype, 0) + 1
        return ", ".join(f"{t} x{n}" if n > 1 else t for t, n in sorted(counts.items()))


def adapt(body: bytes) -> Adapted:
    """The template moto can deploy: unsupported resources left out, references to them replaced."""
    document = json.loads(body)
    resources: dict[str, Any] = document.get("Resources", {})
    left_out = tuple(
        (logical_id, resource["Type"], why)
        for logical_id, resource in sorted(resources.items())
        if (why := _why_left_out(resource))
    )
    gone = {logical_id for logical_id, _, _ in left_out}
    rewrite = _rewriter(resources, gone)
    kept = {k: _drop_dependencies(_replace(v, rewrite), gone) for k, v in resources.items() if k not in gone}
    adjusted = document | {"Resources": {k: _fixed(k, v) for k, v in kept.items()}}
    if "Outputs" in document:
        adjusted["Outputs"] = _replace(document["Outputs"], rewrite)
    return Adapted(body if adjusted == document else _dump(adjusted), left_out)


def placeholder(logical_id: str, attribute: str | None = None) -> str:
    text = f"sandbox-{logical_id}" + (f"-{attribute.replace('.', '-')}" if attribute else "")
    return text.lower()


def _why_left_out(resource: dict[str, Any]) -> str:
    rtype = resource["Type"]
    if rtype not in MOTO_TYPES:
        return "moto's CloudFormation does not provision this type"
    properties = resource.get("Properties", {})
    return next((why for t, prop, why in _BROKEN if t == rtype and prop in properties), "")


Rewrite = Callable[[str, "str | None"], Any]  # (logical id, attribute or None for a Ref) -> replacement or None


def _rewriter(resources: dict[str, Any], gone: set[str]) -> Rewrite:
    def rewrite(name: str, attribute: str | None) -> Any:
        if name in gone:
            return placeholder(name, attribute)
        resource = resources.get(name)
        if attribute is None and resource and resource["Type"] in _REF_AS_PROPERTY:
            return resource["Properties"][_REF_AS_PROPERTY[resource["Type"]]]
        return None

    return rewrite


def _replace(value: Any, rewrite: Rewrite) -> Any:
    """``value`` with the Ref, GetAtt and Sub references ``rewrite`` has a replacement for replaced."""
    if isinstance(value, list):
        return [_replace(v, rewrite) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and (new := rewrite(arg, None)) is not None:
            return new
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if (new := rewrite(name, attribute)) is not None:
                return new
        if key == "Fn::Sub":
            return {key: _substitute(arg, rewrite)}
    return {k: _replace(v, rewrite) for k, v in value.items()}


def _substitute(arg: str | list[Any], rewrite: Rewrite) -> str | list[Any]:
    def one(text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            new = rewrite(match[1], match[2])
            return new if isinstance(new, str) else match[0]

        return _SUB_REFERENCE.sub(swap, text)

    if isinstance(arg, str):
        return one(arg)
    return [one(arg[0]), _replace(arg[1], rewrite)]


def _drop_dependencies(resource: dict[str, Any], gone: set[str]) -> dict[str, Any]:
    depends = resource.get("DependsOn")
    if depends is None:
        return resource
    kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in gone]
    resource = {k: v for k, v in resource.items() if k != "DependsOn"}
    return resource | ({"DependsOn": kept} if kept else {})


def _moto_tags(resource: dict[str, Any]) -> dict[str, Any]:
    """Tags in the shape moto's handler reads, where it differs from CloudFormation's (else an HTTP 500)."""
    reshape = _TAG_SHAPES.get(resource["Type"])
    tags = resource.get("Properties", {}).get("Tags")
    if reshape is None or not tags:
        return resource
    return resource | {"Properties": resource["Properties"] | {"Tags": reshape(tags)}}


_TAG_SHAPES: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    # moto's KMS key passes CloudFormation's Key/Value list to the API's TagKey/TagValue tagger
    "AWS::KMS::Key": lambda tags: [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags],
    # CloudFormation gives an SSM parameter's tags as a map; moto reads a Key/Value list
    "AWS::SSM::Parameter": lambda tags: [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
}


def _ebs_volume_size(resource: dict[str, Any]) -> dict[str, Any]:
    """AWS sizes an EBS mapping without VolumeSize from the AMI; moto refuses to launch it (MissingParameter)."""
    if resource["Type"] != "AWS::EC2::LaunchTemplate":
        return resource
    data = resource["Properties"]["LaunchTemplateData"]
    mappings = [
        m | {"Ebs": m["Ebs"] | {"VolumeSize": 8}}
        if "Ebs" in m and not {"VolumeSize", "SnapshotId"} & set(m["Ebs"])
        else m
        for m in data.get("BlockDeviceMappings", [])
    ]
    if mappings == data.get("BlockDeviceMappings", []):
        return resource
    return resource | {
        "Properties": resource["Properties"] | {"LaunchTemplateData": data | {"BlockDeviceMappings": mappings}}
    }


def _target_group_name(logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
    """moto names an unnamed target group after its stack, and a stack set instance's (``StackSet:<set>``) is
    not a legal target group name: name it after the logical id and the stack id's first eight characters."""
    if resource["Type"] != "AWS::ElasticLoadBalancingV2::TargetGroup" or "Name" in resource.get("Properties", {}):
        return resource
    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    name = {"Fn::Join": ["-", [logical_id.lower()[:20], {"Fn::Select": [0, {"Fn::Split": ["-", stack_uuid]}]}]]}
    return resource | {"Properties": resource.get("Properties", {}) | {"Name": name}}


def _fixed(logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A kept resource with the property shapes moto needs."""
    return _target_group_name(logical_id, _ebs_volume_size(_moto_tags(resource)))


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode()
