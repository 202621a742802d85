"""Progress: a live table of stacks by region and state on a terminal, plain timestamped lines otherwise.

Workers call these methods from their threads; both reporters serialise with a lock.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from drgen.bundle.manifest import StackEntry
from drgen.deploy.executor import StackResult


class Progress(Protocol):
    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc: object) -> None: ...
    def note(self, text: str) -> None: ...
    def state(self, entry: StackEntry, state: str, detail: str = "") -> None: ...
    def event(self, entry: StackEntry, text: str) -> None: ...
    def done(self, result: StackResult) -> None: ...


class PlainProgress:
    """One line per change of state or event: for logs, CI and ``--output json`` (on stderr)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.flush()

    def note(self, text: str) -> None:
        self._line(text)

    def state(self, entry: StackEntry, state: str, detail: str = "") -> None:
        self._line(f"{entry.name} ({entry.region}): {state}" + (f" - {detail}" if detail else ""))

    def event(self, entry: StackEntry, text: str) -> None:
        self._line(f"{entry.name} ({entry.region}):   {text}")

    def done(self, result: StackResult) -> None:
        text = f"{result.name} ({result.region}): {result.outcome.value}"
        if result.outcome.ok:
            text += f" in {result.seconds:.1f} s"
        self._line(text + (f" - {result.reason}" if result.reason else ""))

    def _line(self, text: str) -> None:
        with self._lock:
            self._stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self._stream.flush()


@dataclass
class _Row:
    region: str
    depends_on: tuple[str, ...]
    state: str = "waiting"
    seconds: str = ""
    latest: str = ""
    started: float | None = None
    outcome_ok: bool | None = None  # None: not done yet


# rich styles of a row by how it ended; a running or waiting row keeps the terminal's colour
_ENDED = {True: "green", False: "bold red"}


class LiveProgress:
    """A rich table, redrawn in place: one row per stack with its region, state, time and latest event."""

    def __init__(self, title: str, entries: Sequence[StackEntry], stream: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._console = Console(file=stream)
        self._rows = {e.name: _Row(e.region, e.depends_on) for e in entries}
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self._console, refresh_per_second=4)

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._redraw()
        self._live.__exit__(None, None, None)

    def note(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def state(self, entry: StackEntry, state: str, detail: str = "") -> None:
        started = self._rows[entry.name].started or time.monotonic()
        self._redraw(entry.name, state=state, latest=detail, started=started)

    def event(self, entry: StackEntry, text: str) -> None:
        self._redraw(entry.name, latest=text)

    def done(self, result: StackResult) -> None:
        seconds = f"{result.seconds:.1f}"
        latest = result.reason or self._rows[result.name].latest
        self._redraw(
            result.name,
            state=result.outcome.value,
            latest=latest,
            started=None,
            seconds=seconds,
            outcome_ok=result.outcome.ok,
        )

    def _redraw(self, name: str | None = None, **changes: Any) -> None:
        with self._lock:
            if name is not None:
                for key, value in changes.items():
                    setattr(self._rows[name], key, value)
            self._live.update(self._table())

    def _table(self) -> Any:
        from rich.table import Table

        now = time.monotonic()
        done = sum(row.outcome_ok is not None for row in self._rows.values())
        failed = sum(row.outcome_ok is False for row in self._rows.values())
        title = f"{self._title}: {done} of {len(self._rows)} done" + (f", {failed} FAILED" if failed else "")
        table = Table(title=f"{title}, {now - self._started:.0f} s")
        for column in ("stack", "region", "state", "seconds", "latest"):
            table.add_column(column)
        for name, row in self._rows.items():
            seconds = f"{now - row.started:.0f}" if row.started else row.seconds
            latest = row.latest or self._waits_for(row)
            style = _ENDED.get(row.outcome_ok) if row.outcome_ok is not None else None
            table.add_row(name, row.region, row.state, seconds, latest, style=style)
        return table

    def _waits_for(self, row: _Row) -> str:
        """For a stack not started: the dependencies it still waits for."""
        if row.state != "waiting":
            return ""
        pending = [d for d in row.depends_on if d in self._rows and self._rows[d].outcome_ok is None]
        return f"waits for {', '.join(pending)}" if pending else ""


def for_terminal(title: str, entries: Sequence[StackEntry], json_output: bool) -> Progress:
    """The live table when the output is an interactive terminal, plain lines otherwise (stderr for json)."""
    stream = sys.stderr if json_output else sys.stdout
    if stream.isatty():
        return LiveProgress(title, entries, stream)
    return PlainProgress(stream)
