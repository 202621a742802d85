"""``drgen outputs``: the deployment record of a scenario (stacks, regions, status, outputs).

The outputs the seeds ask for come first, under their own heading, in the order the global stack's
``SeedOutputs`` lists them (drgen/builders/summary.py); then every stack with the rest of its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import OUTPUT, Source, load_bundle, make_aws, source_options, target_options
from drgen.deploy.target import Target
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.session import Aws


@click.command()
@source_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@click.option(
    "--from-record",
    "offline",
    is_flag=True,
    help="Print the local record (.drgen/<scenario>-<suffix>.json) without asking CloudFormation; it may be stale.",
)
@target_options
@handle_errors
@cloud_errors
def outputs(
    source: Source,
    suffix: str,
    output: str,
    offline: bool,
    target: Target,
) -> None:
    """Print what is deployed: every stack with its status and outputs, read from CloudFormation (the truth), the
    outputs the seeds ask for first. The local record `drgen deploy` keeps (.drgen/<scenario>-<suffix>.json) is a
    cache: printed only with --from-record, or when CloudFormation cannot be asked (with a warning), and named when
    it disagrees with CloudFormation."""
    from drgen.deploy import record

    source.check()
    name = _scenario_name(source, suffix)
    path = record.path_for(name, suffix)
    if offline:
        data = record.load(path)
        if data is None:
            raise DrgenError(f"no record at {path}; drop --from-record to read CloudFormation")
    else:
        data = _live(source, suffix, path, make_aws(target))
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


def _live(source: Source, suffix: str, path: Path, aws: Aws) -> dict[str, Any]:
    """The deployment from CloudFormation; the record when CloudFormation cannot be asked (with a warning)."""
    from drgen.deploy import record
    from drgen.deploy.session import CLOUD_ERRORS, error_text

    bundle = load_bundle(source, suffix)  # bad input is an error, not a reason to fall back
    try:
        cached = record.load(path)
    except DrgenError:
        cached = None  # an unreadable cache is no cache
    try:
        data = _from_cloudformation(aws, bundle)
    except (*CLOUD_ERRORS, DrgenError) as exc:  # type: ignore[misc]
        reason = error_text(exc) if isinstance(exc, CLOUD_ERRORS) else str(exc)
        if cached is None:
            raise DrgenError(f"{reason}; and no local record at {path} to fall back to") from None
        click.echo(
            f"drgen: warning: CloudFormation could not be asked ({reason}); showing the local record of "
            f"{cached.get('updated')}, which may be stale",
            err=True,
        )
        return cached
    if not data["stacks"]:
        stale = (
            f"; the local record at {path} (last {cached.get('operation')} {cached.get('updated')}) is stale"
            if cached and cached.get("operation") != "destroy"
            else ""
        )
        raise DrgenError(f"nothing of {bundle.scenario} (suffix {suffix}) is deployed there{stale}")
    if cached is not None and _summary(cached) != _summary(data):
        click.echo(f"note: the local record at {path} differs from CloudFormation (shown); it is a cache", err=True)
    return data


def _summary(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the record and CloudFormation should agree on: each stack's name, status and outputs."""
    return sorted(
        (s["name"], s.get("status", ""), json.dumps(s.get("outputs", {}), sort_keys=True))
        for s in data.get("stacks", [])
    )


def _scenario_name(source: Source, suffix: str) -> str:
    """The deployed scenario's name, without rendering it (a bundle directory: its manifest's)."""
    from drgen.scenario import load

    if source.preset is not None:
        return source.preset
    if source.bundle_dir is not None:
        return load_bundle(source, suffix).scenario
    return load(config=source.config, suffix=suffix).name


def _from_cloudformation(aws: Aws, bundle: RenderedBundle) -> dict[str, Any]:
    """The record's shape, read from CloudFormation: each stack as deployed, a plain stack or a stack set
    instance's (the mode is StackSets when any regional layer is an instance)."""
    from drgen.deploy.destroy import locate

    stacks, instances = [], False
    for entry in bundle.stacks:
        located = locate(aws, bundle, entry)
        if located is not None:
            instances = instances or located.instance
            state = located.state
            stacks.append(
                {"name": entry.name, "region": entry.region, "status": state.status, "outputs": dict(state.outputs)}
            )
    return {
        "scenario": bundle.scenario,
        "suffix": bundle.suffix,
        "mode": "stacksets" if instances else "stacks",
        "endpoint": aws.target.endpoint_url,
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
