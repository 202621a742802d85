"""VPC endpoints: the S3 (and DynamoDB) gateways every region gets, and, in a region without NAT, the interface
endpoints (private DNS) for the AWS APIs the workloads call."""

from __future__ import annotations

from typing import Any

from troposphere import Ref, Sub, ec2

from drgen.builders.context import StackContext
from drgen.lambda_functions import EVENT_SOURCE_MAPPING_CALLS, calls_for, functions_for
from drgen.scenario.model import ComputeKind, Scenario

# Interface endpoints a region without NAT needs to reach the AWS APIs drgen's workloads call.
INTERFACE_SERVICES = ("secretsmanager", "monitoring", "logs", "sns", "sts", "kms")
# ECS Fargate tasks pull their images from ECR (API and registry endpoints; layers come from S3's gateway), and
# their X-Ray daemon sends the traces to X-Ray.
ECS_SERVICES = ("ecr.api", "ecr.dkr", "xray")
# The application itself (ECS tasks, instances) reads the global cluster's writer endpoint: the RDS API.
APPLICATION_SERVICES = ("rds",)
GATEWAY_SERVICES = ("s3", "dynamodb")
# An endpoint's service name where it differs from the IAM prefix of the calls it serves.
ENDPOINT_SERVICE = {"cloudwatch": "monitoring"}


def gateway_endpoints(ctx: StackContext, the_vpc: Any, tables: list[Any]) -> None:
    """S3 (and DynamoDB when sessions are on) reached from the private subnets without NAT, at no charge."""
    services = ["s3", "dynamodb"] if ctx.scenario.sessions.enabled else ["s3"]
    for service in services:
        ctx.add(
            ec2.VPCEndpoint(
                f"{_service_title(service)}GatewayEndpoint",
                VpcId=Ref(the_vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Gateway",
                RouteTableIds=[Ref(t) for t in tables],
            )
        )


def interface_endpoints(
    ctx: StackContext, the_vpc: Any, subnets: list[Any], group: Any, condition: dict[str, str]
) -> None:
    """An endpoint per service ``interface_services`` names, in ``subnets`` behind ``group``."""
    for service in interface_services(ctx.scenario):
        ctx.add(
            ec2.VPCEndpoint(
                f"{_service_title(service)}InterfaceEndpoint",
                VpcId=Ref(the_vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=[Ref(s) for s in subnets],
                SecurityGroupIds=[Ref(group)],
                **condition,
            )
        )


def interface_services(scenario: Scenario) -> tuple[str, ...]:
    """The fixed set, then every other service a workload in the private subnets calls: "When you connect a
    function to a VPC, it can access resources and the internet only through that VPC" (Lambda, VpcConfig), and
    the same holds for tasks and instances without NAT. Without its endpoint such a call times out."""
    fixed = INTERFACE_SERVICES + (ECS_SERVICES if scenario.compute.kind is ComputeKind.ECS else ())
    called = {  # what the code calls: an SQS event source mapping polls from outside the VPC
        call.split(":")[0]
        for spec in functions_for(scenario)
        if spec.vpc
        for call in calls_for(spec, scenario)
        if call not in EVENT_SOURCE_MAPPING_CALLS
    }
    if scenario.compute.kind in (ComputeKind.ECS, ComputeKind.ASG):
        called.update(APPLICATION_SERVICES)
    if scenario.compute.event_bus:  # functions in the VPC announce application events on the bus
        called.add("events")
    services = {ENDPOINT_SERVICE.get(prefix, prefix) for prefix in called}
    return fixed + tuple(sorted(services - set(fixed) - set(GATEWAY_SERVICES)))


def _service_title(service: str) -> str:
    """Logical-ID form of an endpoint service name (``secretsmanager`` -> ``SecretsManager``)."""
    titles = {
        "dynamodb": "DynamoDb",
        "secretsmanager": "SecretsManager",
        "ecr.api": "EcrApi",
        "ecr.dkr": "EcrDkr",
        "xray": "XRay",
    }
    return titles.get(service, service.capitalize())
