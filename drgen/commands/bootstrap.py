"""``drgen bootstrap --stacksets``: the account-level roles StackSets mode needs, deployed once."""

from __future__ import annotations

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import OUTPUT, exit_on_failure, make_aws, print_results, target_options
from drgen.deploy.target import Target
from drgen.errors import DrgenError


@click.command()
@click.option("--stacksets", is_flag=True, help="Deploy the StackSet administration and execution roles.")
@click.option(
    "--scenario",
    "-s",
    "scenarios",
    multiple=True,
    metavar="NAME",
    help="Presets whose regions the roles serve (repeatable; default every preset). Opt-in regions need it.",
)
@target_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@handle_errors
@cloud_errors
def bootstrap(
    stacksets: bool,
    scenarios: tuple[str, ...],
    target: Target,
    output: str,
) -> None:
    """Prepare the account once: with --stacksets, the roles self-managed StackSets run with.

    The stack (drgen-stackset-roles, us-east-1) holds AWSCloudFormationStackSetAdministrationRole and
    AWSCloudFormationStackSetExecutionRole; for opt-in regions the administration role also trusts the
    regional CloudFormation principal. The execution role allows the services the chosen presets' regional
    templates need (derived from the resource schemas cfn-lint ships).
    """
    from drgen.deploy import bootstrap as roles
    from drgen.deploy import deployer
    from drgen.deploy.progress import for_terminal
    from drgen.scenario import PRESETS, preset

    if not stacksets:
        raise DrgenError("nothing to bootstrap: pass --stacksets (deploy creates the artifact buckets itself)")
    chosen = [preset(name) for name in scenarios] or list(PRESETS.values())
    regions = {r for s in chosen for r in (s.regions.primary, s.regions.secondary)}
    bundle = roles.roles_bundle(regions, chosen)  # the execution role allows what their templates need
    aws = make_aws(target)
    aws.account_id()
    with for_terminal("drgen bootstrap", bundle.stacks, output == "json") as progress:
        results = deployer.deploy(aws, bundle, bundle.stacks, deployer.DeployOptions(), progress)
    print_results(results, output, "bootstrap")
    exit_on_failure(results)
