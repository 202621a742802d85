"""Compute: what answers the scenario's traffic in each region, and the names Route 53 and the failover use.

Per scenario kind: ECS Fargate behind an ALB, an EC2 Auto Scaling group behind an ALB, a Lambda function behind
an ALB, or API Gateway (api.py). Both regions run the same template; the DR region runs the standby capacity
and the failover scales it to the active capacity. Every endpoint serves HTTPS with an ACM certificate validated
in the scenario's hosted zone, for the failover name (``app.example.com``) and a regional name
(``app.<region>.example.com``) that Route 53 health checks and the failover validation probe: it reaches this
region whatever the failover record says, with a certificate that matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from awacs import dynamodb, ecr, kms, logs, s3, secretsmanager, xray
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import (
    Base64,
    GetAtt,
    If,
    Ref,
    Select,
    Split,
    Sub,
    applicationautoscaling,
    autoscaling,
    certificatemanager,
    ec2,
    ecs,
    iam,
    route53,
)
from troposphere import ecr as tecr
from troposphere import elasticloadbalancingv2 as elb
from troposphere import logs as tlogs

from drgen.builders import functions, instance_app, monitoring, routing, upstream
from drgen.builders.alerting import (
    ECS_CLUSTER_NAME,
    ECS_SERVICE_NAME,
    LOAD_BALANCER_FULL_NAME,
    TARGET_GROUP_FULL_NAME,
)
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.database import LOG_RETENTION_DAYS
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.builders.network import vpc_cidr
from drgen.builders.routing import ENDPOINT_DNS_NAME, ENDPOINT_HOSTED_ZONE_ID, HEALTH_CHECK_FQDN
from drgen.packaging import runs_default_application
from drgen.scan.skips import Skip, skip_metadata
from drgen.scenario.model import ComputeKind, Scenario

HTTPS_PORT = 443
HTTP_PORT = 80
ANYWHERE = "0.0.0.0/0"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CPU_TARGET_PERCENT = 60.0
TARGET_CHECK_SECONDS = 5  # the shortest target-group health-check interval ELB allows
CONTAINER = "app"
REPOSITORY = "app"
ARTIFACTS = "artifacts"  # the bucket purpose whose objects the task reads
# Outputs the failover functions read (routing.py names the ones the global stack reads).
HEALTH_URL = "HealthUrl"
AUTO_SCALING_GROUP_NAME = "AutoScalingGroupName"
REPOSITORY_URI = "AppRepositoryUri"
ALB_KINDS = (ComputeKind.ECS, ComputeKind.ASG, ComputeKind.LAMBDA)
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
# The first image tag the service runs; tags are immutable, so a release pushes a new tag and updates the stack.
IMAGE_TAG = "v1"
# The X-Ray daemon beside the application (seed 000: X-Ray tracing of requests), from compute.tracing_image.
XRAY_CONTAINER = "xray-daemon"
XRAY_PORT = 2000
XRAY_CPU, XRAY_MEMORY = 32, 256
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


@dataclass(frozen=True)
class Endpoint:
    """A region's public entry point: its DNS target (an alias) and the regional name health checks probe."""

    dns_name: Any
    hosted_zone_id: Any


@dataclass(frozen=True)
class Balancer:
    load_balancer: elb.LoadBalancer
    https_listener: elb.Listener
    security_group: ec2.SecurityGroup


# -- names -------------------------------------------------------------------------------------------------
def has_endpoint(scenario: Scenario) -> bool:
    """Whether the scenario serves traffic (a connectivity scenario routes DNS to its database instead)."""
    return scenario.compute.kind is not ComputeKind.CONNECTIVITY


def domain_name(scenario: Scenario) -> str:
    """The failover name clients use, without the trailing dot."""
    return f"{scenario.routing.record}.{scenario.routing.domain}"


def regional_domain_name(scenario: Scenario) -> str:
    """This region's own name (a Sub pattern): it always reaches this region."""
    return f"{scenario.routing.record}.${{AWS::Region}}.{scenario.routing.domain}"


def app_name(ctx: StackContext) -> str:
    """The application's name in this scenario: its ECS service, task family and log group, or its group."""
    return ctx.names.fixed("generic", CONTAINER)


# -- foundation: the ECS image repository --------------------------------------------------------------------
def image_repository(ctx: StackContext, key_arn: Any) -> None:
    """A private repository for the application image, when the scenario names none (ECS): the sandbox deploys
    against it. A real deploy needs ``compute.image`` (drgen preflight refuses without it)."""
    if ctx.scenario.compute.kind is not ComputeKind.ECS or ctx.scenario.compute.image is not None:
        return
    repository = ctx.add(
        tecr.Repository(
            "AppRepository",
            RepositoryName=ctx.names.fixed("generic", REPOSITORY),
            ImageScanningConfiguration=tecr.ImageScanningConfiguration(ScanOnPush=True),
            ImageTagMutability="IMMUTABLE",  # a tag always names the image it was first pushed as
            EncryptionConfiguration=tecr.EncryptionConfiguration(EncryptionType="KMS", KmsKey=key_arn),
            EmptyOnDelete=True,  # destroyable: images go with the stack
            **DESTROYABLE,
        )
    )
    ctx.output(REPOSITORY_URI, GetAtt(repository, "RepositoryUri"), "This region's application image repository.")


def _private_image(reference: str) -> Sub:
    """An image of the account's private ECR (``repository:tag`` or ``@digest``), pulled in the task's region."""
    return Sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + reference)


def _repository_arn(reference: str) -> Sub:
    repository = re.split(r"[:@]", reference, maxsplit=1)[0]
    return Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" + repository)


def function_network(ctx: StackContext) -> functions.Network:
    """The security group of functions in the VPC: out to the database and to AWS APIs (HTTPS), nothing in."""
    group = _security_group(
        ctx,
        "FunctionSecurityGroup",
        "Lambda functions in the VPC",
        ingress=[],
        egress=_workload_egress(ctx),
    )
    return functions.Network(subnets=upstream.private_subnets(ctx), security_group=Ref(group))


def load_balanced(ctx: StackContext, app_health: functions.Deployed | None) -> None:
    """The ALB of an ECS, Auto Scaling or Lambda scenario with what runs behind it, and the endpoint outputs."""
    kind = ctx.scenario.compute.kind
    cert = certificate(ctx)
    target_group = _target_group(ctx, app_health)
    balancer = _load_balancer(ctx, cert, target_group)
    monitoring.load_balancer(ctx, balancer.load_balancer, target_group)
    if kind is ComputeKind.ECS:
        _ecs(ctx, balancer, target_group)
    elif kind is ComputeKind.ASG:
        _auto_scaling(ctx, balancer, target_group)
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
    zone = routing.zone_id(ctx)
    shared, regional = domain_name(ctx.scenario), Sub(regional_domain_name(ctx.scenario))
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
            HostedZoneId=routing.zone_id(ctx),
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


# -- load balancer -----------------------------------------------------------------------------------------
def _load_balancer(ctx: StackContext, cert: Any, target_group: elb.TargetGroup) -> Balancer:
    """Internet-facing ALB in the public subnets: HTTPS to the targets, HTTP only redirects to HTTPS."""
    port = ctx.scenario.compute.app_port
    group = _security_group(
        ctx,
        "LoadBalancerSecurityGroup",
        "Application load balancer",
        ingress=[_rule(HTTPS_PORT, ANYWHERE, "HTTPS from clients"), _rule(HTTP_PORT, ANYWHERE, "HTTP, redirected")],
        egress=[_rule(port, vpc_cidr(ctx), "to the targets in this VPC")],
        metadata=skip_metadata(HTTP_REDIRECT_ONLY),
    )
    balancer = ctx.add(
        elb.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=upstream.public_subnets(ctx),
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


def _target_group(ctx: StackContext, app_health: functions.Deployed | None) -> elb.TargetGroup:
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
            Protocol=_target_protocol(ctx),
            Port=ctx.scenario.compute.app_port,
            VpcId=upstream.vpc_id(ctx),
            HealthCheckProtocol=_target_protocol(ctx),
            # The shortest ELB allows: the failover's scale-out sends traffic to a new target after two checks
            # (10 s, the drgen budget's capacity branch); the timeout must be shorter than the interval.
            HealthCheckIntervalSeconds=TARGET_CHECK_SECONDS,
            HealthCheckTimeoutSeconds=TARGET_CHECK_SECONDS - 1,
            TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
            **check,
        )
    )


# -- ECS Fargate ---------------------------------------------------------------------------------------------
def _ecs(ctx: StackContext, balancer: Balancer, target_group: elb.TargetGroup) -> None:
    """Cluster, task definition and service in the private subnets; the DR region runs the standby count."""
    compute = ctx.scenario.compute
    cluster = ctx.add(
        ecs.Cluster(
            "EcsCluster",
            ClusterName=ctx.names.fixed("generic", "cluster"),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        )
    )
    group = _workload_security_group(ctx, balancer)
    service = ctx.add(
        ecs.Service(
            "EcsService",
            DependsOn=[balancer.https_listener.title],
            ServiceName=app_name(ctx),
            Cluster=Ref(cluster),
            TaskDefinition=Ref(_task_definition(ctx)),
            LaunchType="FARGATE",
            DesiredCount=_per_role_capacity(ctx),
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
                    AssignPublicIp="DISABLED", Subnets=upstream.private_subnets(ctx), SecurityGroups=[Ref(group)]
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
            MinCapacity=_per_role_capacity(ctx),
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
    key = upstream.key_arn(ctx)
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
        "DB_SECRET_NAME": upstream.database_secret_name(ctx),
        "DB_ENDPOINT": upstream.database_endpoint(ctx),
        # Writes go through the global writer endpoint (DescribeGlobalClusters: Endpoint), which follows a
        # promotion; reads and the health answer stay on this region's endpoint.
        "GLOBAL_CLUSTER_ID": upstream.global_cluster_id(ctx),
        "DB_NAME": ctx.scenario.database.database_name,
        "HEALTH_PATH": ctx.scenario.routing.health_check.path,
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
                _application_role(
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
        return _private_image(named)
    tag = ctx.parameter(
        "ContainerImageTag",
        "Tag of the application image in this region's repository (tags are immutable: push a new one to release).",
        default=IMAGE_TAG,
    )
    return Sub(
        "${Repository}:${Tag}",
        Repository=ctx.same_region("foundation", REPOSITORY_URI, "This region's application image repository."),
        Tag=tag,
    )


def _tracing_container(reference: str, group: tlogs.LogGroup) -> ecs.ContainerDefinition:
    return ecs.ContainerDefinition(
        Name=XRAY_CONTAINER,
        Image=_private_image(reference),
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
    if compute.image is not None:
        repositories = [_repository_arn(compute.image)]
    else:
        repositories = [
            Sub(
                "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/"
                + ctx.names.fixed("generic", REPOSITORY)
            )
        ]
    if compute.tracing_image is not None:
        repositories.append(_repository_arn(compute.tracing_image))
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
    return _role(ctx, "TaskExecutionRole", "ecs-tasks.amazonaws.com", statements)


def _application_role(
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
        Statement(Effect=Allow, Action=[kms.Decrypt], Resource=[upstream.key_arn(ctx)]),
        upstream.describe_global_cluster(ctx),
        *grants,
    ]
    return _role(ctx, title, service, statements, managed)


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


def _role(
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


# -- EC2 Auto Scaling ----------------------------------------------------------------------------------------
def _auto_scaling(ctx: StackContext, balancer: Balancer, target_group: elb.TargetGroup) -> None:
    """Instances from a launch template in the private subnets; the DR region keeps the standby minimum."""
    compute = ctx.scenario.compute
    name = app_name(ctx)
    template = _launch_template(ctx, balancer)
    group = ctx.add(
        autoscaling.AutoScalingGroup(
            "AutoScalingGroup",
            AutoScalingGroupName=name,
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")
            ),
            MinSize=_per_role_capacity(ctx),
            DesiredCapacity=_per_role_capacity(ctx),
            MaxSize=str(compute.max_capacity),
            VPCZoneIdentifier=upstream.private_subnets(ctx),
            TargetGroupARNs=[Ref(target_group)],
            HealthCheckType="ELB",
            HealthCheckGracePeriod=compute.startup_seconds,
            MetricsCollection=[autoscaling.MetricsCollection(Granularity="1Minute")],
        )
    )
    ctx.add(
        autoscaling.ScalingPolicy(
            "ScaleOutPolicy",
            AutoScalingGroupName=Ref(group),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ASGAverageCPUUtilization"
                ),
                TargetValue=CPU_TARGET_PERCENT,
            ),
        )
    )
    ctx.output(AUTO_SCALING_GROUP_NAME, Ref(group), "Auto Scaling group the failover scales to active capacity.")


def asg_arn(ctx: StackContext) -> Sub:
    """This region's group, by name (its ARN also holds a generated id, hence the ``*``)."""
    return Sub(
        "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:"
        + f"autoScalingGroupName/{app_name(ctx)}"
    )


def _target_protocol(ctx: StackContext) -> str:
    return "HTTPS" if ctx.scenario.compute.target_tls else "HTTP"


# Instances serving HTTPS to the load balancer make a certificate at boot (an ALB does not validate it).
TLS_DIR = "/etc/drgen/tls"
MAKE_CERTIFICATE = (
    f"install -d -m 0700 {TLS_DIR}\n"
    "openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=${AWS::StackName} "
    f"-keyout {TLS_DIR}/key.pem -out {TLS_DIR}/cert.pem\n"
)


def _launch_template(ctx: StackContext, balancer: Balancer) -> ec2.LaunchTemplate:
    """IMDSv2 only, the root volume under the region's key, the application's role, its configuration in
    /etc/drgen/app.env (and with target TLS, its certificate)."""
    named = ctx.scenario.compute.image
    image = ctx.parameter(
        "ApplicationImageId",
        "SSM parameter holding each region's application AMI"
        + ("." if named else " (default: the latest Amazon Linux 2023, running drgen's application)."),
        type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        default=named or AMI_PARAMETER,
    )
    default_app = instance_app.install(ctx) if runs_default_application(ctx.scenario) else None
    role = _application_role(
        ctx,
        "InstanceRole",
        "ec2.amazonaws.com",
        [Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")],  # shell access without SSH
        grants=[default_app[2]] if default_app else [],
    )
    profile = ctx.add(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    group = _workload_security_group(ctx, balancer)
    tls = ctx.scenario.compute.target_tls
    user_data = Sub(
        "#!/bin/bash\nset -euo pipefail\ninstall -d -m 0755 /etc/drgen\n"
        + (MAKE_CERTIFICATE if tls else "")
        + "cat > /etc/drgen/app.env <<'EOF'\n"
        "DB_SECRET_NAME=${Secret}\nDB_ENDPOINT=${Endpoint}\nGLOBAL_CLUSTER_ID=${GlobalCluster}\nDB_NAME=${Database}\n"
        "APP_PORT=${Port}\n"
        "HEALTH_PATH=${Path}\nAWS_REGION=${AWS::Region}\n"
        + (f"APP_TLS_CERT={TLS_DIR}/cert.pem\nAPP_TLS_KEY={TLS_DIR}/key.pem\n" if tls else "")
        + "EOF\n"
        + (default_app[0] if default_app else ""),
        **(default_app[1] if default_app else {}),
        Secret=upstream.database_secret_name(ctx),
        Endpoint=upstream.database_endpoint(ctx),
        GlobalCluster=upstream.global_cluster_id(ctx),
        Database=ctx.scenario.database.database_name,
        Port=str(ctx.scenario.compute.app_port),
        Path=ctx.scenario.routing.health_check.path,
    )
    return ctx.add(
        ec2.LaunchTemplate(
            "LaunchTemplate",
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=image,
                InstanceType=ctx.scenario.compute.instance_type,
                IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                SecurityGroupIds=[Ref(group)],
                MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled"),
                # The region's key (its policy lets the Auto Scaling service-linked role use it).
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        Ebs=ec2.EBSBlockDevice(
                            Encrypted=True,
                            KmsKeyId=upstream.key_arn(ctx),
                            VolumeType="gp3",
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                UserData=Base64(user_data),
            ),
        )
    )


# -- shared pieces -------------------------------------------------------------------------------------------
def _per_role_capacity(ctx: StackContext) -> If:
    """Active capacity in the primary; in the DR region the pilot light (failover raises it) or, warm, the same."""
    compute = ctx.scenario.compute
    return If(IS_PRIMARY, compute.active_capacity, compute.dr_capacity)


def _workload_security_group(ctx: StackContext, balancer: Balancer) -> ec2.SecurityGroup:
    """Tasks or instances: the app port from the load balancer only; out to the database and AWS APIs."""
    port = ctx.scenario.compute.app_port
    return _security_group(
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
        egress=_workload_egress(ctx),
    )


def _workload_egress(ctx: StackContext) -> list[ec2.SecurityGroupRule]:
    """The database in this VPC, and HTTPS to AWS APIs (interface endpoints, the S3 gateway or NAT; a VPC
    without NAT has no route to anywhere else, so 0.0.0.0/0 on 443 reaches AWS services only there)."""
    db_port = ctx.scenario.database.port
    return [
        _rule(db_port, vpc_cidr(ctx), "the Aurora cluster in this VPC"),
        _rule(HTTPS_PORT, ANYWHERE, "AWS APIs over HTTPS"),
    ]


def _rule(port: int, cidr: Any, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=description)


def _security_group(
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
            VpcId=upstream.vpc_id(ctx),
            SecurityGroupEgress=egress,
            **extra,
        )
    )
