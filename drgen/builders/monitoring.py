"""The app layer's alarms, in both regions, notifying the region's alert topic.

What a reviewer of each seed looks for: the load balancer has healthy targets and they do not fail requests,
the ECS service runs tasks, the functions do not keep failing, the API answers without server errors and
fast, no trade order ends in the dead-letter queue, and every order the ledger took was queued. The DR
region's alarms say the standby could not take traffic, which is why they exist there too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from troposphere import GetAtt, Ref, cloudwatch

from drgen.builders import inputs
from drgen.builders.alerting import alarm, connectivity_namespace
from drgen.builders.context import StackContext
from drgen.builders.functions import Deployed
from drgen.bundle.names import camel
from drgen.lambda_code import contract

# A condition that lasts this many one-minute periods is an incident, not a blip.
SUSTAINED_MINUTES = 3
API_P99_LATENCY_MS = 3000


def _dimensions(**pairs: Any) -> list[cloudwatch.MetricDimension]:
    return [cloudwatch.MetricDimension(Name=name, Value=value) for name, value in pairs.items()]


def _sustained(ctx: StackContext, logical: str, name: str, description: str, **metric: Any) -> None:
    """An alarm that fires after SUSTAINED_MINUTES bad minutes in a row."""
    alarm(
        ctx,
        logical,
        ctx.names.regional("alarm", name),
        description,
        [inputs.alert_topic(ctx)],
        EvaluationPeriods=SUSTAINED_MINUTES,
        DatapointsToAlarm=SUSTAINED_MINUTES,
        **metric,
    )


def load_balancer(ctx: StackContext, balancer: Any, target_group: Any) -> None:
    """No healthy target (the region cannot serve), and targets answering with server errors."""
    dimensions = _dimensions(
        LoadBalancer=GetAtt(balancer, "LoadBalancerFullName"), TargetGroup=GetAtt(target_group, "TargetGroupFullName")
    )
    _sustained(
        ctx,
        "NoHealthyTargetsAlarm",
        "no-healthy-targets",
        "The load balancer has no healthy target in this region: it cannot serve traffic.",
        Namespace="AWS/ApplicationELB",
        MetricName="HealthyHostCount",
        Dimensions=dimensions,
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",  # no data: the target group reports nothing, nothing proves it healthy
    )
    _sustained(
        ctx,
        "TargetServerErrorsAlarm",
        "target-5xx",
        "Targets behind the load balancer keep answering with server errors.",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=dimensions,
        Statistic="Sum",
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",  # no requests, no errors
    )


def ecs_service(ctx: StackContext, cluster: Any, service: Any) -> None:
    """The service runs no task (Container Insights reports the count per service)."""
    _sustained(
        ctx,
        "EcsRunningTasksAlarm",
        "ecs-running-tasks",
        "The ECS service runs no task in this region.",
        Namespace="ECS/ContainerInsights",
        MetricName="RunningTaskCount",
        Dimensions=_dimensions(ClusterName=Ref(cluster), ServiceName=GetAtt(service, "Name")),
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
    )


def function_errors(ctx: StackContext, deployed: Iterable[Deployed]) -> None:
    """Each function keeps failing (errors in consecutive minutes)."""
    for function in deployed:
        extra = {"Condition": function.condition} if function.condition else {}
        _sustained(
            ctx,
            f"{camel(function.spec.key)}ErrorsAlarm",
            f"{function.spec.key}-errors",
            f"The {function.spec.key} function keeps failing.",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=_dimensions(FunctionName=Ref(function.function)),
            Statistic="Sum",
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",  # no invocations, no errors
            **extra,
        )


def orders_not_queued(ctx: StackContext) -> None:
    """An order the ledger committed and the intake could not queue (lambda/app/intake.py publishes 1 for each):
    its client was told 202, and the order waits for a client retry or the failover's ledger replay. The first
    one is news."""
    alarm(
        ctx,
        "OrdersNotQueuedAlarm",
        ctx.names.regional("alarm", "orders-not-queued"),
        "An order was committed to the ledger but not queued: it waits for a client retry or the ledger replay. "
        "No OK follows: a quiet minute does not mean the order was queued.",
        [inputs.alert_topic(ctx)],
        notify_ok=False,
        Namespace=connectivity_namespace(ctx.scenario),
        MetricName=contract.ORDERS_NOT_QUEUED,
        Statistic="Sum",
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        TreatMissingData="notBreaching",  # published only when a send fails: no data is no failure
    )


def api(ctx: StackContext, name: str, stage: str) -> None:
    """Server errors and a slow 99th percentile on the API stage."""
    dimensions = _dimensions(ApiName=name, Stage=stage)
    _sustained(
        ctx,
        "ApiServerErrorsAlarm",
        "api-5xx",
        "The API keeps answering with server errors.",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Dimensions=dimensions,
        Statistic="Sum",
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    _sustained(
        ctx,
        "ApiLatencyAlarm",
        "api-latency",
        f"The API's 99th percentile latency stays above {API_P99_LATENCY_MS} ms.",
        Namespace="AWS/ApiGateway",
        MetricName="Latency",
        Dimensions=dimensions,
        ExtendedStatistic="p99",
        Threshold=API_P99_LATENCY_MS,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )


def dead_letters(ctx: StackContext, queue: Any, what: str, description: str, topic: Any = None) -> None:
    """Messages in a dead-letter queue: something failed delivery or processing often enough to be parked.
    The alarm notifies ``topic`` (default: this region's alert topic)."""
    name = ctx.names.regional("alarm", what) if ctx.regional else ctx.names.fixed("alarm", what)
    alarm(
        ctx,
        f"{camel(what)}Alarm",
        name,
        description,
        [inputs.alert_topic(ctx) if topic is None else topic],
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=_dimensions(QueueName=GetAtt(queue, "QueueName")),
        Statistic="Maximum",
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        TreatMissingData="notBreaching",
    )
