"""EventBridge: the failover trigger, the alarm forwarding that feeds it, and the application event buses.

The primary's health-check alarm lives in us-east-1 (Route 53 publishes its metrics only there). The global
stack forwards that alarm's state changes from us-east-1's default bus to the DR region's default bus; a rule
there starts the failover state machine when the alarm goes to ALARM. Scenarios with application buses get one
bus per region, each forwarding the application's events that originate in its own region to the other
region's bus (the ``region`` filter stops an event from bouncing back), and archiving the events that arrive
from the other region, so that after a failover the survivor can replay what the failed region last said.

Every cross-region delivery retries for as long as EventBridge allows and then parks the event in an encrypted
dead-letter queue whose alarm pages: an event is never lost silently.
"""

from __future__ import annotations

import json
from typing import Any

from awacs import events as event_actions
from awacs import sqs, states
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, events, iam
from troposphere import sqs as tsqs

from drgen.builders import inputs, monitoring
from drgen.builders.alerting import GlobalAlerts
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.event_archive import APPLICATION_BUS
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.bundle.names import health_check_alarm_name
from drgen.lambda_code import contract
from drgen.regions import ROUTE53_METRICS_REGION

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
APPLICATION_BUS_NAME = "ApplicationEventBusName"
# What an alarm-triggered execution does: the primary is failing, so this is an unplanned failover.
TRIGGER_INPUT = {contract.MODE: contract.FAILOVER, contract.PLANNED: False, contract.FORCE: False}
FAILBACK_INPUT = {contract.MODE: contract.FAILBACK, contract.PLANNED: True, contract.FORCE: False}
FAILBACK_RULE = "FailbackTrigger"
# EventBridge retries a failed delivery for up to a day by default; a failover that starts hours late is wrong.
TRIGGER_MAX_EVENT_AGE_SECONDS = 15 * 60
TRIGGER_RETRIES = 10
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60
# Events from the other region stay replayable this long (``aws events start-replay`` onto this region's bus).
ARCHIVE_RETENTION_DAYS = 7


def alarm_pattern(ctx: StackContext, *, alarm_only: bool) -> dict[str, Any]:
    """State changes of the primary's health-check alarm (only the ones into ALARM when ``alarm_only``)."""
    detail: dict[str, Any] = {"alarmName": [health_check_alarm_name(ctx.names)]}
    if alarm_only:
        detail["state"] = {"value": ["ALARM"]}
    return {"source": ["aws.cloudwatch"], "detail-type": [ALARM_STATE_CHANGE], "detail": detail}


# -- global: forward the primary's health alarm to the DR region ---------------------------------------------
def forward_primary_alarm(ctx: StackContext, alerts: GlobalAlerts) -> None:
    """us-east-1 default bus -> the DR region's default bus, for the primary's health-check alarm.

    Nothing to forward when the DR region is us-east-1 itself: the alarm's events are on its bus already.
    """
    region = ctx.scenario.regions.secondary
    if region == ROUTE53_METRICS_REGION:
        return
    target = Sub(f"arn:${{AWS::Partition}}:events:{region}:${{AWS::AccountId}}:event-bus/default")
    role = _put_events_role(ctx, "AlarmForwardingRole", target)
    rule = "ForwardPrimaryHealthAlarm"
    queue = _dead_letter_queue(ctx, "AlarmForwardDeadLetterQueue", "alarm-forward-dlq", rule, Ref(alerts.key))
    ctx.add(
        events.Rule(
            rule,
            Description=f"Forwards the primary's health-check alarm state changes to {region} (failover trigger)",
            EventPattern=alarm_pattern(ctx, alarm_only=False),
            State="ENABLED",
            Targets=[_forward("dr-region-bus", target, role, queue)],
        )
    )
    monitoring.dead_letters(
        ctx,
        queue,
        "alarm-forward-dead-letters",
        f"Health-check alarm events could not be delivered to {region}: the forwarded failover trigger is not "
        "arriving (the DR region's own probe still is).",
        Ref(alerts.topic),
    )


def _forward(target_id: str, bus_arn: Any, role: iam.Role, dead_letters: tsqs.Queue) -> events.Target:
    """A target on another region's bus: retried by EventBridge's default ("for 24 hours and up to 185 times",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html), then parked in
    ``dead_letters`` for 14 days. No RetryPolicy of our own: AWS's CDK reference says "Retry policy is not
    supported for Event bus targets" (aws-events-targets EventBusProps), and the default is the most we want."""
    return events.Target(
        Id=target_id,
        Arn=bus_arn,
        RoleArn=GetAtt(role, "Arn"),
        DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(dead_letters, "Arn")),
    )


def _dead_letter_queue(ctx: StackContext, title: str, purpose: str, rule: str, key: Any) -> tsqs.Queue:
    """An encrypted queue that only ``rule`` may send its undeliverable events to."""
    queue = ctx.add(
        tsqs.Queue(
            title,
            QueueName=ctx.names.regional("sqs", purpose),
            KmsMasterKeyId=key,
            MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
            **DESTROYABLE,
        )
    )
    ctx.add(
        tsqs.QueuePolicy(
            f"{title}Policy",
            Queues=[Ref(queue)],
            PolicyDocument=PolicyDocument(
                Version=POLICY_VERSION,
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", ["events.amazonaws.com"]),
                        Action=[sqs.SendMessage],
                        Resource=[GetAtt(queue, "Arn")],
                        Condition=Condition(ArnEquals("aws:SourceArn", GetAtt(rule, "Arn"))),
                    )
                ],
            ),
        )
    )
    return queue


# -- orchestration (DR region): the trigger ------------------------------------------------------------------
def failover_trigger(ctx: StackContext, machine: Any) -> events.Rule:
    """Starts the failover state machine when the forwarded primary health alarm enters ALARM."""
    role = ctx.add(
        iam.Role(
            "FailoverTriggerRole",
            Condition=IS_SECONDARY,
            AssumeRolePolicyDocument=service_trust("events.amazonaws.com"),
            Policies=[_policy("start-failover", [states.StartExecution], Ref(machine))],
        )
    )
    if ctx.scenario.auto_failback:
        _failback_trigger(ctx, machine, role)
    return ctx.add(
        events.Rule(
            "FailoverTrigger",
            Condition=IS_SECONDARY,
            Description="Starts an unplanned failover when the primary's Route 53 health-check alarm fires",
            EventPattern=alarm_pattern(ctx, alarm_only=True),
            State="ENABLED",
            Targets=[_start_machine("failover", machine, role, TRIGGER_INPUT)],
        )
    )


def failback_rules(ctx: StackContext) -> list[events.Rule]:
    """The automatic failback's rule, when the scenario has one (built by ``failover_trigger``)."""
    found = ctx.template.resources.get(FAILBACK_RULE)
    return [found] if found is not None else []


def _start_machine(target_id: str, machine: Any, role: iam.Role, request: dict[str, Any]) -> events.Target:
    """A rule target starting the state machine with ``request``; stale events are dropped, not retried for a day."""
    return events.Target(
        Id=target_id,
        Arn=Ref(machine),
        RoleArn=GetAtt(role, "Arn"),
        Input=json.dumps(request, sort_keys=True),
        RetryPolicy=events.RetryPolicy(
            MaximumEventAgeInSeconds=TRIGGER_MAX_EVENT_AGE_SECONDS, MaximumRetryAttempts=TRIGGER_RETRIES
        ),
    )


def _failback_trigger(ctx: StackContext, machine: Any, role: iam.Role) -> events.Rule:
    """Starts a planned failback when the primary's health-check alarm goes from ALARM back to OK (the primary
    region recovered). Only that transition: a new alarm's INSUFFICIENT_DATA -> OK must not fail back."""
    pattern = alarm_pattern(ctx, alarm_only=False)
    pattern["detail"].update(state={"value": ["OK"]}, previousState={"value": ["ALARM"]})
    return ctx.add(
        events.Rule(
            FAILBACK_RULE,
            Condition=IS_SECONDARY,
            Description="Starts a planned failback when the primary's health-check alarm recovers (ALARM -> OK)",
            EventPattern=pattern,
            State="ENABLED",
            Targets=[_start_machine("failback", machine, role, FAILBACK_INPUT)],
        )
    )


# -- app layer: application buses ---------------------------------------------------------------------------
def application_buses(ctx: StackContext) -> events.EventBus | None:
    """This region's application bus, forwarding its own events to the other region's bus."""
    if not ctx.scenario.compute.event_bus:
        return None
    bus = ctx.add(events.EventBus("ApplicationEventBus", Name=ctx.names.regional("generic", APPLICATION_BUS)))
    peer = Sub(
        "arn:${AWS::Partition}:events:${PeerRegion}:${AWS::AccountId}:event-bus/"
        + ctx.names.peer_text("generic", APPLICATION_BUS)
    )
    role = _put_events_role(ctx, "EventForwardingRole", peer)
    rule = "ForwardApplicationEvents"
    queue = _dead_letter_queue(ctx, "EventForwardDeadLetterQueue", "event-forward-dlq", rule, inputs.key_arn(ctx))
    ctx.add(
        events.Rule(
            rule,
            Description="Forwards application events raised in this region to the other region's bus",
            EventBusName=Ref(bus),
            EventPattern=_application_events(ctx, Ref("AWS::Region")),
            State="ENABLED",
            Targets=[_forward("peer-region-bus", peer, role, queue)],
        )
    )
    monitoring.dead_letters(
        ctx,
        queue,
        "event-forward-dead-letters",
        "Application events could not be delivered to the other region's bus: they wait in the dead-letter queue.",
    )
    ctx.add(
        events.Archive(
            "PeerEventsArchive",
            Description="Application events that arrived from the other region, replayable after a failover",
            SourceArn=GetAtt(bus, "Arn"),
            EventPattern=_application_events(ctx, Ref("PeerRegion")),
            RetentionDays=ARCHIVE_RETENTION_DAYS,
            # The region's key admits EventBridge for this bus's archive (archive_key_statements, in its policy).
            KmsKeyIdentifier=inputs.key_arn(ctx),
        )
    )
    ctx.output(APPLICATION_BUS_NAME, Ref(bus), "Application event bus (events forward to the other region).")
    return bus


def producer_env(ctx: StackContext, bus: events.EventBus | None, component: str) -> dict[str, Any]:
    """EVENT_BUS_NAME and EVENT_SOURCE of a function that announces events (empty bus name: no bus)."""
    return {
        contract.EVENT_BUS_NAME: Ref(bus) if bus is not None else "",
        contract.EVENT_SOURCE: f"{ctx.scenario.prefix}.{component}",
    }


def producer_grants(bus: events.EventBus | None) -> list[Statement]:
    """PutEvents on this region's application bus, nothing when there is none."""
    if bus is None:
        return []
    return [Statement(Effect=Allow, Action=[event_actions.PutEvents], Resource=[GetAtt(bus, "Arn")])]


def _application_events(ctx: StackContext, origin: Any) -> dict[str, Any]:
    """The application's own events (source ``<prefix>.*``) raised in the region ``origin``."""
    return {"source": [{"prefix": f"{ctx.scenario.prefix}."}], "region": [origin]}


def _put_events_role(ctx: StackContext, title: str, bus_arn: Any) -> iam.Role:
    """The role EventBridge assumes to put events on another region's bus."""
    return ctx.add(
        iam.Role(
            title,
            AssumeRolePolicyDocument=service_trust("events.amazonaws.com"),
            Policies=[_policy("put-events", [event_actions.PutEvents], bus_arn)],
        )
    )


def _policy(name: str, actions: list[Any], resource: Any) -> iam.Policy:
    return iam.Policy(
        PolicyName=name,
        PolicyDocument=PolicyDocument(
            Version=POLICY_VERSION, Statement=[Statement(Effect=Allow, Action=actions, Resource=[resource])]
        ),
    )
