"""The data layer's alarms: replication lag (Aurora's and the lag monitor's), the failover-engaged signal, and
database connectivity for scenarios without an endpoint. All notify the region's alert topic; none starts a
failover (the guard and confirm steps read the metrics themselves)."""

from __future__ import annotations

from typing import Any

from troposphere import Ref, cloudwatch

from drgen.builders.alerting import (
    LAG_MISSING_DATA,
    LAG_MONITOR_ALARM,
    alarm,
    connectivity_namespace,
)
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.database import ClusterHandles
from drgen.builders.inputs import FoundationInputs
from drgen.builders.routing import (
    CONNECTIVITY_ALARM,
    ENGAGED_ALARM,
    LAG_ALARM,
)
from drgen.lambda_code import contract
from drgen.scenario.model import ComputeKind, Scenario

MILLISECONDS_PER_SECOND = 1000


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
        MetricName=contract.REPLICATION_LAG,
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
        MetricName=contract.FAILOVER_ENGAGED,
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
        MetricName=contract.DATABASE_CONNECTIVITY,
        Statistic="Minimum",
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=failures,
        DatapointsToAlarm=failures,
        # Silence means the test itself is not running: nothing proves the database reachable.
        TreatMissingData="breaching",
    )
