"""AWS ARC Region switch plan from the same scenario, beside drgen's state machine (opt-in: ``arc_plan``).

Region switch runs a plan from the Region being activated; the plan is one global resource (its ARN has no
Region), so it exists once: in the DR region's orchestration stack. Activating the DR region promotes the Aurora
global database while the compute scales, then runs drgen's DNS step; activating the primary switches the
database back, then runs the DNS step's failback. DNS is a custom action Lambda block invoking drgen's
failover-dns: a Route 53 health check block creates health checks that the records must then carry, while
drgen's records (global stack, deployed before this one) are gated by its own CALCULATED check. An ungraceful
run skips Lambda blocks: DNS then moves by Route 53's failover on the primary's health, and an Auto Scaling group
(scaled through drgen's function) stays at standby. drgen's guard, confirmation, validation and notification are
not in the plan, and its lock does not cover plan executions: run one orchestrator, not both.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-arcregionswitch-plan.html
https://docs.aws.amazon.com/r53recovery/latest/dg/region-switch-plans.html
https://docs.aws.amazon.com/r53recovery/latest/dg/route53-health-check-block.html
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from awacs import application_autoscaling, arc_region_switch, awslambda, cloudwatch, ecs, rds
from awacs import iam as iam_actions
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Sub, arcregionswitch, iam

from drgen.builders import inputs
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.failover_definition import MAX_POLLS, POLL_SECONDS, TASK_MAX_ATTEMPTS, TASKS
from drgen.builders.functions import PRIMARY_REGION_USE, Deployed
from drgen.builders.iam import POLICY_VERSION, service_trust
from drgen.bundle.names import AURORA_CLUSTER, ECS_CLUSTER_NAME, ECS_SERVICE_NAME
from drgen.errors import ScenarioError
from drgen.lambda_code import contract
from drgen.scenario.model import ComputeKind, Role

PLAN = "RegionSwitchPlan"
PLAN_ARN = "RegionSwitchPlanArn"
# https://docs.aws.amazon.com/r53recovery/latest/dg/security_iam_region_switch_trust_policy.html
SERVICE = "arc-region-switch.amazonaws.com"
NAME_MAX = 32  # the schema's Name: letters, digits and inner hyphens
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$")
PROMOTION_MINUTES = math.ceil(MAX_POLLS * POLL_SECONDS / 60)  # drgen's own bound on the promotion
# A Lambda step is retried every minute, as often as drgen's state machine tries a Task.
LAMBDA_RETRY_MINUTES = 1
LAMBDA_TIMEOUT_MINUTES = LAMBDA_RETRY_MINUTES * TASK_MAX_ATTEMPTS
BOTH = (Role.PRIMARY, Role.SECONDARY)
CLUSTER_PATH, SERVICE_PATH = "cluster/${Cluster}", "service/${Cluster}/${Service}"
# ARNs as the DR region's stack writes them: this region, and the primary as PeerRegion (as orchestration does).
REGION = {Role.SECONDARY: "${AWS::Region}", Role.PRIMARY: "${PeerRegion}"}
USE = (
    "failback only: the plan names the primary region's cluster, service and Region so that one plan activates "
    "either Region; activating the DR region runs from the DR region (Region switch executes a plan from the "
    "Region being activated), and an ungraceful run fails the database over without the primary"
)


class GlobalAuroraConfiguration(arcregionswitch.GlobalAuroraConfiguration):
    # troposphere 4.11 types Behavior as an object; the schema makes it the string switchoverOnly|failover.
    props: ClassVar[dict[str, Any]] = {**arcregionswitch.GlobalAuroraConfiguration.props, "Behavior": (str, True)}


class Lambdas(arcregionswitch.Lambdas):
    # troposphere 4.11 lacks Payload, the JSON text the schema (and the API) pass to the function.
    props: ClassVar[dict[str, Any]] = {**arcregionswitch.Lambdas.props, "Payload": (str, False)}


def rto_minutes(rto_seconds: int) -> int:
    """The RTO in whole minutes, rounded up (the schema allows 1 to 10080)."""
    return max(1, math.ceil(rto_seconds / 60))


def plan_name(ctx: StackContext) -> str:
    name = ctx.names.fixed("generic", "plan")
    if len(name) > NAME_MAX or not NAME_PATTERN.match(name):
        room = max(NAME_MAX - (len(name) - len(ctx.names.suffix)), 0)
        raise ScenarioError(
            f"the Region switch plan name '{name}' is not valid for AWS (at most {NAME_MAX} letters, digits and "
            f"hyphens); use a suffix of at most {room} letters, digits and hyphens"
        )
    return name


# -- ARNs ---------------------------------------------------------------------------------------------------
def _cluster_arn(ctx: StackContext, role: Role) -> Sub:
    text = ctx.names.regional_text if role is Role.SECONDARY else ctx.names.peer_text
    return Sub(f"arn:${{AWS::Partition}}:rds:{REGION[role]}:${{AWS::AccountId}}:cluster:{text('rds', AURORA_CLUSTER)}")


def _app_output(ctx: StackContext, role: Role, output: str, what: str) -> Any:
    """An output of ``role``'s app stack, as a deploy-time input of the DR region's stack."""
    if role is Role.SECONDARY:
        return inputs.dr_app_output(ctx, output, what)
    return inputs.primary_app_output(ctx, output, what)


def _ecs_arn(ctx: StackContext, role: Role, path: str) -> Sub:
    """An ECS ARN in ``role``'s region; ${Cluster} and ${Service} are the names its app stack publishes."""
    names = {"Cluster": _app_output(ctx, role, ECS_CLUSTER_NAME, "ECS cluster")}
    if "${Service}" in path:
        names["Service"] = _app_output(ctx, role, ECS_SERVICE_NAME, "ECS service")
    return Sub(f"arn:${{AWS::Partition}}:ecs:{REGION[role]}:${{AWS::AccountId}}:{path}", **names)


# -- steps --------------------------------------------------------------------------------------------------
def _step(name: str, description: str, block: str, **configuration: Any) -> arcregionswitch.Step:
    config = arcregionswitch.ExecutionBlockConfiguration(**configuration)
    return arcregionswitch.Step(
        Name=name, Description=description, ExecutionBlockType=block, ExecutionBlockConfiguration=config
    )


def _database(ctx: StackContext, name: str, description: str) -> arcregionswitch.Step:
    """drgen's promote step: a switchover when the run is graceful (nothing lost), a failover when it is not.
    https://docs.aws.amazon.com/arc-region-switch/latest/api/API_GlobalAuroraConfiguration.html"""
    config = GlobalAuroraConfiguration(
        Behavior="switchoverOnly",
        Ungraceful=arcregionswitch.GlobalAuroraUngraceful(Ungraceful="failover"),
        GlobalClusterIdentifier=inputs.global_cluster_id(ctx),
        DatabaseClusterArns=[_cluster_arn(ctx, role) for role in BOTH],
        TimeoutMinutes=PROMOTION_MINUTES,
    )
    return _step(name, description, "AuroraGlobalDatabase", GlobalAuroraConfig=config)


def _lambda(name: str, description: str, function: Deployed, mode: str, region: str) -> arcregionswitch.Step:
    """A DR-region failover function, given the request drgen's state machine would pass; an ungraceful run
    skips it. https://docs.aws.amazon.com/r53recovery/latest/dg/custom-action-lambda-block.html"""
    config = arcregionswitch.CustomActionLambdaConfiguration(
        Lambdas=[Lambdas(Arn=function.arn, Payload=json.dumps({contract.MODE: mode}))],
        RegionToRun=region,
        RetryIntervalMinutes=LAMBDA_RETRY_MINUTES,
        TimeoutMinutes=LAMBDA_TIMEOUT_MINUTES,
    )
    return _step(name, description, "CustomActionLambda", CustomActionLambdaConfig=config)


def _compute(ctx: StackContext, deployed: Mapping[str, Deployed]) -> arcregionswitch.Step | None:
    """The DR compute's scale-out: ECS natively; an Auto Scaling group through drgen's scale function, because
    the EC2 block needs each group's full ARN (with its generated id) and the app stacks publish only its name."""
    kind = ctx.scenario.compute.kind
    if kind is ComputeKind.ASG:
        return _lambda("compute", "drgen's scale step", deployed[TASKS["Scale"]], contract.FAILOVER, "activatingRegion")
    if kind is not ComputeKind.ECS:
        return None  # Lambda and API Gateway scale by themselves; a connectivity scenario has no compute
    # https://docs.aws.amazon.com/r53recovery/latest/dg/ecs-service-scaling-block.html: 100 % of the primary's
    # running tasks (it runs active_capacity, drgen's target). Like drgen's scale step, no wait for healthy targets.
    services = [
        arcregionswitch.Service(ClusterArn=_ecs_arn(ctx, r, CLUSTER_PATH), ServiceArn=_ecs_arn(ctx, r, SERVICE_PATH))
        for r in BOTH
    ]
    config = arcregionswitch.EcsCapacityIncreaseConfiguration(
        Services=services, TargetPercent=100, WaitELBTargetGroupHealthy="disabled"
    )
    return _step("compute", "The DR service to active capacity", "ECSServiceScaling", EcsCapacityIncreaseConfig=config)


def _workflows(ctx: StackContext, deployed: Mapping[str, Deployed]) -> list[arcregionswitch.Workflow]:
    dns = deployed[TASKS["ShiftDns"]]
    database = _database(ctx, "database", "Promote the DR cluster: switchover if graceful, failover if not")
    scale = _compute(ctx, deployed)
    first = database
    if scale is not None:
        parallel = arcregionswitch.ParallelExecutionBlockConfiguration(Steps=[database, scale])
        first = _step("promote-and-scale", "Scale while Aurora promotes", "Parallel", ParallelConfig=parallel)
    to_dr = [first, _lambda("dns", "drgen's DNS step", dns, contract.FAILOVER, "activatingRegion")]
    # drgen's failover functions exist in the DR region only: on a failback that is the deactivating Region,
    # which serves until DNS has moved back (drgen's own failback runs there too).
    back = [
        _database(ctx, "failback-database", "Switch the writer back to the primary's cluster"),
        _lambda("failback-dns", "drgen's DNS step, failback", dns, contract.FAILBACK, "deactivatingRegion"),
    ]
    flows = (
        (Role.SECONDARY, "Failover: the DR region becomes the writer and takes the traffic", to_dr),
        (Role.PRIMARY, "Failback: the primary becomes the writer again and takes the traffic back", back),
    )
    return [
        arcregionswitch.Workflow(
            WorkflowTargetAction="activate",
            WorkflowTargetRegion=inputs.region_of(ctx, r),
            WorkflowDescription=d,
            Steps=s,
        )
        for r, d, s in flows
    ]


# -- the execution role -------------------------------------------------------------------------------------
def _allow(resources: list[Any], *actions: Any) -> Statement:
    return Statement(Effect=Allow, Action=list(actions), Resource=resources)


def _grants(ctx: StackContext, deployed: Mapping[str, Deployed], role_arn: Sub, name: str) -> list[Statement]:
    """Each block's sample policy (https://docs.aws.amazon.com/r53recovery/latest/dg/ then
    security_iam_region_switch_<block>.html), scoped to the plan's resources where the action takes one."""
    clusters = [_cluster_arn(ctx, role) for role in BOTH]
    global_cluster = Sub(
        "arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:${Id}", Id=inputs.global_cluster_id(ctx)
    )
    plans = Sub(f"arn:${{AWS::Partition}}:arc-region-switch::${{AWS::AccountId}}:plan/{name}*")
    statements = [
        # _complete_policy: plan evaluation simulates this role's own policy and reads the plan.
        _allow([role_arn], iam_actions.SimulatePrincipalPolicy),
        _allow(
            [plans], arc_region_switch.GetPlan, arc_region_switch.GetPlanExecution, arc_region_switch.ListPlanExecutions
        ),
        # _aurora (its sample reads on "*"; here the global cluster and its two members, as drgen's own steps).
        _allow([global_cluster], rds.DescribeGlobalClusters),
        _allow(clusters, rds.DescribeDBClusters),
        _allow([global_cluster, *clusters], rds.FailoverGlobalCluster, rds.SwitchoverGlobalCluster),
    ]
    functions = [deployed[TASKS["ShiftDns"]].arn]
    if ctx.scenario.compute.kind is ComputeKind.ECS:  # _ecs
        target = "arn:${{AWS::Partition}}:application-autoscaling:{}:${{AWS::AccountId}}:scalable-target/*"
        statements += [
            _allow([_ecs_arn(ctx, r, SERVICE_PATH) for r in BOTH], ecs.DescribeServices, ecs.UpdateService),
            _allow([_ecs_arn(ctx, r, CLUSTER_PATH) for r in BOTH], ecs.DescribeClusters),
            # A scalable target's ARN ends in a generated id.
            _allow([Sub(target.format(REGION[r])) for r in BOTH], application_autoscaling.RegisterScalableTarget),
            # Listing, describing scalable targets and metric statistics take no resource: "*" only.
            _allow(
                ["*"], ecs.ListServices, application_autoscaling.DescribeScalableTargets, cloudwatch.GetMetricStatistics
            ),
        ]
    elif ctx.scenario.compute.kind is ComputeKind.ASG:
        functions.append(deployed[TASKS["Scale"]].arn)
    return [*statements, _allow(functions, awslambda.GetFunction, awslambda.InvokeFunction)]  # _lambda


def build(ctx: StackContext, deployed: Mapping[str, Deployed]) -> arcregionswitch.Plan:
    """The plan and its execution role (DR region only), and an output with the plan's ARN."""
    name = plan_name(ctx)
    role_name = ctx.names.regional_text("iam", "region-switch")
    role_arn = Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role_name}")
    policy = PolicyDocument(Version=POLICY_VERSION, Statement=_grants(ctx, deployed, role_arn, name))
    role = ctx.add(
        iam.Role(
            "RegionSwitchPlanRole",
            Condition=IS_SECONDARY,
            Metadata={PRIMARY_REGION_USE: USE},
            RoleName=Sub(role_name),
            AssumeRolePolicyDocument=service_trust(SERVICE),
            Policies=[iam.Policy(PolicyName="region-switch-plan", PolicyDocument=policy)],
        )
    )
    scenario = ctx.scenario
    plan = ctx.add(
        arcregionswitch.Plan(
            PLAN,
            Condition=IS_SECONDARY,
            Metadata={PRIMARY_REGION_USE: USE},
            Name=name,
            Description=f"drgen {scenario.name}: AWS's orchestrator beside drgen's state machine; run one, not both",
            ExecutionRole=GetAtt(role, "Arn"),
            RecoveryApproach="activePassive",
            PrimaryRegion=inputs.region_of(ctx, Role.PRIMARY),
            Regions=[inputs.region_of(ctx, r) for r in BOTH],
            RecoveryTimeObjectiveMinutes=rto_minutes(scenario.objectives.rto_seconds),
            Workflows=_workflows(ctx, deployed),
        )
    )
    ctx.output(
        PLAN_ARN, GetAtt(plan, "Arn"), "AWS ARC Region switch plan (run from the Region it activates).", IS_SECONDARY
    )
    return plan
