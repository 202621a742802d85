"""``drgen budget``: the RTO and RPO a scenario's templates add up to, against its objectives."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from drgen.cli.errors import handle_errors
from drgen.errors import DrgenError


@click.command()
@click.option("--scenario", "-s", metavar="NAME", help="A preset, rendered in memory.")
@click.option(
    "--bundle",
    "bundle_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="A rendered bundle directory (templates_out/<scenario>).",
)
@click.option("--suffix", help="Environment suffix when rendering a preset (else $ENVIRONMENT_SUFFIX, 'dev').")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def budget(scenario: str | None, bundle_dir: Path | None, suffix: str | None, output: str) -> None:
    """The RTO and RPO budget: every term read from the rendered templates, with its source and, where AWS's
    behaviour is the term, the documented figure and where it is documented.

    \b
    Examples:
      drgen budget -s trading-ecs
      drgen budget --bundle templates_out/database-dr --output json
    Exit status: 0 within the objectives, 1 over one (the output names the settings that fix it, or says why
    nothing can), 2 bad input.
    """
    from drgen.budget import budget_for_bundle, budget_json, format_text

    result = budget_for_bundle(_files(scenario, bundle_dir, suffix))
    click.echo(budget_json(result).decode("utf-8").rstrip("\n") if output == "json" else format_text(result))
    if not result["within_objectives"]:
        sys.exit(1)


def _files(scenario: str | None, bundle_dir: Path | None, suffix: str | None) -> dict[str, bytes]:
    """The bundle's manifest and templates, from a directory or rendered in memory."""
    if (scenario is None) == (bundle_dir is None):
        raise DrgenError("give exactly one of --scenario NAME or --bundle DIR")
    if bundle_dir is None:
        from drgen.render import render
        from drgen.scenario import load

        return render(load(scenario, suffix=suffix)).files
    from drgen.bundle.reader import from_directory

    return from_directory(bundle_dir, suffix).rendered_files()
