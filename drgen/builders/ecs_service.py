"""ECS Fargate behind the load balancer: cluster, task definition (the application and the X-Ray daemon), service.

The DR region runs the standby count and the failover scales the service to the active capacity; the task reads
the database secret, this region's sessions table replica and the artifacts bucket.
"""

from __future__ import annotations

from typing import Any

from awacs import dynamodb, ecr, logs, s3, xray
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Ref, Sub, applicationautoscaling, ecs, iam
from troposphere import elasticloadbalancingv2 as elb
from troposphere import logs as tlogs

from drgen.builders import inputs, monitoring
from drgen.builders.context import StackContext
from drgen.builders.database import LOG_RETENTION_DAYS
from drgen.builders.iam import DESTROYABLE
from drgen.builders.image_repository import own_repository_arn, private_image, repository_arn
from drgen.builders.workload import (
    CONTAINER,
    CPU_TARGET_PERCENT,
    Balancer,
    app_name,
    application_role,
    per_role_capacity,
    role,
    workload_security_group,
)
from drgen.bundle.names import ECS_CLUSTER_NAME, ECS_SERVICE_NAME
from drgen.lambda_code import contract

ARTIFACTS = "artifacts"  # the bucket purpose whose objects the task reads
# The first image tag the service runs; tags are immutable, so a release pushes a new tag and updates the stack.
IMAGE_TAG = "v1"
# The X-Ray daemon beside the application (seed 000: X-Ray tracing of requests), from compute.tracing_image.
XRAY_CONTAINER = "xray-daemon"
XRAY_PORT = 2000
XRAY_CPU, XRAY_MEMORY = 32, 256


def service(ctx: StackContext, balancer: Balancer, target_group: elb.TargetGroup) -> None:
    """Cluster, task definition and service in the private subnets; the DR region runs the standby count."""
    compute = ctx.scenario.compute
    cluster = ctx.add(
        ecs.Cluster(
            "EcsCluster",
            ClusterName=ctx.names.fixed("generic", "cluster"),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        )
    )
    group = workload_security_group(ctx, balancer)
    service = ctx.add(
        ecs.Service(
            "EcsService",
            DependsOn=[balancer.https_listener.title],
            ServiceName=app_name(ctx),
            Cluster=Ref(cluster),
            TaskDefinition=Ref(_task_definition(ctx)),
            LaunchType="FARGATE",
            DesiredCount=per_role_capacity(ctx),
            # A fresh task gets the application's start-up time before a failed health check counts.
            HealthCheckGracePeriodSeconds=ctx.scenario.compute.startup_seconds,
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                MinimumHealthyPercent=100,
                MaximumPercent=200,
                # A task that cannot start (e.g. no image pushed yet) fails the deployment instead of retrying.
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
            ),
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    AssignPublicIp="DISABLED", Subnets=inputs.private_subnets(ctx), SecurityGroups=[Ref(group)]
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(
                    ContainerName=CONTAINER, ContainerPort=compute.app_port, TargetGroupArn=Ref(target_group)
                )
            ],
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
        )
    )
    target = ctx.add(
        applicationautoscaling.ScalableTarget(
            "EcsScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub("service/${Cluster}/${Service}", Cluster=Ref(cluster), Service=GetAtt(service, "Name")),
            MinCapacity=per_role_capacity(ctx),
            MaxCapacity=compute.max_capacity,
        )
    )
    ctx.add(
        applicationautoscaling.ScalingPolicy(
            "EcsScaleOutPolicy",
            PolicyName=ctx.names.fixed("generic", "cpu-target"),
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=applicationautoscaling.TargetTrackingScalingPolicyConfiguration(
                PredefinedMetricSpecification=applicationautoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"
                ),
                TargetValue=CPU_TARGET_PERCENT,
            ),
        )
    )
    monitoring.ecs_service(ctx, cluster, service)
    ctx.output(ECS_CLUSTER_NAME, Ref(cluster), "ECS cluster (the failover scales its service).")
    ctx.output(ECS_SERVICE_NAME, GetAtt(service, "Name"), "ECS service the failover scales to active capacity.")


def _task_definition(ctx: StackContext) -> ecs.TaskDefinition:
    """One container from this region's repository, logging to an encrypted group, configured for its region."""
    compute = ctx.scenario.compute
    key = inputs.key_arn(ctx)
    group = ctx.add(
        tlogs.LogGroup(
            "AppLogGroup",
            LogGroupName="/ecs/" + app_name(ctx),
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=key,
            **DESTROYABLE,
        )
    )
    image = _application_image(ctx)
    tracing = compute.tracing_image
    environment = {
        contract.DB_SECRET_NAME: inputs.database_secret_name(ctx),
        contract.DB_ENDPOINT: inputs.database_endpoint(ctx),
        # Writes go through the global writer endpoint (DescribeGlobalClusters: Endpoint), which follows a
        # promotion; reads and the health answer stay on this region's endpoint.
        contract.GLOBAL_CLUSTER_ID: inputs.global_cluster_id(ctx),
        contract.DB_NAME: ctx.scenario.database.database_name,
        contract.HEALTH_PATH: ctx.scenario.routing.health_check.path,
        # The X-Ray SDK sends segments to the daemon beside it (one network namespace in awsvpc mode).
        **({"AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{XRAY_PORT}"} if tracing else {}),
        **{variable: name for variable, (name, _) in _task_data(ctx).items()},
    }
    return ctx.add(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=app_name(ctx),
            RequiresCompatibilities=["FARGATE"],
            NetworkMode="awsvpc",
            Cpu=str(compute.task_cpu),
            Memory=str(compute.task_memory),
            RuntimePlatform=ecs.RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"),
            ExecutionRoleArn=GetAtt(_execution_role(ctx, group), "Arn"),
            TaskRoleArn=GetAtt(
                application_role(
                    ctx,
                    "TaskRole",
                    "ecs-tasks.amazonaws.com",
                    grants=[*(grant for _, grant in _task_data(ctx).values()), *([_tracing()] if tracing else [])],
                ),
                "Arn",
            ),
            ContainerDefinitions=[
                ecs.ContainerDefinition(
                    Name=CONTAINER,
                    Image=image,
                    Essential=True,
                    PortMappings=[ecs.PortMapping(ContainerPort=compute.app_port, Protocol="tcp")],
                    Environment=[ecs.Environment(Name=k, Value=v) for k, v in environment.items()],
                    LogConfiguration=_container_logs(group, CONTAINER),
                ),
                *([_tracing_container(tracing, group)] if tracing else []),
            ],
        )
    )


def _application_image(ctx: StackContext) -> Any:
    """``compute.image`` from the account's ECR in each region; else the foundation's repository (sandbox)."""
    named = ctx.scenario.compute.image
    if named is not None:
        return private_image(named)
    tag = ctx.parameter(
        "ContainerImageTag",
        "Tag of the application image in this region's repository (tags are immutable: push a new one to release).",
        default=IMAGE_TAG,
    )
    return Sub(
        "${Repository}:${Tag}",
        Repository=inputs.repository_uri(ctx),
        Tag=tag,
    )


def _tracing_container(reference: str, group: tlogs.LogGroup) -> ecs.ContainerDefinition:
    return ecs.ContainerDefinition(
        Name=XRAY_CONTAINER,
        Image=private_image(reference),
        # Tracing is not the service: a daemon that stops does not stop the application.
        Essential=False,
        Cpu=XRAY_CPU,
        MemoryReservation=XRAY_MEMORY,
        PortMappings=[ecs.PortMapping(ContainerPort=XRAY_PORT, Protocol="udp")],
        LogConfiguration=_container_logs(group, XRAY_CONTAINER),
    )


def _container_logs(group: tlogs.LogGroup, prefix: str) -> ecs.LogConfiguration:
    return ecs.LogConfiguration(
        LogDriver="awslogs",
        Options={"awslogs-group": Ref(group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": prefix},
    )


def _tracing() -> Statement:
    """The X-Ray daemon's calls; X-Ray authorizes them only on "*" (no resource-level permissions)."""
    actions = [xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets]
    return Statement(Effect=Allow, Action=actions, Resource=["*"])


def _execution_role(ctx: StackContext, group: tlogs.LogGroup) -> iam.Role:
    """What ECS needs to start the task: pull the application's and the X-Ray daemon's images from this region's
    registry, write its log group."""
    compute = ctx.scenario.compute
    repositories = [repository_arn(compute.image) if compute.image is not None else own_repository_arn(ctx)]
    if compute.tracing_image is not None:
        repositories.append(repository_arn(compute.tracing_image))
    statements = [
        # GetAuthorizationToken is account-wide: AWS does not scope it to a repository.
        Statement(Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
        Statement(
            Effect=Allow,
            Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer],
            Resource=repositories,
        ),
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[GetAtt(group, "Arn")]),
    ]
    return role(ctx, "TaskExecutionRole", "ecs-tasks.amazonaws.com", statements)


def _task_data(ctx: StackContext) -> dict[str, tuple[Any, Statement]]:
    """Environment variable -> (name, grant) for the data the task reads in its own region: this region's replica
    of the sessions table (item reads and writes) and the artifacts bucket's objects."""
    scenario = ctx.scenario
    found: dict[str, tuple[Any, Statement]] = {}
    if scenario.sessions.enabled:
        table = ctx.names.fixed("table", scenario.sessions.table)
        arn = Sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}")
        actions = [dynamodb.GetItem, dynamodb.PutItem, dynamodb.UpdateItem, dynamodb.DeleteItem, dynamodb.Query]
        found["SESSIONS_TABLE"] = (table, Statement(Effect=Allow, Action=actions, Resource=[arn]))
    if any(b.purpose == ARTIFACTS for b in scenario.buckets):
        bucket = ctx.names.regional_text("bucket", ARTIFACTS)
        objects = Sub(f"arn:${{AWS::Partition}}:s3:::{bucket}/*")
        statement = Statement(Effect=Allow, Action=[s3.GetObject], Resource=[objects])
        found["ARTIFACTS_BUCKET"] = (Sub(bucket), statement)
    return found
