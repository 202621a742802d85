"""``drgen destroy``: every stack of a scenario, in reverse order, after listing the data that goes with it."""

from __future__ import annotations

import sys

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import (
    OUTPUT,
    Source,
    exit_on_failure,
    load_bundle,
    make_aws,
    print_results,
    source_options,
    target_options,
)
from drgen.deploy.target import Target


@click.command()
@source_options
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting data.")
@click.option("--dry-run", is_flag=True, help="List the data and the order; delete nothing.")
@click.option("--purge-artifacts", is_flag=True, help="Also delete the per-region artifact buckets.")
@click.option("--output", type=OUTPUT, default="text", show_default=True, help="json: a summary on stdout at the end.")
@handle_errors
@cloud_errors
def destroy(
    source: Source,
    suffix: str,
    target: Target,
    yes: bool,
    dry_run: bool,
    purge_artifacts: bool,
    output: str,
) -> None:
    """Delete a scenario's stacks (or stack set instances) in reverse dependency order.

    Lists the data that will be lost (buckets with object counts, databases, tables) and asks first: with data,
    type the scenario's name (--yes: do not ask). Buckets lose their replication and every object version before
    their stack goes; DeletionProtection is turned off by an update first where the stack's status allows one (a
    failed first create is deleted as it is; a running operation is waited for). A stack CloudFormation would not
    delete (termination protection on, or a database with deletion protection on that no update can turn off) is
    refused before anything is asked or deleted, with the command that clears it. Exit status: 0 destroyed, 1 a
    stack failed, 2 bad input or a stack only you can unblock, 3 declined or not confirmable (no terminal and no
    --yes).

    \b
    Example:
      drgen destroy -s database-dr --suffix x --endpoint-url http://127.0.0.1:5000 --yes
    """
    from drgen.commands.confirm import ask, typed
    from drgen.deploy import destroy as destroying
    from drgen.deploy import record
    from drgen.deploy.plan import wave_numbers
    from drgen.deploy.progress import for_terminal

    bundle = load_bundle(source, suffix)
    aws = make_aws(target)
    account = aws.account_id()
    entries = bundle.stacks
    destroying.refuse_undeletable(aws, bundle, entries)  # before the question and before any deletion
    items = destroying.inventory(aws, bundle, entries)
    waves = wave_numbers(entries)
    order = sorted(entries, key=lambda e: -waves[e.name])
    click.echo(
        f"destroy {bundle.scenario} ({bundle.suffix}), in this order: " + ", ".join(e.name for e in order), err=True
    )
    if items:
        click.echo("data that will be lost:", err=True)
        for item in items:
            click.echo(f"  {item.line()}", err=True)
    else:
        click.echo("no data found in deployed stacks", err=True)
    if dry_run:
        return
    if items:  # data goes: the scenario's name typed, as for deleting a repository on a forge
        typed(bundle.scenario, f"Delete {len(entries)} stack(s) and the data above?", yes=yes)
    else:
        ask(f"Delete {len(entries)} stack(s)?", yes=yes)
    with for_terminal(f"drgen destroy {bundle.scenario} ({bundle.suffix})", entries, output == "json") as progress:
        results = destroying.destroy(aws, bundle, entries, progress)
        left = destroying.sets_left(aws, bundle, entries)
        if purge_artifacts and not left and all(r.outcome.ok for r in results):
            destroying.purge_artifacts(aws, bundle, progress.note)
    path = record.path_for(bundle.scenario, bundle.suffix)
    warning = record.update(path, bundle, results, "destroy", None, target.endpoint_url, account)
    if warning:
        click.echo(f"drgen: warning: {warning}", err=True)
    print_results(results, output, "destroy")
    for line in left:  # not a stack of the bundle's, so not in the results: on stderr, as failed
        click.echo(f"drgen: failed: {line}", err=True)
    exit_on_failure(results)
    if left:
        sys.exit(1)
