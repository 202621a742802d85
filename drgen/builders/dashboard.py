"""The global dashboard: readiness, both regions' compute, database, sessions and buckets side by side, the
health checks and the failover functions' logs, in the global layer's region."""

from __future__ import annotations

import json
from typing import Any

from troposphere import Ref, Sub, cloudwatch

from drgen.builders import inputs
from drgen.builders.alerting import (
    DASHBOARD_URL,
    LOAD_BALANCER_FULL_NAME,
    MINUTE,
    TARGET_GROUP_FULL_NAME,
    connectivity_namespace,
)
from drgen.builders.context import StackContext
from drgen.builders.database_alarms import lag_threshold_ms
from drgen.builders.routing import CHECK_IDS, lag_alarm_name
from drgen.bundle.manifest import LayerName
from drgen.bundle.names import AURORA_CLUSTER, ECS_CLUSTER_NAME, ECS_SERVICE_NAME, HEALTH_CHECK_OUTPUTS
from drgen.lambda_code import contract
from drgen.lambda_functions import APP_HEALTH, functions_for
from drgen.regions import ROUTE53_METRICS_REGION
from drgen.scenario.model import ComputeKind, Role, Scenario

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
        _recovery_widget(ctx),
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
                _metric(
                    namespace, contract.FAILOVER_READINESS, {}, stat="Minimum", label="failover readiness", period=3600
                ),
                _metric(namespace, contract.DATABASE_CONNECTIVITY, {}, stat="Minimum", label="database connectivity"),
            ],
            yAxis={"left": {"min": 0, "max": 1}},
        )
        for role, region in _regions(ctx.scenario)
    ]


def _recovery_widget(ctx: StackContext) -> dict[str, Any]:
    """The recovery time each failover and failback achieved (the notify step publishes it in the DR region,
    where the state machine runs), against the scenario's RTO."""
    scenario = ctx.scenario
    namespace = connectivity_namespace(scenario)
    return _metric_widget(
        f"Recovery time achieved, s ({scenario.regions.secondary})",
        scenario.regions.secondary,
        [
            _metric(namespace, contract.DURATION[mode], {}, stat="Maximum", label=f"{mode} duration")
            for mode in (contract.FAILOVER, contract.FAILBACK)
        ],
        period=3600,
        annotations={"horizontal": [{"label": "RTO objective", "value": scenario.objectives.rto_seconds}]},
    )


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
            _metric(
                elb, "RequestCount", {"LoadBalancer": both["LoadBalancer"]}, stat="Sum", label="requests", yAxis="right"
            ),
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
    description = f"{output} of the {role.value} region's app stack (dashboard)."
    variables[variable] = inputs.into_global(ctx, variable, LayerName.APP, role, output, description)
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
        return {"DBClusterIdentifier": ctx.names.for_region("rds", AURORA_CLUSTER, region)}

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
