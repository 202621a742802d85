"""Routing: Route 53 hosted zone, health checks and PRIMARY/SECONDARY failover records.

The hosted zone is the account's existing public zone (its id given in the scenario, or found by the domain at
deploy and handed to every stack that names it), or, when the scenario asks for a new one, the zone stack,
deployed first (the app layer validates certificates in it); the rest lives in the global template (us-east-1).
The record name answers with the primary's endpoint while the primary's
health check passes, and with the DR region's otherwise. The health-check kind follows the scenario: an HTTPS
probe of each region's own name (the app stacks publish it), or (for a database-only scenario)
CloudWatch-metric checks on the alarms the data layer keeps in each region.

Static stability: the PRIMARY record is gated by a calculated check (``PrimaryRecordHealthCheck``, an AND of
the primary's own check and the failover-engaged check). The engaged check follows the data stream of the DR
region's FailoverEngaged alarm, which the failover's DNS step and then the engaged signal (every minute, for as
long as traffic is recorded in the DR region) feed; Route 53's checkers (data plane, global) read it there, so
traffic moves without any change through Route 53's control plane in us-east-1. ``PrimaryHealthCheck`` stays
the plain endpoint check: its us-east-1 alarm is a failover trigger and must not fire because a failover began.
The DNS step's second way closes the gate by raising its HealthThreshold; nothing ever inverts a check.

Only PRIMARY is gated. Route 53 answers PRIMARY whenever SECONDARY is unhealthy, whatever PRIMARY's health, so
SECONDARY has no health check and does not evaluate its target: once a failover engaged, nothing about the DR
region (a failed check, a lag spike, its CloudWatch gone) may send clients back to the region without the writer.
The DR region's own check stays, for readiness and its alarm (the failback's guard checks lag).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Ref, Tags, route53

from drgen.builders import inputs
from drgen.builders.context import StackContext
from drgen.builders.tags import tag_list
from drgen.bundle.manifest import LayerName
from drgen.bundle.names import ENDPOINT_DNS_NAME, HEALTH_CHECK_OUTPUTS, HOSTED_ZONE_ID
from drgen.naming import Names
from drgen.scenario.model import ComputeKind, HealthCheckType, Role

# Logical ids of each region's top-level health check (the one its failover record uses).
CHECK_IDS = {Role.PRIMARY: "PrimaryHealthCheck", Role.SECONDARY: "SecondaryHealthCheck"}
# The check gating the PRIMARY record: the primary's endpoint AND the DR region's FailoverEngaged stream at 0.
PRIMARY_RECORD_CHECK = "PrimaryRecordHealthCheck"
FAILOVER_RECORD_NAME = "FailoverRecordName"

HTTPS_PORT = 443
_FAILOVER = {Role.PRIMARY: "PRIMARY", Role.SECONDARY: "SECONDARY"}
_TITLE = {Role.PRIMARY: "Primary", Role.SECONDARY: "Secondary"}

# The data layer's alarms (CLOUDWATCH_METRIC health checks watch the last two). Route 53 finds an alarm by name
# and region, so the names are defined here, where they are read; alerting creates the alarms under them.
LAG_ALARM = "replication-lag"
CONNECTIVITY_ALARM = "db-connectivity"
# The DR region's alarm on FailoverEngaged (1: traffic to DR), whose data stream closes the PRIMARY record's gate.
ENGAGED_ALARM = "failover-engaged"


@dataclass(frozen=True)
class HealthChecks:
    """Each region's top-level health check, and the one gating the PRIMARY record (primary AND not engaged)."""

    primary: Any
    secondary: Any
    primary_record: Any

    def of(self, role: Role) -> Any:
        return self.primary if role is Role.PRIMARY else self.secondary

    def gating(self, role: Role) -> Any:
        """The check a role's failover record uses."""
        return self.primary_record if role is Role.PRIMARY else self.secondary


@dataclass(frozen=True)
class Endpoint:
    """Where a region's traffic goes: an alias target (app endpoints) or a CNAME target (DB writer endpoints),
    and for app endpoints the region's own name that its HTTPS health check probes."""

    dns_name: Ref
    hosted_zone_id: Ref | None
    health_check_fqdn: Ref | None = None


def lag_alarm_name(names: Names, region: str) -> str:
    """The replication-lag alarm's literal name in ``region`` (it exists only in the DR region)."""
    return names.for_region("alarm", LAG_ALARM, region)


def engaged_alarm_name(names: Names, region: str) -> str:
    """The failover-engaged alarm's literal name in ``region`` (it exists only in the DR region)."""
    return names.for_region("alarm", ENGAGED_ALARM, region)


def connectivity_alarm_name(names: Names, region: str) -> str:
    """The DB-connectivity alarm's literal name in ``region`` (connectivity scenarios, both regions)."""
    return names.for_region("alarm", CONNECTIVITY_ALARM, region)


def hosted_zone(ctx: StackContext) -> route53.HostedZone:
    """A new public zone for the scenario's domain (``routing.create_zone``). NameServers is not an output: moto
    breaks on that GetAtt; deploy reads them with GetHostedZone and prints what the parent must delegate."""
    zone = ctx.add(
        route53.HostedZone(
            "HostedZone",
            Name=ctx.scenario.routing.domain,
            HostedZoneConfig=route53.HostedZoneConfiguration(
                Comment=f"drgen {ctx.scenario.name} ({ctx.names.suffix}): DR failover records"
            ),
            HostedZoneTags=tag_list(ctx),
        )
    )
    ctx.output(HOSTED_ZONE_ID, Ref(zone), "Hosted zone holding the failover records.")
    return zone


def endpoints(ctx: StackContext) -> dict[Role, Endpoint]:
    """Declare (once) the parameters carrying both regions' endpoints, and return them per role."""
    if ctx.scenario.compute.kind is ComputeKind.CONNECTIVITY:
        return {role: _database_endpoint(ctx, role) for role in _FAILOVER}
    return {role: _app_endpoint(ctx, role) for role in _FAILOVER}


def _app_endpoint(ctx: StackContext, role: Role) -> Endpoint:
    """Each region's app stack publishes its public endpoint and the regional name its health check probes."""
    title = _TITLE[role]

    def fed(output: str, description: str) -> Ref:
        return inputs.into_global(ctx, f"{title}{output}", LayerName.APP, role, output, description)

    return Endpoint(
        dns_name=fed(ENDPOINT_DNS_NAME, f"DNS name of the {role.value} region's public endpoint."),
        hosted_zone_id=fed(
            inputs.ENDPOINT_HOSTED_ZONE_ID,
            f"Route 53 hosted zone id of the {role.value} region's endpoint (its alias target zone).",
        )
        if ctx.scenario.routing.alias
        else None,  # a CNAME record needs no zone
        health_check_fqdn=fed(
            inputs.HEALTH_CHECK_FQDN, f"The {role.value} region's own name (its health check probes it)."
        ),
    )


def _database_endpoint(ctx: StackContext, role: Role) -> Endpoint:
    """The writer endpoint of the region's cluster, fed from that region's data stack."""
    dns_name = inputs.into_global(
        ctx,
        f"{_TITLE[role]}DatabaseEndpoint",
        LayerName.DATA,
        role,
        inputs.CLUSTER_ENDPOINT,
        f"Writer endpoint of the {role.value} region's Aurora cluster.",
    )
    return Endpoint(dns_name=dns_name, hosted_zone_id=None)


def health_checks(ctx: StackContext) -> HealthChecks:
    """One top-level health check per region, of the kind the scenario asks for; ids are outputs."""
    if ctx.scenario.routing.health_check.type is HealthCheckType.CLOUDWATCH_METRIC:
        checks = {role: _connectivity_check(ctx, role) for role in _FAILOVER}
    else:
        found = endpoints(ctx)
        checks = {role: _https_check(ctx, role, found[role]) for role in _FAILOVER}
    for role, check in checks.items():
        ctx.output(
            HEALTH_CHECK_OUTPUTS[role],
            Ref(check),
            f"Route 53 health check of the {role.value} region's endpoint (its us-east-1 alarm watches it).",
        )
    record_check = _calculated(ctx, PRIMARY_RECORD_CHECK, [checks[Role.PRIMARY], _engaged_check(ctx)], "primary-record")
    ctx.output(
        inputs.PRIMARY_RECORD_CHECK_OUTPUT,
        Ref(record_check),
        "Route 53 health check gating the PRIMARY record: the primary is healthy and no failover is engaged.",
    )
    return HealthChecks(primary=checks[Role.PRIMARY], secondary=checks[Role.SECONDARY], primary_record=record_check)


def _engaged_check(ctx: StackContext) -> route53.HealthCheck:
    """Unhealthy while the DR region's FailoverEngaged data stream breaches (1: traffic goes to the DR region).

    Route 53 follows the stream, not the alarm's state, so the engaged signal republishes the value every minute.
    Should the stream still run dry (the DR region's CloudWatch or the signal impaired), the check keeps its last
    known status: Healthy would reopen the failed primary mid-failover, Unhealthy would move traffic to a standby
    nobody failed over to. A new check with no status yet is healthy (Route 53's rule): no failover engaged.
    """
    region = ctx.scenario.regions.secondary
    return _metric_check(
        ctx,
        "FailoverEngagedHealthCheck",
        engaged_alarm_name(ctx.names, region),
        region,
        "failover-engaged",
        insufficient="LastKnownStatus",
    )


def _https_check(ctx: StackContext, role: Role, endpoint: Endpoint) -> route53.HealthCheck:
    """An HTTPS (optionally string-matching) probe of the region's own name from Route 53's checkers."""
    wanted = ctx.scenario.routing.health_check
    config: dict[str, Any] = {
        "Type": wanted.type.value,
        "FullyQualifiedDomainName": endpoint.health_check_fqdn or endpoint.dns_name,
        "Port": HTTPS_PORT,
        "ResourcePath": wanted.path,
        "RequestInterval": wanted.interval_seconds,
        "FailureThreshold": wanted.failure_threshold,
        "EnableSNI": True,
    }
    if wanted.type is HealthCheckType.HTTPS_STR_MATCH:
        config["SearchString"] = wanted.search_string
    return _health_check(ctx, CHECK_IDS[role], route53.HealthCheckConfig(**config), f"{role.value}-health")


def _connectivity_check(ctx: StackContext, role: Role) -> route53.HealthCheck:
    """A region is healthy while its database connectivity alarm (in that region) is OK: Route 53 reads it
    there, so the DR region's health does not depend on the primary's CloudWatch. No connectivity data means the
    test is not proving the database reachable: do not send traffic there."""
    region = ctx.scenario.region(role)
    return _metric_check(
        ctx,
        CHECK_IDS[role],
        connectivity_alarm_name(ctx.names, region),
        region,
        f"{role.value}-db-connectivity",
        insufficient="Unhealthy",
    )


def _calculated(ctx: StackContext, logical: str, children: list[Any], name: str) -> route53.HealthCheck:
    """Healthy while every child is: CALCULATED with HealthThreshold = number of children is an AND."""
    config = route53.HealthCheckConfig(
        Type="CALCULATED",
        ChildHealthChecks=[Ref(child) for child in children],
        HealthThreshold=len(children),
    )
    return _health_check(ctx, logical, config, name)


def _metric_check(
    ctx: StackContext, logical: str, alarm: str, region: str, name: str, *, insufficient: str
) -> route53.HealthCheck:
    config = route53.HealthCheckConfig(
        Type="CLOUDWATCH_METRIC",
        AlarmIdentifier=route53.AlarmIdentifier(Name=alarm, Region=region),
        InsufficientDataHealthStatus=insufficient,
    )
    return _health_check(ctx, logical, config, name)


def _health_check(ctx: StackContext, logical: str, config: route53.HealthCheckConfig, name: str) -> route53.HealthCheck:
    """A health check tagged with the scenario's tags and a Name (the console lists checks by it)."""
    return ctx.add(route53.HealthCheck(logical, HealthCheckConfig=config, HealthCheckTags=_named_tags(ctx, name)))


def _named_tags(ctx: StackContext, name: str) -> Tags:
    return tag_list(ctx, ("Name", ctx.names.fixed("generic", name)))


def failover_records(ctx: StackContext, checks: HealthChecks) -> None:
    """PRIMARY and SECONDARY records of the same name; PRIMARY gated (its region's check AND not engaged).

    SECONDARY has no health check and does not evaluate its target's: Route 53 counts such a record healthy
    ("If a record in a group of records that have the same name and type doesn't have an associated health
    check, Route 53 always considers it healthy", health-checks-how-route-53-chooses-records.html). With one, a
    DR check failing while the gate is closed made every record unhealthy, and then "If no record is healthy, all
    records are healthy": Route 53 answered PRIMARY, the region without the writer once a failover engaged.
    """
    name = ctx.scenario.routing.host_name + "."
    for role, endpoint in endpoints(ctx).items():
        gated = role is Role.PRIMARY
        kwargs: dict[str, Any] = {
            "HostedZoneId": inputs.zone_id(ctx),
            "Name": name,
            "Failover": _FAILOVER[role],
            "SetIdentifier": role.value,
            **({"HealthCheckId": Ref(checks.gating(role))} if gated else {}),
        }
        if endpoint.hosted_zone_id is None:
            # A CNAME (a database endpoint, or an app endpoint by the scenario's choice): resolvers cache it for
            # the record's TTL, where an alias is cached for its target's (60 s for API Gateway and ALB names).
            kwargs.update(Type="CNAME", TTL=str(ctx.scenario.routing.ttl_seconds), ResourceRecords=[endpoint.dns_name])
        else:
            # The alias target's zone is the endpoint's own (e.g. the ALB's canonical zone), not ours.
            kwargs.update(
                Type="A",
                AliasTarget=route53.AliasTarget(
                    HostedZoneId=endpoint.hosted_zone_id, DNSName=endpoint.dns_name, EvaluateTargetHealth=gated
                ),
            )
        ctx.add(route53.RecordSetType(f"{_TITLE[role]}FailoverRecord", **kwargs))
    ctx.output(FAILOVER_RECORD_NAME, name, "The DNS name clients use; it follows the healthy region.")
    ctx.output(HOSTED_ZONE_ID, inputs.zone_id(ctx), "Hosted zone holding the failover records.")
