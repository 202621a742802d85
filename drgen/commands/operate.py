"""``drgen readiness``, ``drgen failover``, ``drgen failback`` and ``drgen drill``: operate the standby.

Exit status: 0 ready / succeeded (or started without --wait), 1 not ready / failed / refused, 2 bad input or
an AWS refusal outside the run (one line), 3 an unplanned run declined or not confirmable (no terminal, no --yes).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import OUTPUT, Source, load_bundle, make_aws, source_options, target_options
from drgen.deploy.target import Target
from drgen.errors import DrgenError
from drgen.lambda_code import contract

if TYPE_CHECKING:
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.session import Aws
    from drgen.operate.asl import Step
    from drgen.operate.environment import Environment
    from drgen.operate.failover import Outcome
    from drgen.scenario.model import Scenario


def scenario_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Which deployed environment: --scenario NAME | --config FILE | --bundle DIR, and --suffix."""
    return source_options(func)


def _environment(source: Source, suffix: str, aws: Aws, *, dr_only: bool = False) -> Environment:
    """The deployed environment; in a moto sandbox kept after `drgen deploy`, first what moto's CloudFormation
    skipped (the Aurora clusters, alarms, ...), created once through the APIs, as the drill does (stderr says so).

    ``dr_only``: read the DR region's stacks alone. A failover must not depend on the region it leaves: the
    machine it starts, and everything it reads, are the DR region's (drgen/operate/failover.py), and with the
    primary region lost its CloudFormation answers nothing, or only after every retry has timed out.
    """
    from drgen.operate.environment import resolve

    bundle = load_bundle(source, suffix)
    scenario = scenario_of(source, bundle)
    environment = resolve(aws, scenario, bundle, frozenset({scenario.regions.secondary}) if dr_only else None)
    if aws.sandbox:
        from drgen.operate.moto_standins import provision, provisioned

        if not provisioned(aws, environment):  # provisioning reads every stack
            for made in provision(aws, resolve(aws, scenario, bundle), bundle):
                click.echo(f"sandbox, created once: {made}", err=True)
    return environment


def _check_health_url(aws: Aws, health_url: str | None, on_aws: str) -> None:
    """--health-url stands in for the application moto does not run: a sandbox's only, and a usable URL."""
    if health_url is None:
        return
    if not aws.sandbox:
        raise DrgenError(f"--health-url is for a moto sandbox only: on AWS {on_aws}")
    from drgen.deploy.target import check_url

    check_url(health_url, "--health-url", "http://127.0.0.1:5001/health")


def scenario_of(source: Source, bundle: RenderedBundle) -> Scenario:
    """The scenario behind ``source`` (with ``bundle``'s suffix): a bundle carries the scenario it was rendered
    from (its manifest's definition); one from an older drgen names a preset, or needs the scenario file."""
    from drgen.scenario import PRESETS, load
    from drgen.scenario.loader import from_definition

    source.check()
    suffix = bundle.suffix
    if source.config is not None:
        return load(config=source.config, suffix=suffix)
    if source.bundle_dir is not None:
        if bundle.definition is not None:  # the scenario it was rendered from, preset or file
            return from_definition(bundle.definition, f"{source.bundle_dir}/manifest.json: definition")
        name = bundle.scenario
        if name not in PRESETS:
            raise DrgenError(
                f"{source.bundle_dir} was rendered from a scenario file ({name}); pass that file with --config"
            )
        return load(name, suffix=suffix)
    return load(source.preset or "", suffix=suffix)


def step_line(step: Step, budget: tuple[float | None, str] | None = None) -> str:
    mark = "ok" if step.ok else "FAILED"
    column = ""
    if budget is not None:
        column = f"{'-' if budget[0] is None else f'{budget[0]:g} s':>8}  "
    detail = f"  {step.detail}" if step.detail else ""
    return f"  {step.state:<22} {step.kind:<8} {step.started:>8.3f} {step.seconds:>8.3f} s  {column}{mark}{detail}"


def _echo_step(output: str) -> Callable[[Step], None]:
    return (lambda step: click.echo(step_line(step))) if output == "text" else (lambda _: None)


# -- readiness -----------------------------------------------------------------------------------------------
@click.command()
@scenario_options
@target_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@click.option(
    "--health-url",
    metavar="URL",
    help="Sandbox only: the URL the DR readiness function probes instead of the deployed endpoint (moto serves none).",
)
@handle_errors
@cloud_errors
def readiness(
    source: Source,
    suffix: str,
    health_url: str | None,
    target: Target,
    output: str,
) -> None:
    """Check that the DR region could take over now; exit 1 when any check fails.

    \b
    Checks: the DR cluster attached to the global cluster (the writer elsewhere), replication lag under the
    scenario's threshold, the sessions table's DR replica, bucket replication, DR compute able to scale,
    the health checks and Route 53's answer, the failover state machine, the replicated secret; then it runs
    the DR region's readiness function, whose first pass arms the failover triggers (until then every
    trigger stands down: a new environment's alarms pass through ALARM while they settle).
    """
    from drgen.operate.readiness import armed, check_all

    aws = make_aws(target)
    _check_health_url(aws, health_url, "the readiness function probes the endpoint")
    environment = _environment(source, suffix, aws)
    checks = check_all(aws, environment)
    checks.append(armed(aws, environment, {contract.HEALTH_URL: health_url} if health_url else None))
    ready = all(c.ok for c in checks)
    scenario = environment.scenario.name
    if output == "json":
        click.echo(
            json.dumps(
                {"scenario": scenario, "suffix": suffix, "ready": ready, "checks": [c.to_dict() for c in checks]},
                indent=2,
            )
        )
    else:
        click.echo(f"{'CHECK':<20} {'':<6} DETAIL")
        for check in checks:
            click.echo(f"{check.name:<20} {'ok' if check.ok else 'FAILED':<6} {check.detail}")
        click.echo(f"{scenario} ({suffix}): {'ready' if ready else 'NOT ready'}")
    if not ready:
        sys.exit(1)


# -- failover / failback -------------------------------------------------------------------------------------
def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--output", type=OUTPUT, default="text", show_default=True)(func)
    func = click.option(
        "--health-url",
        metavar="URL",
        help="Sandbox only: the URL the validate step probes instead of the deployed DR endpoint (moto serves none).",
    )(func)
    func = click.option("--wait", is_flag=True, help="Follow the execution step by step until it ends.")(func)
    func = click.option("--yes", "-y", is_flag=True, help="Do not ask before an unplanned run (it may lose data).")(
        func
    )
    return click.option("--dry-run", is_flag=True, help="Show the execution that would start; change nothing.")(func)


def _operate(
    mode: str,
    source: Source,
    suffix: str,
    aws: Aws,
    planned: bool | None,
    force: bool,
    dry_run: bool,
    wait: bool,
    output: str,
    health_url: str | None,
    yes: bool,
) -> None:
    from drgen.commands.confirm import ask
    from drgen.operate import failover

    if planned is None:
        raise DrgenError(
            f"say which {mode}: --planned (a switchover that waits for replication: nothing lost, the other region "
            "must be up) or --unplanned (promote at once: writes not yet replicated are lost)"
        )
    _check_health_url(aws, health_url, "the validate step probes the deployed URL")
    environment = _environment(source, suffix, aws, dr_only=mode == contract.FAILOVER)
    scenario = environment.scenario.name
    wanted = failover.request(mode, planned, force)
    if dry_run:
        plan = failover.plan(aws, environment, wanted)
        if output == "json":
            click.echo(json.dumps(plan, indent=2))
            return
        click.echo(f"dry run: would start {plan['execution']} on {plan['state_machine']} ({plan['where']})")
        click.echo(f"  input {json.dumps(plan['input'], sort_keys=True)}; writer now {plan['writer_now'] or 'none'}")
        for step in plan["steps"]:
            click.echo(f"  {step}")
        return
    if mode == contract.FAILBACK and not force:
        refusal = failover.lag_refusal(aws, environment)
        if refusal:
            click.echo(f"drgen: failback refused: {refusal}; wait for replication, or pass --force", err=True)
            sys.exit(1)
    if aws.sandbox:
        _refuse_unserved_promotion(aws, environment)
    if not planned:
        ask(
            f"An unplanned {mode} of {scenario} ({suffix}) promotes at once; writes not yet replicated are lost "
            f"(up to the RPO). Start it?",
            yes=yes,
        )
    if output == "text":
        click.echo(f"{mode} of {scenario} ({suffix}), {'planned' if planned else 'unplanned'}")
    overrides = {contract.HEALTH_URL: health_url, contract.PRIMARY_HEALTH_URL: health_url} if health_url else None
    outcome = failover.run(aws, environment, wanted, wait=wait, on_step=_echo_step(output), overrides=overrides)
    _print_outcome(outcome, output)
    if not outcome.ok:
        sys.exit(1)


def _refuse_unserved_promotion(aws: Aws, environment: Environment) -> None:
    from drgen.operate.moto_standins import PROMOTIONS, unserved_promotion

    missing = unserved_promotion(aws, environment.dr)
    if missing:
        raise DrgenError(
            f"the sandbox at {aws.target.endpoint_url} does not serve RDS {missing}, which the promote step calls "
            f"(moto implements neither {' nor '.join(PROMOTIONS)}); run the sandbox with `drgen sandbox`, which "
            "answers them as `drgen drill` does"
        )


def _print_outcome(outcome: Outcome, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(outcome.to_dict(), indent=2, default=str))
        return
    for note in outcome.notes:
        click.echo(f"note: {note}")
    if outcome.run is None:
        click.echo(f"started {outcome.execution_arn}; follow it with --wait or in the Step Functions console")
        return
    output_ = outcome.run.output
    validation = (output_ or {}).get(contract.VALIDATION) or {} if isinstance(output_, dict) else {}
    for check in validation.get(contract.CHECKS, []):
        verdict = "ok" if check[contract.CHECK_OK] else "FAILED"
        click.echo(f"validate: {check[contract.CHECK_NAME]} {verdict}: {check[contract.CHECK_DETAIL]}")
    why = f": {outcome.run.error} {outcome.run.cause}".rstrip() if outcome.run.error else ""
    click.echo(f"{outcome.name}: {outcome.run.status} in {outcome.run.seconds:.3f} s{why}")
    if outcome.changed_nothing:
        click.echo(f"nothing changed: {outcome.changed_nothing}")
        if contract.NOT_ARMED in outcome.changed_nothing:
            click.echo("the triggers arm at the first passing readiness test: run `drgen readiness`, or pass --force")


@click.command()
@scenario_options
@click.option(
    "--planned/--unplanned",
    default=None,
    help="Required. Planned: a switchover that waits for replication (no loss); unplanned: promote at once "
    "once the failure signals agree (or one persists); it asks first (--yes: do not ask).",
)
@click.option(
    "--force",
    is_flag=True,
    help="An operator's decision: go ahead before the first readiness test armed the environment, and "
    "without waiting for the failure signals to agree.",
)
@_run_options
@target_options
@handle_errors
@cloud_errors
def failover(
    source: Source,
    suffix: str,
    planned: bool | None,
    force: bool,
    dry_run: bool,
    yes: bool,
    wait: bool,
    health_url: str | None,
    output: str,
    target: Target,
) -> None:
    """Start the DR region's failover state machine (idempotent execution name); --wait follows each step.

    \b
    Examples:
      drgen failover -s database-dr --suffix prod --planned --wait        # switchover, nothing lost
      drgen failover -s database-dr --suffix prod --unplanned --wait      # asks first; --yes in automation

    \b
    The machine refuses quietly before the environment's first passing readiness test (`drgen readiness`),
    and an unplanned run waits until two failure signals agree (or one has persisted) unless --force.
    Against a moto endpoint the machine's steps run here with the Lambda code (moto cannot execute it).
    """
    aws = make_aws(target)
    _operate(contract.FAILOVER, source, suffix, aws, planned, force, dry_run, wait, output, health_url, yes)


@click.command()
@scenario_options
@click.option("--planned/--unplanned", default=True, show_default=True, help="A failback is planned by default.")
@click.option("--force", is_flag=True, help="Fail back even though replication to the primary region lags.")
@_run_options
@target_options
@handle_errors
@cloud_errors
def failback(
    source: Source,
    suffix: str,
    planned: bool,
    force: bool,
    dry_run: bool,
    yes: bool,
    wait: bool,
    health_url: str | None,
    output: str,
    target: Target,
) -> None:
    """Make the primary region the writer again; refused while its replica lags (exit 1) unless --force."""
    aws = make_aws(target)
    _operate(contract.FAILBACK, source, suffix, aws, planned, force, dry_run, wait, output, health_url, yes)
