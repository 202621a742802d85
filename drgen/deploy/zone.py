"""The scenario's public hosted zone, before any stack: found (or, asked for, created) and delegated.

ACM validates a DNS-validated certificate only once it can look the validation record up in public DNS, so
a zone that its parent does not delegate to leaves each app stack in CREATE_IN_PROGRESS until ACM gives up
(72 hours: https://docs.aws.amazon.com/acm/latest/userguide/troubleshooting-DNS-validation.html). An existing
zone is therefore checked before anything is created; a zone drgen creates holds back the layers that need it
until public DNS shows the delegation (deploy prints the name servers to delegate to, a rerun carries on).

Names reserved for documentation and testing (RFC 2606, RFC 6761) are refused against a real endpoint: no
certificate can be validated for them. The sandbox keeps the presets' example names, and creates their zone as
the stand-in for the one a user's account holds.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from drgen.bundle.reader import Deployment
from drgen.deploy.session import Aws
from drgen.errors import DrgenError
from drgen.regions import ROUTE53_METRICS_REGION

# RFC 2606 section 2 and 3, RFC 6761 section 6: reserved top-level and second-level names.
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
SANDBOX_CALLER_REFERENCE = "drgen-sandbox-zone-{domain}"


class Delegation(enum.StrEnum):
    DELEGATED = "delegated"
    NOT_DELEGATED = "not delegated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DelegationCheck:
    status: Delegation
    detail: str


def reserved(domain: str) -> str | None:
    """Why ``domain`` can never be served publicly (a reserved name), or None."""
    name = domain.rstrip(".").lower()
    labels = name.split(".")
    if labels[-1] in RESERVED_TLDS:
        return f".{labels[-1]} is reserved (RFC 2606/6761)"
    for parent in RESERVED_DOMAINS:
        if name == parent or name.endswith("." + parent):
            return f"{parent} is reserved for documentation (RFC 2606)"
    return None


def refuse_reserved(domain: str) -> None:
    why = reserved(domain)
    if why:
        raise DrgenError(
            f"routing.domain {domain}: {why}, so no certificate validates for it on AWS; set routing.domain to a "
            "domain you own (its public hosted zone in this account), or deploy to the sandbox (--endpoint-url)"
        )


def fqdn(domain: str) -> str:
    """Lower case with the trailing dot, as Route 53 reports names (moto sometimes without it)."""
    return domain.rstrip(".").lower() + "."


def _bare_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


def find_existing(aws: Aws, deployment: Deployment, note: Callable[[str], None]) -> str:
    """The id of the existing public zone the scenario names; in the sandbox, created when missing."""
    route53 = aws.client("route53", ROUTE53_METRICS_REGION)
    domain = deployment.domain
    if deployment.zone_id:
        return _named_zone(route53, deployment.zone_id, domain)
    listed = route53.list_hosted_zones_by_name(DNSName=fqdn(domain), MaxItems="10")["HostedZones"]
    zones = [z for z in listed if fqdn(z["Name"]) == fqdn(domain) and not z.get("Config", {}).get("PrivateZone")]
    if len(zones) > 1:
        ids = ", ".join(sorted(_bare_id(z["Id"]) for z in zones))
        raise DrgenError(f"{len(zones)} public hosted zones are named {domain} ({ids}); name one with routing.zone_id")
    if zones:
        return _bare_id(zones[0]["Id"])
    if aws.sandbox:
        created = route53.create_hosted_zone(
            Name=domain, CallerReference=SANDBOX_CALLER_REFERENCE.format(domain=domain)
        )["HostedZone"]
        note(f"sandbox: created the public hosted zone {domain} ({_bare_id(created['Id'])}), standing in for yours")
        return _bare_id(created["Id"])
    raise DrgenError(
        f"no public hosted zone named {domain} in this account; create it and delegate to it, name it with "
        "routing.zone_id, or set routing.create_zone: true to have drgen create it (then delegate when asked)"
    )


def _named_zone(route53: Any, zone_id: str, domain: str) -> str:
    try:
        zone = route53.get_hosted_zone(Id=zone_id)["HostedZone"]
    except route53.exceptions.NoSuchHostedZone:
        raise DrgenError(
            f"routing.zone_id {zone_id}: no such hosted zone in this account; check the id (Route 53 console)"
        ) from None
    if fqdn(zone["Name"]) != fqdn(domain):
        raise DrgenError(f"routing.zone_id {zone_id} is the zone of {zone['Name']}, not of routing.domain {domain}")
    if zone.get("Config", {}).get("PrivateZone"):
        raise DrgenError(f"routing.zone_id {zone_id} is a private zone; certificates validate in a public one")
    return _bare_id(zone["Id"])


def name_servers(aws: Aws, zone_id: str) -> tuple[str, ...]:
    """The zone's own name servers (its delegation set), lower case, without the trailing dot."""
    route53 = aws.client("route53", ROUTE53_METRICS_REGION)
    servers = route53.get_hosted_zone(Id=zone_id).get("DelegationSet", {}).get("NameServers", [])
    return tuple(sorted(s.rstrip(".").lower() for s in servers))


def delegation(
    domain: str, servers: tuple[str, ...], resolve: Callable[[str], list[str]] | None = None
) -> DelegationCheck:
    """Whether public DNS answers ``domain``'s NS query with (a subset of) the zone's name servers."""
    lookup = resolve or _public_ns
    try:
        found = {s.rstrip(".").lower() for s in lookup(domain)}
    except dns.resolver.NXDOMAIN:
        return DelegationCheck(Delegation.NOT_DELEGATED, f"{domain} does not exist in public DNS")
    except dns.resolver.NoAnswer:
        return DelegationCheck(Delegation.NOT_DELEGATED, f"public DNS has no NS records for {domain}")
    except (dns.exception.DNSException, OSError) as exc:
        return DelegationCheck(Delegation.UNKNOWN, f"public DNS did not answer ({type(exc).__name__})")
    if found and found <= set(servers):
        return DelegationCheck(Delegation.DELEGATED, f"public DNS delegates {domain} to the zone's name servers")
    return DelegationCheck(
        Delegation.NOT_DELEGATED,
        f"public DNS delegates {domain} to {', '.join(sorted(found))}, not to the zone's {', '.join(servers)}",
    )


def _public_ns(domain: str) -> list[str]:
    return [str(record.target) for record in dns.resolver.resolve(domain, "NS", lifetime=8.0)]


def sandbox_resolver(aws: Aws) -> Callable[[str], list[str]]:
    """Public DNS as the sandbox knows it: the NS records of ``domain`` in its closest parent zone there."""
    route53 = aws.client("route53", ROUTE53_METRICS_REGION)

    def resolve(domain: str) -> list[str]:
        wanted = fqdn(domain)
        zones = route53.list_hosted_zones()["HostedZones"]
        parents = [
            z for z in zones if wanted.endswith("." + fqdn(z["Name"])) and not z.get("Config", {}).get("PrivateZone")
        ]
        if not parents:
            raise dns.resolver.NXDOMAIN
        parent = max(parents, key=lambda z: len(fqdn(z["Name"])))
        records = route53.list_resource_record_sets(
            HostedZoneId=parent["Id"], StartRecordName=wanted, StartRecordType="NS", MaxItems="1"
        )["ResourceRecordSets"]
        found = [r for r in records if fqdn(r["Name"]) == wanted and r["Type"] == "NS"]
        if not found:
            raise dns.resolver.NoAnswer
        return [value["Value"] for value in found[0]["ResourceRecords"]]

    return resolve


def delegate_hint(domain: str, servers: tuple[str, ...]) -> str:
    return f"at the parent of {domain} (or its registrar), add NS records for {domain}: {' '.join(servers)}"


@dataclass
class DelegationGate:
    """Create-zone mode: the stacks fed by the zone stack start only once public DNS delegates to the zone."""

    aws: Aws
    deployment: Deployment | None
    zone_id_of: Callable[[], str]  # the zone stack's HostedZoneId output, read once it is deployed
    note: Callable[[str], None]
    resolve: Callable[[str], list[str]] | None = None
    _verdict: str | None = None
    _checked: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hold_back(self) -> str | None:
        """Why a stack that needs the created zone must wait (None: go ahead); checked once per deploy."""
        if self.deployment is None or not self.deployment.create_zone:
            return None
        with self._lock:
            if not self._checked:
                self._verdict = self._check()
                self._checked = True
            return self._verdict

    def _check(self) -> str | None:
        domain = self.deployment.domain if self.deployment else ""
        servers = name_servers(self.aws, self.zone_id_of())
        resolve = self.resolve or (sandbox_resolver(self.aws) if self.aws.sandbox else None)
        check = delegation(domain, servers, resolve)
        if check.status is Delegation.DELEGATED:
            return None
        self.note(f"zone {domain} created; {delegate_hint(domain, servers)}; then rerun deploy")
        return f"waiting for the delegation of {domain} ({check.detail}); delegate it, then rerun"


# The parameter every stack that names the zone declares (drgen/builders/routing.py HOSTED_ZONE_ID).
ZONE_PARAMETER = "HostedZoneId"


def given_values(
    aws: Aws,
    deployment: Deployment | None,
    note: Callable[[str], None],
    resolve: Callable[[str], list[str]] | None = None,
) -> dict[str, str]:
    """Before anything is created: refuse a reserved domain on AWS, find the existing zone and check that public
    DNS delegates to it; the zone id for every stack that names it (nothing in create-zone mode)."""
    if deployment is None:
        return {}
    if not aws.sandbox:
        refuse_reserved(deployment.domain)
    if deployment.create_zone:
        return {}
    zone = find_existing(aws, deployment, note)
    if not aws.sandbox:
        servers = name_servers(aws, zone)
        check = delegation(deployment.domain, servers, resolve)
        if check.status is Delegation.NOT_DELEGATED:
            raise DrgenError(
                f"zone {deployment.domain} ({zone}) is not delegated: {check.detail}; "
                f"{delegate_hint(deployment.domain, servers)}, then rerun"
            )
        if check.status is Delegation.UNKNOWN:
            note(f"could not confirm the delegation of {deployment.domain}: {check.detail}")
    return {ZONE_PARAMETER: zone}
