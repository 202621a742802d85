"""How errors leave drgen: one line on stderr and an exit status (README "Exit status").

0 success, 1 findings or a failed stack or check, 2 bad input (a DrgenError, a usage error, or an AWS refusal
outside a stack: the problem and what to do), 3 a question guarding data was declined or could not be asked.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from drgen.errors import DECLINED_EXIT, Declined, DrgenError


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a DrgenError into one line on stderr and exit status 2; a declined question into exit status 3."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DrgenError as exc:
            click.echo(f"drgen: error: {exc}", err=True)
            sys.exit(2)
        except Declined as exc:
            click.echo(f"drgen: {exc}", err=True)
            sys.exit(DECLINED_EXIT)

    return wrapper


def cloud_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """An AWS error outside a stack's own operation (setup, inventory) becomes one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from drgen.deploy.session import CLOUD_ERRORS, error_text

        try:
            return func(*args, **kwargs)
        except CLOUD_ERRORS as exc:
            raise DrgenError(f"AWS refused: {error_text(exc)}") from None

    return wrapper


class UsageInOneLine(click.ClickException):
    """A usage error (a missing option, a bad value) as one line, like drgen's own errors, with status 2."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        command = error.ctx.command_path if error.ctx else "drgen"
        super().__init__(f"{error.format_message().rstrip('.')}; see `{command} --help`")

    def show(self, file: Any = None) -> None:
        click.echo(f"drgen: error: {self.format_message()}", err=True)
