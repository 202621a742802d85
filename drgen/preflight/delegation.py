"""The scenario's public hosted zone: a name that can be served, the zone found, and public DNS delegating to it.

The same functions deploy uses before anything is created (drgen/deploy/zone.py), as a verdict instead of an
error. In create-zone mode there is nothing to check yet: deploy creates the zone and checks the delegation after.
"""

from __future__ import annotations

from collections.abc import Callable

from drgen.bundle.reader import Deployment
from drgen.deploy import zone
from drgen.deploy.session import Aws
from drgen.errors import DrgenError
from drgen.preflight.model import GLOBAL, Check, fail, ok, unknown

NAME = "zone"


def zone_check(aws: Aws, deployment: Deployment, resolve: Callable[[str], list[str]] | None = None) -> Check:
    domain = deployment.domain
    if not aws.sandbox:
        try:
            zone.refuse_reserved(domain)
        except DrgenError as exc:
            return fail(GLOBAL, NAME, str(exc))
    if deployment.create_zone:
        return ok(
            GLOBAL,
            NAME,
            f"{domain}: will be created (routing.create_zone); deploy prints its name servers and checks the "
            "delegation after",
        )
    notes: list[str] = []
    try:
        zone_id = zone.find_existing(aws, deployment, notes.append)
    except DrgenError as exc:
        return fail(GLOBAL, NAME, str(exc))
    servers = zone.name_servers(aws, zone_id)
    lookup = resolve or (zone.sandbox_resolver(aws) if aws.sandbox else None)
    check = zone.delegation(domain, servers, lookup)
    found = "; ".join(notes) or f"{domain} ({zone_id})"
    if check.status is zone.Delegation.DELEGATED:
        return ok(GLOBAL, NAME, f"{found}: {check.detail}")
    if aws.sandbox:
        return unknown(GLOBAL, NAME, f"{found}; its delegation is not checked in the sandbox ({check.detail})")
    if check.status is zone.Delegation.NOT_DELEGATED:
        return fail(
            GLOBAL,
            NAME,
            f"{domain} ({zone_id}) is not delegated: {check.detail}; {zone.delegate_hint(domain, servers)}, then rerun",
        )
    return unknown(GLOBAL, NAME, f"{found}: could not confirm the delegation: {check.detail}")
