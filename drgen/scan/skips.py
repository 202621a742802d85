"""Checkov skips: written by builders as resource Metadata, read back by the scan and the review report.

A skip is allowed only with a written reason. Checkov reads ``Metadata: {checkov: {skip: [{id, comment}]}}``
on a resource; keeping the format in one module means the builders that write it and the report that lists
it cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skip:
    """One checkov check deliberately not met by one resource, and why."""

    check: str  # e.g. CKV_AWS_18
    reason: str
    resource: str = ""  # where it applies, filled when read back: the logical id (checkov: Type.LogicalId)
    template: str = ""  # ... and the template's path


def skip_metadata(*skips: Skip) -> dict[str, Any]:
    """The resource ``Metadata`` that makes checkov skip ``skips``; each needs a non-empty reason."""
    for skip in skips:
        if not skip.reason.strip():
            raise ValueError(f"checkov skip {skip.check} needs a written reason")  # a builder bug
    return {"checkov": {"skip": [{"id": s.check, "comment": s.reason} for s in skips]}}


def template_skips(template: dict[str, Any]) -> list[Skip]:
    """Every skip declared in a template, sorted by resource then check."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        metadata = resource.get("Metadata") if isinstance(resource, dict) else None
        entries = metadata.get("checkov", {}).get("skip", []) if isinstance(metadata, dict) else []
        for entry in entries:
            if isinstance(entry, dict) and "id" in entry:
                found.append(Skip(check=str(entry["id"]), reason=str(entry.get("comment", "")), resource=logical_id))
    return sorted(found, key=lambda s: (s.resource, s.check))
