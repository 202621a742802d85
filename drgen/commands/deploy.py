"""``drgen deploy`` and ``drgen plan``: the bundle to an account, in graph order, or what that would do."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import (
    MODE,
    OUTPUT,
    Source,
    exit_on_failure,
    load_bundle,
    make_aws,
    print_results,
    source_options,
    target_options,
)
from drgen.commands.preflight import guard
from drgen.deploy.target import Target

if TYPE_CHECKING:
    from drgen.bundle.manifest import StackEntry
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.plan import Plan
    from drgen.deploy.session import Aws

ONLY = click.option("--only", metavar="STACK", help="Just this stack; the stacks it depends on must be deployed.")


@click.command()
@source_options
@MODE
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask: delete and recreate stacks whose first create failed.")
@ONLY
@click.option("--allow-replace", is_flag=True, help="Allow replacing or removing stateful resources (loses data).")
@click.option("--dry-run", is_flag=True, help="Show the plan (as `drgen plan`) and change nothing.")
@click.option(
    "--skip-quota-check", is_flag=True, help="Deploy even when a service quota would be exceeded (other checks run)."
)
@click.option(
    "--during-failover",
    is_flag=True,
    help="Deploy even though a failover is engaged (the DR region serves); it returns the DR compute to "
    "standby and reopens the PRIMARY record's gate.",
)
@click.option(
    "--require-approval",
    type=click.Choice(("broadening", "never")),
    default="broadening",
    show_default=True,
    envvar="DRGEN_REQUIRE_APPROVAL",
    help="broadening: list the IAM grants, Deny removals, ingress rules and public endpoints the deploy adds to "
    "what is deployed, and ask; never: do not ask (CI, after the change board approved the bundle). "
    "Env: DRGEN_REQUIRE_APPROVAL.",
)
@click.option("--output", type=OUTPUT, default="text", show_default=True, help="json: a summary on stdout at the end.")
@handle_errors
@cloud_errors
def deploy(
    source: Source,
    suffix: str,
    mode: str,
    target: Target,
    yes: bool,
    only: str | None,
    allow_replace: bool,
    dry_run: bool,
    skip_quota_check: bool,
    during_failover: bool,
    require_approval: str,
    output: str,
) -> None:
    """Deploy a scenario to both regions and the global layer, each stack as soon as its dependencies are done.

    \b
    Examples:
      drgen deploy -s database-dr --suffix x --endpoint-url http://127.0.0.1:5000 --yes
      drgen deploy --bundle templates_out/trading-ecs --suffix dev --profile prod
      drgen deploy -s trading-ecs --suffix pr42 --mode stacksets
    Refuses a bundle with lint errors (as `drgen lint` finds them). Then runs the preflight (as `drgen preflight`:
    the account, its Regions, the zone, the service-linked roles, the database's orderability, the images and the
    service quotas) and refuses on any failed check,
    before anything is created; and refuses while a failover is engaged (the DR region serves: a deploy would
    put it back to standby) unless --during-failover; and refuses a stack it cannot get past (DELETE_FAILED,
    UPDATE_FAILED, ...), naming what to run. Exit status: 0 deployed (or nothing to change), 1 a stack failed
    (rerun to resume), 2 bad input, a lint error, a failed preflight check (a service quota too low), a failover
    engaged, or a stack only you can unblock (a rollback that cannot continue: its line says how); 3 the
    broadening or the recreate of a failed first create was not approved (declined, or no terminal to ask on).

    Before any change it lists what the deploy newly grants or exposes against the deployed templates (a first
    deploy: everything) and asks, as `cdk deploy --require-approval broadening` does; --yes does not answer
    this question, --require-approval never does.
    """
    from drgen.deploy import deployer, lint_gate, record
    from drgen.deploy.engaged import engaged_failover
    from drgen.deploy.plan import select
    from drgen.deploy.progress import for_terminal
    from drgen.errors import DrgenError

    bundle = load_bundle(source, suffix)
    entries = select(bundle.stacks, only)
    aws = make_aws(target)
    if dry_run:
        _show_plan(aws, bundle, entries, mode, output)
        return
    lint_gate.refuse_errors(bundle)  # before anything is asked of AWS
    account = aws.account_id()
    current_plan = functools.cache(lambda: deployer.preflight(aws, bundle, entries, mode))
    guard(aws, bundle, current_plan, quotas=not skip_quota_check, refuse_quotas=True, output=output)
    engaged = "" if during_failover else engaged_failover(aws, bundle)
    if engaged:
        raise DrgenError(
            f"a failover of {bundle.scenario} ({bundle.suffix}) is engaged: {engaged}; a deploy would put the serving "
            "DR region back to standby. Fail back first (`drgen failback`), or pass --during-failover"
        )
    current = current_plan()
    deployer.refuse_stuck(aws, current)  # before any question, and before anything is created
    if require_approval == "broadening":
        _approve_broadening(aws, bundle, current)
    options = deployer.DeployOptions(mode, allow_replace, _agreed_recreates(current, yes))
    with for_terminal(f"drgen deploy {bundle.scenario} ({bundle.suffix})", entries, output == "json") as progress:
        results = deployer.deploy(aws, bundle, entries, options, progress)
    path = record.path_for(bundle.scenario, bundle.suffix)
    warning = record.update(path, bundle, results, "deploy", mode, target.endpoint_url, account)
    if warning:
        click.echo(f"drgen: warning: {warning}", err=True)
    print_results(results, output, "deploy")
    if output == "text" and all(r.outcome.value == "no changes" for r in results):
        click.echo("no changes: everything is already deployed as rendered")
    exit_on_failure(results)


def _approve_broadening(aws: Aws, bundle: RenderedBundle, current: Plan) -> None:
    from drgen.commands.confirm import ask
    from drgen.deploy import approval

    found = approval.broadened(aws, bundle, current)
    if found.none:
        return
    click.echo(f"deploy: {approval.headline(found)}:", err=True)
    for line in approval.describe(found):
        click.echo(line, err=True)
    ask("Deploy with these broadened permissions?", yes=False, skip_with="--require-approval never")


def _agreed_recreates(current: Plan, yes: bool) -> frozenset[str]:
    """Ask, per stack whose first create failed, whether to delete and recreate it (``--yes``: all). A no, or no
    terminal to ask on, refuses the deploy (exit 3) before anything is created: the stacks after it could not
    be deployed anyway."""
    from drgen.commands.confirm import ask
    from drgen.deploy.plan import Decision

    agreed = set()
    for stack in current.stacks:
        if stack.decision is not Decision.RECREATE:
            continue
        question = (
            f"{stack.entry.name} ({stack.entry.region}) is {stack.status} after a failed first create; "
            "delete it and create it again?"
        )
        ask(question, yes=yes)
        agreed.add(stack.entry.name)
    return frozenset(agreed)


@click.command(name="plan")
@source_options
@MODE
@target_options
@ONLY
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@handle_errors
@cloud_errors
def plan_command(
    source: Source,
    suffix: str,
    mode: str,
    target: Target,
    only: str | None,
    output: str,
) -> None:
    """Show the deploy graph (order, parallel waves) and, with AWS access, each stack's change set.

    Replacing or removing a stateful resource (database, table, bucket, key) is flagged; deploy refuses it
    without --allow-replace. With credentials the preflight runs first (as `drgen preflight`): a failed check
    exits 2 before the change sets, except an exceeded service quota, which is reported with the plan and exits
    1. Without credentials only the graph is shown.
    """
    from drgen.deploy.plan import select

    bundle = load_bundle(source, suffix)
    aws = make_aws(target)
    _show_plan(aws, bundle, select(bundle.stacks, only), mode, output)


def _show_plan(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry], mode: str, output: str) -> None:
    from drgen.deploy import deployer
    from drgen.deploy.plan import graph_only

    quota_problems: Sequence[str] = ()
    if aws.has_credentials():
        aws.account_id()
        current = functools.cache(lambda: deployer.preflight(aws, bundle, entries, mode))
        quota_problems = guard(aws, bundle, current, quotas=True, refuse_quotas=False, output=output)
        plan = deployer.review(aws, bundle, current())
    else:
        plan = graph_only(bundle.scenario, bundle.suffix, mode, entries)
        if output == "text":
            click.echo("no AWS credentials: showing the graph only (no change sets)", err=True)
    click.echo(json.dumps(plan.to_dict(), indent=2) if output == "json" else format_plan(plan))
    if quota_problems:
        sys.exit(1)


def format_plan(plan: Plan) -> str:
    lines = [
        f"plan: {plan.scenario} (suffix {plan.suffix}, {plan.mode} mode): "
        f"{len(plan.stacks)} stack(s) in {plan.wave_count} wave(s); a stack starts when its dependencies are done"
    ]
    for wave in range(plan.wave_count):
        lines.append(f"wave {wave + 1}")
        for stack in (s for s in plan.stacks if s.wave == wave):
            state = "" if stack.decision is None else f"{stack.status or 'not deployed'} -> {stack.decision.value}"
            after = f"  after {', '.join(stack.entry.depends_on)}" if stack.entry.depends_on else ""
            lines.append(f"  {stack.entry.name:<40} {stack.entry.region:<14} {state}{after}")
            if stack.changes is not None and not stack.changes:
                lines.append("      no changes")
            for change in stack.changes or ():
                flag = "  !! loses data: needs --allow-replace" if change.destructive else ""
                replacement = f"  replacement={change.replacement}" if change.replacement else ""
                lines.append(
                    f"      {change.action:<7} {change.logical_id} ({change.resource_type}){replacement}{flag}"
                )
            if stack.note:
                lines.append(f"      {stack.note}")
    return "\n".join(lines)
