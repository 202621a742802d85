"""``drgen outputs``: the deployment record of a scenario (stacks, regions, status, outputs).

The outputs the seeds ask for come first, under their own heading, in the order the global stack's
``SeedOutputs`` lists them (drgen/builders/summary.py); then every stack with the rest of its outputs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from drgen.cli import handle_errors
from drgen.commands.options import (
    OUTPUT,
    Source,
    cloud_errors,
    load_bundle,
    make_aws,
    source_options,
    target_options,
)
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.deploy.bundle import DeployBundle
    from drgen.deploy.session import Aws


@click.command()
@source_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@click.option("--from-cloudformation", "live", is_flag=True,
              help="Read the stacks from CloudFormation instead of the local record (also used when there is none).")
@target_options
@handle_errors
@cloud_errors
def outputs(
    source: Source,
    suffix: str,
    output: str,
    live: bool,
    endpoint_url: str | None,
    profile: str | None,
    retry_mode: str,
    max_attempts: int | None,
    poll_seconds: float,
) -> None:
    """Print the deployment: the record `drgen deploy` keeps in .drgen/<scenario>-<suffix>.json (a cache), or,
    without one (another directory or machine) or with --from-cloudformation, what CloudFormation says."""
    from drgen.deploy import record

    source.check()
    name = _scenario_name(source, suffix)
    path = record.path_for(name, suffix)
    data = None if live else record.load(path)
    if data is None:
        aws = make_aws(endpoint_url, profile, retry_mode, max_attempts, poll_seconds)
        data = _from_cloudformation(aws, load_bundle(source, suffix), endpoint_url)
        if not data["stacks"]:
            raise DrgenError(f"nothing of {name} (suffix {suffix}) is deployed there, and no record at {path}")
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


def _scenario_name(source: Source, suffix: str) -> str:
    """The deployed scenario's name, without rendering it (a bundle directory: its manifest's)."""
    from drgen.scenario import load

    if source.preset is not None:
        return source.preset
    if source.bundle_dir is not None:
        return load_bundle(source, suffix).scenario
    return load(config=source.config, suffix=suffix).name


def _from_cloudformation(aws: Aws, bundle: DeployBundle, endpoint_url: str | None) -> dict[str, Any]:
    """The record's shape, read from CloudFormation: each stack as deployed (stacks, else StackSets mode)."""
    from drgen.deploy.deployer import find

    stacks = []
    modes = set()
    for entry in bundle.stacks:
        for mode in ("stacks", "stacksets"):
            state = find(aws, bundle, mode, entry)
            if state is not None:
                modes.add(mode)
                stacks.append({"name": entry.name, "region": entry.region, "status": state.status,
                               "outputs": dict(state.outputs)})
                break
    return {
        "scenario": bundle.scenario,
        "suffix": bundle.suffix,
        "mode": "+".join(sorted(modes)) or "stacks",
        "endpoint": endpoint_url,
        "account": aws.account_id(),
        "operation": "read",
        "updated": "now, from CloudFormation",
        "stacks": stacks,
    }


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
