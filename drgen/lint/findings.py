"""Lint findings and their reports (text for people, JSON for scripts, SARIF for code-scanning UIs).

A finding comes from cfn-lint (its own rules or drgen's E9xxx/W9xxx rules loaded into it) or from drgen's
bundle checks (E9900). Reports are sorted by location so the same bundle always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drgen import __version__

FORMATS = ("text", "json", "sarif")
SEVERITIES = {"E": "error", "W": "warning", "I": "informational"}
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "informational": "note"}


@dataclass(frozen=True)
class Finding:
    """One problem at one place in one template."""

    rule: str
    severity: str  # error | warning | informational
    message: str
    path: str  # the template, as given or relative to the cwd
    line: int
    column: int
    source: str  # cfn-lint | drgen
    shortdesc: str = ""  # the rule's one-line title (SARIF shortDescription)


def severity_of(rule: str) -> str:
    """cfn-lint's convention: the rule id's letter is its severity."""
    return SEVERITIES.get(rule[:1].upper(), "error")


def by_location(finding: Finding) -> tuple[str, int, int, str, str]:
    """Sort key for reports: path, line, column, then rule and message for findings at the same place."""
    return (finding.path, finding.line, finding.column, finding.rule, finding.message)


def format_findings(findings: Iterable[Finding], fmt: str) -> str:
    """Render findings as ``text`` (one line each plus a summary; empty when clean), ``json`` or ``sarif``."""
    ordered = sorted(findings, key=by_location)
    if fmt == "text":
        return _text(ordered)
    if fmt == "json":
        return json.dumps([asdict(f) for f in ordered], indent=1, sort_keys=True, ensure_ascii=False)
    if fmt == "sarif":
        return json.dumps(_sarif(ordered), indent=1, sort_keys=True, ensure_ascii=False)
    raise ValueError(f"unknown lint report format {fmt!r}; use one of: {', '.join(FORMATS)}")


def _text(findings: list[Finding]) -> str:
    if not findings:
        return ""
    lines = [f"{f.path}:{f.line}:{f.column}: {f.severity} {f.rule} {' '.join(f.message.split())}" for f in findings]
    counts = {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES.values()}
    lines.append(
        f"{len(findings)} finding(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['informational']} informational"
    )
    return "\n".join(lines)


def _sarif(findings: list[Finding]) -> dict[str, Any]:
    titles: dict[str, str] = {}
    for f in findings:
        titles.setdefault(f.rule, f.shortdesc or f.rule)
    rule_ids = sorted(titles)
    rules = [{"id": rule, "shortDescription": {"text": titles[rule]}} for rule in rule_ids]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": SARIF_LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.path)},
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)},
                    }
                }
            ],
            "properties": {"source": f.source},
        }
        for f in findings
    ]
    run = {"tool": {"driver": {"name": "drgen-lint", "version": __version__, "rules": rules}}, "results": results}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _uri(path: str) -> str:
    """Relative paths stay relative (resolved against the checkout); absolute ones become file: URIs."""
    as_path = Path(path)
    return as_path.as_uri() if as_path.is_absolute() else as_path.as_posix()
