"""Compute: what answers the scenario's traffic in each region, and the names Route 53 and the failover use.

Per scenario kind: ECS Fargate behind an ALB, an EC2 Auto Scaling group behind an ALB, a Lambda function behind
an ALB, or API Gateway (api.py). Both regions run the same template; the DR region runs the standby capacity
and the failover scales it to the active capacity. Every endpoint serves HTTPS with an ACM certificate validated
in the scenario's hosted zone, for the failover name (``app.example.com``) and a regional name
(``app.<region>.example.com``) that Route 53 health checks and the failover validation probe: it reaches this
region whatever the failover record says, with a certificate that matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Select, Split, Sub, certificatemanager, route53

from drgen.builders import auto_scaling, ecs_service, functions, inputs, load_balancer, monitoring
from drgen.builders.alerting import LOAD_BALANCER_FULL_NAME, TARGET_GROUP_FULL_NAME
from drgen.builders.context import StackContext
from drgen.builders.inputs import ENDPOINT_HOSTED_ZONE_ID, HEALTH_CHECK_FQDN
from drgen.builders.workload import security_group, workload_egress
from drgen.bundle.names import ENDPOINT_DNS_NAME
from drgen.scenario.model import ComputeKind, Scenario

# Outputs the failover functions read (inputs.py names the ones other stacks read).
HEALTH_URL = "HealthUrl"
ALB_KINDS = (ComputeKind.ECS, ComputeKind.ASG, ComputeKind.LAMBDA)


@dataclass(frozen=True)
class Endpoint:
    """A region's public entry point: its DNS target (an alias) and the regional name health checks probe."""

    dns_name: Any
    hosted_zone_id: Any


# -- names -------------------------------------------------------------------------------------------------
def has_endpoint(scenario: Scenario) -> bool:
    """Whether the scenario serves traffic (a connectivity scenario routes DNS to its database instead)."""
    return scenario.compute.kind is not ComputeKind.CONNECTIVITY


def regional_domain_name(scenario: Scenario) -> str:
    """This region's own name (a Sub pattern): it always reaches this region."""
    return f"{scenario.routing.record}.${{AWS::Region}}.{scenario.routing.domain}"


def function_network(ctx: StackContext) -> functions.Network:
    """The security group of functions in the VPC: out to the database and to AWS APIs (HTTPS), nothing in."""
    group = security_group(
        ctx,
        "FunctionSecurityGroup",
        "Lambda functions in the VPC",
        ingress=[],
        egress=workload_egress(ctx),
    )
    return functions.Network(subnets=inputs.private_subnets(ctx), security_group=Ref(group))


def load_balanced(ctx: StackContext, app_health: functions.Deployed | None) -> None:
    """The ALB of an ECS, Auto Scaling or Lambda scenario with what runs behind it, and the endpoint outputs."""
    kind = ctx.scenario.compute.kind
    cert = certificate(ctx)
    target_group = load_balancer.target_group(ctx, app_health)
    balancer = load_balancer.application_load_balancer(ctx, cert, target_group)
    monitoring.load_balancer(ctx, balancer.load_balancer, target_group)
    if kind is ComputeKind.ECS:
        ecs_service.service(ctx, balancer, target_group)
    elif kind is ComputeKind.ASG:
        auto_scaling.group(ctx, balancer, target_group)
    alias = Endpoint(GetAtt(balancer.load_balancer, "DNSName"), GetAtt(balancer.load_balancer, "CanonicalHostedZoneID"))
    endpoint_outputs(ctx, alias, alias)
    # The global dashboard's ALB widgets: the metrics' dimension values, cut from the ARNs (the same text as the
    # LoadBalancerFullName / TargetGroupFullName attributes, which the moto sandbox cannot resolve).
    full_name = Select(1, Split(":loadbalancer/", Ref(balancer.load_balancer)))  # app/<name>/<id>
    ctx.output(LOAD_BALANCER_FULL_NAME, full_name, "The ALB's full name (its metrics' dimension).")
    group_name = Select(5, Split(":", Ref(target_group)))  # targetgroup/<name>/<id>
    ctx.output(TARGET_GROUP_FULL_NAME, group_name, "The target group's full name (its metrics' dimension).")


def certificate(ctx: StackContext) -> certificatemanager.Certificate:
    """One certificate for the failover name and this region's name, validated by DNS in the hosted zone."""
    zone = inputs.zone_id(ctx)
    shared, regional = ctx.scenario.routing.host_name, Sub(regional_domain_name(ctx.scenario))
    return ctx.add(
        certificatemanager.Certificate(
            "Certificate",
            DomainName=shared,
            SubjectAlternativeNames=[regional],
            ValidationMethod="DNS",
            DomainValidationOptions=[
                certificatemanager.DomainValidationOption(DomainName=name, HostedZoneId=zone)
                for name in (shared, regional)
            ],
        )
    )


def endpoint_outputs(ctx: StackContext, public: Endpoint, regional: Endpoint) -> None:
    """The regional record (this region's name -> its endpoint) and the outputs the global stack reads."""
    name = regional_domain_name(ctx.scenario)
    ctx.add(
        route53.RecordSetType(
            "RegionalRecord",
            HostedZoneId=inputs.zone_id(ctx),
            Name=Sub(name + "."),
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=regional.dns_name, HostedZoneId=regional.hosted_zone_id, EvaluateTargetHealth=False
            ),
        )
    )
    ctx.output(ENDPOINT_DNS_NAME, public.dns_name, "DNS name the failover record aliases to in this region.")
    ctx.output(ENDPOINT_HOSTED_ZONE_ID, public.hosted_zone_id, "Hosted zone of that DNS name (the alias target's).")
    ctx.output(HEALTH_CHECK_FQDN, Sub(name), "This region's own name: Route 53 health checks probe it.")
    path = ctx.scenario.routing.health_check.path
    ctx.output(HEALTH_URL, Sub(f"https://{name}{path}"), "This region's health endpoint (reads the database).")
