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

from drgen.bundle.reader import RenderedBundle, from_directory
from drgen.errors import DrgenError
from drgen.lint.findings import Finding, by_location
from drgen.review import changes, cost, evidence
from drgen.review import document as d
from drgen.review.baseline import Baseline
from drgen.review.broadening import TITLE as BROADENING
from drgen.review.broadening import broadening, broadening_section
from drgen.review.compare import compare as compare_bundles
from drgen.review.datastores import data_stores
from drgen.review.diagram import SVG, draw
from drgen.review.duration import deploy_estimate
from drgen.review.policies import NO_REASON, PolicyHolder, StatementView
from drgen.review.recommendations import departures
from drgen.review.resources import counts, resource_rows
from drgen.review.summary import Facts, summary_table
from drgen.scan.skips import template_skips

REVIEW_MD = "REVIEW.md"
REVIEW_HTML = "review.html"
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def build_review(
    bundle_dir: Path,
    lint: list[Finding],
    scan: list[Finding] | None,
    compare: Path | Baseline | None,
    drill_report: Path | None = None,
) -> dict[str, bytes]:
    """{"REVIEW.md": ..., "review.html": ...} for the bundle in ``bundle_dir``.

    ``lint``: the bundle's lint findings; ``scan``: checkov's (None: the scan did not run); ``compare``: the
    previous bundle to report the changes against (a directory, or a ``Baseline`` naming where it came from);
    ``drill_report``: a `drgen drill --output json` report (default: the bundle's ``drill-report.json``).
    """
    bundle = from_directory(bundle_dir)
    if isinstance(compare, Path):
        compare = Baseline(compare, f"`{compare.as_posix()}`", compare.as_posix())
    baseline = compare
    previous = from_directory(baseline.path) if baseline is not None else None
    diagram = _diagram_svg(bundle)
    doc = _document(bundle, lint, scan, previous, baseline, evidence.read_drill(bundle, drill_report), diagram)
    return {REVIEW_MD: d.to_markdown(doc).encode("utf-8"), REVIEW_HTML: d.to_html(doc).encode("utf-8")}


def _diagram_svg(bundle: RenderedBundle) -> str:
    """The diagram as inline SVG markup for the HTML (empty when no layout engine could draw it)."""
    try:
        svg = draw(bundle)[SVG].decode("utf-8")
    except (DrgenError, ImportError):
        return ""
    return _SVG_PROLOGUE.sub("", svg, count=1)


def _document(
    bundle: RenderedBundle,
    lint: list[Finding],
    scan: list[Finding] | None,
    previous: RenderedBundle | None,
    baseline: Baseline | None,
    drill: evidence.Drill,
    diagram: str,
) -> d.Document:
    delta = compare_bundles(previous, bundle) if previous is not None else None
    found = broadening(bundle, previous)
    estimate = deploy_estimate(bundle)
    doc = d.Document(title=f"Change review: {bundle.scenario}")
    # the summary first: one screen a board member reads before anything else
    doc.intro.append(summary_table(Facts(bundle, baseline, delta, found, drill, estimate.path.minutes, lint, scan)))
    doc.intro.append(
        d.Para(
            f"What `drgen render` produced for **{bundle.scenario}** (suffix `{bundle.suffix}`), read "
            "from the bundle's manifest and templates: what changes, what widens, how to deploy and roll back, then "
            "what is created where, who may do what, how data replicates, and the lint and security-scan verdicts."
        )
    )
    changes.changes_section(doc.section(changes.TITLE), bundle, delta, baseline)
    broadening_section(doc.section(BROADENING), found)
    cost.section(
        doc.section("Monthly cost (estimate)"), cost.estimate(bundle), cost.estimate(previous) if previous else None
    )
    procedure = doc.section("Evidence and procedure")
    evidence.target_section(procedure.sub("Target account and regions"), bundle)
    evidence.duration_section(procedure.sub("Expected deploy duration"), bundle, estimate)
    evidence.rollback_section(procedure.sub("Rollback plan"), bundle, delta, baseline)
    evidence.drill_section(procedure.sub("Latest drill report"), bundle, drill)
    _scenario(doc.section("Scenario"), bundle)
    _diagram(doc.section("Architecture diagram"), diagram)
    _stacks(doc.section("Stacks and deploy order"), bundle)
    _resources(doc.section("Resources per region and layer"), bundle)
    _iam(doc.section("IAM roles and resource policies"), list(found.holders))
    _stores(doc.section("Data stores and replication"), bundle)
    _findings(doc.section("Lint results"), bundle, lint, "cfn-lint and drgen's DR rules")
    _scan(doc.section("Security scan"), bundle, scan)
    _hashes(doc.section("Template hashes"), bundle)
    plans = [
        (path, logical_id, resource["Properties"])
        for path, template in sorted(bundle.templates.items())
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::ARCRegionSwitch::Plan"
    ]
    if plans:
        _region_switch(doc.section("AWS ARC Region switch plan"), plans, bundle.regions)
    budget = bundle.budget()
    if budget is not None:
        _budget(doc.section("RTO and RPO budget"), budget)
    evidence.approvals_section(doc.section("Approvals"))
    return doc


def _scenario(section: d.Section, bundle: RenderedBundle) -> None:
    manifest = bundle.manifest.document
    regions = manifest.get("regions", {})
    objectives = manifest.get("objectives", {})
    section.add(d.Para(str(manifest.get("description", ""))))
    section.add(
        d.table(
            ["", "value"],
            [
                ["scenario", d.code(bundle.scenario)],
                ["suffix", d.code(str(manifest.get("suffix", "")))],
                ["primary region", regions.get("primary", "")],
                ["DR region", regions.get("secondary", "")],
                ["global layer", regions.get("global", "")],
                ["RTO objective", _seconds(objectives.get("rto_seconds"))],
                ["RPO objective", _seconds(objectives.get("rpo_seconds"))],
                ["seed", str(manifest.get("seed", ""))],
            ],
        )
    )
    notes = [*manifest.get("notes", []), *departures(bundle)]
    if notes:
        section.sub("Notes").add(d.Bullets(tuple(str(n) for n in notes)))


def _seconds(value: Any) -> str:
    return "" if value is None else f"{value} s"


def _diagram(section: d.Section, svg: str) -> None:
    from drgen.review.diagram import FULL_PNG, FULL_SVG, PNG

    section.add(
        d.Para(
            "The architecture view: the primary region, the DR region and the global layer as containers, each "
            "resource drawn in the region of the stack that creates it. Black arrows are the request path (clients, "
            "DNS, load balancer or API, compute, database), blue ones replicate data, red ones are the failover path "
            "(alarm, rule, state machine, then promote, DNS and scale). Every resource and link is in the full "
            f"resource graph, the second picture. `{SVG}`, `{PNG}`, `{FULL_SVG}` and `{FULL_PNG}` beside this file are "
            "regenerated by `make render`."
        )
    )
    full = f"[{FULL_SVG}]({FULL_SVG}) ([PNG]({FULL_PNG}))"
    markdown = f"![Architecture view]({SVG})\n\nThe full resource graph: {full}"
    links = (
        f'Full size: <a href="{SVG}">{SVG}</a>. The full resource graph: <a href="{FULL_SVG}">{FULL_SVG}</a> '
        f'(<a href="{FULL_PNG}">PNG</a>)'
    )
    figure = f"<figure>{svg}<figcaption>{links}</figcaption></figure>"
    section.add(d.Raw(html=figure if svg else "<p>(no diagram: install graphviz)</p>", markdown=markdown))


def _stacks(section: d.Section, bundle: RenderedBundle) -> None:
    rows = [
        [
            str(i),
            d.code(s.name),
            s.layer,
            s.label,
            d.code(s.template),
            ", ".join(sorted({v["stack"] for v in s.inputs.values()})) or "-",
        ]
        for i, s in enumerate(bundle.stacks, start=1)
    ]
    section.add(d.Para("In deploy order (each stack after the ones whose outputs it reads)."))
    section.add(d.table(["#", "stack", "layer", "where", "template", "reads outputs of"], rows))


def _resources(section: d.Section, bundle: RenderedBundle) -> None:
    headers, rows = counts(bundle)
    section.add(d.Para("Resources each stack creates (`+n?`: created only if a deploy-time condition holds)."))
    section.add(d.table(headers, rows))
    for template in sorted(bundle.templates):
        sub = section.sub(f"Template {template}")
        sub.add(
            d.table(
                ["logical id", "type", "created in"],
                [[d.code(r[0]), r[1], r[2]] for r in resource_rows(bundle, template)],
            )
        )


def _iam(section: d.Section, holders: list[PolicyHolder]) -> None:
    section.add(
        d.Para(
            "Every IAM role with who can assume it, and every resource policy with whom it admits. A `*` in an "
            "action, resource or principal is flagged with drgen's documented reason, or **NO REASON DOCUMENTED**."
        )
    )
    section.add(
        d.table(
            ["kind", "logical id", "template", "created in", "who (trust / principals)", "wildcards"],
            [[h.kind, d.code(h.logical_id), d.code(h.template), h.where, _who(h), str(h.wildcards)] for h in holders],
        )
    )
    for holder in holders:
        sub = section.sub(f"{holder.kind} {holder.logical_id} ({holder.template})")
        sub.add(d.Para(f"Name / subject: {d.code(holder.subject)}. Created in: {holder.where}."))
        if holder.trust:
            sub.add(d.Para("Who can assume it:"), _statement_table(holder.trust))
        if holder.managed:
            sub.add(
                d.Para(
                    "Managed policies (content defined by AWS, not in the template): "
                    + ", ".join(d.code(m) for m in holder.managed)
                )
            )
        if holder.statements:
            sub.add(
                d.Para("Statements:" if holder.kind != "IAM role" else "Permissions:"),
                _statement_table(holder.statements),
            )


def _who(holder: PolicyHolder) -> str:
    statements = holder.trust if holder.kind == "IAM role" else holder.statements
    return "\n".join(sorted({s.principal for s in statements if s.principal})) or "-"


def _statement_table(statements: Sequence[StatementView]) -> d.Table:
    rows = [
        [
            s.sid or "-",
            s.effect,
            s.principal or "-",
            "\n".join(d.code(a) for a in s.actions) or "-",
            "\n".join(d.code(r) for r in s.resources) or "-",
            s.condition or "-",
            "\n".join(f.replace(NO_REASON, f"**{NO_REASON}**") for f in s.flags) or "-",
        ]
        for s in statements
    ]
    return d.table(["sid", "effect", "principal", "actions", "resources", "condition", "wildcards"], rows)


def _stores(section: d.Section, bundle: RenderedBundle) -> None:
    stores = data_stores(bundle)
    if not stores:
        section.add(d.Para("No data stores."))
        return
    section.add(
        d.table(
            ["store", "kind", "created in", "name", "encryption", "replication"],
            [
                [d.code(s.logical_id), s.kind, s.stack.label, d.code(s.name), s.encryption, s.replication]
                for s in stores
            ],
        )
    )


def _shown(bundle: RenderedBundle, path: str) -> str:
    """A finding's path relative to the bundle, so the report does not depend on the working directory."""
    try:
        return Path(path).resolve().relative_to(bundle.directory.resolve()).as_posix()
    except ValueError:
        return path


def _findings(section: d.Section, bundle: RenderedBundle, findings: list[Finding], what: str) -> None:
    if not findings:
        section.add(d.Para(f"Clean: {what} reported no finding."))
        return
    section.add(d.Para(f"**{len(findings)} finding(s)** from {what}:"))
    section.add(
        d.table(
            ["rule", "severity", "where", "message"],
            [
                [d.code(f.rule), f.severity, d.code(f"{_shown(bundle, f.path)}:{f.line}"), " ".join(f.message.split())]
                for f in sorted(findings, key=by_location)
            ],
        )
    )


def _scan(section: d.Section, bundle: RenderedBundle, scan: list[Finding] | None) -> None:
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
    sub.add(
        d.table(
            ["check", "template", "resource", "reason"],
            [[d.code(s.check), d.code(t), d.code(s.resource), s.reason] for t, s in skips],
        )
    )


def _hashes(section: d.Section, bundle: RenderedBundle) -> None:
    rows = [[d.code(template), d.code(bundle.digest(template))] for template in sorted(bundle.templates)]
    section.add(d.Para("SHA-256 of each template file; the bundle is read only when every one matches the manifest."))
    section.add(d.table(["template", "sha256"], rows))


def _region_switch(section: d.Section, plans: list[tuple[str, str, Any]], regions: dict[str, str]) -> None:
    """The opt-in plan beside drgen's state machine: its workflows as they are written, and the one rule."""
    section.add(
        d.Para(
            "AWS's managed orchestrator, generated from the same scenario (`arc_plan: true`), beside drgen's state "
            "machine. Run one orchestrator, never both: drgen's lock does not see plan executions. An ungraceful run "
            "skips the plan's Lambda steps (AWS's rule), so DNS then moves by Route 53's health-based failover alone. "
            "After a live execution, the plan execution's actualRecoveryTime is the measurement to compare with the "
            "budget's estimate."
        )
    )
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
            rows.append(
                [
                    d.code(f"{path} {logical_id}"),
                    f"{workflow.get('WorkflowTargetAction')} {target}",
                    " -> ".join(steps),
                    str(props.get("RecoveryTimeObjectiveMinutes", "-")) + " min",
                ]
            )
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
