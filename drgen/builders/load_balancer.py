"""The application load balancer: internet-facing, HTTPS with the region's certificate, HTTP only redirects.

Its target group checks the scenario's health path as often as ELB allows, so a target the failover scales out
takes traffic after two checks (the drgen budget's capacity branch).
"""

from __future__ import annotations

from typing import Any

from troposphere import Ref
from troposphere import elasticloadbalancingv2 as elb

from drgen.builders import functions, inputs
from drgen.builders.context import StackContext
from drgen.builders.network import vpc_cidr
from drgen.builders.workload import ANYWHERE, HTTP_PORT, HTTPS_PORT, Balancer, rule, security_group
from drgen.scan.skips import Skip, skip_metadata
from drgen.scenario.model import ComputeKind

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
TARGET_CHECK_SECONDS = 5  # the shortest target-group health-check interval ELB allows
HTTP_REDIRECT_ONLY = Skip(
    "CKV_AWS_260",
    "Port 80 is open to the world only for the listener that answers every request with a redirect to HTTPS; "
    "nothing is served over plain HTTP.",
)
NO_LOAD_BALANCER_LOGS = Skip(
    "CKV_AWS_91",
    "No ALB access logs: they need a log bucket per region with the ELB delivery policy, which keeps filling "
    "while destroy empties it, so the stacks could not be deleted reliably; requests are visible in the "
    "target's logs, the ALB metrics and alarms, and X-Ray.",
)


def application_load_balancer(ctx: StackContext, cert: Any, target_group: elb.TargetGroup) -> Balancer:
    """Internet-facing ALB in the public subnets: HTTPS to the targets, HTTP only redirects to HTTPS."""
    port = ctx.scenario.compute.app_port
    group = security_group(
        ctx,
        "LoadBalancerSecurityGroup",
        "Application load balancer",
        ingress=[rule(HTTPS_PORT, ANYWHERE, "HTTPS from clients"), rule(HTTP_PORT, ANYWHERE, "HTTP, redirected")],
        egress=[rule(port, vpc_cidr(ctx), "to the targets in this VPC")],
        metadata=skip_metadata(HTTP_REDIRECT_ONLY),
    )
    balancer = ctx.add(
        elb.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=inputs.public_subnets(ctx),
            SecurityGroups=[Ref(group)],
            Metadata=skip_metadata(NO_LOAD_BALANCER_LOGS),
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
                elb.LoadBalancerAttributes(Key="deletion_protection.enabled", Value="false"),
            ],
        )
    )
    https = ctx.add(
        elb.Listener(
            "HttpsListener",
            LoadBalancerArn=Ref(balancer),
            Port=HTTPS_PORT,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[elb.Certificate(CertificateArn=Ref(cert))],
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(target_group))],
        )
    )
    ctx.add(
        elb.Listener(
            "HttpListener",
            LoadBalancerArn=Ref(balancer),
            Port=HTTP_PORT,
            Protocol="HTTP",
            DefaultActions=[
                elb.Action(
                    Type="redirect",
                    RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port=str(HTTPS_PORT), StatusCode="HTTP_301"),
                )
            ],
        )
    )
    return Balancer(load_balancer=balancer, https_listener=https, security_group=group)


def target_group(ctx: StackContext, app_health: functions.Deployed | None) -> elb.TargetGroup:
    """Where the ALB sends traffic; its health check is the scenario's health path (the application's)."""
    check = {
        "HealthCheckEnabled": True,
        "HealthCheckPath": ctx.scenario.routing.health_check.path,
        "Matcher": elb.Matcher(HttpCode="200"),
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 3,
    }
    if ctx.scenario.compute.kind is ComputeKind.LAMBDA:
        if app_health is None:
            raise ValueError("a Lambda target needs the app-health function")  # a builder bug
        permission = "AppHealthLoadBalancerPermission"
        # The target group's ARN does not exist before the permission does, so the grant is by account.
        functions.invoke(ctx, permission, app_health, "elasticloadbalancing.amazonaws.com")
        return ctx.add(
            elb.TargetGroup(
                "TargetGroup",
                DependsOn=[permission],
                TargetType="lambda",
                Targets=[elb.TargetDescription(Id=app_health.arn)],
                HealthCheckIntervalSeconds=35,
                HealthCheckTimeoutSeconds=30,
                **check,
            )
        )
    return ctx.add(
        elb.TargetGroup(
            "TargetGroup",
            TargetType="ip" if ctx.scenario.compute.kind is ComputeKind.ECS else "instance",
            Protocol=target_protocol(ctx),
            Port=ctx.scenario.compute.app_port,
            VpcId=inputs.vpc_id(ctx),
            HealthCheckProtocol=target_protocol(ctx),
            # The shortest ELB allows: the failover's scale-out sends traffic to a new target after two checks
            # (10 s, the drgen budget's capacity branch); the timeout must be shorter than the interval.
            HealthCheckIntervalSeconds=TARGET_CHECK_SECONDS,
            HealthCheckTimeoutSeconds=TARGET_CHECK_SECONDS - 1,
            TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
            **check,
        )
    )


def target_protocol(ctx: StackContext) -> str:
    return "HTTPS" if ctx.scenario.compute.target_tls else "HTTP"
