"""Evidence and procedure: where it deploys, how long it takes, how to roll back, the latest drill, approvals.

The drill report is the JSON `drgen drill --output json` prints (steps with their seconds and the budget's
term, the DNS timeline, the verifications). The review embeds it when it is given (`drgen review
--drill-report FILE`) or saved in the bundle as ``drill-report.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.bundle.evaluate import Env
from drgen.bundle.reader import RenderedBundle
from drgen.review import document as d
from drgen.review.baseline import Baseline
from drgen.review.compare import Delta
from drgen.review.duration import STACK_OVERHEAD_MINUTES, DeployEstimate, typical_minutes

DRILL_REPORT = "drill-report.json"
MAX_DETAIL = 140
LOSES = {"Delete": "deleted with its data", "Retain": "kept, outside any stack", "Snapshot": "final snapshot kept"}


@dataclass(frozen=True)
class Drill:
    """A drill report as read: its JSON (None when absent or unreadable) and where it came from."""

    source: str
    report: dict[str, Any] | None
    problem: str = ""  # why it is not used

    @property
    def verdict(self) -> str:
        if self.report is None:
            return self.problem or "no drill report"
        mode = f"{self.report.get('mode', '')}, {self.report.get('where', '')}"
        return ("PASSED" if self.report.get("passed") else "**FAILED**") + f" ({mode})"


def read_drill(bundle: RenderedBundle, given: Path | None) -> Drill:
    """The drill report for ``bundle``: ``given``, else the bundle's ``drill-report.json``, else none."""
    path = given if given is not None else bundle.directory / DRILL_REPORT
    if not path.is_file():
        return Drill(path.name, None, "no drill report" if given is None else f"{path} is not a file")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return Drill(path.name, None, f"drill report {path.name} unreadable ({error})")
    if not isinstance(report, dict) or "runs" not in report:
        return Drill(path.name, None, f"{path.name} is not a `drgen drill --output json` report")
    if report.get("scenario") != bundle.scenario:
        return Drill(path.name, None, f"{path.name} is a drill of {report.get('scenario')}, not {bundle.scenario}")
    return Drill(path.name, report)


# -- target --------------------------------------------------------------------------------------------------
def target_section(section: d.Section, bundle: RenderedBundle) -> None:
    manifest = bundle.manifest.document
    deployment = manifest.get("deployment", {}) or {}
    regions = manifest.get("regions", {})
    zone = deployment.get("zone", {}) or {}
    image = deployment.get("image", {}) or {}
    account = deployment.get("account")
    section.add(
        d.table(
            ["", "value"],
            [
                [
                    "account",
                    d.code(str(account))
                    if account
                    else "not pinned: whatever account the credentials reach (`account:` in the scenario pins it)",
                ],
                ["primary region", regions.get("primary", "")],
                ["DR region", regions.get("secondary", "")],
                ["global layer", regions.get("global", "")],
                ["hosted zone", _zone(zone)],
                [
                    "image",
                    f"{image.get('kind', '')}: " + (d.code(str(image["ref"])) if image.get("ref") else "the default"),
                ],
                ["suffix", d.code(str(manifest.get("suffix", "")))],
            ],
        )
    )


def _zone(zone: dict[str, Any]) -> str:
    domain = d.code(str(zone.get("domain", "")))
    if zone.get("create"):
        return f"{domain}, created by the zone layer (delegate it before the certificates can validate)"
    return f"{domain}, " + (f"zone {d.code(str(zone['id']))}" if zone.get("id") else "the account's zone found by name")


# -- deploy duration -----------------------------------------------------------------------------------------
def duration_section(section: d.Section, bundle: RenderedBundle, estimate: DeployEstimate) -> None:
    path = estimate.path
    section.add(
        d.Para(
            f"A first deploy takes about **{path.minutes:.0f} min**: the critical path through the stack graph, each "
            "stack as long as its longest chain of dependent resources (typical create minutes per resource type, "
            f"`drgen/review/duration.py`) plus {STACK_OVERHEAD_MINUTES:.0f} min for its change set. An update "
            "touches only what changes; a replacement takes as long as a create."
        )
    )
    rows = []
    for name in path.nodes:
        stack = bundle.stack(name)
        chain = estimate.stacks[name]
        kinds = " -> ".join(f"{lid} ({typical_minutes(_type(bundle, name, lid)):g})" for lid in chain.nodes)
        rows.append(
            [d.code(name), stack.label if stack else "", f"{chain.minutes + STACK_OVERHEAD_MINUTES:g}", kinds or "-"]
        )
    section.add(d.table(["stack on the critical path", "where", "minutes", "longest resource chain (minutes)"], rows))


def _type(bundle: RenderedBundle, stack_name: str, logical_id: str) -> str:
    stack = bundle.stack(stack_name)
    doc = bundle.templates.get(stack.template, {}) if stack else {}
    return str(doc.get("Resources", {}).get(logical_id, {}).get("Type", ""))


# -- rollback ------------------------------------------------------------------------------------------------
def rollback_section(
    section: d.Section, bundle: RenderedBundle, delta: Delta | None, baseline: Baseline | None
) -> None:
    suffix = bundle.suffix
    previous = baseline.bundle_dir if baseline is not None and baseline.bundle_dir else "<previous bundle>"
    redeploy = f"`drgen deploy --bundle {previous} --suffix {suffix}`"
    if baseline is not None and baseline.checkout:
        redeploy = f"`{baseline.checkout}`, then {redeploy}"
    items = [
        "A stack whose update fails rolls back by itself (CloudFormation restores its previous template); "
        "`drgen deploy` skips the stacks that depend on it, and a rerun resumes.",
        f"Back to the previous bundle after a deploy: {redeploy} updates every stack back (with "
        "`--allow-replace` where that replaces a stateful resource again). A resource this change replaces is "
        "replaced again, so the data of a replaced stateful resource does not come back with it: restore that "
        "from a snapshot or backup.",
        f"Removing everything: `drgen destroy -s {bundle.scenario} --suffix {suffix}` lists the data that goes, asks, "
        "and deletes every stack in reverse order (buckets emptied of every object version first, backup vaults "
        "of their recovery points).",
    ]
    losses = delta.data_losses if delta is not None else ()
    if losses:
        items.insert(
            0,
            f"**{d.DANGER_MARK} This change replaces or deletes {len(losses)} stateful resource(s)** "
            "("
            + ", ".join(d.code(f"{c.logical_id} in {c.stack.name}") for c in losses)
            + "): no rollback restores their data.",
        )
    section.add(d.Bullets(tuple(items)))
    rows = stateful_rows(bundle)
    if rows:
        section.add(d.Para("What `drgen destroy` loses: the stateful resources, by their DeletionPolicy."))
        section.add(d.table(["stack", "where", "resource", "type", "on destroy"], rows))


def stateful_rows(bundle: RenderedBundle) -> list[list[str]]:
    rows = []
    for stack in bundle.stacks:
        doc = bundle.templates.get(stack.template, {})
        env = Env(doc, stack)
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            if resource.get("Type") in STATEFUL_TYPES and env.deployed(resource) is not False:
                rows.append(
                    [
                        d.code(stack.name),
                        stack.label,
                        d.code(logical_id),
                        str(resource["Type"]),
                        _on_destroy(env, resource),
                    ]
                )
    return rows


def _on_destroy(env: Env, resource: dict[str, Any]) -> str:
    policy = str(resource.get("DeletionPolicy", "Delete"))
    if resource.get("Type") == "AWS::KMS::Key" and policy == "Delete":
        # CloudFormation schedules a key's deletion; once it runs, what the key encrypted cannot be read
        days = env.show(resource.get("Properties", {}).get("PendingWindowInDays")) or "30"
        return f"deletion scheduled ({days} days): what it encrypted becomes unreadable"
    if resource.get("Type") == "AWS::DynamoDB::GlobalTable" and policy == "Delete":
        return "deleted with its data, in every replica region"
    return LOSES.get(policy, policy)


# -- drill ---------------------------------------------------------------------------------------------------
def drill_section(section: d.Section, bundle: RenderedBundle, drill: Drill) -> None:
    report = drill.report
    if report is None:
        problem = drill.problem[:1].upper() + drill.problem[1:]
        section.add(
            d.Para(
                f"{problem}. Rehearse with `drgen drill -s {bundle.scenario} --output json > "
                f"{DRILL_REPORT}` (locally; `--live --suffix ...` in the deployed account), save it in the bundle "
                "directory or pass `--drill-report FILE`, and review again."
            )
        )
        return
    section.add(
        d.Para(f"From {d.code(drill.source)}: {drill.verdict}; deployed in {report.get('deploy_seconds', '-')} s.")
    )
    for run in report.get("runs", []):
        section.add(
            d.Para(
                f"Run {d.code(str(run.get('phase', '')))} ({run.get('where', '')}): "
                f"{run.get('status', 'not followed')} in {run.get('seconds', '-')} s."
            )
        )
        section.add(
            d.table(
                ["state", "type", "at s", "took s", "budget s", "result"],
                [_step(step, run.get("budget", {})) for step in run.get("steps", [])],
            )
        )
    for name, samples in sorted((report.get("dns_timeline") or {}).items()):
        section.add(d.Para(f"DNS after the {name}'s DNS step (drgen's model of Route 53):"))
        section.add(
            d.table(
                ["after s", "answer", "target"],
                [
                    [str(s.get("after_dns_step_seconds")), str(s.get("answer")), d.code(str(s.get("target")))]
                    for s in samples
                ],
            )
        )
    section.add(
        d.table(
            ["verified", "result", "detail"],
            [
                [str(v.get("check")), "ok" if v.get("ok") else "**FAILED**", _cut(str(v.get("detail", "")))]
                for v in report.get("verified", [])
            ],
        )
    )


def _step(step: dict[str, Any], budget: dict[str, Any]) -> list[str]:
    took, allowed = step.get("seconds"), budget.get(str(step.get("state")))
    over = isinstance(took, int | float) and isinstance(allowed, int | float) and took > allowed
    result = ("ok" if step.get("ok") else "**FAILED**") + (" **over budget**" if over else "")
    detail = _cut(str(step.get("detail", "")))
    return [
        str(step.get("state", "")),
        str(step.get("type", "")),
        str(step.get("started_seconds", "")),
        str(took),
        "-" if allowed is None else str(allowed),
        result + (f": {detail}" if detail else ""),
    ]


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


# -- approvals -----------------------------------------------------------------------------------------------
def approvals_section(section: d.Section) -> None:
    section.add(d.Para("To fill in before the deploy (the reviewed bundle's commit goes with the ticket)."))
    section.add(
        d.table(
            ["", "value"],
            [
                ["change ticket", ""],
                ["bundle commit", ""],
                ["deploy window", ""],
                ["risks accepted (data loss, broadening)", ""],
                ["approver 1 (name, role, date)", ""],
                ["approver 2 (name, role, date)", ""],
                ["sign-off", ""],
            ],
        )
    )
