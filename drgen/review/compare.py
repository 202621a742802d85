"""What changes from a previous bundle to this one, per stack and resource, as CloudFormation would apply it.

Stacks are matched by name and resources by logical id inside a stack, so a renamed logical id is a removal
and an addition (CloudFormation deletes the old resource and creates a new one). Each side is read the way
that stack deploys it: resources whose Condition is false there are absent, ``Fn::If`` branches decided by
the stack's render-time parameters are taken and ``AWS::NoValue`` dropped, so a change in the other region's
branch is no change here. A modified resource is replaced, maybe replaced or updated in place according to
its resource schema (``replacement``), and lists the JSON paths that differ, old and new value shortened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review.jsondiff import diff_paths, path_text, short
from drgen.review.replacement import Verdict, verdict

MAX_PATHS = 12
ADDED, REMOVED, MODIFIED = "added", "removed", "modified"


@dataclass(frozen=True)
class ResourceDelta:
    """One resource of one stack that is added, removed or modified."""

    stack: StackEntry  # the new side's stack (the old side's when the stack goes)
    logical_id: str
    rtype: str
    action: str  # ADDED | REMOVED | MODIFIED
    verdict: Verdict | None  # MODIFIED only
    details: tuple[str, ...]  # "path: old -> new" lines

    @property
    def stateful(self) -> bool:
        return self.rtype in STATEFUL_TYPES

    @property
    def replaced(self) -> bool:
        return self.verdict is not None and self.verdict.replaces

    @property
    def loses_data(self) -> bool:
        """A stateful resource removed or (maybe) replaced: what `drgen deploy` refuses without --allow-replace."""
        return self.stateful and (self.action == REMOVED or self.replaced)

    @property
    def rank(self) -> int:
        """Most dangerous first: data lost, other replacements, removals, in-place updates, additions."""
        if self.loses_data:
            return 0
        if self.replaced:
            return 1
        return {REMOVED: 2, MODIFIED: 3}.get(self.action, 4)


@dataclass(frozen=True)
class Delta:
    """Everything that changes, most dangerous first."""

    stacks_added: tuple[StackEntry, ...]
    stacks_removed: tuple[StackEntry, ...]
    templates_changed: tuple[str, ...]  # same path, different bytes (outputs and parameters included)
    resources: tuple[ResourceDelta, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.stacks_added or self.stacks_removed or self.templates_changed or self.resources)

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.resources)

    @property
    def replacements(self) -> int:
        return sum(r.replaced for r in self.resources)

    @property
    def data_losses(self) -> tuple[ResourceDelta, ...]:
        return tuple(r for r in self.resources if r.loses_data)


def compare(old: RenderedBundle, new: RenderedBundle) -> Delta:
    """The changes from ``old`` to ``new``."""
    resources: list[ResourceDelta] = []
    for name in sorted({s.name for s in old.stacks} | {s.name for s in new.stacks}):
        before, after = old.stack(name), new.stack(name)
        resources += _stack_changes(_deployed(old, before), _deployed(new, after), after or before)
    shared = set(old.templates) & set(new.templates)
    old_names, new_names = {s.name for s in old.stacks}, {s.name for s in new.stacks}
    return Delta(
        stacks_added=tuple(s for s in new.stacks if s.name not in old_names),
        stacks_removed=tuple(s for s in old.stacks if s.name not in new_names),
        templates_changed=tuple(sorted(t for t in shared if old.files[t] != new.files[t])),
        resources=tuple(sorted(resources, key=lambda r: (r.rank, r.stack.name, r.logical_id))),
    )


def _stack_changes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], stack: StackEntry | None
) -> list[ResourceDelta]:
    if stack is None:
        return []
    changes = []
    for logical_id in sorted(set(before) | set(after)):
        old, new = before.get(logical_id), after.get(logical_id)
        if old == new:
            continue
        if old is None or new is None:
            action, present = (ADDED, new) if old is None else (REMOVED, old)
            kind = str((present or {}).get("Type", ""))
            changes.append(ResourceDelta(stack, logical_id, kind, action, None, ()))
            continue
        rtype = str(new.get("Type", ""))
        changes.append(
            ResourceDelta(
                stack, logical_id, rtype, MODIFIED, verdict(rtype, stack.region, old, new), summary_lines(old, new)
            )
        )
    return changes


def _deployed(bundle: RenderedBundle, stack: StackEntry | None) -> dict[str, dict[str, Any]]:
    """The stack's resources as it deploys them: logical id -> the resource with its branches resolved."""
    if stack is None:
        return {}
    doc = bundle.templates.get(stack.template, {})
    env = Env(doc, stack)
    return {
        logical_id: {key: env.resolved(value) for key, value in resource.items() if key != "Condition"}
        for logical_id, resource in doc.get("Resources", {}).items()
        if env.deployed(resource) is not False  # a deploy-time condition: counted as present
    }


def summary_lines(old: Any, new: Any) -> tuple[str, ...]:
    """``Properties.Port: 5432 -> 5433`` for the first MAX_PATHS differences, then how many more."""
    differences = diff_paths(old, new)
    lines = [f"{path_text(path)}: {short(a)} -> {short(b)}" for path, a, b in differences[:MAX_PATHS]]
    if len(differences) > MAX_PATHS:
        lines.append(f"... and {len(differences) - MAX_PATHS} more")
    return tuple(lines)
