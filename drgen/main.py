"""The drgen program: the group (drgen/cli/) with every command (drgen/commands/), and its entry point.

A command's module is imported when that command runs (or when help lists them all): a command loads only its own
code, and every invocation starts faster for it (`drgen render --no-lint` imports about half as much).
"""

from __future__ import annotations

from drgen.cli.group import cli

# name -> (module, attribute): the command object drgen/commands/ defines
COMMANDS = {
    "scenarios": ("drgen.commands.render", "scenarios"),
    "render": ("drgen.commands.render", "render"),
    "lint": ("drgen.commands.render", "lint"),
    "scan": ("drgen.commands.review", "scan"),
    "review": ("drgen.commands.review", "review"),
    "deploy": ("drgen.commands.deploy", "deploy"),
    "plan": ("drgen.commands.deploy", "plan_command"),
    "destroy": ("drgen.commands.destroy", "destroy"),
    "outputs": ("drgen.commands.outputs", "outputs"),
    "bootstrap": ("drgen.commands.bootstrap", "bootstrap"),
    "budget": ("drgen.commands.budget", "budget"),
    "readiness": ("drgen.commands.operate", "readiness"),
    "failover": ("drgen.commands.operate", "failover"),
    "failback": ("drgen.commands.operate", "failback"),
    "quotas": ("drgen.commands.quotas", "quotas"),
    "preflight": ("drgen.commands.preflight", "preflight"),
    "drill": ("drgen.commands.drill", "drill"),
    "sandbox": ("drgen.commands.sandbox", "sandbox"),
}
cli.lazy.update(COMMANDS)


def main() -> None:
    cli(prog_name="drgen")
