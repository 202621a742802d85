"""What an application's tasks and instances share: capacity per role, security groups, the application role.

ECS (ecs_service.py) and EC2 Auto Scaling (auto_scaling.py) both run behind the load balancer
(load_balancer.py): the primary at active capacity, the DR region at the pilot light or warm standby; the app
port open to the load balancer only; out to the database and AWS APIs; a role that reads the database secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from awacs import kms, secretsmanager
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, If, ec2, iam
from troposphere import elasticloadbalancingv2 as elb

from drgen.builders import functions, inputs
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.iam import POLICY_VERSION, service_trust
from drgen.builders.network import ANYWHERE, peer_cidr, vpc_cidr

HTTPS_PORT = 443
HTTP_PORT = 80
CPU_TARGET_PERCENT = 60.0
CONTAINER = "app"


@dataclass(frozen=True)
class Balancer:
    load_balancer: elb.LoadBalancer
    https_listener: elb.Listener
    security_group: ec2.SecurityGroup


def app_name(ctx: StackContext) -> str:
    """The application's name in this scenario: its ECS service, task family and log group, or its group."""
    return ctx.names.fixed("generic", CONTAINER)


def per_role_capacity(ctx: StackContext) -> If:
    """Active capacity in the primary; in the DR region the pilot light (failover raises it) or, warm, the same."""
    compute = ctx.scenario.compute
    return If(IS_PRIMARY, compute.active_capacity, compute.dr_capacity)


def workload_security_group(ctx: StackContext, balancer: Balancer) -> ec2.SecurityGroup:
    """Tasks or instances: the app port from the load balancer only; out to the database and AWS APIs."""
    port = ctx.scenario.compute.app_port
    return security_group(
        ctx,
        "AppSecurityGroup",
        "Application tasks or instances",
        ingress=[
            ec2.SecurityGroupRule(
                IpProtocol="tcp",
                FromPort=port,
                ToPort=port,
                SourceSecurityGroupId=GetAtt(balancer.security_group, "GroupId"),
                Description=f"TCP {port} from the load balancer",
            )
        ],
        egress=workload_egress(ctx),
    )


def workload_egress(ctx: StackContext) -> list[ec2.SecurityGroupRule]:
    """The database in this VPC (and, over the peering, the other region's, where the global writer endpoint
    leads after a promotion), and HTTPS to AWS APIs (interface endpoints, the S3 gateway or NAT; a VPC without
    NAT has no route to anywhere else, so 0.0.0.0/0 on 443 reaches AWS services only there)."""
    db_port = ctx.scenario.database.port
    rules = [rule(db_port, vpc_cidr(ctx), "the Aurora cluster in this VPC")]
    if ctx.scenario.network.peering:
        rules.append(rule(db_port, peer_cidr(ctx), "the Aurora cluster in the other region, over the peering"))
    return [*rules, rule(HTTPS_PORT, ANYWHERE, "AWS APIs over HTTPS")]


def rule(port: int, cidr: Any, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=description)


def security_group(
    ctx: StackContext,
    title: str,
    purpose: str,
    ingress: list[ec2.SecurityGroupRule],
    egress: list[ec2.SecurityGroupRule],
    metadata: dict[str, Any] | None = None,
) -> ec2.SecurityGroup:
    """A group with exactly the given rules (its egress replaces the default allow-all)."""
    extra: dict[str, Any] = {"SecurityGroupIngress": ingress} if ingress else {}
    if metadata:
        extra["Metadata"] = metadata
    return ctx.add(
        ec2.SecurityGroup(
            title,
            GroupDescription=purpose,
            VpcId=inputs.vpc_id(ctx),
            SecurityGroupEgress=egress,
            **extra,
        )
    )


def application_role(
    ctx: StackContext,
    title: str,
    service: str,
    managed: list[Any] | None = None,
    grants: Iterable[Statement] = (),
) -> iam.Role:
    """What the application itself may do: read the database secret (and decrypt it, and the artifacts, with the
    region's key), read the global cluster (its writer endpoint, GLOBAL_CLUSTER_ID), plus ``grants`` (the
    sessions table, the artifacts bucket, tracing)."""
    statements = [
        Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=[functions.secret_arn(ctx)]),
        Statement(Effect=Allow, Action=[kms.Decrypt], Resource=[inputs.key_arn(ctx)]),
        inputs.describe_global_cluster(ctx),
        *grants,
    ]
    return role(ctx, title, service, statements, managed)


def role(
    ctx: StackContext, title: str, service: str, statements: list[Statement], managed: list[Any] | None = None
) -> iam.Role:
    extra = {"ManagedPolicyArns": managed} if managed else {}
    return ctx.add(
        iam.Role(
            title,
            AssumeRolePolicyDocument=service_trust(service),
            Policies=[
                iam.Policy(
                    PolicyName="application",
                    PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
                )
            ],
            **extra,
        )
    )
