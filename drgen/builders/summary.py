"""The outputs the seeds ask for, in one place: the global stack (us-east-1).

- 000: "Exported outputs: primary endpoint URL, DR endpoint URL, health check IDs, failover Lambda ARNs"
- 001: "Export outputs for primary endpoint, secondary endpoint, health check URLs, and dashboard URL"
- 002: "Infrastructure Outputs": the Route 53 name, the DR endpoint, the global database cluster identifier, both
  regions' bucket names, the VPC peering connection ID, the dashboard URL
- 004: "Stack exports including: primary and secondary database endpoints, S3 bucket names, Route 53 hosted zone
  ID, database secret ARN"

Every scenario gets the whole set that applies to it. The global stack deploys before the orchestration layer
(layers.py), so the failover state machine's and functions' ARNs are composed from their names, which are
deterministic, in the DR region; a test holds them against the names the orchestration template gives. Values
of other stacks come in as inputs like the rest of the global stack's. Each output is exported as
``<prefix>-<output>-<suffix>`` (exports are per account and region: prefix and suffix keep environments apart),
so another stack in us-east-1 can import it. ``SeedOutputs`` lists them in order: ``drgen outputs`` shows them
first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Export, Output, Ref, Sub

from drgen.builders import compute, failover_access, inputs, routing
from drgen.builders.alerting import DASHBOARD_URL
from drgen.builders.context import StackContext
from drgen.builders.failover_definition import substitution
from drgen.bundle import names
from drgen.bundle.manifest import LayerName
from drgen.lambda_functions import failover_steps
from drgen.scenario.model import HealthCheckType, Role

# The output listing the others, comma-separated, in the order `drgen outputs` shows them.
SEED_OUTPUTS = "SeedOutputs"
ENDPOINT_URL = "EndpointUrl"
_TITLE = {Role.PRIMARY: "Primary", Role.SECONDARY: "Secondary"}
_ROLES = (Role.PRIMARY, Role.SECONDARY)


@dataclass(frozen=True)
class Item:
    """One output: its name, value and description (an output another builder made keeps its own)."""

    name: str
    value: Any = None  # None: another builder's output of that name
    description: str = ""


def build(ctx: StackContext) -> None:
    """Add (or reuse) every seed output, export each, then list them in ``SeedOutputs``."""
    items = [
        *_endpoints(ctx),
        *_health_checks(ctx),
        *_failover(ctx),
        *_dashboard(ctx),
        *_database(ctx),
        *_zone(ctx),
        *_buckets(ctx),
        *_peering(ctx),
    ]
    for item in items:
        _export(ctx, _ensure(ctx, item))
    names = ",".join(item.name for item in items)
    ctx.output(SEED_OUTPUTS, names, "The outputs the seeds ask for, in order (`drgen outputs` shows them first).")


def _ensure(ctx: StackContext, item: Item) -> Output:
    """The template's output of that name, added when no builder made it yet."""
    if item.name not in ctx.template.outputs:
        ctx.output(item.name, item.value, item.description)
    return ctx.template.outputs[item.name]


def _export(ctx: StackContext, output: Output) -> None:
    output.Export = Export(ctx.names.fixed("generic", output.title))


# -- the pieces ---------------------------------------------------------------------------------------------
def _endpoints(ctx: StackContext) -> list[Item]:
    """The name clients use, each region's own name and, for HTTPS checks, the URL each check probes. A database
    scenario's record is a CNAME to a writer endpoint: its name, not a URL."""
    scenario = ctx.scenario
    if not compute.has_endpoint(scenario):
        record = scenario.routing.host_name + "."
        return [Item(routing.FAILOVER_RECORD_NAME, record, "The DNS name clients use; it follows the healthy region.")]
    found = routing.endpoints(ctx)
    url = f"https://{scenario.routing.host_name}"
    items = [Item(ENDPOINT_URL, url, "The URL clients use: it follows the healthy region.")]
    for role in _ROLES:
        fqdn = found[role].health_check_fqdn
        items.append(
            Item(
                f"{_TITLE[role]}EndpointUrl",
                Sub("https://${Name}", Name=fqdn),
                f"The {role.value} region's own URL ({scenario.region(role)}): always that region.",
            )
        )
    if scenario.routing.health_check.type in (HealthCheckType.HTTPS, HealthCheckType.HTTPS_STR_MATCH):
        path = scenario.routing.health_check.path
        for role in _ROLES:
            items.append(
                Item(
                    f"{_TITLE[role]}HealthCheckUrl",
                    Sub("https://${Name}" + path, Name=found[role].health_check_fqdn),
                    f"What the {role.value} region's Route 53 health check probes.",
                )
            )
    return items


def _health_checks(ctx: StackContext) -> list[Item]:
    """Each region's check (routing made these outputs), and the one gating the PRIMARY record."""
    items = [
        Item(names.HEALTH_CHECK_OUTPUTS[role], Ref(routing.CHECK_IDS[role]), f"The {role.value} region's check.")
        for role in _ROLES
    ]
    gate = Ref(routing.PRIMARY_RECORD_CHECK)
    items.append(Item(inputs.PRIMARY_RECORD_CHECK_OUTPUT, gate, "The check gating the PRIMARY record."))
    return items


def _failover(ctx: StackContext) -> list[Item]:
    """The DR region's state machine and its functions, by name: the orchestration stack comes after this one."""
    region = ctx.scenario.regions.secondary
    machine = ctx.names.fixed("statemachine", failover_access.STATE_MACHINE)
    items = [
        Item(
            names.STATE_MACHINE_ARN,
            _arn("states", region, f"stateMachine:{machine}"),
            f"The failover state machine ({region}).",
        )
    ]
    for spec in failover_steps(ctx.scenario):
        function = ctx.names.fixed("lambda", spec.key)
        items.append(
            Item(substitution(spec.key), _arn("lambda", region, f"function:{function}"), f"Failover step: {spec.key}.")
        )
    return items


def _arn(service: str, region: str, resource: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}")


def _dashboard(ctx: StackContext) -> list[Item]:
    """alerting.dashboard made the output; a scenario without a dashboard has none."""
    return [Item(DASHBOARD_URL)] if DASHBOARD_URL in ctx.template.outputs else []


def _database(ctx: StackContext) -> list[Item]:
    """Both clusters' writer endpoints (the DR one serves once promoted), the master secret and the global
    cluster."""
    items = []
    for role in _ROLES:
        name = f"{_TITLE[role]}DatabaseEndpoint"
        what = f"Writer endpoint of the {role.value} region's Aurora cluster ({ctx.scenario.region(role)})."
        fed = inputs.into_global(ctx, name, LayerName.DATA, role, inputs.CLUSTER_ENDPOINT, what)
        items.append(Item(name, fed, what))
    primary = (
        (inputs.DATABASE_SECRET_ARN, "The database master secret (the primary's ARN; the DR replica has its name)."),
        (inputs.GLOBAL_CLUSTER_IDENTIFIER, "The Aurora global cluster identifier."),
    )
    for name, what in primary:
        items.append(Item(name, inputs.into_global(ctx, name, LayerName.DATA, Role.PRIMARY, name, what), what))
    return items


def _zone(ctx: StackContext) -> list[Item]:
    return [Item(names.HOSTED_ZONE_ID, inputs.zone_id(ctx), "Hosted zone holding the failover records.")]


def _buckets(ctx: StackContext) -> list[Item]:
    """Each scenario bucket's name in both regions, from the foundation stacks."""
    items = []
    for bucket in ctx.scenario.buckets:
        output = inputs.bucket_output(bucket.purpose)
        for role in _ROLES:
            name = f"{_TITLE[role]}{output}"
            what = f"The {bucket.purpose} bucket in the {role.value} region ({ctx.scenario.region(role)})."
            items.append(Item(name, inputs.into_global(ctx, name, LayerName.FOUNDATION, role, output, what), what))
    return items


def _peering(ctx: StackContext) -> list[Item]:
    if not ctx.scenario.network.peering:
        return []
    name, what = inputs.PEERING_CONNECTION_ID, "The inter-region VPC peering connection."
    return [Item(name, inputs.into_global(ctx, name, LayerName.FOUNDATION, Role.PRIMARY, name, what), what)]
