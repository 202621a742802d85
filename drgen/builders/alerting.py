"""Alerting: SNS topics in both regions, replication-lag alarms, health-check alarms, the dashboard.

Each region has its own encrypted alert topic; the DR region also keeps an inbox queue that both topics
deliver to, so the primary's alerts survive in the region that takes over. Alarm names are literal and
region-specific because Route 53 health checks and the global stack find alarms by name and region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs import kms, sns, sqs
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, cloudwatch
from troposphere import kms as tkms
from troposphere import sns as tsns
from troposphere import sqs as tsqs

from drgen.builders.context import IS_PRIMARY, IS_SECONDARY, OutputRef, StackContext
from drgen.builders.database import ClusterHandles
from drgen.builders.iam import (
    DESTROYABLE,
    POLICY_VERSION,
    THIS_KEY,
    account_administers_key,
    service_publishes,
    sns_principals,
)
from drgen.builders.inputs import ALERT_TOPIC_ARN, FoundationInputs
from drgen.builders.routing import (
    CHECK_IDS,
    CONNECTIVITY_ALARM,
    ENGAGED_ALARM,
    HEALTH_CHECK_OUTPUTS,
    LAG_ALARM,
    HealthChecks,
    lag_alarm_name,
)
from drgen.builders.security import KeyHandles
from drgen.functions import APP_HEALTH, functions_for
from drgen.naming import Names
from drgen.regions import ROUTE53_METRICS_REGION
from drgen.scenario.model import ComputeKind, Role, Scenario

ALERT_INBOX_QUEUE_ARN = "AlertInboxQueueArn"
GLOBAL_ALERT_TOPIC_ARN = "GlobalAlertTopicArn"
DASHBOARD_URL = "DashboardUrl"
# The app stacks' ALB outputs (compute.py) the dashboard's load-balancer widgets take their dimensions from.
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
TARGET_GROUP_FULL_NAME = "TargetGroupFullName"
ECS_CLUSTER_NAME = "EcsClusterName"
ECS_SERVICE_NAME = "EcsServiceName"
# Published by the readiness test (lambda/readiness/app.py) in both regions: 1 ready, 0 not.
READINESS_METRIC = "FailoverReadiness"

TOPIC = "alerts"
INBOX = "alerts-inbox"
GLOBAL_TOPIC = "global-alerts"
HEALTH_ALARMS = {Role.PRIMARY: "primary-health", Role.SECONDARY: "secondary-health"}
# Published (1 = the database answered) by the connectivity-test functions of connectivity scenarios.
CONNECTIVITY_METRIC = "DatabaseConnectivity"
# Published by the failover's DNS step and the engaged signal (lambda/failover/dns.py, engaged.py): 1 traffic to
# the DR region, 0 to the primary.
ENGAGED_METRIC = "FailoverEngaged"
# Published by the lag monitor in the replica's region (lambda/lag_monitor): the age of the writer's heartbeat.
LAG_MONITOR_METRIC = "ReplicationLagSeconds"
LAG_MONITOR_ALARM = "replication-lag-heartbeat"
# A silent lag metric counts as breaching: replication nobody measures is not replication anyone can rely on.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
LAG_MISSING_DATA = "breaching"

MILLISECONDS_PER_SECOND = 1000
MINUTE = 60
INBOX_RETENTION_SECONDS = 14 * 24 * 60 * 60  # the SQS maximum: an inbox someone reads after an incident
ALARM_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


# -- names other code reads --------------------------------------------------------------------------------
def health_check_alarm_name(names: Names, role: Role = Role.PRIMARY) -> str:
    """The us-east-1 alarm on a region's Route 53 health check; the primary's one triggers failover."""
    return names.fixed("alarm", HEALTH_ALARMS[role])


def connectivity_namespace(scenario: Scenario) -> str:
    """The CloudWatch namespace the connectivity-test functions publish DatabaseConnectivity to."""
    return f"drgen/{scenario.name}"


# -- foundation: topics ------------------------------------------------------------------------------------
def topics(ctx: StackContext, key: KeyHandles) -> None:
    """This region's alert topic (own KMS key) and, if asked, the cross-region inbox in the DR region."""
    topic = _topic(ctx, "AlertTopic", ctx.names.regional("sns", TOPIC), key.arn, ALARM_PUBLISHERS)
    if ctx.scenario.alerting.cross_region_subscription:
        _cross_region_inbox(ctx, topic, key)
    ctx.output(ALERT_TOPIC_ARN, Ref(topic), "This region's alert topic (alarms and failover notices).")


def _topic(ctx: StackContext, logical: str, name: Any, key_id: Any, publishers: tuple[str, ...]) -> tsns.Topic:
    """An encrypted topic that only the given AWS services of this account may publish to, plus the email."""
    topic = ctx.add(tsns.Topic(logical, TopicName=name, KmsMasterKeyId=key_id))
    document = PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            Statement(
                Sid="AccountServicesPublish",
                Effect=Allow,
                Principal=Principal("Service", list(publishers)),
                Action=[sns.Publish],
                Resource=[Ref(topic)],
                Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
            )
        ],
    )
    ctx.add(tsns.TopicPolicy(f"{logical}Policy", Topics=[Ref(topic)], PolicyDocument=document))
    email = ctx.scenario.alerting.email
    if email:
        ctx.add(tsns.SubscriptionResource(f"{logical}Email", Protocol="email", Endpoint=email, TopicArn=Ref(topic)))
    return topic


def _cross_region_inbox(ctx: StackContext, topic: tsns.Topic, key: KeyHandles) -> None:
    """SNS cannot subscribe a topic to a topic, so both regions' topics deliver to a queue in the DR region.

    The subscription lives in the topic's region: the DR stack subscribes its own topic, the primary stack
    subscribes its topic to the DR queue (which exists first: the DR foundation deploys before the primary's).
    """
    names = ctx.names
    queue = ctx.add(
        tsqs.Queue(
            "AlertInbox",
            Condition=IS_SECONDARY,
            QueueName=names.regional("sqs", INBOX),
            KmsMasterKeyId=key.arn,
            MessageRetentionPeriod=INBOX_RETENTION_SECONDS,
            **DESTROYABLE,
        )
    )
    peer_topic = _arn("sns", "PeerRegion", names.peer_text("sns", TOPIC))
    document = PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            Statement(
                Sid="AlertTopicsDeliver",
                Effect=Allow,
                Principal=Principal("Service", sns_principals(ctx, Role.SECONDARY)),
                Action=[sqs.SendMessage],
                Resource=[GetAtt(queue, "Arn")],
                Condition=Condition(ArnEquals("aws:SourceArn", [Ref(topic), peer_topic])),
            )
        ],
    )
    policy = ctx.add(
        tsqs.QueuePolicy("AlertInboxPolicy", Condition=IS_SECONDARY, Queues=[Ref(queue)], PolicyDocument=document)
    )
    _queue_subscription(ctx, "AlertInboxSubscription", IS_SECONDARY, topic, GetAtt(queue, "Arn"), policy.title)
    peer_queue = _arn("sqs", "PeerRegion", names.peer_text("sqs", INBOX))
    _queue_subscription(ctx, "PeerAlertInboxSubscription", IS_PRIMARY, topic, peer_queue)
    ctx.output(
        ALERT_INBOX_QUEUE_ARN, GetAtt(queue, "Arn"), "Queue collecting both regions' alerts.", condition=IS_SECONDARY
    )


def _queue_subscription(
    ctx: StackContext, logical: str, condition: str, topic: tsns.Topic, queue_arn: Any, *depends_on: str
) -> None:
    extra: dict[str, Any] = {"DependsOn": list(depends_on)} if depends_on else {}
    ctx.add(
        tsns.SubscriptionResource(
            logical,
            Condition=condition,
            Protocol="sqs",
            Endpoint=queue_arn,
            TopicArn=Ref(topic),
            RawMessageDelivery=False,  # keep the SNS envelope: it says which region's topic sent the alert
            **extra,
        )
    )


def _arn(service: str, region_parameter: str, resource: str) -> Sub:
    """An ARN in this account and the region held by ``region_parameter`` (e.g. PeerRegion)."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{{region_parameter}}}:${{AWS::AccountId}}:{resource}")


# -- data layer: database alarms ---------------------------------------------------------------------------
def database_alarms(ctx: StackContext, foundation: FoundationInputs, cluster: ClusterHandles) -> None:
    """The replication-lag and failover-engaged alarms (DR region) and, for connectivity scenarios, a
    connectivity alarm per region."""
    actions = [foundation.alert_topic_arn]
    _lag_alarm(ctx, cluster, actions)
    _lag_monitor_alarm(ctx, actions)
    _engaged_alarm(ctx, actions)
    if ctx.scenario.compute.kind is ComputeKind.CONNECTIVITY:
        _connectivity_alarm(ctx, actions)


def lag_threshold_ms(scenario: Scenario) -> float:
    """The lag alarm's threshold in the metric's unit: the scenario says seconds, Aurora reports milliseconds."""
    return scenario.database.lag_alarm_seconds * MILLISECONDS_PER_SECOND


def _lag_alarm(ctx: StackContext, cluster: ClusterHandles, actions: list[Any]) -> None:
    """Aurora publishes AuroraGlobalDBReplicationLag only for secondary clusters, so the alarm is DR-only.

    It only notifies: the failover's guard and confirm steps and the readiness test read the lag metrics
    themselves, and no health check follows this alarm, so its state never starts or blocks a failover or a
    failback. Missing data is breaching (LAG_MISSING_DATA): a replica that stops reporting (detached from the
    global cluster, stopped, or promoted by a failover) no longer protects the RPO; after a failover it stays in
    ALARM until the failback makes this cluster a replica again.
    """
    seconds = ctx.scenario.database.lag_alarm_seconds
    alarm(
        ctx,
        "ReplicationLagAlarm",
        ctx.names.regional("alarm", LAG_ALARM),
        f"Aurora global database replication lag above {seconds:g} s, or not reported: the RPO is at risk.",
        actions,
        Condition=IS_SECONDARY,
        Namespace="AWS/RDS",
        MetricName="AuroraGlobalDBReplicationLag",
        Dimensions=[cloudwatch.MetricDimension(Name="DBClusterIdentifier", Value=Ref(cluster.secondary))],
        Statistic="Maximum",
        Threshold=lag_threshold_ms(ctx.scenario),
        ComparisonOperator="GreaterThanThreshold",
        # Two of three minutes: one slow minute (a burst of writes) is not an incident.
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        TreatMissingData=LAG_MISSING_DATA,
    )


def _lag_monitor_alarm(ctx: StackContext, actions: list[Any]) -> None:
    """The lag monitor's own measure (the age of the primary writer's heartbeat on the DR replica) above the
    scenario's threshold, or silent: a monitor that stops publishing (not scheduled, failing before it publishes,
    no heartbeat arriving) alarms instead of going blind. DR-only, like the replica it measures; notifies only,
    like ``_lag_alarm``, so it stays in ALARM during a failover (the DR writer beats, nothing measures) and
    gates nothing."""
    seconds = ctx.scenario.database.lag_alarm_seconds
    alarm(
        ctx,
        "ReplicationLagHeartbeatAlarm",
        ctx.names.regional("alarm", LAG_MONITOR_ALARM),
        f"The lag monitor measures the writer's heartbeat older than {seconds:g} s on this replica, or publishes "
        "nothing: replication is behind or unmeasured.",
        actions,
        Condition=IS_SECONDARY,
        Namespace=connectivity_namespace(ctx.scenario),
        MetricName=LAG_MONITOR_METRIC,
        Statistic="Maximum",
        Threshold=seconds,
        ComparisonOperator="GreaterThanThreshold",
        # As the Aurora alarm: two of three minutes, so one missed run of the minutely monitor does not page.
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        TreatMissingData=LAG_MISSING_DATA,
    )


def _engaged_alarm(ctx: StackContext, actions: list[Any]) -> None:
    """The DR region's FailoverEngaged alarm, whose data stream gates the PRIMARY record (routing.py).

    Here, in the data layer, because the global stack's health check on it comes next and Route 53 reads the
    alarm by name. Route 53 evaluates the metric itself (the engaged signal publishes it every minute) and ignores
    the alarm's state and TreatMissingData; the state only notifies people: ALARM when a failover engages, OK
    when the failback releases it.
    """
    alarm(
        ctx,
        "FailoverEngagedAlarm",
        ctx.names.regional("alarm", ENGAGED_ALARM),
        "A failover to this region is engaged: Route 53 treats the PRIMARY record as unhealthy.",
        actions,
        Condition=IS_SECONDARY,
        Namespace=connectivity_namespace(ctx.scenario),
        MetricName=ENGAGED_METRIC,
        Statistic="Maximum",
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        EvaluationPeriods=1,
        TreatMissingData="ignore",
    )


def _connectivity_alarm(ctx: StackContext, actions: list[Any]) -> None:
    """Fires when the connectivity test fails for as many minutes as the scenario's failure threshold."""
    failures = ctx.scenario.routing.health_check.failure_threshold
    alarm(
        ctx,
        "DatabaseConnectivityAlarm",
        ctx.names.regional("alarm", CONNECTIVITY_ALARM),
        "The connectivity test could not reach the database in this region.",
        actions,
        Namespace=connectivity_namespace(ctx.scenario),
        MetricName=CONNECTIVITY_METRIC,
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=failures,
        DatapointsToAlarm=failures,
        # Silence means the test itself is not running: nothing proves the database reachable.
        TreatMissingData="breaching",
    )


def alarm(
    ctx: StackContext, logical: str, name: Any, description: str, actions: list[Any], period: int = MINUTE,
    **metric: Any,
) -> cloudwatch.Alarm:
    """An alarm (one-minute periods unless a high-resolution metric allows 10 s) that notifies on both ALARM and
    OK (recovery is news during an incident)."""
    return ctx.add(
        cloudwatch.Alarm(
            logical,
            AlarmName=name,
            AlarmDescription=description,
            Period=period,
            AlarmActions=actions,
            OKActions=actions,
            **metric,
        )
    )


# -- global: health-check alarms ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GlobalAlerts:
    """The global stack's alert topic and the key that encrypts it (and the forwarder's dead letters)."""

    topic: tsns.Topic
    key: tkms.Key


def health_check_alarms(ctx: StackContext, checks: HealthChecks) -> GlobalAlerts:
    """Alarms on both regions' Route 53 health checks, in us-east-1 where Route 53 publishes the metric.

    The primary's alarm is the failover signal (events.py forwards its state changes to the DR region, where
    they start the failover state machine); the DR region's says the standby could not take traffic.
    """
    name = ctx.names.fixed("sns", GLOBAL_TOPIC)
    key = _global_key(ctx, name)
    topic = _topic(ctx, "GlobalAlertTopic", name, Ref(key), ("cloudwatch.amazonaws.com",))
    for role in (Role.PRIMARY, Role.SECONDARY):
        alarm(
            ctx,
            f"{role.value.capitalize()}HealthCheckAlarm",
            health_check_alarm_name(ctx.names, role),
            f"Route 53 reports the {role.value} region ({ctx.scenario.region(role)}) unhealthy.",
            [Ref(topic)],
            Namespace="AWS/Route53",
            MetricName="HealthCheckStatus",
            Dimensions=[cloudwatch.MetricDimension(Name="HealthCheckId", Value=Ref(checks.of(role)))],
            Statistic="Minimum",
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            # Route 53 already waited for its failure threshold before reporting 0: do not add delay.
            EvaluationPeriods=1,
            # Route 53 reports every check every minute; silence means the check is gone, not healthy.
            TreatMissingData="breaching",
        )
    ctx.output(GLOBAL_ALERT_TOPIC_ARN, Ref(topic), "Topic of the health-check alarms (us-east-1).")
    return GlobalAlerts(topic=topic, key=key)


def _global_key(ctx: StackContext, topic_name: str) -> tkms.Key:
    """The global alerts' own key: CloudWatch cannot publish to a topic under the AWS managed aws/sns key,
    whose policy admits no service principal, so its alarm notifications would be dropped silently."""
    # By name, not Ref: the topic refers to the key, so the key cannot refer to the topic.
    topic_arn = _arn("sns", "AWS::Region", topic_name)
    document = PolicyDocument(
        Version=POLICY_VERSION,
        # In a key policy, Resource "*" means this key.
        Statement=[
            account_administers_key(),
            Statement(
                # What AWS documents for CloudWatch alarms publishing to an encrypted topic, for this topic only
                # (SNS passes the topic ARN as the encryption context).
                Sid="AlarmsToGlobalTopic",
                Effect=Allow,
                Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                Action=[kms.Action("GenerateDataKey*"), kms.Decrypt],
                Resource=THIS_KEY,
                Condition=Condition(ArnEquals("kms:EncryptionContext:aws:sns:topicArn", topic_arn)),
            ),
            # The alarm forwarder parks undeliverable events in an encrypted dead-letter queue (events.py).
            service_publishes("EventsToDeadLetterQueue", ["events.amazonaws.com"], "sqs", "aws:sqs:arn"),
        ],
    )
    return ctx.add(
        tkms.Key(
            "GlobalAlertKey",
            Description=f"drgen {ctx.scenario.name} ({ctx.names.suffix}): global alert topic",
            EnableKeyRotation=True,
            PendingWindowInDays=7,
            KeyPolicy=document,
            **DESTROYABLE,
        )
    )


# -- global: dashboard -------------------------------------------------------------------------------------
WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6
LOG_WIDGET_ROWS = 100
# Health-check ids are known only at deploy time: Sub variables of the body, named like routing's outputs.
_HEALTH_VARIABLES = HEALTH_CHECK_OUTPUTS


def dashboard(ctx: StackContext) -> None:
    """One dashboard across both regions (each widget names its region) and Route 53 in us-east-1."""
    if not ctx.scenario.alerting.dashboard:
        return
    variables = {variable: Ref(CHECK_IDS[role]) for role, variable in _HEALTH_VARIABLES.items()}
    widgets = [
        *_database_widgets(ctx),
        *_sessions_widgets(ctx),
        *_bucket_widgets(ctx),
        _health_widget(),
        *_readiness_widgets(ctx),
        *_compute_widgets(ctx, variables),
        *_log_widgets(ctx),
    ]
    for index, widget in enumerate(widgets):
        widget.update(
            x=(index % 2) * WIDGET_WIDTH, y=(index // 2) * WIDGET_HEIGHT, width=WIDGET_WIDTH, height=WIDGET_HEIGHT
        )
    body = json.dumps({"widgets": widgets}, sort_keys=True).replace("${", "${!")  # literal text stays literal
    body = body.replace("<<!", "${")  # pseudo parameters (a bucket name's account id) stay live
    for variable in variables:
        body = body.replace(_placeholder(variable), f"${{{variable}}}")
    name = ctx.names.fixed("dashboard", "dr")
    board = ctx.add(cloudwatch.Dashboard("Dashboard", DashboardName=name, DashboardBody=Sub(body, variables)))
    ctx.output(
        DASHBOARD_URL,
        Sub(
            "https://console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Board}",
            Board=Ref(board),
        ),
        "CloudWatch dashboard of both regions.",
    )


def _regions(scenario: Scenario) -> tuple[tuple[Role, str], ...]:
    return (Role.PRIMARY, scenario.regions.primary), (Role.SECONDARY, scenario.regions.secondary)


def _readiness_widgets(ctx: StackContext) -> list[dict[str, Any]]:
    """The readiness test's verdict and the database connectivity test's, per region (drgen/<scenario>)."""
    namespace = connectivity_namespace(ctx.scenario)
    return [
        _metric_widget(
            f"Failover readiness and database connectivity, {role.value} ({region}) (1 = yes)",
            region,
            [
                _metric(namespace, READINESS_METRIC, {}, stat="Minimum", label="failover readiness", period=3600),
                _metric(namespace, CONNECTIVITY_METRIC, {}, stat="Minimum", label="database connectivity"),
            ],
            yAxis={"left": {"min": 0, "max": 1}},
        )
        for role, region in _regions(ctx.scenario)
    ]


def _log_widgets(ctx: StackContext) -> list[dict[str, Any]]:
    """Per region, one Logs Insights query over every drgen function's log group: the warnings and errors of
    both regions read in one place. The logs stay in their region (a central copy in one region would be lost
    with that region); the dashboard is the central view."""
    widgets = []
    for role, region in _regions(ctx.scenario):
        groups = [
            f"/aws/lambda/{ctx.names.fixed('lambda', spec.key)}"
            for spec in functions_for(ctx.scenario)
            if role in spec.roles
        ]
        query = (
            " | ".join(f"SOURCE '{group}'" for group in groups)
            + " | fields @timestamp, @log, @message"
            + " | filter @message like /WARNING|ERROR|CRITICAL|Task timed out/"
            + f" | sort @timestamp desc | limit {LOG_WIDGET_ROWS}"
        )
        widgets.append(
            {
                "type": "log",
                "properties": {
                    "title": f"Function warnings and errors, {role.value} ({region})",
                    "region": region,
                    "query": query,
                    "view": "table",
                },
            }
        )
    return widgets


def _compute_widgets(ctx: StackContext, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Per region: the ALB's healthy hosts, requests and target 5XX (dimensions fed from the app stacks), the ECS
    service's running tasks or the Lambda application's invocations."""
    kind = ctx.scenario.compute.kind
    if kind not in (ComputeKind.ECS, ComputeKind.ASG, ComputeKind.LAMBDA):
        return []
    widgets = []
    for role, region in _regions(ctx.scenario):

        def app(output: str, role: Role = role) -> str:
            return _app_variable(ctx, variables, role, output)

        elb = "AWS/ApplicationELB"
        both = {"LoadBalancer": app(LOAD_BALANCER_FULL_NAME), "TargetGroup": app(TARGET_GROUP_FULL_NAME)}
        metrics = [
            _metric(elb, "HealthyHostCount", both, stat="Minimum", label="healthy hosts"),
            _metric(elb, "RequestCount", {"LoadBalancer": both["LoadBalancer"]}, stat="Sum", label="requests",
                    yAxis="right"),
            _metric(elb, "HTTPCode_Target_5XX_Count", both, stat="Sum", label="target 5XX", yAxis="right"),
        ]
        if kind is ComputeKind.ECS:
            service = {"ClusterName": app(ECS_CLUSTER_NAME), "ServiceName": app(ECS_SERVICE_NAME)}
            metrics.append(
                _metric("ECS/ContainerInsights", "RunningTaskCount", service, stat="Minimum", label="running tasks")
            )
        elif kind is ComputeKind.LAMBDA:
            # The function's name as functions.py gives it (fixed: the same in both regions).
            function = {"FunctionName": ctx.names.fixed("lambda", APP_HEALTH.key)}
            metrics.append(
                _metric("AWS/Lambda", "Invocations", function, stat="Sum", label="invocations", yAxis="right")
            )
        widgets.append(_metric_widget(f"Application {role.value} ({region})", region, metrics))
    return widgets


def _app_variable(ctx: StackContext, variables: dict[str, Any], role: Role, output: str) -> str:
    """A deploy-time value from a region's app stack: a template input, a Sub variable, a placeholder in the body."""
    variable = f"{role.value.capitalize()}{output}"
    variables[variable] = ctx.input(
        variable,
        f"{output} of the {role.value} region's app stack (dashboard).",
        {Role.GLOBAL: OutputRef("app", role, output)},
    )
    return _placeholder(variable)


def _placeholder(variable: str) -> str:
    """Stands for a deploy-time value in the JSON body until it becomes a Sub variable."""
    return f"<<{variable}>>"


def _metric_widget(title: str, region: str, metrics: list[list[Any]], **properties: Any) -> dict[str, Any]:
    """A time-series widget; its ``region`` is where the metrics live, so one dashboard spans both regions."""
    base = {"title": title, "region": region, "metrics": metrics, "view": "timeSeries", "period": MINUTE}
    return {"type": "metric", "properties": {**base, **properties}}


def _metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> list[Any]:
    """One line of a metric widget: namespace, name, dimension pairs, then its rendering options."""
    return [namespace, name, *(part for pair in dimensions.items() for part in pair), options]


def _database_widgets(ctx: StackContext) -> list[dict[str, Any]]:
    """Replication lag (reported by the DR cluster only) against its alarm threshold, then load per region."""
    regions = ctx.scenario.regions

    def cluster(region: str) -> dict[str, str]:
        return {"DBClusterIdentifier": ctx.names.for_region("rds", "aurora", region)}

    threshold = {"label": lag_alarm_name(ctx.names, regions.secondary), "value": lag_threshold_ms(ctx.scenario)}
    lag = _metric_widget(
        f"Aurora replication lag, ms ({regions.secondary})",
        regions.secondary,
        [_metric("AWS/RDS", "AuroraGlobalDBReplicationLag", cluster(regions.secondary), stat="Maximum")],
        annotations={"horizontal": [threshold]},
    )
    load = [
        _metric_widget(
            f"Aurora {role.value} ({region}): connections and CPU",
            region,
            [
                _metric("AWS/RDS", "DatabaseConnections", cluster(region), stat="Maximum", label="connections"),
                _metric("AWS/RDS", "CPUUtilization", cluster(region), stat="Average", label="CPU %", yAxis="right"),
            ],
        )
        for role, region in ((Role.PRIMARY, regions.primary), (Role.SECONDARY, regions.secondary))
    ]
    return [lag, *load]


def _sessions_widgets(ctx: StackContext) -> list[dict[str, Any]]:
    """DynamoDB reports ReplicationLatency in the writing region, per receiving region."""
    if not ctx.scenario.sessions.enabled:
        return []
    table = ctx.names.fixed("table", ctx.scenario.sessions.table)
    regions = ctx.scenario.regions
    return [
        _metric_widget(
            f"Sessions table replication latency, ms ({source} to {target})",
            source,
            [
                _metric(
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                    {"TableName": table, "ReceivingRegion": target},
                    stat="Maximum",
                )
            ],
        )
        for source, target in ((regions.primary, regions.secondary), (regions.secondary, regions.primary))
    ]


def _bucket_in(ctx: StackContext, purpose: str, region: str) -> str:
    """A bucket's name in ``region``; its account id stays a live ``${AWS::AccountId}`` in the Sub'ed body."""
    return ctx.names.regional_text("bucket", purpose).replace("${AWS::Region}", region).replace("${", "<<!")


def _bucket_widgets(ctx: StackContext) -> list[dict[str, Any]]:
    """S3 replication latency of each replicated primary bucket; a search, since the rule id is a dimension."""
    primary = ctx.scenario.regions.primary
    searches = [
        {
            "expression": (
                'SEARCH(\'{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="ReplicationLatency" '
                f"SourceBucket=\"{_bucket_in(ctx, bucket.purpose, primary)}\"', 'Maximum', 300)"
            ),
            "id": f"bucket{index}",
            "label": bucket.purpose,
        }
        for index, bucket in enumerate(b for b in ctx.scenario.buckets if b.replicate)
    ]
    if not searches:
        return []
    title = f"S3 replication latency, s ({primary} to {ctx.scenario.regions.secondary})"
    return [_metric_widget(title, primary, [[search] for search in searches], period=300)]


def _health_widget() -> dict[str, Any]:
    """Route 53 health-check status (1 healthy, 0 unhealthy), published only in us-east-1."""
    return _metric_widget(
        "Route 53 health checks (1 = healthy)",
        ROUTE53_METRICS_REGION,
        [
            _metric(
                "AWS/Route53",
                "HealthCheckStatus",
                {"HealthCheckId": _placeholder(variable)},
                stat="Minimum",
                label=role.value,
            )
            for role, variable in _HEALTH_VARIABLES.items()
        ],
        yAxis={"left": {"min": 0, "max": 1}},
    )
