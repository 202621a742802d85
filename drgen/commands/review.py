"""`drgen scan` (checkov over the bundles' templates) and `drgen review` (the change-board report).

Both take bundle directories like `drgen lint` (default: every bundle under templates_out/) and exit 1 when
there is a finding; `review` writes its files first, so a failing review still leaves the report to read.
"""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from pathlib import Path

import click

from drgen.cli.errors import handle_errors
from drgen.cli.options import DEFAULT_OUT, FORMATS, bundle_dirs
from drgen.lint import Finding

BUNDLE_DIRS = click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False))


@click.command()
@BUNDLE_DIRS
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option("--setup", is_flag=True, help="Only create checkov's virtualenv (.venv-checkov) when missing.")
@handle_errors
def scan(dirs: tuple[Path, ...], fmt: str, setup: bool) -> None:
    """Security-scan rendered bundles with checkov; exit 1 on any failed check.

    checkov runs from its own virtualenv (created on first use) or from $DRGEN_CHECKOV. Skips are only
    those declared in template Metadata with a written reason; they are listed, not counted as failures.
    """
    from drgen.lint import format_findings
    from drgen.scan.checkov import ensure_checkov, scan_bundles
    from drgen.spinner import spinner

    checkov = ensure_checkov(lambda message: click.echo(message, err=True))
    if setup:
        click.echo(f"checkov ready: {checkov}", err=True)
        return
    targets = bundle_dirs(list(dirs) or [DEFAULT_OUT])
    started = time.perf_counter()
    with spinner(f"scan: checkov over {len(targets)} bundle(s)"):
        result = scan_bundles(targets, checkov)
    report = format_findings(result.findings, fmt)
    if report:
        click.echo(report)
    if fmt == "text":
        for skip in result.skips:
            click.echo(f"{skip.template}: skipped {skip.check} on {skip.resource}: {skip.reason}")
    click.echo(
        f"scan: {result.templates} templates in {len(targets)} bundle(s), {result.passed} passed, "
        f"{len(result.findings)} failed, {len(result.skips)} skipped (reasons in template Metadata) "
        f"in {time.perf_counter() - started:.1f} s",
        err=fmt != "text",
    )
    if result.findings:
        sys.exit(1)


@click.command()
@BUNDLE_DIRS
@click.option(
    "--compare",
    "previous",
    metavar="DIR|GIT-REF",
    help="What to report the changes against: a previous bundle (or a directory of bundles), or a git ref "
    "(e.g. HEAD~1) at which each reviewed bundle's directory is committed.",
)
@click.option(
    "--drill-report",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A `drgen drill --output json` report to embed (default: the bundle's drill-report.json, if any).",
)
@click.option("--no-scan", is_flag=True, help="Leave the checkov scan out of the report.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write each bundle's review into OUT/<bundle> instead of into the bundle (which stays as committed).",
)
@handle_errors
def review(
    dirs: tuple[Path, ...], previous: str | None, drill_report: Path | None, no_scan: bool, out: Path | None
) -> None:
    """Write REVIEW.md, review.html and the diagrams (architecture and full graph, SVG and PNG) into each bundle.

    Lints each bundle and scans it with checkov first (their results go into the report); exits 1 when
    either has a finding, after writing the report. The report opens with a summary and, with --compare,
    what changes: replacements and deletions of stateful resources first, then IAM and exposure broadening.
    """
    from drgen.lint import format_findings, lint_bundles

    targets = bundle_dirs(list(dirs) or [DEFAULT_OUT])
    if previous is not None:
        from drgen.review.baseline import check_baselines

        check_baselines(previous, targets)  # a wrong --compare is bad input: refused before any work
    started = time.perf_counter()
    linted, _ = lint_bundles(targets)
    if linted:
        click.echo(format_findings(linted, "text"))
    scanned = write_reviews(targets, linted, scan=not no_scan, previous=previous, drill_report=drill_report, out=out)
    click.echo(f"review: {len(targets)} bundle(s) in {time.perf_counter() - started:.1f} s", err=True)
    if linted or scanned:
        sys.exit(1)


def write_reviews(
    targets: list[Path],
    linted: list[Finding],
    *,
    scan: bool,
    previous: str | Path | None = None,
    drill_report: Path | None = None,
    err: bool = False,
    out: Path | None = None,
) -> list[Finding]:
    """Scan (when asked) and write each bundle's review files with its lint and scan results.

    ``previous``: a directory or git ref to compare each bundle against. Returns the failed checks, so the
    caller decides the exit status.
    """
    from drgen.lint import format_findings
    from drgen.review import write_review
    from drgen.review.baseline import open_baseline
    from drgen.scan.checkov import scan_bundles
    from drgen.spinner import spinner

    scanned = None
    if scan:
        with spinner(f"scan: checkov over {len(targets)} bundle(s)"):
            scanned = scan_bundles(targets).findings
    if scanned:
        click.echo(format_findings(scanned, "text"), err=err)
    for target in targets:
        lint = [f for f in linted if _inside(f.path, target)]
        scan_findings = None if scanned is None else [f for f in scanned if _inside(f.path, target)]
        with open_baseline(str(previous), target) if previous is not None else nullcontext() as baseline:
            destination = out / target.name if out is not None else None
            written = write_review(target, lint, scan_findings, baseline, drill_report, destination)
        verdict = f"{len(lint)} lint finding(s), " + (
            "scan not run" if scan_findings is None else f"{len(scan_findings)} failed check(s)"
        )
        click.echo(f"review {target.name}: {verdict} -> {', '.join(p.name for p in written)}", err=err)
    return scanned or []


def _inside(path: str, bundle_dir: Path) -> bool:
    return Path(path).resolve().is_relative_to(bundle_dir.resolve())
