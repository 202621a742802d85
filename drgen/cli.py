"""The drgen command line. Thin: parse, call the library, print, map errors to exit codes.

Exit codes: 0 success, 1 findings (lint), 2 bad input (one line on stderr naming the problem and the remedy).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from drgen import __version__
from drgen.errors import DECLINED_EXIT, Declined, DrgenError

if TYPE_CHECKING:
    from drgen.lint import Finding

DEFAULT_OUT = Path("templates_out")
FORMATS = click.Choice(["text", "json", "sarif"])


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a DrgenError into one line on stderr and exit status 2; a declined question into exit status 3."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DrgenError as exc:
            click.echo(f"drgen: error: {exc}", err=True)
            sys.exit(2)
        except Declined as exc:
            click.echo(f"drgen: {exc}", err=True)
            sys.exit(DECLINED_EXIT)

    return wrapper


class _UsageInOneLine(click.ClickException):
    """A usage error (a missing option, a bad value) as one line, like drgen's own errors, with status 2."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        command = error.ctx.command_path if error.ctx else "drgen"
        super().__init__(f"{error.format_message().rstrip('.')}; see `{command} --help`")

    def show(self, file: Any = None) -> None:
        click.echo(f"drgen: error: {self.format_message()}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:  # raised while a command parses its arguments
            raise _UsageInOneLine(error) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drgen")
@click.option("--no-color", is_flag=True, help="No colour in progress tables and messages (as NO_COLOR=1 does).")
def cli(no_color: bool) -> None:
    """Multi-region disaster recovery on AWS: render, lint, deploy and operate.

    Start with `drgen scenarios`, then `drgen render` (all presets into templates_out/).
    """
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich, which draws the progress tables, honours it (no-color.org)


@cli.command()
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
            f"{_duration(r['rto_seconds']):>6} {_duration(r['rpo_seconds']):>6}  {r['description']}"
        )


def _duration(seconds: int) -> str:
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


@cli.command()
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
    findings = _lint_dirs(paths, fmt, exit_on_findings=False)
    from drgen.commands.review import write_reviews

    failed_checks = write_reviews(paths, findings, scan=scan, err=True)
    if findings or failed_checks:
        sys.exit(1)


@cli.command()
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@handle_errors
def lint(dirs: tuple[Path, ...], fmt: str) -> None:
    """Lint rendered bundles with cfn-lint (per stack region) and drgen's DR rules.

    DIRS are bundle directories (with manifest.json) or a directory of bundles; the default is every bundle
    under templates_out/. Exits 1 when there is any finding.
    """
    targets = bundle_dirs(list(dirs) or [DEFAULT_OUT])
    _lint_dirs(targets, fmt)


def bundle_dirs(dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        if (d / "manifest.json").is_file():
            found.append(d)
            continue
        children = sorted(p.parent for p in d.glob("*/manifest.json")) if d.is_dir() else []
        if not children:
            raise DrgenError(f"{d} holds no rendered bundle (no manifest.json); run `drgen render` first")
        found.extend(children)
    return found


def _lint_dirs(dirs: list[Path], fmt: str, exit_on_findings: bool = True) -> list[Finding]:
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


def main() -> None:
    cli(prog_name="drgen")


from drgen.commands.review import review, scan  # noqa: E402  (they use this module's helpers)

cli.add_command(scan)
cli.add_command(review)

from drgen.commands import bootstrap, deploy, destroy, outputs  # noqa: E402  (they use this module's helpers)

cli.add_command(deploy.deploy)
cli.add_command(deploy.plan_command)
cli.add_command(destroy.destroy)
cli.add_command(outputs.outputs)
cli.add_command(bootstrap.bootstrap)

from drgen.commands import budget  # noqa: E402  (it uses this module's helpers)

cli.add_command(budget.budget)

from drgen.commands import operate  # noqa: E402  (they use this module's helpers)

cli.add_command(operate.readiness)
cli.add_command(operate.failover)
cli.add_command(operate.failback)

from drgen.commands import quotas  # noqa: E402  (it uses this module's helpers)

cli.add_command(quotas.quotas)

from drgen.commands import preflight  # noqa: E402  (it uses this module's helpers)

cli.add_command(preflight.preflight)

from drgen.commands import drill, sandbox  # noqa: E402  (they use this module's helpers)

cli.add_command(drill.drill)
cli.add_command(sandbox.sandbox)
