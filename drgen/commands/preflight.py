"""``drgen preflight``: what the account must hold before a deploy, one line per check and Region; and ``guard``,
the same checks that ``drgen plan`` and ``drgen deploy`` run before anything is created."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import MODE, OUTPUT, Source, load_bundle, make_aws, source_options, target_options
from drgen.commands.quotas import quota_lines, quota_refusal, to_create
from drgen.deploy.target import Target
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.bundle.manifest import StackEntry
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.plan import Plan
    from drgen.deploy.session import Aws


@click.command()
@source_options
@MODE
@target_options
@click.option("--output", type=OUTPUT, default="text", show_default=True, help="json: a list of the checks.")
@click.option("--json", "as_json", is_flag=True, help="Same as --output json.")
@handle_errors
@cloud_errors
def preflight(
    source: Source,
    suffix: str,
    mode: str,
    target: Target,
    output: str,
    as_json: bool,
) -> None:
    """Check what the account must hold before a deploy creates anything, one line per check and Region:
    OK, FAIL (with the command or setting that fixes it) or UNKNOWN (AWS did not say).

    \b
    Checks:
      account       the credentials are for the account the scenario names (`account:`)
      region        each Region is enabled (opt-in Regions such as eu-central-2 must be)
      zone          the domain can be served, its public zone exists and public DNS delegates to it
      service-role  the service-linked roles the key policies name exist (or deploy may create them)
      orderable     the Aurora engine version and instance class are orderable for a global database
      image         the ECS images are in each Region's ECR; the AMI parameter and its AMI exist in each Region
      quotas        the service quotas hold what is still to be created (as `drgen quotas`)
    \b
    Examples:
      drgen preflight -s trading-asg --suffix prod --profile prod
      drgen preflight --bundle templates_out/database-dr --suffix dev --json
    `drgen plan` and `drgen deploy` run the same checks first and refuse on a FAIL.
    Exit status: 0 no check failed, 2 a check failed (or bad input).
    """
    from drgen.preflight import run

    bundle = load_bundle(source, suffix)
    aws = make_aws(target)
    aws.account_id()
    report = run(aws, bundle, lambda: _to_create(aws, bundle, bundle.stacks, mode))
    if as_json or output == "json":
        click.echo(report.to_json())
    else:
        click.echo(report.text())
        click.echo(report.summary(), err=True)
    if report.failed:
        sys.exit(2)


def _to_create(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry], mode: str) -> list[StackEntry]:
    from drgen.deploy import deployer

    return to_create(deployer.preflight(aws, bundle, entries, mode))


def guard(
    aws: Aws, bundle: RenderedBundle, plan: Callable[[], Plan], *, quotas: bool, refuse_quotas: bool, output: str
) -> list[str]:
    """The preflight of ``drgen plan`` and ``drgen deploy``, before anything is created (or read in the Regions:
    ``plan`` gives the stacks' state, read only for the quota check, after the Regions are known to be enabled).

    Refuses (DrgenError, exit 2) on any failed check, naming the first and its fix. An exceeded quota is
    reported as the quota check always was (a ``quota EXCEEDS`` line each): refused with ``refuse_quotas``,
    else returned for the caller to decide. ``quotas`` False skips the quota check (--skip-quota-check).
    """
    from drgen.preflight import run
    from drgen.preflight.model import first_failure

    report = run(aws, bundle, (lambda: to_create(plan())) if quotas else None)
    problems = quota_lines(report.quotas) if report.quotas is not None else []
    others = [c for c in report.failed if not (c.name == "quotas" and report.quotas is not None)]
    if output == "text":
        click.echo(f"{report.summary()} (`drgen preflight` lists each check)", err=True)
    if len(others) > 1:
        for check in others:
            click.echo(f"preflight FAIL: {check.where} {check.name}: {check.detail}", err=True)
    if others:
        raise DrgenError(first_failure(others))
    if problems and refuse_quotas:
        raise DrgenError(quota_refusal(problems))
    return problems
