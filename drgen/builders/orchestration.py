"""Failover orchestration in the DR region: the failover functions and the Standard Step Functions machine.

The machine lives in the DR region because Step Functions' integrations call their own region and a failover
must not need the failing primary. Its input is ``{mode, planned, force}`` (each optional: an alarm-started run
is an unplanned failover, a failback is planned unless told otherwise); ``mode: failback`` runs the same steps
back to the primary. The path: guard (record the start, refuse a concurrent run or a lagging failback) ->
promote -> scale (the compute starts while Aurora promotes) -> poll the promotion (Wait + Choice, bounded) ->
shift DNS -> validate -> Choice on ``$.validation.valid`` -> notify success, or notify failure -> Fail. Every
Task retries with exponential backoff and jitter (refusals excepted) and catches everything into the failure
notification.

Static stability (MISSION.md): nothing on the failover path needs the primary region. Two triggers start the
machine: the us-east-1 health-check alarm forwarded to this region (events.py), and this region's own probe
of the primary's endpoint (``probe``: a scheduled function, its alarm, and a rule on that alarm). EventBridge
cannot name the executions it starts, so two triggers firing together start two runs; the guard step lets the
oldest proceed and refuses the other, and every step is idempotent, so a later duplicate run changes nothing.
The DNS step shifts traffic through this region's failover-engaged alarm first (see routing.py); a step that
touches the primary region at all (failback only) says why in its catalogue entry, and lint rule E9010 fails
on any other primary-region reference in this template's DR-only resources.

The definition is built from a Python dict (``definition``) with ``${<Function>Arn}`` placeholders filled by
DefinitionSubstitutions, so the tests can walk the same structure the template carries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from awacs import autoscaling as autoscaling_actions
from awacs import cloudwatch as cloudwatch_actions
from awacs import ecs as ecs_actions
from awacs import logs, rds, route53, ssm, states, xray
from awacs.application_autoscaling import DescribeScalableTargets, RegisterScalableTarget
from awacs.aws import Allow, PolicyDocument, Statement
from awacs.awslambda import InvokeFunction
from troposphere import GetAtt, Join, Ref, Sub, ec2, iam, stepfunctions
from troposphere import events as tevents
from troposphere import logs as tlogs

from drgen.builders import compute, events, functions, parameters, routing, upstream
from drgen.builders.alerting import alarm, connectivity_namespace
from drgen.builders.context import IS_SECONDARY, OutputRef, StackContext
from drgen.builders.database import CLUSTER, LOG_RETENTION_DAYS
from drgen.builders.functions import Deployed, camel
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.functions import FAILOVER_STEPS, READINESS, probe_for
from drgen.scenario.model import ComputeKind, HealthCheck, HealthCheckType, Role, Scenario

STATE_MACHINE = "failover"
STATE_MACHINE_ARN = "FailoverStateMachineArn"
POLL_SECONDS = 15
# Aurora promotes "within a few minutes"; 40 polls of 15 s give it 10 minutes before the run counts as failed.
MAX_POLLS = 40
TASK_RETRY = {"IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}
# The guard's refusals (lambda/drgen_common/failover.py): retrying them cannot succeed.
REFUSALS = ("ConcurrentFailoverError", "ReplicationLagError")
EXECUTION_TIMEOUT_SECONDS = 3600
# The DR region's probe of the primary (lambda/probe/app.py publishes the metric).
PROBE_METRIC = "PrimaryEndpointHealthy"
PROBE_ALARM = "primary-probe"
PROBE_SCHEDULE = "rate(1 minute)"
PROBE_TIMEOUT_SECONDS = 4  # Route 53's checkers want the connection within 4 s
# state name -> the catalogue function its Task invokes
TASKS = {
    "Guard": "failover-guard",
    "Promote": "failover-promote",
    "PromotionStatus": "failover-promotion-status",
    "Scale": "failover-scale",
    "ShiftDns": "failover-dns",
    "Validate": "failover-validate",
    "NotifySuccess": "failover-notify",
    "NotifyFailure": "failover-notify",
}
FAILED = "FailoverFailed"
SUCCEEDED = "FailoverSucceeded"
NOTIFY_FAILURE = "NotifyFailure"
# lambda/failover/dns.py's data plane: the failover-engaged alarm goes to ALARM on a failover, OK on a failback.
ENGAGED_STATES = (("failover", "ALARM"), ("failback", "OK"))


def substitution(key: str) -> str:
    """The DefinitionSubstitutions variable holding a function's ARN."""
    return f"{camel(key)}Arn"


# -- the definition (pure) -----------------------------------------------------------------------------------
def definition(scenario: Scenario) -> dict[str, Any]:
    """The failover state machine as a dict (Amazon States Language); Lambda ARNs are ${...} placeholders."""
    states_: dict[str, Any] = {
        "ChooseMode": {
            "Type": "Choice",
            "Comment": "A failback is planned unless the input says otherwise; a failover is not.",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.mode", "IsPresent": True},
                        {"Variable": "$.mode", "StringEquals": "failback"},
                    ],
                    "Next": "FailbackDefaults",
                }
            ],
            "Default": "FailoverDefaults",
        },
        "FailoverDefaults": _defaults("failover", planned=False),
        "FailbackDefaults": _defaults("failback", planned=True),
        "Request": {
            "Type": "Pass",
            "Comment": "The input over the defaults: every step receives the same request.",
            "Parameters": {"request.$": "States.JsonMerge($.defaults, $.input, false)"},
            "Next": "Guard",
        },
        "Guard": _task(scenario, "Guard", "$.guard", "Promote"),
        "Promote": _task(scenario, "Promote", "$.promotion", "Scale"),
        # The stateless tier does not need the writer to start: scaling while Aurora promotes overlaps the two
        # longest waits of the failover (a failback scales nothing).
        "Scale": _task(scenario, "Scale", "$.scale", "StartPolling"),
        "StartPolling": {"Type": "Pass", "Result": {"count": 0}, "ResultPath": "$.polls", "Next": "WaitForPromotion"},
        "WaitForPromotion": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "PromotionStatus"},
        "PromotionStatus": _task(scenario, "PromotionStatus", "$.promotion_status", "PromotedYet"),
        "PromotedYet": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.promotion_status.promoted", "BooleanEquals": True, "Next": "ShiftDns"},
                {"Variable": "$.polls.count", "NumericGreaterThanEquals": MAX_POLLS, "Next": "PromotionTimedOut"},
            ],
            "Default": "CountPoll",
        },
        "CountPoll": {
            "Type": "Pass",
            "Parameters": {"count.$": "States.MathAdd($.polls.count, 1)"},
            "ResultPath": "$.polls",
            "Next": "WaitForPromotion",
        },
        "PromotionTimedOut": _error("PromotionTimedOut", f"not promoted after {MAX_POLLS * POLL_SECONDS} s"),
        "ShiftDns": _task(scenario, "ShiftDns", "$.dns", "DnsShifted"),
        "DnsShifted": {
            "Type": "Choice",
            "Comment": "The DNS step's own report: the failover-engaged alarm must be in the mode's state.",
            "Choices": [_data_plane_rule(mode, state) for mode, state in ENGAGED_STATES],
            "Default": "DnsShiftFailed",
        },
        "DnsShiftFailed": _error("DnsShiftFailed", "the failover-engaged alarm is not in the mode's state: see $.dns"),
        "Validate": _task(scenario, "Validate", "$.validation", "Valid"),
        "Valid": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.validation.valid", "BooleanEquals": True, "Next": "NotifySuccess"}],
            "Default": "ValidationFailed",
        },
        "ValidationFailed": _error("ValidationFailed", "the DR region is not serving: see $.validation.checks"),
        "NotifySuccess": _task(
            scenario, "NotifySuccess", "$.notification", SUCCEEDED, {"validation.$": "$.validation"}
        ),
        NOTIFY_FAILURE: _task(scenario, NOTIFY_FAILURE, "$.notification", FAILED, {"error.$": "$.error"}),
        SUCCEEDED: {"Type": "Succeed"},
        FAILED: {"Type": "Fail", "Error": FAILED, "Cause": "The failover did not complete; see the notification."},
    }
    return {
        "Comment": f"drgen {scenario.name}: failover to the DR region (mode failback reverses it)",
        "StartAt": "ChooseMode",
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": states_,
    }


def _data_plane_rule(mode: str, state: str) -> dict[str, Any]:
    """Proceed to validation when the DNS step set the failover-engaged alarm to ``state`` for ``mode``."""
    return {
        "And": [
            {"Variable": "$.dns.data_plane.state", "IsPresent": True},
            {"Variable": "$.request.mode", "StringEquals": mode},
            {"Variable": "$.dns.data_plane.state", "StringEquals": state},
        ],
        "Next": "Validate",
    }


def _defaults(mode: str, *, planned: bool) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Parameters": {"defaults": {"mode": mode, "planned": planned, "force": False}, "input.$": "$"},
        "Next": "Request",
    }


def _error(error: str, cause: str) -> dict[str, Any]:
    """Record why the run failed where a Catch would, then notify the failure."""
    return {
        "Type": "Pass",
        "Result": {"Error": error, "Cause": cause},
        "ResultPath": "$.error",
        "Next": NOTIFY_FAILURE,
    }


def _task(
    scenario: Scenario, state: str, result_path: str, next_state: str, extra: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda Task: the common request in, its result at ``result_path``; retried, and caught into the failure
    notification (whose own failure ends the run)."""
    catch = FAILED if state == NOTIFY_FAILURE else NOTIFY_FAILURE
    parameters = {
        "mode.$": "$.request.mode",
        "planned.$": "$.request.planned",
        "force.$": "$.request.force",
        "lag_threshold_seconds": scenario.database.lag_alarm_seconds,
        "execution_id.$": "$$.Execution.Id",
        "started_at.$": "$$.Execution.StartTime",
        **(extra or {}),
    }
    return {
        "Type": "Task",
        "Resource": "${" + substitution(TASKS[state]) + "}",
        "Parameters": parameters,
        "ResultPath": result_path,
        "Retry": [
            {"ErrorEquals": list(REFUSALS), "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"], **TASK_RETRY},
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch}],
        "Next": next_state,
    }


# -- the layer -----------------------------------------------------------------------------------------------
def state_machine_arn(ctx: StackContext) -> Sub:
    """The DR region's state machine ARN, as either region's stack sees it."""
    return Sub(
        "arn:${AWS::Partition}:states:${Region}:${AWS::AccountId}:stateMachine:"
        + ctx.names.fixed("statemachine", STATE_MACHINE),
        Region=upstream.region_of(ctx, Role.SECONDARY),
    )


def failover_env(ctx: StackContext, state_parameter: str) -> dict[str, Any]:
    """Everything the failover steps and the readiness test read (see drgen/functions.py)."""
    kind = ctx.scenario.compute.kind
    serving = compute.has_endpoint(ctx.scenario)
    return {
        "STATE_MACHINE_ARN": state_machine_arn(ctx),
        "STATE_PARAMETER": state_parameter,
        "GLOBAL_CLUSTER_ID": upstream.global_cluster_id(ctx),
        "DR_CLUSTER_ARN": upstream.dr_cluster_arn(ctx),
        "COMPUTE_KIND": kind.value,
        "ECS_CLUSTER": _scale_target(ctx, ComputeKind.ECS, compute.ECS_CLUSTER_NAME, "ECS cluster"),
        "ECS_SERVICE": _scale_target(ctx, ComputeKind.ECS, compute.ECS_SERVICE_NAME, "ECS service"),
        "ASG_NAME": _scale_target(ctx, ComputeKind.ASG, compute.AUTO_SCALING_GROUP_NAME, "Auto Scaling group"),
        "ACTIVE_CAPACITY": str(ctx.scenario.compute.active_capacity),
        "HOSTED_ZONE_ID": routing.zone_id(ctx),
        "PRIMARY_HEALTH_CHECK_ID": record_health_check_id(ctx),
        "RECORD_NAME": compute.domain_name(ctx.scenario) + ".",
        "ENGAGED_ALARM_NAME": ctx.names.regional("alarm", routing.ENGAGED_ALARM),
        "PRIMARY_REGION": upstream.region_of(ctx, Role.PRIMARY),
        "PROBE_TARGET": probe_target(ctx),
        "SEARCH_STRING": _search_string(ctx.scenario),
        "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
        # The validation and the readiness test probe this region's own name, whatever DNS answers.
        "HEALTH_URL": upstream.app_output(ctx, compute.HEALTH_URL, "This region's health endpoint.") if serving else "",
        "LAG_THRESHOLD_SECONDS": f"{ctx.scenario.database.lag_alarm_seconds:g}",
    }


def record_health_check_id(ctx: StackContext) -> Ref:
    """The health check gating the PRIMARY record (global stack), which the DNS step inverts as its second way."""
    return ctx.input(
        routing.PRIMARY_RECORD_CHECK_OUTPUT,
        "Route 53 health check gating the PRIMARY record; empty in the primary's stack.",
        {Role.SECONDARY: OutputRef("global", Role.GLOBAL, routing.PRIMARY_RECORD_CHECK_OUTPUT)},
    )


def probe_target(ctx: StackContext) -> Join:
    """What the DR region's probe checks: the URL Route 53's check fetches, or the primary's cluster port."""
    if ctx.scenario.compute.kind is ComputeKind.CONNECTIVITY:
        endpoint = ctx.input(
            "PrimaryClusterEndpoint",
            "Writer endpoint of the primary's cluster (the probe connects to it); empty in the primary's stack.",
            {Role.SECONDARY: OutputRef("data", Role.PRIMARY, upstream.CLUSTER_ENDPOINT)},
        )
        return Join("", ["tcp://", endpoint, f":{ctx.scenario.database.port}"])
    fqdn = ctx.input(
        "PrimaryHealthCheckFqdn",
        "The primary's own name its Route 53 health check probes; empty in the primary's stack.",
        {Role.SECONDARY: OutputRef("app", Role.PRIMARY, routing.HEALTH_CHECK_FQDN)},
    )
    return Join("", ["https://", fqdn, ctx.scenario.routing.health_check.path])


def _search_string(scenario: Scenario) -> str:
    check = scenario.routing.health_check
    return check.search_string if check.type is HealthCheckType.HTTPS_STR_MATCH else ""


def _scale_target(ctx: StackContext, kind: ComputeKind, output: str, what: str) -> Any:
    """The DR app stack's name of what the scale step resizes ("" when the scenario has no such compute)."""
    return upstream.dr_app_output(ctx, output, what) if ctx.scenario.compute.kind is kind else ""


def failover_grants(ctx: StackContext, state_parameter_arn: Any) -> dict[str, list[Statement]]:
    """What each failover step and the readiness test call, resource by resource."""
    global_cluster = Sub(
        "arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:${Id}", Id=upstream.global_cluster_id(ctx)
    )
    clusters = [_cluster_arn(ctx, region) for region in ("AWS::Region", "PeerRegion")]
    machine = state_machine_arn(ctx)
    state = [ssm.GetParameter, ssm.PutParameter]
    describe = Statement(Effect=Allow, Action=[rds.DescribeGlobalClusters], Resource=[global_cluster])
    return {
        "failover-guard": [
            Statement(Effect=Allow, Action=[states.ListExecutions], Resource=[machine]),
            Statement(Effect=Allow, Action=state, Resource=[state_parameter_arn]),
        ],
        "failover-promote": [
            describe,
            Statement(
                Effect=Allow,
                Action=[rds.FailoverGlobalCluster, rds.SwitchoverGlobalCluster],
                Resource=[global_cluster, *clusters],
            ),
        ],
        "failover-promotion-status": [describe],
        "failover-scale": _scale_grants(ctx),
        "failover-dns": [
            Statement(
                Effect=Allow,
                Action=[cloudwatch_actions.SetAlarmState],
                Resource=[
                    Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
                        + ctx.names.regional_text("alarm", routing.ENGAGED_ALARM))
                ],
            ),
            Statement(
                Effect=Allow,
                Action=[route53.GetHealthCheck, route53.UpdateHealthCheck],
                Resource=[Sub("arn:${AWS::Partition}:route53:::healthcheck/${Id}", Id=record_health_check_id(ctx))],
            ),
            Statement(
                Effect=Allow,
                Action=[route53.ListResourceRecordSets],
                Resource=[Sub("arn:${AWS::Partition}:route53:::hostedzone/${Id}", Id=routing.zone_id(ctx))],
            ),
        ],
        "failover-validate": [describe],
        "failover-notify": [Statement(Effect=Allow, Action=state, Resource=[state_parameter_arn])],
        "readiness": [describe, Statement(Effect=Allow, Action=[states.DescribeStateMachine], Resource=[machine])],
    }


def _cluster_arn(ctx: StackContext, region: str) -> Sub:
    text = ctx.names.regional_text if region == "AWS::Region" else ctx.names.peer_text
    return Sub(f"arn:${{AWS::Partition}}:rds:${{{region}}}:${{AWS::AccountId}}:cluster:{text('rds', CLUSTER)}")


def _scale_grants(ctx: StackContext) -> list[Statement]:
    """The scale step resizes this (DR) region's ECS service or Auto Scaling group, nothing else."""
    kind = ctx.scenario.compute.kind
    if kind is ComputeKind.ECS:
        service = Sub(
            "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${Cluster}/${Service}",
            Cluster=upstream.dr_app_output(ctx, compute.ECS_CLUSTER_NAME, "ECS cluster"),
            Service=upstream.dr_app_output(ctx, compute.ECS_SERVICE_NAME, "ECS service"),
        )
        return [
            Statement(Effect=Allow, Action=[ecs_actions.DescribeServices, ecs_actions.UpdateService],
                      Resource=[service]),
            # Listing is authorized on "*" only; a scalable target's ARN ends in a generated id.
            Statement(Effect=Allow, Action=[DescribeScalableTargets], Resource=["*"]),
            Statement(
                Effect=Allow,
                Action=[RegisterScalableTarget],
                Resource=[
                    Sub("arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:${AWS::AccountId}:"
                        "scalable-target/*")
                ],
            ),
        ]
    if kind is ComputeKind.ASG:
        return [
            # Describe calls are not resource-scoped in EC2 Auto Scaling.
            Statement(Effect=Allow, Action=[autoscaling_actions.DescribeAutoScalingGroups], Resource=["*"]),
            Statement(
                Effect=Allow,
                Action=[autoscaling_actions.UpdateAutoScalingGroup],
                Resource=[compute.asg_arn(ctx)],
            ),
        ]
    return []


def state_machine(ctx: StackContext, deployed: Mapping[str, Deployed]) -> stepfunctions.StateMachine:
    """The Standard state machine (DR region), traced with X-Ray and logging every execution event."""
    name = ctx.names.fixed("statemachine", STATE_MACHINE)
    group = ctx.add(
        tlogs.LogGroup(
            "FailoverLogGroup",
            Condition=IS_SECONDARY,
            # Under /aws/vendedlogs/ CloudWatch Logs needs no resource policy entry per state machine.
            LogGroupName=f"/aws/vendedlogs/states/{name}",
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=upstream.key_arn(ctx),
            **DESTROYABLE,
        )
    )
    keys = sorted(set(TASKS.values()))
    role = ctx.add(
        iam.Role(
            "FailoverStateMachineRole",
            Condition=IS_SECONDARY,
            AssumeRolePolicyDocument=service_trust("states.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="failover",
                    PolicyDocument=PolicyDocument(
                        Version=POLICY_VERSION, Statement=_machine_statements([deployed[k].arn for k in keys])
                    ),
                )
            ],
        )
    )
    machine = ctx.add(
        stepfunctions.StateMachine(
            "FailoverStateMachine",
            Condition=IS_SECONDARY,
            StateMachineName=name,
            StateMachineType="STANDARD",
            RoleArn=GetAtt(role, "Arn"),
            DefinitionString=json.dumps(definition(ctx.scenario), sort_keys=True),
            DefinitionSubstitutions={substitution(k): deployed[k].arn for k in keys},
            TracingConfiguration=stepfunctions.TracingConfiguration(Enabled=True),
            LoggingConfiguration=stepfunctions.LoggingConfiguration(
                Level="ALL",
                IncludeExecutionData=True,
                Destinations=[
                    stepfunctions.LogDestination(
                        CloudWatchLogsLogGroup=stepfunctions.CloudWatchLogsLogGroup(LogGroupArn=GetAtt(group, "Arn"))
                    )
                ],
            ),
        )
    )
    ctx.output(STATE_MACHINE_ARN, Ref(machine), "The failover state machine (DR region).", IS_SECONDARY)
    return machine


def function_outputs(ctx: StackContext, deployed: Mapping[str, Deployed]) -> None:
    """An output per failover function ARN (DR region), for operators and runbooks: ``<Function>Arn``."""
    for spec in FAILOVER_STEPS:
        ctx.output(
            substitution(spec.key), deployed[spec.key].arn, f"Failover step function: {spec.description}", IS_SECONDARY
        )


def _machine_statements(function_arns: list[Any]) -> list[Statement]:
    return [
        Statement(Effect=Allow, Action=[InvokeFunction], Resource=function_arns),
        # Log delivery and X-Ray are configured through account-level APIs that AWS authorizes on "*" only.
        Statement(
            Effect=Allow,
            Action=[
                logs.CreateLogDelivery,
                logs.GetLogDelivery,
                logs.UpdateLogDelivery,
                logs.DeleteLogDelivery,
                logs.ListLogDeliveries,
                logs.PutResourcePolicy,
                logs.DescribeResourcePolicies,
                logs.DescribeLogGroups,
            ],
            Resource=["*"],
        ),
        Statement(
            Effect=Allow,
            Action=[xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets],
            Resource=["*"],
        ),
    ]


# -- the DR region's own trigger -----------------------------------------------------------------------------
def probe_minutes(check: HealthCheck) -> int:
    """Failed one-minute probes before the probe's alarm fires: as long as Route 53 takes to find the endpoint
    unhealthy (RequestInterval x FailureThreshold) in whole minutes, and never one: a single lost probe must not
    start a failover that may lose data."""
    return max(2, math.ceil(check.interval_seconds * check.failure_threshold / 60))


def probe(ctx: StackContext, deployed: Deployed, trigger: tevents.Rule) -> None:
    """Every minute the probe checks the primary; after ``probe_minutes`` failed minutes its alarm fires, and a
    rule on that alarm starts the failover exactly as the forwarded trigger does."""
    functions.schedule(ctx, deployed, PROBE_SCHEDULE, "Probes the primary's endpoint from the DR region")
    failures = probe_minutes(ctx.scenario.routing.health_check)
    probe_alarm = alarm(
        ctx,
        "PrimaryProbeAlarm",
        ctx.names.regional("alarm", PROBE_ALARM),
        "The DR region's probe finds the primary's endpoint unhealthy: starts the failover.",
        [upstream.alert_topic(ctx)],
        Condition=IS_SECONDARY,
        Namespace=connectivity_namespace(ctx.scenario),
        MetricName=PROBE_METRIC,
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=failures,
        DatapointsToAlarm=failures,
        # No data means the probe is not running: that says nothing about the primary, so no failover.
        TreatMissingData="missing",
    )
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": [events.ALARM_STATE_CHANGE],
        "detail": {"alarmName": [Ref(probe_alarm)], "state": {"value": ["ALARM"]}},
    }
    ctx.add(
        tevents.Rule(
            "ProbeFailoverTrigger",
            Condition=IS_SECONDARY,
            Description="Starts an unplanned failover when the DR region's probe of the primary fails",
            EventPattern=pattern,
            State="ENABLED",
            Targets=trigger.Targets,  # the same target, role, input and retry policy as the forwarded trigger
        )
    )


def probe_network(ctx: StackContext) -> functions.Network | None:
    """A database probe's network: the private subnets, out to the primary's CIDR on the database port (over
    the peering) and to this VPC's endpoints on HTTPS (metrics), nothing in."""
    if not probe_for(ctx.scenario).vpc:
        return None
    port = ctx.scenario.database.port
    network = ctx.scenario.network
    egress = [
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=network.primary_cidr,
                              Description=f"TCP {port} to the primary's cluster over the peering"),
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=network.secondary_cidr,
                              Description="HTTPS to this VPC's endpoints (CloudWatch metrics)"),
    ]
    group = ctx.add(
        ec2.SecurityGroup(
            "ProbeSecurityGroup",
            Condition=IS_SECONDARY,
            GroupDescription="DR region probe of the primary database: egress only",
            VpcId=upstream.vpc_id(ctx),
            SecurityGroupEgress=egress,
        )
    )
    return functions.Network(subnets=upstream.private_subnets(ctx), security_group=Ref(group))


def build(ctx: StackContext) -> None:
    """The orchestration layer: readiness test in both regions; in the DR region the failover machinery."""
    state_name, state_arn = parameters.failover_state(ctx)
    probe_spec = probe_for(ctx.scenario)
    deployed = functions.deploy(
        ctx,
        [*FAILOVER_STEPS, READINESS, probe_spec],
        failover_env(ctx, state_name),
        failover_grants(ctx, state_arn),
        probe_network(ctx),
    )
    machine = state_machine(ctx, deployed)
    function_outputs(ctx, deployed)
    trigger = events.failover_trigger(ctx, machine)
    probe(ctx, deployed[probe_spec.key], trigger)
    functions.schedule(
        ctx,
        deployed[READINESS.key],
        "rate(1 hour)",
        "Hourly failover-readiness test: health endpoint, standby cluster, replication lag, state machine",
    )
