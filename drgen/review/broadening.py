"""IAM and exposure broadening, as `cdk deploy --require-approval broadening` asks about it.

Permissions are cut into grants: one principal, one action, one resource, one condition, in one role or
resource policy (IAM role permissions, trust policies, managed policy attachments, key, bucket, queue, topic,
secret, log and event-bus policies, Lambda permissions; read by ``policies``). A grant in this bundle that
the previous one lacks is new or widened (``s3:GetObject`` becoming ``s3:*`` is the grant ``s3:*``; a dropped
condition is the grant without it); a Deny that goes widens too. Exposure (``exposure``) compares ingress
rules and public endpoints the same way. Unchanged permissions are not repeated. Without a previous bundle
everything is new, so the section gives the counts and lists only the wildcard and public items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from drgen.bundle.reader import RenderedBundle
from drgen.review import document as d
from drgen.review.exposure import Exposure, exposures
from drgen.review.policies import NO_REASON, PolicyHolder, StatementView, policy_holders

TITLE = "IAM and exposure broadening"
TRUST, MANAGED = "may assume the role", "managed policy attached"


@dataclass(frozen=True)
class Grant:
    """One permission: in ``holder``, ``effect`` for ``principal`` doing ``action`` on ``resource``."""

    holder: str  # "IAM role AppTaskRole (templates/app.json)"
    where: str
    effect: str  # Allow | Deny | TRUST | MANAGED
    principal: str
    action: str
    resource: str
    condition: str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.holder, self.effect, self.principal, self.action, self.resource, self.condition)

    @property
    def wildcard(self) -> bool:
        return "*" in self.action or self.resource == "*" or anyone(self.principal)


def anyone(principal: str) -> bool:
    """``* (anyone)`` or ``AWS: *``: a principal that admits every account."""
    return principal.startswith("*") or principal.endswith(": *")


@dataclass(frozen=True)
class Broadening:
    """What widens: every grant and exposure when nothing is compared, else only the new ones."""

    compared: bool
    grants: tuple[Grant, ...]  # Allow, trust and managed grants (new ones when compared)
    denies_removed: tuple[Grant, ...]
    exposures: tuple[Exposure, ...]  # ingress rules and public endpoints (new ones when compared)
    holders: tuple[PolicyHolder, ...]  # this bundle's, for the wildcard list when nothing is compared

    @property
    def none(self) -> bool:
        return self.compared and not (self.grants or self.denies_removed or self.exposures)

    @property
    def public(self) -> tuple[Exposure, ...]:
        return tuple(e for e in self.exposures if e.public)


def broadening(bundle: RenderedBundle, previous: RenderedBundle | None) -> Broadening:
    holders = tuple(policy_holders(bundle))
    allowed, denied = _split(grants(holders))
    exposed = exposures(bundle)
    if previous is None:
        return Broadening(
            compared=False, grants=tuple(allowed), denies_removed=(), exposures=tuple(exposed), holders=holders
        )
    old_allowed, old_denied = _split(grants(policy_holders(previous)))
    before = {g.key for g in old_allowed}
    still_denied = {g.key for g in denied}
    seen = {e.key for e in exposures(previous)}
    return Broadening(
        compared=True,
        grants=tuple(g for g in allowed if g.key not in before),
        denies_removed=tuple(g for g in old_denied if g.key not in still_denied),
        exposures=tuple(e for e in exposed if e.key not in seen),
        holders=holders,
    )


def _split(found: list[Grant]) -> tuple[list[Grant], list[Grant]]:
    return [g for g in found if g.effect != "Deny"], [g for g in found if g.effect == "Deny"]


def grants(holders: list[PolicyHolder] | tuple[PolicyHolder, ...]) -> list[Grant]:
    """Every grant of every holder, in holder and statement order."""
    found: list[Grant] = []
    for holder in holders:
        name = f"{holder.kind} {holder.logical_id} ({holder.template})"
        for statement in holder.statements:
            found += _cut(name, holder.where, statement.effect or "Allow", statement)
        for statement in holder.trust:
            found += _cut(name, holder.where, TRUST if statement.effect != "Deny" else "Deny", statement)
        found += [Grant(name, holder.where, MANAGED, "", arn, "", "") for arn in holder.managed]
    return found


def _cut(holder: str, where: str, effect: str, statement: StatementView) -> list[Grant]:
    principals = statement.principal.split("\n") if statement.principal else [""]
    return [
        Grant(holder, where, effect, principal, action, resource, statement.condition)
        for principal in principals
        for action in statement.actions or ("",)
        for resource in statement.resources or ("",)
    ]


# -- the section -----------------------------------------------------------------------------------------------
def broadening_section(section: d.Section, found: Broadening) -> None:
    if not found.compared:
        _everything_new(section, found)
        return
    if found.none:
        section.add(d.Para("No broadening: no new or widened permission, ingress rule or public endpoint."))
        return
    section.add(
        d.Para("Only what is new or wider than in the previous bundle; unchanged permissions are not repeated.")
    )
    if found.grants:
        section.sub("New or widened permissions").add(_grant_table(found.grants))
    if found.denies_removed:
        section.sub("Deny statements removed").add(_grant_table(found.denies_removed))
    if found.exposures:
        section.sub("New ingress rules and public endpoints").add(_exposure_table(found.exposures))


def _everything_new(section: d.Section, found: Broadening) -> None:
    wildcards = sum(g.wildcard for g in found.grants)
    ingress = [e for e in found.exposures if e.kind == "ingress"]
    section.add(
        d.Para(
            "No previous bundle compared, so every permission is new: "
            f"{len(found.grants)} grant(s) (principal x action x resource) in {len(found.holders)} role(s) and "
            f"resource policies, {wildcards} with a wildcard; {len(ingress)} ingress rule(s), "
            f"{sum(e.public for e in ingress)} open to the internet; "
            f"{sum(e.kind == 'endpoint' for e in found.exposures)} public endpoint(s). Listed below: only the "
            "wildcard and public items (every statement is under IAM roles and resource policies)."
        )
    )
    rows = [
        [
            f"{h.kind} {d.code(h.logical_id)}",
            d.code(h.template),
            s.principal or "-",
            "\n".join(d.code(a) for a in s.actions) or "-",
            "\n".join(d.code(r) for r in s.resources) or "-",
            "\n".join(f.replace(NO_REASON, f"**{NO_REASON}**") for f in s.flags),
        ]
        for h in found.holders
        for s in h.trust + h.statements
        if s.flags
    ]
    if rows:
        section.sub("Wildcard grants").add(
            d.table(["holder", "template", "principal", "actions", "resources", "wildcards and why"], rows)
        )
    if found.public:
        section.sub("Open to the internet").add(_exposure_table(found.public))


@dataclass(frozen=True)
class GrantGroup:
    """Grants of one holder, effect, principal and condition: their actions and resources together."""

    holder: str
    where: str
    effect: str
    principal: str
    condition: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    @property
    def wildcard(self) -> bool:
        return any("*" in a for a in self.actions) or "*" in self.resources or anyone(self.principal)


def grouped(found: tuple[Grant, ...]) -> list[GrantGroup]:
    """``found`` as one group per holder, effect, principal and condition, sorted."""
    groups: dict[tuple[str, str, str, str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for grant in found:
        actions, resources = groups[(grant.holder, grant.where, grant.effect, grant.principal, grant.condition)]
        actions.add(grant.action)
        resources.add(grant.resource)
    return [
        GrantGroup(holder, where, effect, principal, condition, _present(actions), _present(resources))
        for (holder, where, effect, principal, condition), (actions, resources) in sorted(groups.items())
    ]


def _present(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(v for v in values if v))


def _grant_table(found: tuple[Grant, ...]) -> d.Table:
    rows = [
        [
            g.holder,
            g.where,
            g.effect,
            g.principal or "-",
            _codes(g.actions),
            _codes(g.resources),
            g.condition or "-",
            "**wildcard**" if g.wildcard else "",
        ]
        for g in grouped(found)
    ]
    return d.table(["holder", "created in", "effect", "principal", "actions", "resources", "condition", ""], rows)


def _codes(values: tuple[str, ...]) -> str:
    return "\n".join(d.code(v) for v in values) or "-"


def _exposure_table(found: tuple[Exposure, ...]) -> d.Table:
    return d.table(
        ["resource", "template", "what", "created in", "internet"],
        [
            [d.code(e.logical_id), d.code(e.template), e.what, ", ".join(e.where), "**yes**" if e.public else "no"]
            for e in found
        ],
    )


def summary_text(found: Broadening) -> str:
    """One line for the report's summary."""
    if not found.compared:
        wildcards = sum(g.wildcard for g in found.grants)
        return (
            f"everything new: {len(found.grants)} grants in {len(found.holders)} roles/policies "
            f"({wildcards} with a wildcard), {len(found.public)} item(s) open to the internet"
        )
    if found.none:
        return "no broadening"
    parts = [f"{len(found.grants)} new or widened grant(s)"]
    if found.denies_removed:
        parts.append(f"{len(found.denies_removed)} Deny grant(s) removed")
    parts.append(f"{len(found.exposures)} new ingress rule(s) or endpoint(s), {len(found.public)} public")
    return "**" + ", ".join(parts) + "**"
