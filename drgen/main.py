"""The drgen program: the group (drgen/cli/) with every command (drgen/commands/), and its entry point."""

from __future__ import annotations

from drgen.cli.group import cli
from drgen.commands import (
    bootstrap,
    budget,
    deploy,
    destroy,
    drill,
    operate,
    outputs,
    preflight,
    quotas,
    render,
    review,
    sandbox,
)

for command in (
    render.scenarios,
    render.render,
    render.lint,
    review.scan,
    review.review,
    deploy.deploy,
    deploy.plan_command,
    destroy.destroy,
    outputs.outputs,
    bootstrap.bootstrap,
    budget.budget,
    operate.readiness,
    operate.failover,
    operate.failback,
    quotas.quotas,
    preflight.preflight,
    drill.drill,
    sandbox.sandbox,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="drgen")
