"""Lint rendered bundles: cfn-lint (as a library, with drgen's rules appended) plus bundle integrity checks.

Each template is linted once, for every region its stacks deploy to (regional templates for both DR regions,
the global template for us-east-1), so region-specific resource availability is checked where it matters.
cfn-lint is imported lazily: ``drgen --help`` must not pay for loading it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from drgen.bundle.manifest import Manifest
from drgen.bundle.reader import changed_files, read_manifest
from drgen.errors import DrgenError
from drgen.lint import cache as lint_cache
from drgen.lint.findings import Finding, by_location, severity_of

if TYPE_CHECKING:
    from cfnlint.config import ConfigMixIn
    from cfnlint.rules import Match, Rules

RULES_DIR = Path(__file__).resolve().with_name("rules")
INTEGRITY_RULE = "E9900"
INTEGRITY_TITLE = "Templates are unchanged since rendering"


def lint_template(path: Path, regions: Sequence[str]) -> list[Finding]:
    """cfn-lint findings (its rules and drgen's) for one template file, checked in each of ``regions``."""
    _check_regions(path, regions)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DrgenError(f"cannot read template {path}: {error.strerror}") from error
    return list(lint_text(text, tuple(sorted(set(regions))), shown_path(path)))


@lru_cache(maxsize=64)
def lint_text(text: str, regions: tuple[str, ...], shown: str) -> tuple[Finding, ...]:
    """The findings for a template's text: memoised in the process (deploy lints the bundle it is about to
    deploy) and kept on disk by content (``drgen.lint.cache``): the same bytes give the same findings."""
    entry = lint_cache.key(text, regions)
    kept = lint_cache.load(entry, shown)
    if kept is not None:
        return kept
    found = _lint(text, regions, shown)
    lint_cache.save(entry, found)
    return found


def _lint(text: str, regions: tuple[str, ...], shown: str) -> tuple[Finding, ...]:
    _silence_cfnlint()
    return tuple(
        Finding(
            rule=m.rule.id,
            severity=severity_of(m.rule.id),
            message=m.message,
            path=shown,
            line=m.linenumber,
            column=m.columnnumber,
            source="drgen" if m.rule.id[1:2] == "9" else "cfn-lint",  # 9xxx ids are reserved for user rules
            shortdesc=m.rule.shortdesc,
        )
        for m in _matches(text, regions)
    )


def _config(regions: Sequence[str]) -> ConfigMixIn:
    """cfn-lint's settings for ``regions``, with drgen's rules appended.

    config_file: ConfigMixIn otherwise merges ~/.cfnlintrc and ./.cfnlintrc, so results would depend on who
    runs the lint and from where. An empty configuration file pins every setting to the ones given here.
    """
    from cfnlint.config import ConfigMixIn

    return ConfigMixIn(regions=sorted(set(regions)), append_rules=[str(RULES_DIR)], config_file=os.devnull)


@cache
def _rules() -> Rules:
    """cfn-lint's rules plus drgen's, loaded once per process: loading them (hundreds of modules and their JSON
    data) costs more than linting a template, so each lint worker pays it once instead of once per template."""
    from cfnlint.runner import Runner

    return Runner(_config(["us-east-1"])).rules


def _matches(text: str, regions: Sequence[str]) -> list[Match]:
    """What ``cfnlint.api.lint`` returns, run with the process's shared rules and a fresh configuration (a run
    records template arguments in its configuration, so that is not shared)."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    template, errors = decode_str(text)
    if errors or template is None:
        return list(errors or [])
    return list(run_template_by_data(template, _config(regions), _rules()))


def lint_bundle(bundle_dir: Path) -> list[Finding]:
    """Every finding for one rendered bundle (a directory holding manifest.json and its templates)."""
    findings, _ = lint_bundles([bundle_dir])
    return findings


def lint_bundles(
    bundle_dirs: Sequence[Path], progress: Callable[[str], None] = lambda _: None
) -> tuple[list[Finding], int]:
    """Findings for several bundles, sorted by location, and how many templates were examined.

    Templates are linted in parallel worker processes when there are several, and only those the lint cache
    does not hold (a warm lint starts no worker); ``progress`` hears ``n of m templates (path)`` as each one is
    done.
    """
    findings: list[Finding] = []
    jobs: list[tuple[Path, tuple[str, ...]]] = []
    for bundle_dir in bundle_dirs:
        manifest = read_manifest(bundle_dir)
        regions, recorded = _regions(manifest), manifest.expected()
        changed = changed_files(bundle_dir, manifest, regions)
        for relative in sorted(regions):
            path = bundle_dir / relative
            if relative in changed:
                findings.append(_integrity(path, changed[relative], recorded[relative]))
            if path.is_file():
                jobs.append((path, regions[relative]))
    kept = {job: _kept(*job) for job in jobs}
    pending = [job for job in jobs if kept[job] is None]
    ready = [(job, result) for job, result in kept.items() if result is not None]
    linted = zip(pending, _run(pending), strict=True)
    for done, (job, result) in enumerate(itertools.chain(ready, linted), start=1):
        findings.extend(result)
        progress(f"{done} of {len(jobs)} templates ({shown_path(job[0])})")
    findings.sort(key=by_location)
    return findings, len(jobs)


def _kept(path: Path, regions: tuple[str, ...]) -> list[Finding] | None:
    """The cached findings for ``path`` in ``regions``, or None (then it is linted, and any problem reported).

    The regions are checked on a miss only: an entry exists only for regions that passed the check with the same
    cfn-lint (its key holds both), and checking them imports cfn-lint, which a warm lint does not need."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        text = None
    found = None
    if text is not None and regions:
        found = lint_cache.load(lint_cache.key(text, tuple(sorted(set(regions)))), shown_path(path))
    if found is None:
        _check_regions(path, regions)
        return None
    return list(found)


def _regions(manifest: Manifest) -> dict[str, tuple[str, ...]]:
    """template path (relative to the bundle) -> the sorted regions its stacks deploy to."""
    regions: dict[str, set[str]] = {}
    for stack in manifest.stacks:
        regions.setdefault(stack.template, set()).add(stack.region)
    return {template: tuple(sorted(found)) for template, found in regions.items()}


def _integrity(path: Path, actual: str | None, recorded: str) -> Finding:
    """The E9900 finding for a template that differs from what ``drgen render`` wrote (``actual`` None: gone)."""
    if actual is None:
        message = "template is missing: it was deleted after rendering; run `drgen render` again"
    else:
        message = (
            f"template was edited after rendering: its sha256 {actual[:12]}… differs from the manifest's "
            f"{recorded[:12]}…; change the scenario and run `drgen render` again instead of editing templates"
        )
    return Finding(
        rule=INTEGRITY_RULE,
        severity=severity_of(INTEGRITY_RULE),
        message=message,
        path=shown_path(path),
        line=1,
        column=1,
        source="drgen",
        shortdesc=INTEGRITY_TITLE,
    )


def _run(jobs: list[tuple[Path, tuple[str, ...]]]) -> Iterator[list[Finding]]:
    """Lint each (template, regions) job, on all cores when there is more than one job; results in job order.

    The largest templates go to the workers first (lint time grows with the template), so that a large one
    started last does not keep one core busy after the other has run out of work."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        yield from (lint_template(path, regions) for path, regions in jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        started = {job: pool.submit(lint_template, *job) for job in sorted(jobs, key=_size, reverse=True)}
        yield from (started[job].result() for job in jobs)


def _size(job: tuple[Path, tuple[str, ...]]) -> int:
    try:
        return job[0].stat().st_size
    except OSError:
        return 0


def _silence_cfnlint() -> None:
    """cfn-lint logs through the ``cfnlint`` logger; drgen reports its matches, not its chatter."""
    import logging

    logger = logging.getLogger("cfnlint")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def shown_path(path: Path) -> str:
    """The path as the user gave it, or relative to the cwd when it is absolute and below it."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _check_regions(path: Path, regions: Sequence[str]) -> None:
    """Refuse what cfn-lint would get wrong: no region (it would fall back to $AWS_REGION) or one it has no
    schemas for (it would raise deep inside its runner)."""
    from cfnlint.helpers import REGIONS
    from cfnlint.version import __version__

    if not regions:
        raise DrgenError(f"{path}: no region to lint it for (its manifest lists no stack that deploys it)")
    unknown = sorted(set(regions) - set(REGIONS))
    if unknown:
        raise DrgenError(f"{path}: cfn-lint {__version__} does not know region(s) {', '.join(unknown)}; upgrade it")
