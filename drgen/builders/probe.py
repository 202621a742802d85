"""The DR region's own failover trigger: a probe of the primary's endpoint that runs in the DR region.

Route 53 publishes its health-check metrics only in us-east-1, so an alarm on them is in the failed region when
the primary is us-east-1. The probe (lambda/probe/app.py) runs in the DR region and makes the check Route 53's
makes, every 10 s; after two failed 10-second periods of three its alarm fires (20 s), and a rule on that alarm
starts the failover exactly as the forwarded Route 53 alarm does (static stability, MISSION.md). The alarm is also
one of the signals the failover's confirm step reads.
"""

from __future__ import annotations

from troposphere import Join, Ref, ec2
from troposphere import events as tevents

from drgen.builders import events, functions, inputs
from drgen.builders.alerting import alarm, connectivity_namespace
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.functions import Deployed
from drgen.builders.network import ANYWHERE
from drgen.lambda_code import contract
from drgen.lambda_functions import probe_for
from drgen.scenario.model import ComputeKind, Role

SCHEDULE = "rate(1 minute)"
TIMEOUT_SECONDS = 4  # Route 53's checkers want the connection within 4 s
# EventBridge runs a schedule at most once a minute: each run samples every 10 s, published at high resolution, so
# the alarm can use 10-second periods (the shortest CloudWatch offers) and the DR region detects in 20 s.
SAMPLE_SECONDS = 10
SAMPLES = 6
# The alarm fires on FAILED_SAMPLES failed periods among the last EVALUATED_SAMPLES (an M-of-N alarm): never on
# one lost probe; the failover's confirm step still waits for a second signal before anything that may lose data.
FAILED_SAMPLES = 2
EVALUATED_SAMPLES = 3


def target(ctx: StackContext) -> Join:
    """What the DR region's probe checks: the URL Route 53's check fetches, or the primary's cluster port."""
    if ctx.scenario.compute.kind is ComputeKind.CONNECTIVITY:
        endpoint = inputs.primary_cluster_endpoint(ctx)
        return Join("", [contract.TCP_SCHEME, endpoint, f":{ctx.scenario.database.port}"])
    fqdn = inputs.primary_health_check_fqdn(ctx)
    return Join("", ["https://", fqdn, ctx.scenario.routing.health_check.path])


def trigger(ctx: StackContext, deployed: Deployed, failover: tevents.Rule) -> tevents.Rule:
    """Every 10 s the probe checks the primary; after FAILED_SAMPLES failed 10-second periods of EVALUATED_SAMPLES
    its alarm fires, and a rule on that alarm starts the failover exactly as the forwarded trigger does."""
    functions.schedule(ctx, deployed, SCHEDULE, "Probes the primary's endpoint from the DR region every 10 s")
    probe_alarm = alarm(
        ctx,
        "PrimaryProbeAlarm",
        ctx.names.regional("alarm", contract.PROBE_ALARM),
        "The DR region's probe finds the primary's endpoint unhealthy: starts the failover.",
        [inputs.alert_topic(ctx)],
        Condition=IS_SECONDARY,
        Namespace=connectivity_namespace(ctx.scenario),
        period=SAMPLE_SECONDS,
        MetricName=contract.PRIMARY_ENDPOINT_HEALTHY,
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=EVALUATED_SAMPLES,
        DatapointsToAlarm=FAILED_SAMPLES,
        # No data means the probe is not running: that says nothing about the primary, so no failover.
        TreatMissingData="missing",
    )
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": [events.ALARM_STATE_CHANGE],
        "detail": {"alarmName": [Ref(probe_alarm)], "state": {"value": ["ALARM"]}},
    }
    return ctx.add(
        tevents.Rule(
            "ProbeFailoverTrigger",
            Condition=IS_SECONDARY,
            Description="Starts an unplanned failover when the DR region's probe of the primary fails",
            EventPattern=pattern,
            State="ENABLED",
            Targets=failover.Targets,  # the same target, role, input and retry policy as the forwarded trigger
        )
    )


def network(ctx: StackContext) -> functions.Network | None:
    """A database probe's network: the private subnets, out to the primary's CIDR on the database port (over
    the peering) and to CloudWatch on HTTPS (metrics): this VPC's endpoint, or through NAT its public endpoint
    when the DR region has NAT (and so no interface endpoints); nothing in."""
    if not probe_for(ctx.scenario).vpc:
        return None
    port = ctx.scenario.database.port
    network = ctx.scenario.network
    through_nat = network.nat_count(Role.SECONDARY) > 0
    egress = [
        ec2.SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            CidrIp=network.primary_cidr,
            Description=f"TCP {port} to the primary's cluster over the peering",
        ),
        ec2.SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=443,
            ToPort=443,
            CidrIp=ANYWHERE if through_nat else network.secondary_cidr,
            Description="HTTPS to CloudWatch through NAT"
            if through_nat
            else "HTTPS to this VPC's endpoints (CloudWatch metrics)",
        ),
    ]
    group = ctx.add(
        ec2.SecurityGroup(
            "ProbeSecurityGroup",
            Condition=IS_SECONDARY,
            GroupDescription="DR region probe of the primary database: egress only",
            VpcId=inputs.vpc_id(ctx),
            SecurityGroupEgress=egress,
        )
    )
    return functions.Network(subnets=inputs.private_subnets(ctx), security_group=Ref(group))
