"""The app layer of one region: its endpoint and compute, the database monitors, event buses, configuration.

Which endpoint depends on the scenario (compute.py, api.py); every scenario gets the replication-lag monitor
and the connectivity test in both regions, each on a one-minute schedule, and its configuration in Parameter
Store. The template's metadata records the decisions a reviewer would otherwise ask about.
"""

from __future__ import annotations

from typing import Any

from troposphere import Ref, Sub

from drgen.builders import api, compute, events, functions, inputs, ledger, monitoring, snapshot_export, ssm_parameters
from drgen.builders.context import StackContext
from drgen.lambda_code import contract
from drgen.lambda_functions import APP_HEALTH, CONNECTIVITY, LAG_MONITOR, ORDER_INTAKE, TRADE_PROCESSOR, functions_for
from drgen.scenario.model import ComputeKind

APP_FUNCTIONS = frozenset({LAG_MONITOR.key, CONNECTIVITY.key, APP_HEALTH.key, TRADE_PROCESSOR.key, ORDER_INTAKE.key})
EVERY_MINUTE = "rate(1 minute)"
# EventBridge schedules run at most once a minute; the confirm step reads the heartbeat's age as a failure signal
# (seed 001 wants the lag at least every 30 s), so the monitor samples six times a minute.
LAG_SAMPLES = 6
LAG_SAMPLE_SECONDS = 10
LAG_SCHEDULE = (
    f"Replication lag every {LAG_SAMPLE_SECONDS} s (seed 001 asks for 30 s; the failover's confirm step reads the "
    f"writer's heartbeat): EventBridge schedules run at most once a minute, so each run samples {LAG_SAMPLES} times, "
    f"{LAG_SAMPLE_SECONDS} s apart"
)


def build(ctx: StackContext) -> None:
    kind = ctx.scenario.compute.kind
    env = {
        **functions.database_env(ctx),
        contract.SAMPLES: str(LAG_SAMPLES),
        contract.SAMPLE_INTERVAL_SECONDS: str(LAG_SAMPLE_SECONDS),
    }
    grants = {}
    queue = None
    bus = events.application_buses(ctx)
    env.update(events.producer_env(ctx, bus, "trades"))
    if kind is ComputeKind.APIGATEWAY:
        queue = api.trade_queue(ctx, TRADE_PROCESSOR.timeout)
        env[contract.QUEUE_URL] = Ref(queue.queue)  # where the order intake queues
        # The processor writes through the global writer endpoint, which it reads from the global cluster.
        env[contract.GLOBAL_CLUSTER_ID] = inputs.global_cluster_id(ctx)
        grants[TRADE_PROCESSOR.key] = [
            *api.consumer_grants(queue),
            *events.producer_grants(bus),
            inputs.describe_global_cluster(ctx),
        ]
        if ctx.scenario.ledger.enabled:
            env.update(ledger.intake_env(ctx))
            grants[ORDER_INTAKE.key] = ledger.intake_grants(ctx, queue)
    specs = [f for f in functions_for(ctx.scenario) if f.key in APP_FUNCTIONS and f.key != LAG_MONITOR.key]
    network = compute.function_network(ctx)
    deployed = functions.deploy(ctx, specs, env, grants, network)
    # The lag monitor tries the writer endpoint in both regions and falls back to the reader endpoint: whichever
    # region holds the replica now (DR before a failover, the primary after one) measures the lag.
    lag_env = {
        **env,
        contract.DB_ENDPOINT: inputs.writer_endpoint(ctx),
        contract.DB_READER_ENDPOINT: inputs.reader_endpoint(ctx),
    }
    deployed |= functions.deploy(ctx, [LAG_MONITOR], lag_env, grants, network)
    functions.schedule(ctx, deployed[LAG_MONITOR.key], EVERY_MINUTE, LAG_SCHEDULE)
    functions.schedule(ctx, deployed[CONNECTIVITY.key], EVERY_MINUTE, "Database connectivity test")
    monitoring.function_errors(ctx, deployed.values())
    if ORDER_INTAKE.key in deployed:
        monitoring.orders_not_queued(ctx)
    snapshot_export.export(ctx)
    if kind in compute.ALB_KINDS:
        compute.load_balanced(ctx, deployed.get(APP_HEALTH.key))
    elif queue is not None:
        api.feed(ctx, queue, deployed[TRADE_PROCESSOR.key])
        api.rest_api(ctx, deployed[APP_HEALTH.key], queue, deployed.get(ORDER_INTAKE.key))
    ssm_parameters.region_config(ctx, _region_config(ctx, bus, queue))
    ctx.template.set_metadata({"drgen": {"decisions": [LAG_SCHEDULE + "."]}})


def _region_config(ctx: StackContext, bus: Any, queue: api.TradeQueue | None) -> dict[str, Any]:
    """What an application or operator reads from Parameter Store in this region."""
    database = functions.database_env(ctx)
    values: dict[str, Any] = {
        "role": Ref("Role"),
        "peer-region": Ref("PeerRegion"),
        "db-endpoint": database[contract.DB_ENDPOINT],
        "db-secret-name": database[contract.DB_SECRET_NAME],
        "db-name": database[contract.DB_NAME],
    }
    if compute.has_endpoint(ctx.scenario):
        path = ctx.scenario.routing.health_check.path
        values["health-url"] = Sub(f"https://{compute.regional_domain_name(ctx.scenario)}{path}")
    if queue is not None:
        values["trade-queue-url"] = Ref(queue.queue)
    if bus is not None:
        values["event-bus"] = Ref(bus)
    return values
