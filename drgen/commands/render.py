"""``drgen scenarios``, ``drgen render`` and ``drgen lint``: the presets, the bundles, and their lint."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from drgen.cli.errors import handle_errors
from drgen.cli.options import DEFAULT_OUT, FORMATS, bundle_dirs
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.lint import Finding


@click.command()
@click.option("--output", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def scenarios(output: str) -> None:
    """List the built-in presets with their regions and objectives."""
    from drgen.scenario import PRESETS

    rows = [
        {
            "name": s.name,
            "primary": s.regions.primary,
            "secondary": s.regions.secondary,
            "compute": s.compute.kind.value,
            "rto_seconds": s.objectives.rto_seconds,
            "rpo_seconds": s.objectives.rpo_seconds,
            "description": s.description,
        }
        for s in PRESETS.values()
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'PRESET':<20} {'PRIMARY':<14} {'DR':<14} {'COMPUTE':<13} {'RTO':>6} {'RPO':>6}  DESCRIPTION")
    for r in rows:
        click.echo(
            f"{r['name']:<20} {r['primary']:<14} {r['secondary']:<14} {r['compute']:<13} "
            f"{_duration(int(r['rto_seconds'])):>6} {_duration(int(r['rpo_seconds'])):>6}  {r['description']}"
        )


def _duration(seconds: int) -> str:
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


@click.command()
@click.option("--scenario", "-s", "names", multiple=True, metavar="NAME", help="A preset to render (repeatable).")
@click.option("--all", "all_presets", is_flag=True, help="Render every preset (the default).")
@click.option(
    "--config",
    "-c",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A scenario YAML file (may start from a preset with `base:`).",
)
@click.option("--suffix", help="Environment suffix for every name (else $ENVIRONMENT_SUFFIX, the scenario's, 'dev').")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_OUT,
    show_default=True,
    help="Directory that receives one bundle per scenario.",
)
@click.option("--no-lint", is_flag=True, help="Skip cfn-lint, drgen's rules and the review files after rendering.")
@click.option("--scan", is_flag=True, help="Also run the checkov security scan; its results go into REVIEW.md.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Lint report format.")
@handle_errors
def render(
    names: tuple[str, ...],
    all_presets: bool,
    config: Path | None,
    suffix: str | None,
    out: Path,
    no_lint: bool,
    scan: bool,
    fmt: str,
) -> None:
    """Render scenarios to CloudFormation bundles (templates, manifest.json, Lambda zips), lint them and write
    each bundle's review (REVIEW.md, review.html, diagram.svg/.png and diagram-full.svg/.png).

    \b
    Examples:
      drgen render                             # every preset into templates_out/
      drgen render -s trading-ecs --suffix pr42
      drgen render --config examples/trading-ecs-staging.yaml --out build/
    """
    from drgen.render import render as render_bundle
    from drgen.render import write_bundles
    from drgen.scenario import PRESETS, load

    if config is not None and (names or all_presets):
        raise DrgenError("use either --config FILE or --scenario/--all, not both")
    if names and all_presets:
        raise DrgenError("use either --scenario NAME or --all, not both")
    if config is not None:
        scenarios_ = [load(config=config, suffix=suffix)]
    else:
        scenarios_ = [load(name, suffix=suffix) for name in (names or tuple(PRESETS))]
    started = time.perf_counter()
    bundles = [render_bundle(s) for s in scenarios_]
    paths = write_bundles(bundles, out)
    for bundle, path in zip(bundles, paths, strict=True):
        templates = sum(1 for p in bundle.files if p.startswith("templates/"))
        size = sum(len(data) for data in bundle.files.values())
        click.echo(
            f"rendered {bundle.name} (suffix {bundle.scenario.suffix}): {len(bundle.stacks)} stacks, "
            f"{templates} templates, {size / 1024:.0f} KiB -> {path}",
            err=fmt != "text",
        )
    click.echo(f"render: {len(bundles)} scenario(s) in {time.perf_counter() - started:.2f} s", err=fmt != "text")
    if no_lint:
        return
    from drgen.review.diagram import prefetch

    prefetch(paths)  # Graphviz draws the review's diagrams while cfn-lint loads and lints
    findings = lint_dirs(paths, fmt, exit_on_findings=False)
    from drgen.commands.review import write_reviews

    failed_checks = write_reviews(paths, findings, scan=scan, err=True)
    if findings or failed_checks:
        sys.exit(1)


@click.command()
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@handle_errors
def lint(dirs: tuple[Path, ...], fmt: str) -> None:
    """Lint rendered bundles with cfn-lint (per stack region) and drgen's DR rules.

    DIRS are bundle directories (with manifest.json) or a directory of bundles; the default is every bundle
    under templates_out/. Exits 1 when there is any finding.
    """
    targets = bundle_dirs(list(dirs) or [DEFAULT_OUT])
    lint_dirs(targets, fmt)


def lint_dirs(dirs: list[Path], fmt: str, exit_on_findings: bool = True) -> list[Finding]:
    from drgen.lint import format_findings, lint_bundles
    from drgen.spinner import spinner

    started = time.perf_counter()
    with spinner("lint (cfn-lint and drgen's rules)") as progress:
        findings, template_count = lint_bundles(dirs, progress)
    report = format_findings(findings, fmt)
    if report:
        click.echo(report)
    if fmt == "text" or not report:
        click.echo(
            f"lint: {template_count} templates in {len(dirs)} bundle(s), {len(findings)} finding(s) "
            f"in {time.perf_counter() - started:.1f} s",
            err=fmt != "text",
        )
    if findings and exit_on_findings:
        sys.exit(1)
    return findings
