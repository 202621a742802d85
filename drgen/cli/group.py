"""The ``drgen`` group: its options, and usage errors in one line (drgen/main.py adds the commands)."""

from __future__ import annotations

import os
from typing import Any

import click

from drgen import __version__
from drgen.cli.errors import UsageInOneLine


class _Group(click.Group):
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
