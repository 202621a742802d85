"""The ``drgen`` group: its options, usage errors in one line, and commands loaded when used (drgen/main.py names
them)."""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from drgen import __version__
from drgen.cli.errors import UsageInOneLine


class _Group(click.Group):
    """A group whose commands are imported on first use (click's documented pattern for lazily loaded
    subcommands: ``list_commands`` names them, ``get_command`` imports one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}  # name -> (module, attribute)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:  # raised while a command parses its arguments
            raise UsageInOneLine(error) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drgen")
@click.option("--no-color", is_flag=True, help="No colour in progress tables and messages (as NO_COLOR=1 does).")
def cli(no_color: bool) -> None:
    """Multi-region disaster recovery on AWS: render, lint, deploy and operate.

    Start with `drgen scenarios`, then `drgen render` (all presets into templates_out/).
    """
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich, which draws the progress tables, honours it (no-color.org)
