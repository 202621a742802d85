"""``drgen quotas``: will the account's service quotas hold what the bundle creates, in each region?

Also the preflight ``drgen plan`` and ``drgen deploy`` run first (``quota_preflight``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from drgen.cli.errors import cloud_errors, handle_errors
from drgen.cli.options import MODE, OUTPUT, Source, load_bundle, make_aws, source_options, target_options
from drgen.deploy.target import Target
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.bundle.manifest import StackEntry
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.plan import Plan
    from drgen.deploy.quota_model import Report
    from drgen.deploy.session import Aws


@click.command()
@source_options
@MODE
@target_options
@click.option("--output", type=OUTPUT, default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --output json.")
@handle_errors
@cloud_errors
def quotas(
    source: Source,
    suffix: str,
    mode: str,
    target: Target,
    output: str,
    as_json: bool,
) -> None:
    """Compare what the bundle creates in each region (and account-wide) with what the account already uses
    and its service quotas: VPCs, Elastic IPs, DB clusters and instances, load balancers, Fargate and EC2
    vCPUs at failover capacity, Lambda concurrency, Route 53 health checks, IAM roles, S3 buckets.

    \b
    Examples:
      drgen quotas -s trading-asg --suffix prod --profile prod
      drgen quotas --bundle templates_out/database-dr --suffix dev --json
    Verdicts: OK, TIGHT (over 80% of the quota), EXCEEDS, unknown (AWS did not say).
    Exit status: 0 everything fits, 1 a quota would be exceeded (each with the command that asks for more),
    2 bad input.
    """
    from drgen.deploy import deployer
    from drgen.deploy.quotas import check, format_text

    bundle = load_bundle(source, suffix)
    aws = make_aws(target)
    aws.account_id()
    report = check(aws, bundle, to_create(deployer.preflight(aws, bundle, bundle.stacks, mode)))
    if as_json or output == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_text(report))
    if report.exceeded:
        sys.exit(1)


def to_create(plan: Plan) -> list[StackEntry]:
    """The stacks whose resources do not exist yet (none, or an empty stack left by a failed first create)."""
    from drgen.deploy.plan import Decision

    fresh = (Decision.CREATE, Decision.RECREATE, Decision.DISCARD_REVIEW)
    return [s.entry for s in plan.stacks if s.decision in fresh]


def quota_preflight(aws: Aws, bundle: RenderedBundle, plan: Plan, refuse: bool) -> Sequence[str]:
    """The quota check before plan and deploy: a line per TIGHT or EXCEEDS quota on stderr.

    With ``refuse``, an exceeded quota stops the deploy before anything is created (exit 2); without it the
    problems are returned for the caller to decide.
    """
    from drgen.deploy.quotas import check

    problems = quota_lines(check(aws, bundle, to_create(plan)))
    if problems and refuse:
        raise DrgenError(quota_refusal(problems))
    return problems


def quota_lines(report: Report) -> list[str]:
    """A line on stderr per TIGHT or EXCEEDS quota; the exceeded ones' problems (each with its fix)."""
    from drgen.deploy.quota_model import Verdict

    for row in report.rows:
        if row.verdict is Verdict.TIGHT:
            click.echo(
                f"quota TIGHT: {row.quota.name} ({row.quota.service} {row.quota.code}) in {row.region}: "
                f"{row.total} of {row.limit:g} after this deploy",
                err=True,
            )
    problems = [row.problem() for row in report.exceeded]
    for problem in problems:
        click.echo(f"quota EXCEEDS: {problem}", err=True)
    return problems


def quota_refusal(problems: Sequence[str]) -> str:
    return f"{len(problems)} service quota(s) would be exceeded (above); raise them, or pass --skip-quota-check"
