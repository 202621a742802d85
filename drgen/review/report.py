"""The change-board review of one bundle: REVIEW.md and review.html from the same document.

Everything is read from the bundle (manifest and templates), so the report describes exactly what would be
deployed; lint and scan results are passed in. The output is deterministic: no timestamps, everything sorted,
and paths shown relative to the bundle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drgen.errors import DrgenError
from drgen.lint.findings import Finding, by_location
from drgen.review import document as d
from drgen.review.bundle import BundleView, load_bundle
from drgen.review.compare import Comparison, compare
from drgen.review.datastores import data_stores
from drgen.review.diagram import SVG, draw
from drgen.review.policies import NO_REASON, PolicyHolder, StatementView, policy_holders
from drgen.review.resources import counts, resource_rows
from drgen.scan.skips import template_skips

REVIEW_MD = "REVIEW.md"
REVIEW_HTML = "review.html"
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def build_review(
    bundle_dir: Path, lint: list[Finding], scan: list[Finding] | None, compare: Path | None
) -> dict[str, bytes]:
    """{"REVIEW.md": ..., "review.html": ...} for the bundle in ``bundle_dir``.

    ``lint``: the bundle's lint findings; ``scan``: checkov's (None: the scan did not run); ``compare``: a
    previous bundle directory to report the changes against.
    """
    bundle = load_bundle(bundle_dir)
    previous = load_bundle(compare) if compare is not None else None
    diagram = _diagram_svg(bundle)
    doc = _document(bundle, lint, scan, previous, diagram)
    return {REVIEW_MD: d.to_markdown(doc).encode("utf-8"), REVIEW_HTML: d.to_html(doc).encode("utf-8")}


def _diagram_svg(bundle: BundleView) -> str:
    """The diagram as inline SVG markup for the HTML (empty when no layout engine could draw it)."""
    try:
        svg = draw(bundle)[SVG].decode("utf-8")
    except (DrgenError, ImportError):
        return ""
    return _SVG_PROLOGUE.sub("", svg, count=1)


def _document(
    bundle: BundleView,
    lint: list[Finding],
    scan: list[Finding] | None,
    previous: BundleView | None,
    diagram: str,
) -> d.Document:
    holders = policy_holders(bundle)
    doc = d.Document(title=f"Change review: {bundle.name}")
    doc.intro.append(d.Para(
        f"What `drgen render` produced for **{bundle.name}** (suffix `{bundle.manifest.get('suffix', '')}`): what "
        "is created where, who may do what, how data replicates, and the lint and security-scan verdicts. "
        "Everything below is read from the bundle's manifest and templates."
    ))
    doc.intro.append(d.Bullets(tuple(_summary(bundle, holders, lint, scan))))
    _scenario(doc.section("Scenario"), bundle)
    _diagram(doc.section("Architecture diagram"), diagram)
    _stacks(doc.section("Stacks and deploy order"), bundle)
    _resources(doc.section("Resources per region and layer"), bundle)
    _iam(doc.section("IAM roles and resource policies"), holders)
    _stores(doc.section("Data stores and replication"), bundle)
    _findings(doc.section("Lint results"), bundle, lint, "cfn-lint and drgen's DR rules")
    _scan(doc.section("Security scan"), bundle, scan)
    _hashes(doc.section("Template hashes"), bundle)
    plans = [(path, logical_id, resource["Properties"]) for path, template in sorted(bundle.templates.items())
             for logical_id, resource in template.get("Resources", {}).items()
             if resource.get("Type") == "AWS::ARCRegionSwitch::Plan"]
    if plans:
        _region_switch(doc.section("AWS ARC Region switch plan"), plans, bundle.manifest.get("regions", {}))
    budget = bundle.budget()
    if budget is not None:
        _budget(doc.section("RTO and RPO budget"), budget)
    if previous is not None:
        _changes(doc.section("Changes since the previous bundle"), compare(previous, bundle), previous)
    return doc


def _summary(
    bundle: BundleView, holders: list[PolicyHolder], lint: list[Finding], scan: list[Finding] | None
) -> list[str]:
    resources = sum(len(t.get("Resources", {})) for t in bundle.templates.values())
    roles = sum(h.kind == "IAM role" for h in holders)
    wildcards = sum(h.wildcards for h in holders)
    undocumented = sum(NO_REASON in f for h in holders for s in h.statements + h.trust for f in s.flags)
    skips = sum(len(template_skips(t)) for t in bundle.templates.values())
    scan_text = "not run" if scan is None else f"{len(scan)} failed check(s), {skips} documented skip(s)"
    return [
        f"{len(bundle.stacks)} stacks from {len(bundle.templates)} templates, {resources} resources",
        f"{roles} IAM role(s) and {len(holders) - roles} resource policies; {wildcards} wildcard(s) flagged, "
        + (f"**{undocumented} without a documented reason**" if undocumented else "each with a documented reason"),
        f"lint: {len(lint)} finding(s)",
        f"security scan (checkov): {scan_text}",
        "template hashes: " + ("match the manifest" if _hashes_match(bundle) else "**differ from the manifest**"),
    ]


def _scenario(section: d.Section, bundle: BundleView) -> None:
    manifest = bundle.manifest
    regions = manifest.get("regions", {})
    objectives = manifest.get("objectives", {})
    section.add(d.Para(str(manifest.get("description", ""))))
    section.add(d.table(["", "value"], [
        ["scenario", d.code(bundle.name)],
        ["suffix", d.code(str(manifest.get("suffix", "")))],
        ["primary region", regions.get("primary", "")],
        ["DR region", regions.get("secondary", "")],
        ["global layer", regions.get("global", "")],
        ["RTO objective", _seconds(objectives.get("rto_seconds"))],
        ["RPO objective", _seconds(objectives.get("rpo_seconds"))],
        ["seed", str(manifest.get("seed", ""))],
    ]))
    notes = manifest.get("notes", [])
    if notes:
        section.sub("Notes").add(d.Bullets(tuple(str(n) for n in notes)))


def _seconds(value: Any) -> str:
    return "" if value is None else f"{value} s"


def _diagram(section: d.Section, svg: str) -> None:
    section.add(d.Para(
        "Regions as clusters; blue arrows replicate data, red ones are the failover path, grey dashed ones "
        "are other links. `diagram.svg` and `diagram.png` beside this file are regenerated by `make render`."
    ))
    markdown = "![Architecture diagram](diagram.svg)"
    section.add(d.Raw(html=f"<figure>{svg}</figure>" if svg else "<p>(no diagram: install graphviz)</p>",
                      markdown=markdown))


def _stacks(section: d.Section, bundle: BundleView) -> None:
    rows = [
        [str(i), d.code(s.name), s.layer, s.label, d.code(s.template),
         ", ".join(sorted({v["stack"] for v in s.inputs.values()})) or "-"]
        for i, s in enumerate(bundle.stacks, start=1)
    ]
    section.add(d.Para("In deploy order (each stack after the ones whose outputs it reads)."))
    section.add(d.table(["#", "stack", "layer", "where", "template", "reads outputs of"], rows))


def _resources(section: d.Section, bundle: BundleView) -> None:
    headers, rows = counts(bundle)
    section.add(d.Para("Resources each stack creates (`+n?`: created only if a deploy-time condition holds)."))
    section.add(d.table(headers, rows))
    for template in sorted(bundle.templates):
        sub = section.sub(f"Template {template}")
        sub.add(d.table(["logical id", "type", "created in"],
                        [[d.code(r[0]), r[1], r[2]] for r in resource_rows(bundle, template)]))


def _iam(section: d.Section, holders: list[PolicyHolder]) -> None:
    section.add(d.Para(
        "Every IAM role with who can assume it, and every resource policy with whom it admits. A `*` in an "
        "action, resource or principal is flagged with drgen's documented reason, or **NO REASON DOCUMENTED**."
    ))
    section.add(d.table(
        ["kind", "logical id", "template", "created in", "who (trust / principals)", "wildcards"],
        [[h.kind, d.code(h.logical_id), d.code(h.template), h.where, _who(h), str(h.wildcards)] for h in holders],
    ))
    for holder in holders:
        sub = section.sub(f"{holder.kind} {holder.logical_id} ({holder.template})")
        sub.add(d.Para(f"Name / subject: {d.code(holder.subject)}. Created in: {holder.where}."))
        if holder.trust:
            sub.add(d.Para("Who can assume it:"), _statement_table(holder.trust))
        if holder.managed:
            sub.add(d.Para("Managed policies (content defined by AWS, not in the template): "
                           + ", ".join(d.code(m) for m in holder.managed)))
        if holder.statements:
            sub.add(d.Para("Statements:" if holder.kind != "IAM role" else "Permissions:"),
                    _statement_table(holder.statements))


def _who(holder: PolicyHolder) -> str:
    statements = holder.trust if holder.kind == "IAM role" else holder.statements
    return "\n".join(sorted({s.principal for s in statements if s.principal})) or "-"


def _statement_table(statements: Sequence[StatementView]) -> d.Table:
    rows = [
        [s.sid or "-", s.effect, s.principal or "-", "\n".join(d.code(a) for a in s.actions) or "-",
         "\n".join(d.code(r) for r in s.resources) or "-", s.condition or "-",
         "\n".join(f.replace(NO_REASON, f"**{NO_REASON}**") for f in s.flags) or "-"]
        for s in statements
    ]
    return d.table(["sid", "effect", "principal", "actions", "resources", "condition", "wildcards"], rows)


def _stores(section: d.Section, bundle: BundleView) -> None:
    stores = data_stores(bundle)
    if not stores:
        section.add(d.Para("No data stores."))
        return
    section.add(d.table(
        ["store", "kind", "created in", "name", "encryption", "replication"],
        [[d.code(s.logical_id), s.kind, s.stack.label, d.code(s.name), s.encryption, s.replication] for s in stores],
    ))


def _shown(bundle: BundleView, path: str) -> str:
    """A finding's path relative to the bundle, so the report does not depend on the working directory."""
    try:
        return Path(path).resolve().relative_to(bundle.path.resolve()).as_posix()
    except ValueError:
        return path


def _findings(section: d.Section, bundle: BundleView, findings: list[Finding], what: str) -> None:
    if not findings:
        section.add(d.Para(f"Clean: {what} reported no finding."))
        return
    section.add(d.Para(f"**{len(findings)} finding(s)** from {what}:"))
    section.add(d.table(
        ["rule", "severity", "where", "message"],
        [[d.code(f.rule), f.severity, d.code(f"{_shown(bundle, f.path)}:{f.line}"), " ".join(f.message.split())]
         for f in sorted(findings, key=by_location)],
    ))


def _scan(section: d.Section, bundle: BundleView, scan: list[Finding] | None) -> None:
    if scan is None:
        section.add(d.Para("The checkov scan was not run for this report (`drgen scan` runs it)."))
    else:
        _findings(section, bundle, scan, "checkov (failed checks)")
    skips = [(template, s) for template, doc in sorted(bundle.templates.items()) for s in template_skips(doc)]
    sub = section.sub("Documented skips")
    if not skips:
        sub.add(d.Para("No check is skipped."))
        return
    sub.add(d.Para("Checks a resource deliberately does not meet, declared in its template Metadata with the reason:"))
    sub.add(d.table(["check", "template", "resource", "reason"],
                    [[d.code(s.check), d.code(t), d.code(s.resource), s.reason] for t, s in skips]))


def _hashes_match(bundle: BundleView) -> bool:
    return all(bundle.digest(s.template) == s.sha256 for s in bundle.stacks)


def _hashes(section: d.Section, bundle: BundleView) -> None:
    rows = []
    for template in sorted({s.template for s in bundle.stacks}):
        recorded = sorted({s.sha256 for s in bundle.stacks if s.template == template})
        actual = bundle.digest(template)
        if not actual:
            state = "**missing**"
        else:
            state = "matches" if recorded == [actual] else "**DIFFERS: edited after rendering**"
        rows.append([d.code(template), d.code(actual or "-"), state])
    section.add(d.Para("SHA-256 of each template file, checked against the manifest."))
    section.add(d.table(["template", "sha256", "manifest"], rows))


def _region_switch(section: d.Section, plans: list[tuple[str, str, Any]], regions: dict[str, str]) -> None:
    """The opt-in plan beside drgen's state machine: its workflows as they are written, and the one rule."""
    section.add(d.Para(
        "AWS's managed orchestrator, generated from the same scenario (`arc_plan: true`), beside drgen's state "
        "machine. Run one orchestrator, never both: drgen's lock does not see plan executions. An ungraceful run "
        "skips the plan's Lambda steps (AWS's rule), so DNS then moves by Route 53's health-based failover alone. "
        "After a live execution, the plan execution's actualRecoveryTime is the measurement to compare with the "
        "budget's estimate."
    ))
    rows = []
    for path, logical_id, props in plans:
        for workflow in props.get("Workflows", []):
            steps = []
            for step in workflow.get("Steps", []):
                inner = step.get("ExecutionBlockConfiguration", {}).get("ParallelConfig", {}).get("Steps", [])
                kinds = " + ".join(s["ExecutionBlockType"] for s in inner) or step["ExecutionBlockType"]
                steps.append(f"{step['Name']} ({kinds})")
            target = workflow.get("WorkflowTargetRegion")
            if isinstance(target, dict):  # Ref PrimaryRegion / SecondaryRegion: the parameters name the roles
                target = regions.get(str(target.get("Ref", "")).removesuffix("Region").lower(), target)
            rows.append([d.code(f"{path} {logical_id}"), f"{workflow.get('WorkflowTargetAction')} {target}",
                         " -> ".join(steps), str(props.get("RecoveryTimeObjectiveMinutes", "-")) + " min"])
    section.add(d.table(["plan", "workflow", "steps", "RTO"], rows))


def _budget(section: d.Section, budget: Any) -> None:
    section.add(d.Para("From `budget.json` in the bundle."))
    section.add(d.table(["item", "value"], [[d.code(k), v] for k, v in _flatten(budget)]))


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for key in sorted(value) for row in _flatten(value[key], f"{prefix}.{key}" if prefix else key)]
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return [row for i, v in enumerate(value) for row in _flatten(v, f"{prefix}[{i}]")]
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return [(prefix or "(value)", text)]


def _changes(section: d.Section, changes: Comparison, previous: BundleView) -> None:
    section.add(d.Para(f"Compared with the bundle in `{previous.path.name}` (scenario {previous.name})."))
    if changes.unchanged:
        section.add(d.Para("No change: every stack and template is identical."))
        return
    items = [
        f"stacks added: {', '.join(d.code(s) for s in changes.stacks_added) or 'none'}",
        f"stacks removed: {', '.join(d.code(s) for s in changes.stacks_removed) or 'none'}",
        f"templates added: {', '.join(d.code(t) for t in changes.templates_added) or 'none'}",
        f"templates removed: {', '.join(d.code(t) for t in changes.templates_removed) or 'none'}",
        f"templates changed: {', '.join(d.code(t) for t in changes.templates_changed) or 'none'}",
    ]
    section.add(d.Bullets(tuple(items)))
    if changes.resources:
        section.add(d.table(
            ["template", "resource", "type", "change", "what changed"],
            [[d.code(c.template), d.code(c.logical_id), c.rtype, c.change, "\n".join(c.details) or "-"]
             for c in changes.resources],
        ))
