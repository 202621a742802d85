"""The report's opening section: what changes from the previous bundle, per stack and resource.

Stateful replacements and deletions come first, marked (red rows in the HTML, bold with a marker in
Markdown): CloudFormation creates the replacement empty and deletes the old resource with its data, which is
why `drgen deploy` refuses them without --allow-replace. A stack that appears or goes as a whole is one row
(its stateful resources that go are still listed one by one).
"""

from __future__ import annotations

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review import document as d
from drgen.review.baseline import Baseline
from drgen.review.compare import ADDED, MODIFIED, REMOVED, Delta, ResourceDelta
from drgen.review.replacement import MAY_BE_REPLACED, describe

TITLE = "What changes"
HOW_TO_COMPARE = (
    "`drgen review --compare DIR` (a previous bundle) or `--compare GIT-REF` (this bundle's directory as "
    "committed at that ref, e.g. `HEAD~1`)"
)


def changes_section(section: d.Section, bundle: RenderedBundle, delta: Delta | None, baseline: Baseline | None) -> None:
    if delta is None or baseline is None:
        resources = sum(len(t.get("Resources", {})) for t in bundle.templates.values())
        section.add(
            d.Para(
                f"No previous bundle compared: everything in this bundle is new ({len(bundle.stacks)} stacks, "
                f"{resources} resources in {len(bundle.templates)} templates). {HOW_TO_COMPARE} opens the report "
                "with what changes, replacements and deletions first."
            )
        )
        return
    section.add(d.Para(f"Compared with {baseline.label}, manifest sha256 {d.code(baseline.manifest_sha256)}."))
    if delta.unchanged:
        section.add(d.Para("No changes: every stack, template and resource is identical."))
        return
    section.add(d.Bullets(tuple(_overview(delta))))
    rows, classes = _rows(delta)
    if rows:
        section.add(
            d.Para(
                'Per stack and resource, as CloudFormation would apply it. "Replaced" is predicted from the resource '
                "type's schema: a changed create-only property replaces it, a conditionally create-only one may."
            )
        )
        section.add(d.table(["stack", "where", "resource", "type", "change", "what changes"], rows, classes))


def _overview(delta: Delta) -> list[str]:
    items = [
        f"stacks: {_names(delta.stacks_added)} added, {_names(delta.stacks_removed)} removed",
        f"resources: {delta.count(ADDED)} added, {delta.count(REMOVED)} removed, {delta.count(MODIFIED)} modified "
        f"({delta.replacements} replaced or maybe replaced, {delta.count(MODIFIED) - delta.replacements} in place)",
    ]
    losses = delta.data_losses
    if losses:
        items.insert(
            0,
            f"**{d.DANGER_MARK} {len(losses)} stateful resource(s) replaced or deleted: their data is "
            "lost** (`drgen deploy` refuses this without `--allow-replace`)",
        )
    if delta.templates_changed:
        items.append("templates changed: " + ", ".join(d.code(t) for t in delta.templates_changed))
    return items


def _names(stacks: tuple[StackEntry, ...]) -> str:
    return f"{len(stacks)}" + (f" ({', '.join(d.code(s.name) for s in stacks)})" if stacks else "")


def _rows(delta: Delta) -> tuple[list[list[str]], list[str]]:
    """Data loss first, then whole stacks that go, the other resources, and whole stacks that come."""
    whole = {s.name for s in delta.stacks_added + delta.stacks_removed}
    rows: list[list[str]] = []
    classes: list[str] = []
    for change in (c for c in delta.resources if c.loses_data):
        rows.append(_row(change))
        classes.append(d.DANGER)
    for stack in delta.stacks_removed:
        count = sum(c.stack.name == stack.name for c in delta.resources)
        rows.append([d.code(stack.name), stack.label, f"(all {count})", "", "**stack removed**", "-"])
        classes.append("")
    for change in (c for c in delta.resources if not c.loses_data and c.stack.name not in whole):
        rows.append(_row(change))
        classes.append("")
    for stack in delta.stacks_added:
        count = sum(c.stack.name == stack.name for c in delta.resources)
        rows.append([d.code(stack.name), stack.label, f"(all {count})", "", "stack added", "-"])
        classes.append("")
    return rows, classes


def _row(change: ResourceDelta) -> list[str]:
    return [
        d.code(change.stack.name),
        change.stack.label,
        d.code(change.logical_id),
        change.rtype,
        change_text(change),
        "\n".join(change.details) or "-",
    ]


def change_text(change: ResourceDelta) -> str:
    """``**⚠ REPLACED, data lost** (MasterUsername)``, ``replaced (BucketName)``, ``updated in place``..."""
    if change.loses_data:
        verb = (
            "DELETED"
            if change.action == REMOVED
            else ("MAY BE REPLACED" if change.verdict and change.verdict.kind == MAY_BE_REPLACED else "REPLACED")
        )
        causes = change.verdict.causes if change.verdict else ()
        return f"**{d.DANGER_MARK} {verb}, data lost**" + (f" ({', '.join(causes)})" if causes else "")
    if change.verdict is not None:
        text = describe(change.verdict)
        return f"**{text}**" if change.replaced else text
    return change.action
