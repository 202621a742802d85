"""``drgen drill``: rehearse a failover and failback end to end, locally on moto or live, with a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import OUTPUT, Source, make_aws, target_options
from drgen.commands.operate import scenario_of, step_line
from drgen.deploy.target import Target
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.operate.drill_report import Report


@click.command()
@click.option("--scenario", "-s", metavar="NAME", help="A preset.")
@click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False), help="Or a scenario YAML file.")
@click.option(
    "--bundle",
    "bundle_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Or a rendered bundle of a preset (drilled as rendered, with its suffix).",
)
@click.option(
    "--suffix",
    default=None,
    envvar="ENVIRONMENT_SUFFIX",
    help="Suffix (local: 'drill'; --live: the deployed one, required; else $ENVIRONMENT_SUFFIX).",
)
@click.option("--live", is_flag=True, help="Against a real deployed account: a planned switchover and back.")
@click.option(
    "--planned/--unplanned",
    default=False,
    show_default=True,
    help="Local: a planned switchover with the primary up, or the primary region lost (then recovered).",
)
@target_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@handle_errors
@cloud_errors
def drill(
    scenario: str | None,
    config: Path | None,
    bundle_dir: Path | None,
    suffix: str | None,
    live: bool,
    planned: bool,
    target: Target,
    output: str,
) -> None:
    """Rehearse a failover end to end and print a report with each step's time beside the budget's term.

    \b
    Local (default): starts moto's server, deploys, creates through the APIs what moto cannot create from
    the templates; then on a simulated clock arms the triggers (the readiness function), fails the primary
    (--unplanned, default) or not (--planned), runs the failover steps with the Lambda code, lets a day pass,
    fails back. Verifies the writer, DR capacity, notification, the primary writing again, and where Route 53
    sends clients: a timeline from drgen's model of Route 53 at 0, 1, 2, 5, 30 minutes and 24 hours after
    the DNS step, and after the failback. Needs nothing running. What only a live drill can show: the
    README's "What the drill proves".
    --live: a planned switchover to the DR region and back in a real account (uses --profile).
    """
    from drgen.bundle.reader import from_directory
    from drgen.operate import drill as drills
    from drgen.scenario import load

    source = Source(scenario, config, bundle_dir)
    source.check()
    bundle = from_directory(bundle_dir, suffix) if bundle_dir is not None else None
    text = output == "text"

    def line(message: str) -> None:
        if text:
            click.echo(message)

    if live:
        if suffix is None and bundle is None:
            raise DrgenError("--live needs --suffix: the suffix the scenario is deployed with")
        aws = make_aws(target)
        chosen = scenario_of(source, bundle) if bundle else load(scenario, config, suffix=suffix)
        report = drills.live(aws, chosen, line, lambda _: None, bundle)
    else:
        if target.endpoint_url:
            raise DrgenError("the local drill starts its own moto server: drop --endpoint-url (or use --live)")
        if bundle is not None:
            chosen = scenario_of(source, bundle)
        else:
            chosen = load(scenario, config, suffix=suffix or drills.DRILL_SUFFIX)
        report = drills.local(chosen, line, lambda _: None, planned=planned, bundle=bundle)
    if text:
        click.echo(format_report(report))
    else:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    if not report.ok:
        sys.exit(1)


def format_report(report: Report) -> str:
    """The drill report: each run's steps with their time and the budget's term, then the verifications."""
    lines = [f"drill report: {report.scenario}, {report.mode} ({report.where})"]
    if report.created:
        lines.append("created through the service APIs (moto's CloudFormation skips them):")
        lines += [f"  {c}" for c in report.created]
    if report.standins:
        lines.append("stand-ins:")
        lines += [f"  {s}" for s in report.standins]
    budget_note = "" if report.budget else " (no budget terms: drgen budget unavailable)"
    for phase, outcome in report.phases:
        lines.append(f"{phase}: {outcome.name} ({'local' if outcome.local else 'Step Functions'}){budget_note}")
        lines.append(f"  {'STATE':<22} {'TYPE':<8} {'AT':>8} {'TOOK':>10}  {'BUDGET':>8}  RESULT")
        for step in outcome.run.steps if outcome.run else []:
            lines.append(step_line(step, report.budget.get(step.state, (None, ""))))
        if outcome.run:
            lines.append(f"  {outcome.run.status} in {outcome.run.seconds:.3f} s")
    for run, samples in report.timelines.items():
        lines.append(f"DNS ({run}), by drgen's model of Route 53, after the DNS step:")
        lines += [f"  +{offset:>8.0f} s  {moment.answer:<9} {moment.target}" for offset, moment in samples]
    lines.append("verified:")
    lines += [f"  {'ok' if v.ok else 'FAILED':<6} {v.name:<20} {v.detail}" for v in report.verifications]
    lines.append(f"drill {'PASSED' if report.ok else 'FAILED'}")
    return "\n".join(lines)
