"""The stack catalogue: which builders make up each layer, and the deploy graph between layers.

| layer         | template | where                      | holds                                                     |
|---------------|----------|----------------------------|-----------------------------------------------------------|
| zone          | global   | us-east-1, first           | a new hosted zone, only when the scenario asks for one    |
| foundation    | regional | DR region, then primary    | KMS key, VPC, endpoints/NAT, SNS, buckets, peering, ECR   |
| data          | regional | primary, then DR           | secret, Aurora global DB, DynamoDB global table, alarms   |
| app           | regional | each region after its data | endpoint and compute, DB monitors, event buses, SSM       |
| global        | global   | us-east-1, after both apps | health checks, records, alarms, alarm forwarding, dashboard|
| orchestration | regional | each region after global   | readiness test; DR: failover functions, machine, trigger  |

The orchestration layer comes last because the failover's DNS step needs the primary's health check id, which
the global stack creates from the app stacks' endpoints.

Edges come from two places: every ``ctx.input()`` (a stack needs another's output) and the explicit
``AFTER`` list for orderings that carry no value (the secondary DB joins a global cluster by name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drgen.builders import (
    alerting,
    app,
    backup,
    dashboard,
    database,
    database_alarms,
    events,
    image_repository,
    inputs,
    ledger,
    network,
    orchestration,
    routing,
    security,
    sessions,
    storage,
    summary,
)
from drgen.builders.context import StackContext
from drgen.bundle.manifest import LayerName
from drgen.scenario.model import Role, Scenario


def build_zone(ctx: StackContext) -> None:
    routing.hosted_zone(ctx)


def build_foundation(ctx: StackContext) -> None:
    key = security.kms_key(ctx)
    net = network.vpc(ctx)
    network.peering_requester(ctx, net)
    alerting.topics(ctx, key)
    storage.buckets(ctx, key)
    image_repository.image_repository(ctx, key.arn)


def build_data(ctx: StackContext) -> None:
    foundation = inputs.foundation_inputs(ctx)
    secret = security.db_secret(ctx, foundation)
    cluster = database.aurora(ctx, foundation, secret)
    sessions.global_table(ctx, foundation)
    ledger.global_table(ctx, foundation)
    network.peering_accepter_routes(ctx, foundation)
    database_alarms.database_alarms(ctx, foundation, cluster)
    backup.vaults_and_plan(ctx, foundation, cluster)


def build_global(ctx: StackContext) -> None:
    checks = routing.health_checks(ctx)
    routing.failover_records(ctx, checks)
    alerts = alerting.health_check_alarms(ctx, checks)
    events.forward_primary_alarm(ctx, alerts)
    dashboard.dashboard(ctx)
    summary.build(ctx)  # last: it exports what the builders above made


@dataclass(frozen=True)
class Layer:
    name: LayerName
    regional: bool
    build: Callable[[StackContext], None]
    description: str
    # Whether the scenario has this layer (the zone layer only when the scenario asks drgen to create the zone).
    present: Callable[[Scenario], bool] = lambda _: True


LAYERS: tuple[Layer, ...] = (
    Layer(
        LayerName.ZONE,
        regional=False,
        build=build_zone,
        description="a new Route 53 hosted zone (routing.create_zone)",
        present=lambda s: s.routing.create_zone,
    ),
    Layer(
        LayerName.FOUNDATION,
        regional=True,
        build=build_foundation,
        description="KMS key, network, alert topics and replicated buckets",
    ),
    Layer(
        LayerName.DATA,
        regional=True,
        build=build_data,
        description="Aurora global database, its secret, sessions table and lag alarms",
    ),
    Layer(
        LayerName.APP,
        regional=True,
        build=app.build,
        description="endpoint and compute, database monitors, event buses and configuration",
    ),
    Layer(
        LayerName.GLOBAL,
        regional=False,
        build=build_global,
        description="health checks, failover records, alarms, alarm forwarding and dashboard",
    ),
    Layer(
        LayerName.ORCHESTRATION,
        regional=True,
        build=orchestration.build,
        description="readiness test; in the DR region the failover state machine",
    ),
)

# Orderings with no value passed along: (layer, role) waits for (layer, role).
AFTER: dict[tuple[LayerName, Role], tuple[tuple[LayerName, Role], ...]] = {
    (LayerName.FOUNDATION, Role.PRIMARY): ((LayerName.FOUNDATION, Role.SECONDARY),),
    (LayerName.DATA, Role.PRIMARY): ((LayerName.FOUNDATION, Role.PRIMARY),),
    (LayerName.DATA, Role.SECONDARY): ((LayerName.DATA, Role.PRIMARY), (LayerName.FOUNDATION, Role.SECONDARY)),
    # The connectivity alarms the global health checks watch are fed by the app layer's functions.
    (LayerName.GLOBAL, Role.GLOBAL): ((LayerName.APP, Role.PRIMARY), (LayerName.APP, Role.SECONDARY)),
}
