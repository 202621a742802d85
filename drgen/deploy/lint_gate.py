"""deploy refuses a bundle with lint errors: what cfn-lint or drgen's DR rules call an error fails on AWS, or fails
over wrongly, so it never reaches an account (warnings are reported by `drgen lint` and the review, not here)."""

from __future__ import annotations

from drgen.bundle.reader import RenderedBundle
from drgen.errors import DrgenError
from drgen.lint.findings import Finding, by_location
from drgen.lint.runner import lint_text


def errors(bundle: RenderedBundle) -> list[Finding]:
    """The error-severity findings of every template the bundle deploys, each checked in its stacks' regions."""
    regions: dict[str, set[str]] = {}
    for entry in bundle.stacks:
        regions.setdefault(entry.template, set()).add(entry.region)
    found: list[Finding] = []
    for path, where in sorted(regions.items()):
        text = bundle.files[path].decode("utf-8")
        found.extend(f for f in lint_text(text, tuple(sorted(where)), path) if f.severity == "error")
    return sorted(found, key=by_location)


def refuse_errors(bundle: RenderedBundle) -> None:
    found = errors(bundle)
    if found:
        first = found[0]
        raise DrgenError(
            f"{len(found)} lint error(s) in the bundle, the first {first.path}:{first.line} {first.rule} "
            f"{first.message}; `drgen lint` lists them: fix the scenario (or the template) and render again"
        )
