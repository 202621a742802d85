"""A spinner for long work on a terminal: what runs, how far it got, and for how long; silent elsewhere.

Logs and CI output stay as they are (the summary lines the commands print anyway); on an interactive stderr
the user sees ``lint: 7 of 25 templates (templates/app.json) 4 s`` turning while cfn-lint or checkov works.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO


@contextlib.contextmanager
def spinner(what: str, stream: IO[str] | None = None) -> Iterator[Callable[[str], None]]:
    """Yield ``update(progress)``: on a terminal the spinner reads ``<what>: <progress> <elapsed> s``."""
    out = stream or sys.stderr
    if not out.isatty():
        yield lambda _progress: None
        return
    from rich.console import Console

    started = time.monotonic()
    with Console(file=out).status(f"{what} ...") as status:

        def update(progress: str) -> None:
            status.update(f"{what}: {progress} {time.monotonic() - started:.0f} s")

        yield update
