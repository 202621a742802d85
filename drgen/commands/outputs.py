"""``drgen outputs``: the deployment record of a scenario (stacks, regions, status, outputs)."""

from __future__ import annotations

import json

import click

from drgen.cli import handle_errors
from drgen.commands.options import OUTPUT
from drgen.errors import DrgenError


@click.command()
@click.option("--scenario", "-s", required=True, metavar="NAME", help="The scenario that was deployed.")
@click.option("--suffix", required=True, help="Its environment suffix.")
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@handle_errors
def outputs(scenario: str, suffix: str, output: str) -> None:
    """Print what `drgen deploy` recorded in .drgen/<scenario>-<suffix>.json."""
    from drgen.deploy import record

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
    for stack in data["stacks"]:
        click.echo(f"{stack['name']:<40} {stack['region']:<14} {stack['status']}")
        for key, value in sorted(stack.get("outputs", {}).items()):
            click.echo(f"    {key} = {value}")
