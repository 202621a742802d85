"""The one-screen summary the review opens with: change, risk, cost, RTO/RPO, evidence, target, approvals.

Each row is one line a board member can read without scrolling; the sections below carry the detail. A row
that says data is lost is marked (red in the HTML, bold with a marker in Markdown).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from drgen.bundle.reader import RenderedBundle
from drgen.errors import DrgenError
from drgen.lint.findings import Finding
from drgen.review import document as d
from drgen.review.baseline import Baseline
from drgen.review.broadening import Broadening, summary_text
from drgen.review.compare import ADDED, MODIFIED, REMOVED, Delta
from drgen.review.evidence import Drill
from drgen.review.policies import NO_REASON
from drgen.scan.skips import template_skips

COST_MODULE = "drgen.review.cost"


@dataclass(frozen=True)
class Facts:
    """What the summary is made of, each computed once by the report."""

    bundle: RenderedBundle
    baseline: Baseline | None
    delta: Delta | None
    broadening: Broadening
    drill: Drill
    deploy_minutes: float
    lint: list[Finding]
    scan: list[Finding] | None


def summary_table(facts: Facts) -> d.Table:
    losses = facts.delta.data_losses if facts.delta is not None else ()
    rows = [
        ["change", _change(facts)],
        ["risk: data", _data_risk(facts)],
        ["risk: broadening", _broadening(facts.broadening)],
        ["cost", cost_line(facts.bundle)],
        ["RTO / RPO", rto_rpo(facts.bundle.budget())],
        ["deploy", f"about {facts.deploy_minutes:.0f} min for a first deploy (critical path of stacks)"],
        ["evidence", _evidence(facts)],
        ["target", _target(facts.bundle)],
        ["approvals", "to fill in: ticket, approvers, sign-off (section Approvals)"],
    ]
    classes = ["", d.DANGER if losses else "", "", "", "", "", "", "", ""]
    return d.table(["", "summary"], rows, classes)


def _change(facts: Facts) -> str:
    bundle, delta = facts.bundle, facts.delta
    if delta is None or facts.baseline is None:
        resources = sum(len(t.get("Resources", {})) for t in bundle.templates.values())
        return (
            f"no previous bundle compared: all new, {len(bundle.stacks)} stacks from {len(bundle.templates)} "
            f"templates, {resources} resources"
        )
    against = f"against {facts.baseline.label} (manifest {facts.baseline.manifest_sha256[:12]})"
    if delta.unchanged:
        return f"no changes {against}"
    touched = len({r.stack.name for r in delta.resources})
    stacks = [
        f"{len(found)} stack(s) {verb}"
        for found, verb in ((delta.stacks_added, "added"), (delta.stacks_removed, "removed"))
        if found
    ]
    return (
        f"{delta.count(ADDED)} added, {delta.count(REMOVED)} removed, {delta.count(MODIFIED)} modified "
        f"({delta.replacements} replaced) in {touched} stack(s); " + "".join(f"{s}; " for s in stacks) + against
    )


def _data_risk(facts: Facts) -> str:
    if facts.delta is None:
        return "nothing replaced or deleted (no previous bundle compared)"
    losses = facts.delta.data_losses
    if not losses:
        return "no stateful resource replaced or deleted"
    names = ", ".join(d.code(f"{c.logical_id} ({c.stack.label})") for c in losses[:4])
    more = f" and {len(losses) - 4} more" if len(losses) > 4 else ""
    return f"**{d.DANGER_MARK} {len(losses)} stateful replacement(s) or deletion(s): data lost**: {names}{more}"


def _broadening(found: Broadening) -> str:
    undocumented = sum(NO_REASON in f for h in found.holders for s in h.statements + h.trust for f in s.flags)
    text = summary_text(found)
    return text + (f"; **{undocumented} wildcard(s) without a documented reason**" if undocumented else "")


def cost_line(bundle: RenderedBundle) -> str:
    """The cost module's one line, or "not estimated" while the module is not there."""
    try:
        cost = importlib.import_module(COST_MODULE)
    except ModuleNotFoundError as error:
        if error.name != COST_MODULE:
            raise
        return "not estimated"
    estimate = getattr(cost, "estimate", None)
    if estimate is None:
        return "not estimated"
    try:
        return str(estimate(bundle).summary_line())
    except DrgenError as error:
        return f"not estimated ({error})"


def rto_rpo(budget: Any) -> str:
    """``RTO 159 s of 300 s (within); RPO 60 s of 60 s (within)`` from ``budget.json``."""
    if not isinstance(budget, dict):
        return "not computed (no budget.json in the bundle)"
    parts = []
    for key in ("rto", "rpo"):
        term = budget.get(key)
        if isinstance(term, dict) and "seconds" in term:
            status = term.get("status", "")
            mark = f"**{status}**" if status and status != "within" else status
            parts.append(
                f"{key.upper()} {term['seconds']} s of {term.get('objective_seconds', '?')} s objective"
                + (f" ({mark})" if mark else "")
            )
    return "; ".join(parts) or "not computed (budget.json has no totals)"


def _evidence(facts: Facts) -> str:
    bundle = facts.bundle
    skips = sum(len(template_skips(t)) for t in bundle.templates.values())
    scan = "not run" if facts.scan is None else f"{len(facts.scan)} failed, {skips} documented skip(s)"
    return (
        f"drill: {facts.drill.verdict}; lint: {len(facts.lint)} finding(s); checkov: {scan}; "
        "template hashes: match the manifest"
    )


def _target(bundle: RenderedBundle) -> str:
    account = bundle.deployment.account if bundle.deployment else None
    regions = bundle.regions
    return (
        f"account {d.code(str(account)) if account else 'not pinned'}; primary {regions.get('primary', '')}, "
        f"DR {regions.get('secondary', '')}, global {regions.get('global', '')}; suffix "
        f"{d.code(str(bundle.suffix))}"
    )
