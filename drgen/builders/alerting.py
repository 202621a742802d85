"""Alerting: SNS topics in both regions, the health-check alarms, and how every alarm notifies (``alarm``).

The data layer's alarms are in database_alarms.py, the dashboard in dashboard.py; the names other code reads
(outputs, alarm stems) are here, the metrics the functions publish in the Lambda contract
(lambda/drgen_common/contract.py).

Each region has its own encrypted alert topic; the DR region also keeps an inbox queue that both topics
deliver to, so the primary's alerts survive in the region that takes over. Alarm names are literal and
region-specific because Route 53 health checks and the global stack find alarms by name and region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs import kms, sns, sqs
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, cloudwatch
from troposphere import kms as tkms
from troposphere import sns as tsns
from troposphere import sqs as tsqs

from drgen.builders.context import IS_PRIMARY, IS_SECONDARY, StackContext
from drgen.builders.iam import (
    DESTROYABLE,
    POLICY_VERSION,
    THIS_KEY,
    account_administers_key,
    service_publishes,
    sns_principals,
)
from drgen.builders.routing import HealthChecks
from drgen.builders.security import KeyHandles
from drgen.bundle.names import ALERT_INBOX_QUEUE_ARN, ALERT_TOPIC_ARN, health_check_alarm_name
from drgen.lambda_code import contract
from drgen.scenario.model import Role, Scenario

GLOBAL_ALERT_TOPIC_ARN = "GlobalAlertTopicArn"
DASHBOARD_URL = "DashboardUrl"
# The app stacks' ALB outputs (compute.py) the dashboard's load-balancer widgets take their dimensions from.
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
TARGET_GROUP_FULL_NAME = "TargetGroupFullName"

TOPIC = "alerts"
INBOX = "alerts-inbox"
GLOBAL_TOPIC = "global-alerts"
LAG_MONITOR_ALARM = "replication-lag-heartbeat"
# A silent lag metric counts as breaching: replication nobody measures is not replication anyone can rely on.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
LAG_MISSING_DATA = "breaching"

MINUTE = 60
INBOX_RETENTION_SECONDS = 14 * 24 * 60 * 60  # the SQS maximum: an inbox someone reads after an incident
ALARM_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


# -- names other code reads --------------------------------------------------------------------------------
def connectivity_namespace(scenario: Scenario) -> str:
    """The CloudWatch namespace the functions publish the scenario's metrics to (DatabaseConnectivity, ...)."""
    return contract.metrics_namespace(scenario.name)


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


def alarm(
    ctx: StackContext,
    logical: str,
    name: Any,
    description: str,
    actions: list[Any],
    period: int = MINUTE,
    *,
    notify_ok: bool = True,
    **metric: Any,
) -> cloudwatch.Alarm:
    """An alarm (one-minute periods unless a high-resolution metric allows 10 s) that notifies on ALARM and, unless
    ``notify_ok`` is off, on OK (recovery is news during an incident; not where OK only means no new events)."""
    ok = {"OKActions": actions} if notify_ok else {}
    return ctx.add(
        cloudwatch.Alarm(
            logical,
            AlarmName=name,
            AlarmDescription=description,
            Period=period,
            AlarmActions=actions,
            **ok,
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
