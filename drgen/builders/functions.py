"""Lambda functions from the catalogue (drgen/lambda_functions.py): code, role, log group, schedule.

Every function runs Python with X-Ray active tracing, logs to its own KMS-encrypted log group with retention
(created first, so Lambda never creates an unencrypted, unbounded one), encrypts its environment with the
region's key, and gets a role with exactly what its code calls: the caller passes the function-specific
statements; the common ones (its log group, X-Ray, the key, VPC networking, the database secret, metrics in the
scenario's namespace, the alert topic) follow from the catalogue entry. The code comes from the region's
artifact bucket (``ArtifactBucket``, filled by the deployer) under a key drgen computes at render time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from awacs import cloudwatch, ec2, kms, logs, secretsmanager, sns, xray
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, awslambda, events, iam
from troposphere import logs as tlogs

from drgen.builders import inputs
from drgen.builders.alerting import connectivity_namespace
from drgen.builders.context import IS_PRIMARY, IS_SECONDARY, StackContext
from drgen.builders.database import LOG_RETENTION_DAYS
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.bundle.names import camel
from drgen.lambda_code import contract
from drgen.lambda_functions import BOTH, DB_ENV, Function, calls_for
from drgen.packaging import ARTIFACT_BUCKET_PARAMETER, key_parameter
from drgen.scan.skips import Skip, skip_metadata
from drgen.scenario.model import Role

RUNTIME = "python3.12"
MEMORY_MB = 256
# What the code in lambda/ calls beyond its own configuration (drgen/lambda_functions.py lists env, not calls).
# Actions AWS authorizes only on "*": X-Ray segments, CloudWatch metric data (held to our namespace by a
# condition instead), and the ENI calls Lambda makes for a function in a VPC (the ENIs do not exist beforehand).
ANY_RESOURCE = ["*"]
# As AWS's managed AWSLambdaVPCAccessExecutionRole (v3, January 2024) has them, DescribeSubnets included.
VPC_ACTIONS = [
    ec2.CreateNetworkInterface,
    ec2.DescribeNetworkInterfaces,
    ec2.DescribeSubnets,
    ec2.DeleteNetworkInterface,
    ec2.AssignPrivateIpAddresses,
    ec2.UnassignPrivateIpAddresses,
]


# Checkov checks these functions do not meet on purpose, and why.
NO_RESERVED_CONCURRENCY = Skip(
    "CKV_AWS_115",
    "No reserved concurrency: reserving it carves capacity out of the account pool and fails deployments in "
    "accounts with a small quota (seed 002 forbids it); every function here runs rarely or is bounded by its "
    "trigger (a schedule, a state machine, one ALB or API route, a queue's batch).",
)
NO_DEAD_LETTER_QUEUE = Skip(
    "CKV_AWS_116",
    "No dead-letter queue: the functions are invoked synchronously (ALB, API Gateway, Step Functions, SQS "
    "mappings retry and dead-letter on the queue) or on a schedule whose next run repeats the check; failures "
    "surface as the Errors alarm and in the function's log group.",
)
OUTSIDE_VPC = Skip(
    "CKV_AWS_117",
    "Deliberately outside the VPC: it calls AWS control-plane APIs (RDS global clusters, Route 53, Step "
    "Functions, ECS, Auto Scaling) and the public health endpoint, which a private subnet without NAT cannot "
    "reach; it touches no database and no private resource.",
)
ENI_ACTIONS = Skip(
    "CKV_AWS_111",
    "The unconstrained write actions are the network-interface calls Lambda makes for a function in a VPC "
    "(ec2:CreateNetworkInterface and friends); the interfaces do not exist before Lambda creates them, so AWS "
    "documents them on Resource *.",
)


@dataclass(frozen=True)
class Network:
    """Where VPC functions run: the private subnets and the functions' security group."""

    subnets: Any
    security_group: Any


@dataclass(frozen=True)
class Deployed:
    """A function as built: the catalogue entry, the resource, and the condition it exists under."""

    spec: Function
    function: awslambda.Function
    condition: str | None

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.function, "Arn")


def _condition_for(roles: tuple[Role, ...]) -> str | None:
    """The role condition a function deployed in ``roles`` exists under (None: both regions)."""
    if set(roles) == set(BOTH):
        return None
    return IS_SECONDARY if roles == (Role.SECONDARY,) else IS_PRIMARY


def _function_name(ctx: StackContext, spec: Function) -> str:
    """The function's name; Lambda names are regional, so it needs no region (state machines use ARNs)."""
    return ctx.names.fixed("lambda", spec.key)


# -- environment ---------------------------------------------------------------------------------------------
def common_env(ctx: StackContext) -> dict[str, Any]:
    """The values any function may read; each gets those its catalogue entry lists (what its code reads)."""
    return {
        contract.SCENARIO: ctx.scenario.name,
        contract.METRICS_NAMESPACE: connectivity_namespace(ctx.scenario),
        contract.ALERT_TOPIC_ARN: inputs.alert_topic(ctx),
    }


# The Metadata key listing the AWS calls a function's code makes (drgen/lambda_functions.py); E9011 reads it.
CALLS = "drgen:Calls"
# The resource Metadata key under which a function (and its role) says why it may use the primary region;
# the lint rule E9010 (drgen/lint/rules/failover_path_region.py) and drgen/stability.py read it.
PRIMARY_REGION_USE = "drgen:PrimaryRegionUse"


def _metadata(spec: Function, *skips: Skip) -> dict[str, Any]:
    """Checkov skips plus, for a function that touches the primary region, the written reason."""
    metadata = skip_metadata(*skips) if skips else {}
    if spec.primary_region_use:
        metadata[PRIMARY_REGION_USE] = spec.primary_region_use
    return metadata


def database_env(ctx: StackContext) -> dict[str, Any]:
    """The variables of functions that read the database (DB_ENV)."""
    return {
        contract.DB_SECRET_NAME: inputs.database_secret_name(ctx),
        contract.DB_ENDPOINT: inputs.database_endpoint(ctx),
        contract.DB_NAME: ctx.scenario.database.database_name,
    }


# -- functions -----------------------------------------------------------------------------------------------
def deploy(
    ctx: StackContext,
    specs: Iterable[Function],
    env: Mapping[str, Any],
    grants: Mapping[str, Sequence[Statement]] | None = None,
    network: Network | None = None,
) -> dict[str, Deployed]:
    """Each catalogue function in the roles it lists, keyed by its catalogue key.

    ``env`` must hold every variable the functions read (a missing one is a catalogue/builder mismatch).
    """
    shared = {**common_env(ctx), **env}
    deployed = {}
    for spec in specs:
        missing = [name for name in spec.variables if name not in shared]
        if missing:
            raise KeyError(f"{spec.key}: no value for {', '.join(missing)}")  # a builder bug, not user input
        if spec.vpc and network is None:
            raise ValueError(f"{spec.key} runs in the VPC: pass its network")
        variables = {name: shared[name] for name in spec.variables}
        deployed[spec.key] = _function(ctx, spec, variables, list((grants or {}).get(spec.key, ())), network)
    return deployed


def _function(
    ctx: StackContext, spec: Function, variables: dict[str, Any], grants: list[Statement], network: Network | None
) -> Deployed:
    condition = _condition_for(spec.roles)
    extra: dict[str, Any] = {"Condition": condition} if condition else {}
    title = camel(spec.key)
    name = _function_name(ctx, spec)
    key = inputs.key_arn(ctx)
    group = ctx.add(
        tlogs.LogGroup(
            f"{title}LogGroup",
            LogGroupName=f"/aws/lambda/{name}",
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=key,
            **DESTROYABLE,
            **extra,
        )
    )
    statements = [*_base_grants(ctx, spec, group, key), *grants]
    role_metadata = _metadata(spec, *((ENI_ACTIONS,) if spec.vpc else ()))
    role = ctx.add(
        iam.Role(
            f"{title}Role",
            AssumeRolePolicyDocument=service_trust("lambda.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="function", PolicyDocument=_document(statements))],
            **({"Metadata": role_metadata} if role_metadata else {}),
            **extra,
        )
    )
    properties: dict[str, Any] = {}
    if spec.vpc and network is not None:
        properties["VpcConfig"] = awslambda.VPCConfig(
            SubnetIds=network.subnets, SecurityGroupIds=[network.security_group]
        )
    function = ctx.add(
        awslambda.Function(
            f"{title}Function",
            FunctionName=name,
            Description=spec.description,
            Runtime=RUNTIME,
            Handler=spec.handler,
            Code=_code(ctx, spec),
            Role=GetAtt(role, "Arn"),
            Timeout=spec.timeout,
            MemorySize=MEMORY_MB,
            TracingConfig=awslambda.TracingConfig(Mode="Active"),
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(group)),
            Environment=awslambda.Environment(Variables=variables),
            KmsKeyArn=key,
            Metadata={
                **_metadata(spec, NO_RESERVED_CONCURRENCY, NO_DEAD_LETTER_QUEUE, *(() if spec.vpc else (OUTSIDE_VPC,))),
                CALLS: list(calls_for(spec, ctx.scenario)),
            },
            **properties,
            **extra,
        )
    )
    return Deployed(spec=spec, function=function, condition=condition)


def _code(ctx: StackContext, spec: Function) -> awslambda.Code:
    """The package's zip in this region's artifact bucket; the key parameter's value is set at render time."""
    bucket = ctx.parameter(
        ARTIFACT_BUCKET_PARAMETER, "This region's artifact bucket holding the Lambda zips (set by the deployer)."
    )
    code_key = ctx.parameter(
        key_parameter(spec.package), f"S3 key of the {spec.package} Lambda package (content-addressed)."
    )
    return awslambda.Code(S3Bucket=bucket, S3Key=code_key)


def _document(statements: list[Statement]) -> PolicyDocument:
    return PolicyDocument(Version=POLICY_VERSION, Statement=statements)


def _base_grants(ctx: StackContext, spec: Function, group: tlogs.LogGroup, key: Any) -> list[Statement]:
    """What the catalogue entry implies: its log group, X-Ray, the key, and VPC/database/metrics/alerts access."""
    statements = [
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[GetAtt(group, "Arn")]),
        Statement(Effect=Allow, Action=[xray.PutTraceSegments, xray.PutTelemetryRecords], Resource=ANY_RESOURCE),
        # Environment variables, the secret and (for the trade processor) queue messages are under this key.
        Statement(Effect=Allow, Action=[kms.Decrypt], Resource=[key]),
    ]
    if spec.vpc:
        statements.append(Statement(Effect=Allow, Action=VPC_ACTIONS, Resource=ANY_RESOURCE))
    if set(DB_ENV) <= set(spec.env):
        statements.append(Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=[secret_arn(ctx)]))
    if "cloudwatch:PutMetricData" in spec.calls:
        namespace = connectivity_namespace(ctx.scenario)
        statements.append(
            Statement(
                Effect=Allow,
                Action=[cloudwatch.PutMetricData],
                Resource=ANY_RESOURCE,
                Condition=Condition(StringEquals("cloudwatch:namespace", namespace)),
            )
        )
    if "cloudwatch:GetMetricData" in spec.calls:
        statements.append(Statement(Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=ANY_RESOURCE))
    if "sns:Publish" in spec.calls:
        statements.append(Statement(Effect=Allow, Action=[sns.Publish], Resource=[inputs.alert_topic(ctx)]))
        # The topic is encrypted with this region's key: SNS asks KMS for a data key in the publisher's name
        # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), and Decrypt is granted above.
        statements.append(Statement(Effect=Allow, Action=[kms.GenerateDataKey], Resource=[key]))
    return statements


def secret_arn(ctx: StackContext) -> Sub:
    """The database secret in this region (the DR copy is a replica with its own random suffix)."""
    return Sub(
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Name}-??????",
        Name=inputs.database_secret_name(ctx),
    )


# -- schedules -----------------------------------------------------------------------------------------------
def schedule(ctx: StackContext, deployed: Deployed, expression: str, description: str) -> events.Rule:
    """Run the function on an EventBridge schedule (EventBridge may invoke it for this rule only)."""
    extra: dict[str, Any] = {"Condition": deployed.condition} if deployed.condition else {}
    title = camel(deployed.spec.key)
    rule = ctx.add(
        events.Rule(
            f"{title}Schedule",
            Description=description,
            ScheduleExpression=expression,
            State="ENABLED",
            Targets=[events.Target(Id="function", Arn=deployed.arn)],
            **extra,
        )
    )
    invoke(ctx, f"{title}SchedulePermission", deployed, "events.amazonaws.com", GetAtt(rule, "Arn"))
    return rule


def invoke(ctx: StackContext, title: str, deployed: Deployed, principal: str, source_arn: Any = None) -> None:
    """Let ``principal`` invoke the function, from ``source_arn`` only when given (else from this account)."""
    extra: dict[str, Any] = {"Condition": deployed.condition} if deployed.condition else {}
    source = {"SourceArn": source_arn} if source_arn is not None else {"SourceAccount": Ref("AWS::AccountId")}
    ctx.add(
        awslambda.Permission(
            title,
            Action="lambda:InvokeFunction",
            FunctionName=deployed.arn,
            Principal=principal,
            **source,
            **extra,
        )
    )
