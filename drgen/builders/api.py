"""API Gateway + SQS (serverless scenarios): a regional REST API behind regional custom domains.

``GET <health path>`` runs the app-health function (it reads the database). ``POST /trades`` (IAM-signed)
puts the order on an encrypted SQS queue with a dead-letter queue, which feeds the trade-processor function;
the queue decouples accepting an order from writing it, so a slow database does not fail the client. With an
order ledger (ledger.py) the intake function answers instead: it writes the order to the ledger, then queues it. The
default execute-api endpoint is switched off: clients reach the API only through its custom domains, the
failover name and this region's name (which Route 53 health checks probe). The stage traces with X-Ray and
logs every request to an encrypted access-log group; execution logs (errors) go to a group created first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from awacs import kms, sqs
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, apigateway, awslambda, iam
from troposphere import logs as tlogs
from troposphere import sqs as tsqs

from drgen.builders import compute, functions, inputs, monitoring
from drgen.builders.context import StackContext
from drgen.builders.database import LOG_RETENTION_DAYS
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.scan.skips import Skip, skip_metadata

STAGE = "live"
TRADES_PATH = "trades"
TRADE_QUEUE_URL = "TradeQueueUrl"
QUEUE_PURPOSE = "trades"  # the queue's name part (the ledger's replay finds the queue by it)
API_ID = "ApiId"
MAX_RECEIVES = 5  # a message that failed this often goes to the dead-letter queue
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60  # the SQS maximum
# Lambda's guidance: a queue's visibility timeout is at least six times its function's timeout.
VISIBILITY_FACTOR = 6
PUBLIC_HEALTH = Skip(
    "CKV_AWS_59",
    "The health endpoint is public on purpose: Route 53 health checkers call it without credentials. It only "
    "reads (a database round trip) and reveals no data beyond ok or not; orders require IAM signatures.",
)
NO_CACHE = Skip(
    "CKV_AWS_120",
    "No stage cache: a cached health answer would hide a failed database from Route 53, and trade orders are "
    "POSTs that must reach the queue every time.",
)
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "error": "$context.error.message",
    "domainName": "$context.domainName",
    "xrayTraceId": "$context.xrayTraceId",
}


@dataclass(frozen=True)
class TradeQueue:
    queue: tsqs.Queue

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.queue, "Arn")


def sender_grants(ctx: StackContext, queues: list[Any]) -> list[Statement]:
    """Sending to trade queues under this region's key (SendMessageBatch is authorized by SendMessage)."""
    return [
        Statement(Effect=Allow, Action=[sqs.SendMessage], Resource=queues),
        Statement(Effect=Allow, Action=[kms.GenerateDataKey, kms.Decrypt], Resource=[inputs.key_arn(ctx)]),
    ]


def trade_queue(ctx: StackContext, processor_timeout: int) -> TradeQueue:
    """The orders queue (this region's key) and its dead-letter queue."""
    key = inputs.key_arn(ctx)
    dead_letters = ctx.add(
        tsqs.Queue(
            "TradeDeadLetterQueue",
            QueueName=ctx.names.regional("sqs", "trades-dlq"),
            KmsMasterKeyId=key,
            MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
            **DESTROYABLE,
        )
    )
    queue = ctx.add(
        tsqs.Queue(
            "TradeQueue",
            QueueName=ctx.names.regional("sqs", QUEUE_PURPOSE),
            KmsMasterKeyId=key,
            VisibilityTimeout=VISIBILITY_FACTOR * processor_timeout,
            RedrivePolicy=tsqs.RedrivePolicy(
                deadLetterTargetArn=GetAtt(dead_letters, "Arn"), maxReceiveCount=MAX_RECEIVES
            ),
            **DESTROYABLE,
        )
    )
    monitoring.dead_letters(
        ctx,
        dead_letters,
        "trade-dead-letters",
        "Trade orders are in the dead-letter queue: they failed processing repeatedly.",
    )
    ctx.output(TRADE_QUEUE_URL, Ref(queue), "Queue of trade orders in this region.")
    return TradeQueue(queue=queue)


def consumer_grants(queue: TradeQueue) -> list[Statement]:
    """What the trade processor's event source mapping needs on the queue."""
    return [
        Statement(
            Effect=Allow,
            Action=[sqs.ReceiveMessage, sqs.DeleteMessage, sqs.GetQueueAttributes, sqs.ChangeMessageVisibility],
            Resource=[queue.arn],
        )
    ]


def feed(ctx: StackContext, queue: TradeQueue, processor: functions.Deployed) -> None:
    """The queue invokes the trade processor in batches; failed records are retried one by one."""
    ctx.add(
        awslambda.EventSourceMapping(
            "TradeQueueMapping",
            EventSourceArn=queue.arn,
            FunctionName=Ref(processor.function),
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            Enabled=True,
        )
    )


def rest_api(
    ctx: StackContext, app_health: functions.Deployed, queue: TradeQueue, intake: functions.Deployed | None = None
) -> None:
    """The API, its stage, both custom domains and the endpoint outputs. With an order ledger, POST /trades goes
    to the intake function (``intake``), which acknowledges an order once the ledger holds it."""
    name = ctx.names.fixed("generic", "api")
    api = ctx.add(
        apigateway.RestApi(
            "Api",
            Name=name,
            Description=f"drgen {ctx.scenario.name}: trade orders and the health endpoint",
            EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            DisableExecuteApiEndpoint=True,
        )
    )
    trades = _intake_method(ctx, api, intake) if intake else _trades_method(ctx, api, queue)
    methods = [_health_method(ctx, api, app_health), trades]
    stage = _stage(ctx, api, methods)
    cert = compute.certificate(ctx)
    public = _domain(ctx, "ApiDomain", ctx.scenario.routing.host_name, cert, api, stage)
    regional = _domain(ctx, "ApiRegionalDomain", Sub(compute.regional_domain_name(ctx.scenario)), cert, api, stage)
    compute.endpoint_outputs(ctx, public, regional)
    monitoring.api(ctx, name, STAGE)
    ctx.output(API_ID, Ref(api), "The REST API in this region.")


def _health_method(ctx: StackContext, api: apigateway.RestApi, app_health: functions.Deployed) -> apigateway.Method:
    """GET on the scenario's health path, proxied to the app-health function (public: Route 53 probes it)."""
    parent: Any = GetAtt(api, "RootResourceId")
    parts = [p for p in ctx.scenario.routing.health_check.path.split("/") if p]
    for index, part in enumerate(parts, start=1):
        resource = ctx.add(
            apigateway.Resource(f"HealthPathResource{index}", RestApiId=Ref(api), ParentId=parent, PathPart=part)
        )
        parent = Ref(resource)
    functions.invoke(
        ctx,
        "AppHealthApiPermission",
        app_health,
        "apigateway.amazonaws.com",
        Sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/GET"
            + ctx.scenario.routing.health_check.path,
            Api=Ref(api),
        ),
    )
    return ctx.add(
        apigateway.Method(
            "HealthMethod",
            RestApiId=Ref(api),
            ResourceId=parent,
            HttpMethod="GET",
            AuthorizationType="NONE",
            Metadata=skip_metadata(PUBLIC_HEALTH),
            Integration=apigateway.Integration(
                Type="AWS_PROXY", IntegrationHttpMethod="POST", Uri=_lambda_uri(app_health)
            ),
        )
    )


def _trades_resource(ctx: StackContext, api: apigateway.RestApi) -> apigateway.Resource:
    return ctx.add(
        apigateway.Resource(
            "TradesResource", RestApiId=Ref(api), ParentId=GetAtt(api, "RootResourceId"), PathPart=TRADES_PATH
        )
    )


def _lambda_uri(function: functions.Deployed) -> Sub:
    return Sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function}/invocations",
        Function=function.arn,
    )


def _intake_method(ctx: StackContext, api: apigateway.RestApi, intake: functions.Deployed) -> apigateway.Method:
    """POST /trades (IAM-signed callers only) proxied to the intake function: 202 once the ledger holds the
    order (lambda/app/intake.py answers 400, 409 or 503 otherwise)."""
    resource = _trades_resource(ctx, api)
    functions.invoke(
        ctx,
        "OrderIntakeApiPermission",
        intake,
        "apigateway.amazonaws.com",
        Sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/POST/" + TRADES_PATH,
            Api=Ref(api),
        ),
    )
    return _post_trades(
        ctx,
        api,
        resource,
        apigateway.Integration(Type="AWS_PROXY", IntegrationHttpMethod="POST", Uri=_lambda_uri(intake)),
    )


def _trades_method(ctx: StackContext, api: apigateway.RestApi, queue: TradeQueue) -> apigateway.Method:
    """POST /trades (IAM-signed callers only) sends the body to the queue: 202 when SQS took it, else 502."""
    resource = _trades_resource(ctx, api)
    role = ctx.add(
        iam.Role(
            "ApiQueueRole",
            AssumeRolePolicyDocument=service_trust("apigateway.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="send-trades",
                    PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=sender_grants(ctx, [queue.arn])),
                )
            ],
        )
    )
    return _post_trades(
        ctx,
        api,
        resource,
        apigateway.Integration(
            Type="AWS",
            IntegrationHttpMethod="POST",
            Credentials=GetAtt(role, "Arn"),
            Uri=Sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/${Queue}",
                Queue=GetAtt(queue.queue, "QueueName"),
            ),
            PassthroughBehavior="NEVER",
            RequestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            RequestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
            IntegrationResponses=[
                apigateway.IntegrationResponse(
                    StatusCode="202",
                    SelectionPattern="2\\d{2}",
                    ResponseTemplates={"application/json": '{"accepted":true}'},
                ),
                apigateway.IntegrationResponse(
                    StatusCode="502", ResponseTemplates={"application/json": '{"accepted":false}'}
                ),
            ],
        ),
        MethodResponses=[apigateway.MethodResponse(StatusCode="202"), apigateway.MethodResponse(StatusCode="502")],
    )


def _post_trades(
    ctx: StackContext, api: apigateway.RestApi, resource: Any, integration: apigateway.Integration, **extra: Any
) -> apigateway.Method:
    """POST /trades, IAM-signed callers only, into ``integration``."""
    return ctx.add(
        apigateway.Method(
            "TradesMethod",
            RestApiId=Ref(api),
            ResourceId=Ref(resource),
            HttpMethod="POST",
            AuthorizationType="AWS_IAM",
            Integration=integration,
            **extra,
        )
    )


def _stage(ctx: StackContext, api: apigateway.RestApi, methods: list[apigateway.Method]) -> apigateway.Stage:
    """A deployment named after the methods' content (so a change redeploys), and the logged, traced stage."""
    digest = hashlib.sha256(json.dumps([m.to_dict() for m in methods], sort_keys=True).encode()).hexdigest()
    deployment = ctx.add(
        apigateway.Deployment(f"ApiDeployment{digest[:10]}", RestApiId=Ref(api), DependsOn=[m.title for m in methods])
    )
    key = inputs.key_arn(ctx)
    access = ctx.add(
        tlogs.LogGroup(
            "ApiAccessLogGroup",
            LogGroupName="/aws/apigateway/" + ctx.names.fixed("generic", "api") + "/access",
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=key,
            **DESTROYABLE,
        )
    )
    # API Gateway writes execution logs to this fixed name; created here, it is encrypted and expires.
    execution = ctx.add(
        tlogs.LogGroup(
            "ApiExecutionLogGroup",
            LogGroupName=Sub(f"API-Gateway-Execution-Logs_${{Api}}/{STAGE}", Api=Ref(api)),
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=key,
            **DESTROYABLE,
        )
    )
    return ctx.add(
        apigateway.Stage(
            "ApiStage",
            DependsOn=[_logging_account(ctx).title, execution.title],
            RestApiId=Ref(api),
            StageName=STAGE,
            DeploymentId=Ref(deployment),
            Metadata=skip_metadata(NO_CACHE),
            TracingEnabled=True,
            AccessLogSetting=apigateway.AccessLogSetting(
                DestinationArn=GetAtt(access, "Arn"), Format=json.dumps(ACCESS_LOG_FORMAT, sort_keys=True)
            ),
            MethodSettings=[
                apigateway.MethodSetting(
                    ResourcePath="/*", HttpMethod="*", MetricsEnabled=True, LoggingLevel="ERROR", DataTraceEnabled=False
                )
            ],
        )
    )


def _logging_account(ctx: StackContext) -> apigateway.Account:
    """API Gateway logs through one role per account and region (a regional setting, not per API)."""
    role = ctx.add(
        iam.Role(
            "ApiGatewayLoggingRole",
            AssumeRolePolicyDocument=service_trust("apigateway.amazonaws.com"),
            ManagedPolicyArns=[
                Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
    )
    return ctx.add(apigateway.Account("ApiGatewayAccount", CloudWatchRoleArn=GetAtt(role, "Arn")))


def _domain(
    ctx: StackContext, title: str, name: Any, cert: Any, api: apigateway.RestApi, stage: apigateway.Stage
) -> compute.Endpoint:
    """A regional custom domain with TLS 1.2+, mapped (at its root) to the stage."""
    domain = ctx.add(
        apigateway.DomainName(
            title,
            DomainName=name,
            RegionalCertificateArn=Ref(cert),
            EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            SecurityPolicy="TLS_1_2",
        )
    )
    ctx.add(apigateway.BasePathMapping(f"{title}Mapping", DomainName=Ref(domain), RestApiId=Ref(api), Stage=Ref(stage)))
    return compute.Endpoint(GetAtt(domain, "RegionalDomainName"), GetAtt(domain, "RegionalHostedZoneId"))
