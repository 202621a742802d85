"""The stack catalogue: which builders make up each layer, and the deploy graph between layers.

| layer      | template  | where                     | holds                                                  |
|------------|-----------|---------------------------|--------------------------------------------------------|
| foundation | regional  | DR region, then primary   | KMS key, VPC, endpoints/NAT, SNS, buckets, peering     |
| data       | regional  | primary, then DR          | secret, Aurora global DB, DynamoDB global table, alarms|
| global     | global    | us-east-1                 | hosted zone, health checks, failover records, dashboard|

Edges come from two places: every ``ctx.input()`` (a stack needs another's output) and the explicit
``AFTER`` list for orderings that carry no value (the secondary DB joins a global cluster by name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drgen.builders import alerting, database, inputs, network, routing, security, sessions, storage
from drgen.builders.context import StackContext
from drgen.scenario.model import Role


def build_foundation(ctx: StackContext) -> None:
    key = security.kms_key(ctx)
    net = network.vpc(ctx)
    network.peering_requester(ctx, net)
    alerting.topics(ctx, key)
    storage.buckets(ctx, key)


def build_data(ctx: StackContext) -> None:
    foundation = inputs.foundation_inputs(ctx)
    secret = security.db_secret(ctx, foundation)
    cluster = database.aurora(ctx, foundation, secret)
    sessions.global_table(ctx, foundation)
    network.peering_accepter_routes(ctx, foundation)
    alerting.database_alarms(ctx, foundation, cluster)


def build_global(ctx: StackContext) -> None:
    zone = routing.hosted_zone(ctx)
    checks = routing.health_checks(ctx)
    routing.failover_records(ctx, zone, checks)
    alerting.health_check_alarms(ctx, checks)
    alerting.dashboard(ctx)


@dataclass(frozen=True)
class Layer:
    name: str
    regional: bool
    build: Callable[[StackContext], None]
    description: str


LAYERS: tuple[Layer, ...] = (
    Layer("foundation", True, build_foundation, "KMS key, network, alert topics and replicated buckets"),
    Layer("data", True, build_data, "Aurora global database, its secret, sessions table and lag alarms"),
    Layer("global", False, build_global, "Route 53 zone, health checks, failover records and dashboard"),
)

# Orderings with no value passed along: (layer, role) waits for (layer, role).
AFTER: dict[tuple[str, Role], tuple[tuple[str, Role], ...]] = {
    ("foundation", Role.PRIMARY): (("foundation", Role.SECONDARY),),
    ("data", Role.PRIMARY): (("foundation", Role.PRIMARY),),
    ("data", Role.SECONDARY): (("data", Role.PRIMARY), ("foundation", Role.SECONDARY)),
    ("global", Role.GLOBAL): (("data", Role.PRIMARY), ("data", Role.SECONDARY)),
}
