"""What the failover functions are given: their environment (names, ARNs and outputs they act on) and their
grants, each scoped to the resources of this scenario and region. The state machine that runs them is in
orchestration.py; its definition in failover_definition.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awacs import autoscaling as autoscaling_actions
from awacs import cloudwatch as cloudwatch_actions
from awacs import dynamodb as dynamodb_actions
from awacs import ecs as ecs_actions
from awacs import iam as iam_actions
from awacs import rds, route53, ssm, states
from awacs import s3 as s3_actions
from awacs.application_autoscaling import DescribeScalableTargets, RegisterScalableTarget
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Join, Ref, Sub

from drgen.builders import auto_scaling, compute, control, functions, inputs, probe, storage
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.failover_definition import EXECUTION_TIMEOUT_SECONDS
from drgen.bundle import names
from drgen.bundle.names import (
    AURORA_CLUSTER,
    ECS_CLUSTER_NAME,
    ECS_SERVICE_NAME,
    health_check_alarm_name,
)
from drgen.lambda_code import contract
from drgen.lambda_functions import (
    RETURN_REPLICATION_USE,
    returns_data,
)
from drgen.scenario.model import Bucket, ComputeKind, HealthCheckType, Role, Scenario

STATE_MACHINE = "failover"


def state_machine_arn(ctx: StackContext) -> Sub:
    """The DR region's state machine ARN, as either region's stack sees it."""
    return Sub(
        "arn:${AWS::Partition}:states:${Region}:${AWS::AccountId}:stateMachine:"
        + ctx.names.fixed("statemachine", STATE_MACHINE),
        Region=inputs.region_of(ctx, Role.SECONDARY),
    )


def _executions_arn(ctx: StackContext) -> Sub:
    """Every execution of the state machine (``...:execution:<machine name>:*``)."""
    return Sub(
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        + ctx.names.fixed("statemachine", STATE_MACHINE)
        + ":*"
    )


def failover_env(ctx: StackContext, state_parameter: str, table: Any) -> dict[str, Any]:
    """Everything the failover steps, the engaged signal and the readiness test read (see drgen/lambda_functions.py)."""
    kind = ctx.scenario.compute.kind
    serving = compute.has_endpoint(ctx.scenario)
    return {
        contract.STATE_MACHINE_ARN: state_machine_arn(ctx),
        contract.STATE_PARAMETER: state_parameter,
        contract.CONTROL_TABLE: Ref(table),
        contract.LOCK_SECONDS: str(EXECUTION_TIMEOUT_SECONDS),
        contract.GLOBAL_CLUSTER_ID: inputs.global_cluster_id(ctx),
        contract.DR_CLUSTER_ARN: inputs.dr_cluster_arn(ctx),
        contract.COMPUTE_KIND: kind.value,
        contract.ECS_CLUSTER: _scale_target(ctx, ComputeKind.ECS, ECS_CLUSTER_NAME, "ECS cluster"),
        contract.ECS_SERVICE: _scale_target(ctx, ComputeKind.ECS, ECS_SERVICE_NAME, "ECS service"),
        contract.ASG_NAME: _scale_target(ctx, ComputeKind.ASG, names.AUTO_SCALING_GROUP_NAME, "Auto Scaling group"),
        contract.ACTIVE_CAPACITY: str(ctx.scenario.compute.active_capacity),
        contract.HOSTED_ZONE_ID: inputs.zone_id(ctx),
        contract.PRIMARY_HEALTH_CHECK_ID: inputs.record_health_check_id(ctx),
        contract.RECORD_NAME: ctx.scenario.routing.host_name + ".",
        contract.PRIMARY_REGION: inputs.region_of(ctx, Role.PRIMARY),
        contract.PROBE_TARGET: probe.target(ctx),
        contract.SEARCH_STRING: _search_string(ctx.scenario),
        contract.PROBE_TIMEOUT_SECONDS: str(probe.TIMEOUT_SECONDS),
        contract.SAMPLES: str(probe.SAMPLES),
        contract.SAMPLE_INTERVAL_SECONDS: str(probe.SAMPLE_SECONDS),
        contract.PROBE_ALARM_NAME: ctx.names.regional("alarm", contract.PROBE_ALARM),
        contract.ROUTE53_ALARM_NAME: health_check_alarm_name(ctx.names, Role.PRIMARY),
        contract.CONFIRM_SECONDS: str(ctx.scenario.confirm_seconds),
        # The validation and the readiness test probe this region's own name, whatever DNS answers; a failback's
        # validation probes the primary's.
        contract.HEALTH_URL: inputs.app_output(ctx, compute.HEALTH_URL, "This region's health endpoint.")
        if serving
        else "",
        contract.PRIMARY_HEALTH_URL: probe.target(ctx) if serving else "",
        contract.DR_ENDPOINT: inputs.record_target(ctx, Role.SECONDARY),
        contract.PRIMARY_ENDPOINT: inputs.record_target(ctx, Role.PRIMARY),
        contract.LAG_THRESHOLD_SECONDS: f"{ctx.scenario.database.lag_alarm_seconds:g}",
        **return_replication_env(ctx),
    }


def _returned(ctx: StackContext) -> list[Bucket]:
    return [bucket for bucket in ctx.scenario.buckets if bucket.replicate]


def return_replication_env(ctx: StackContext) -> dict[str, Any]:
    """What the return-replication step needs: the bucket pairs, the role S3 assumes, the primary's key (the
    replicas there are encrypted with it). The role is here, in the DR region's orchestration stack, because it
    deploys after the primary's foundation: its key exists by then."""
    if not returns_data(ctx.scenario):
        return {}
    names = ctx.names
    pairs = [
        Sub(f"{names.regional_text('bucket', b.purpose)}={names.peer_text('bucket', b.purpose)}")
        for b in _returned(ctx)
    ]
    primary_key_arn = inputs.primary_kms_key_arn(ctx)
    role = storage.replication_role(
        ctx,
        "ReturnReplicationRole",
        IS_SECONDARY,
        "s3-return-replication",
        inputs.key_arn(ctx),
        primary_key_arn,
        _returned(ctx),
        metadata={functions.PRIMARY_REGION_USE: RETURN_REPLICATION_USE},
    )
    return {
        contract.RETURN_BUCKETS: Join(",", pairs),
        contract.RETURN_REPLICATION_ROLE_ARN: GetAtt(role, "Arn"),
        contract.PRIMARY_KMS_KEY_ARN: primary_key_arn,
    }


def return_replication_grants(ctx: StackContext, env: Mapping[str, Any]) -> list[Statement]:
    """PutBucketReplication on this region's buckets, and handing S3 the role."""
    buckets = [
        Sub(f"arn:${{AWS::Partition}}:s3:::{ctx.names.regional_text('bucket', b.purpose)}") for b in _returned(ctx)
    ]
    return [
        Statement(Effect=Allow, Action=[s3_actions.PutReplicationConfiguration], Resource=buckets),
        Statement(Effect=Allow, Action=[iam_actions.PassRole], Resource=[env[contract.RETURN_REPLICATION_ROLE_ARN]]),
    ]


def _search_string(scenario: Scenario) -> str:
    check = scenario.routing.health_check
    return check.search_string if check.type is HealthCheckType.HTTPS_STR_MATCH else ""


def _scale_target(ctx: StackContext, kind: ComputeKind, output: str, what: str) -> Any:
    """The DR app stack's name of what the scale step resizes ("" when the scenario has no such compute)."""
    return inputs.dr_app_output(ctx, output, what) if ctx.scenario.compute.kind is kind else ""


def failover_grants(ctx: StackContext, state_parameter_arn: Any) -> dict[str, list[Statement]]:
    """What each failover step, the engaged signal and the readiness test call, resource by resource (the
    common grants, metrics and the alert topic with its key among them, follow from the catalogue entry)."""
    global_cluster = Sub(
        "arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:${Id}", Id=inputs.global_cluster_id(ctx)
    )
    clusters = [_cluster_arn(ctx, region) for region in ("AWS::Region", "PeerRegion")]
    state = Statement(Effect=Allow, Action=[ssm.GetParameter, ssm.PutParameter], Resource=[state_parameter_arn])
    describe = inputs.describe_global_cluster(ctx)
    health_checks = Sub("arn:${AWS::Partition}:route53:::healthcheck/*")  # the children's ids are generated
    alarms = [
        _alarm_arn("${AWS::Region}", ctx.names.regional_text("alarm", contract.PROBE_ALARM)),
        # Read where Route 53 publishes its metrics (us-east-1): by name in any region, so no region is written.
        _alarm_arn("*", health_check_alarm_name(ctx.names, Role.PRIMARY)),
    ]
    return {
        "failover-guard": [
            control.grant(ctx, control.WRITE),
            state,
            describe,
            # whether the lock's holder still runs: the machine's executions
            Statement(Effect=Allow, Action=[states.DescribeExecution], Resource=[_executions_arn(ctx)]),
        ],
        "failover-confirm": [Statement(Effect=Allow, Action=[cloudwatch_actions.DescribeAlarms], Resource=alarms)],
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
            control.grant(ctx, [dynamodb_actions.PutItem]),
            Statement(
                Effect=Allow,
                Action=[route53.GetHealthCheck, route53.UpdateHealthCheck],
                Resource=[
                    Sub("arn:${AWS::Partition}:route53:::healthcheck/${Id}", Id=inputs.record_health_check_id(ctx))
                ],
            ),
        ],
        "failover-validate": [
            describe,
            Statement(
                Effect=Allow, Action=[route53.GetHealthCheck, route53.GetHealthCheckStatus], Resource=[health_checks]
            ),
            Statement(
                Effect=Allow,
                Action=[route53.ListResourceRecordSets],
                Resource=[Sub("arn:${AWS::Partition}:route53:::hostedzone/${Id}", Id=inputs.zone_id(ctx))],
            ),
        ],
        "failover-notify": [state, control.grant(ctx, control.WRITE)],
        "engaged-signal": [control.grant(ctx, control.READ)],
        "readiness": [
            describe,
            Statement(Effect=Allow, Action=[states.DescribeStateMachine], Resource=[state_machine_arn(ctx)]),
            control.grant(ctx, [dynamodb_actions.PutItem]),
        ],
    }


def _alarm_arn(region: str, name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{name}")


def _cluster_arn(ctx: StackContext, region: str) -> Sub:
    text = ctx.names.regional_text if region == "AWS::Region" else ctx.names.peer_text
    return Sub(f"arn:${{AWS::Partition}}:rds:${{{region}}}:${{AWS::AccountId}}:cluster:{text('rds', AURORA_CLUSTER)}")


def _scale_grants(ctx: StackContext) -> list[Statement]:
    """The scale step resizes this (DR) region's ECS service or Auto Scaling group, nothing else."""
    kind = ctx.scenario.compute.kind
    if kind is ComputeKind.ECS:
        service = Sub(
            "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${Cluster}/${Service}",
            Cluster=inputs.dr_app_output(ctx, ECS_CLUSTER_NAME, "ECS cluster"),
            Service=inputs.dr_app_output(ctx, ECS_SERVICE_NAME, "ECS service"),
        )
        return [
            Statement(
                Effect=Allow, Action=[ecs_actions.DescribeServices, ecs_actions.UpdateService], Resource=[service]
            ),
            # Listing is authorized on "*" only; a scalable target's ARN ends in a generated id.
            Statement(Effect=Allow, Action=[DescribeScalableTargets], Resource=["*"]),
            Statement(
                Effect=Allow,
                Action=[RegisterScalableTarget],
                Resource=[
                    Sub(
                        "arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:${AWS::AccountId}:"
                        "scalable-target/*"
                    )
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
                Resource=[auto_scaling.asg_arn(ctx)],
            ),
        ]
    return []
