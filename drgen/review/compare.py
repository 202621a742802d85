"""What changed since a previous bundle: stacks, templates, and resources with a property-level summary.

Resources are matched by logical id within a template; a modified resource lists the JSON paths whose values
differ (``Properties.Tags[2].Value``), each with the old and new value shortened, so a reviewer sees at a
glance whether a change is a tag, a name or something that replaces the resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drgen.review.bundle import BundleView

MAX_VALUE = 60
MAX_PATHS = 12


@dataclass(frozen=True)
class ResourceChange:
    template: str
    logical_id: str
    change: str  # added | removed | modified
    rtype: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    stacks_added: tuple[str, ...]
    stacks_removed: tuple[str, ...]
    templates_added: tuple[str, ...]
    templates_removed: tuple[str, ...]
    templates_changed: tuple[str, ...]
    resources: tuple[ResourceChange, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.stacks_added or self.stacks_removed or self.templates_added or self.templates_removed
                    or self.templates_changed)


def compare(old: BundleView, new: BundleView) -> Comparison:
    """The differences from ``old`` to ``new``."""
    old_stacks, new_stacks = {s.name for s in old.stacks}, {s.name for s in new.stacks}
    old_templates, new_templates = set(old.templates), set(new.templates)
    changed = tuple(sorted(t for t in old_templates & new_templates if old.raw[t] != new.raw[t]))
    resources: list[ResourceChange] = []
    for template in sorted(old_templates | new_templates):
        before = old.templates.get(template, {}).get("Resources", {})
        after = new.templates.get(template, {}).get("Resources", {})
        resources += _resource_changes(template, before, after)
    return Comparison(
        stacks_added=tuple(sorted(new_stacks - old_stacks)),
        stacks_removed=tuple(sorted(old_stacks - new_stacks)),
        templates_added=tuple(sorted(new_templates - old_templates)),
        templates_removed=tuple(sorted(old_templates - new_templates)),
        templates_changed=changed,
        resources=tuple(resources),
    )


def _resource_changes(template: str, before: dict[str, Any], after: dict[str, Any]) -> list[ResourceChange]:
    changes = []
    for logical_id in sorted(set(before) | set(after)):
        old, new = before.get(logical_id), after.get(logical_id)
        if old == new:
            continue
        if old is None:
            changes.append(ResourceChange(template, logical_id, "added", new.get("Type", ""), ()))
        elif new is None:
            changes.append(ResourceChange(template, logical_id, "removed", old.get("Type", ""), ()))
        else:
            changes.append(ResourceChange(template, logical_id, "modified", new.get("Type", ""), _summary(old, new)))
    return changes


def _summary(old: Any, new: Any) -> tuple[str, ...]:
    differences = list(diff(old, new))
    lines = [f"{path}: {_short(a)} -> {_short(b)}" for path, a, b in differences[:MAX_PATHS]]
    if len(differences) > MAX_PATHS:
        lines.append(f"... and {len(differences) - MAX_PATHS} more")
    return tuple(lines)


_MISSING = object()


def diff(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Paths whose values differ between two JSON values: (path, old, new); a missing side is ``_MISSING``."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += diff(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += diff(a, b, f"{path}[{index}]")
        return found
    return [] if old == new else [(path or "(value)", old, new)]


def _short(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
