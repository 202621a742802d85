"""``drgen outputs``: the deployment record of a scenario (stacks, regions, status, outputs).

The outputs the seeds ask for come first, under their own heading, in the order the global stack's
``SeedOutputs`` lists them (drgen/builders/summary.py); then every stack with the rest of its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from drgen.cli import handle_errors
from drgen.commands.options import OUTPUT
from drgen.errors import DrgenError


@click.command()
@click.option("--scenario", "-s", metavar="NAME", help="The preset that was deployed.")
@click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False), help="Or the scenario file.")
@click.option("--suffix", required=True, envvar="ENVIRONMENT_SUFFIX", help="Its environment suffix.")
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@handle_errors
def outputs(scenario: str | None, config: Path | None, suffix: str, output: str) -> None:
    """Print what `drgen deploy` recorded in .drgen/<scenario>-<suffix>.json."""
    from drgen.deploy import record

    if (scenario is None) == (config is None):
        raise DrgenError("give exactly one of --scenario NAME or --config FILE")
    if config is not None:
        from drgen.scenario import load

        scenario = load(config=config, suffix=suffix).name

    path = record.path_for(scenario, suffix)
    data = record.load(path)
    if data is None:
        raise DrgenError(f"no deployment record at {path}; run `drgen deploy -s {scenario} --suffix {suffix}` first")
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    where = data.get("endpoint") or f"account {data.get('account')}"
    last = f"last {data['operation']} {data['updated']}"
    click.echo(f"{data['scenario']} ({data['suffix']}), {data['mode']} mode, {where}, {last}")
    shown = _seed_outputs(data["stacks"])
    if shown:
        click.echo("Stacks:")
    for stack in data["stacks"]:
        click.echo(f"{stack['name']:<40} {stack['region']:<14} {stack['status']}")
        for key, value in sorted(stack.get("outputs", {}).items()):
            if (stack["name"], key) not in shown:
                click.echo(f"    {key} = {value}")


def _seed_outputs(stacks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Print the outputs the seeds ask for first, in the order the global stack lists them; return the
    (stack, output) pairs shown, so the stack listing after them does not repeat them."""
    from drgen.builders.summary import SEED_OUTPUTS

    shown: set[tuple[str, str]] = set()
    for stack in stacks:
        outputs = stack.get("outputs", {})
        if SEED_OUTPUTS not in outputs:
            continue  # not the global stack, or one deployed before it listed them
        click.echo(f"Seed outputs ({stack['name']}, {stack['region']}):")
        for key in outputs[SEED_OUTPUTS].split(","):
            if key in outputs:
                click.echo(f"    {key} = {outputs[key]}")
                shown.add((stack["name"], key))
        shown.add((stack["name"], SEED_OUTPUTS))
    return shown
