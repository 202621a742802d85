"""Run the graph on a thread pool: a stack starts as soon as its dependencies succeeded.

A failed stack skips everything that depends on it (transitively); independent stacks run to the end. The
same runner serves destroy with the edges reversed. Ctrl-C stops the waiting: every running action ends at its
next poll (``pause``) as failed, CloudFormation carries on, and a rerun picks up from there.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from drgen.bundle.manifest import StackEntry
from drgen.deploy.session import AWS_ERRORS, error_text
from drgen.errors import DrgenError

_STOP = threading.Event()


class Interrupted(DrgenError):
    """The user pressed Ctrl-C while a stack operation was being watched."""


def pause(seconds: float) -> None:
    """Wait between two polls; raises Interrupted once Ctrl-C was pressed."""
    if _STOP.wait(seconds):
        raise Interrupted("interrupted; CloudFormation carries on, rerun to pick up from here")


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "no changes"
    DELETED = "deleted"
    ABSENT = "not deployed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def ok(self) -> bool:
        return self not in (Outcome.FAILED, Outcome.SKIPPED)


@dataclass(frozen=True)
class StackResult:
    name: str
    region: str
    outcome: Outcome
    status: str = ""  # the CloudFormation status at the end
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    blocked: bool = False  # failed in a state only the user can clear; the reason names it and the next step

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.name,
            "region": self.region,
            "outcome": self.outcome.value,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "outputs": self.outputs,
            "reason": self.reason,
        }


def run_graph(
    entries: Sequence[StackEntry],
    waits_for: Mapping[str, tuple[str, ...]],
    action: Callable[[StackEntry], StackResult],
    on_done: Callable[[StackResult], None],
    workers: int = 8,
) -> list[StackResult]:
    """Run ``action`` per entry once everything in ``waits_for[name]`` succeeded; results in ``entries`` order."""
    run = _Run(waits_for, action, on_done, {e.name: e for e in entries})
    _STOP.clear()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(entries)))) as pool:
        try:
            run.walk(pool)
        except KeyboardInterrupt:
            _STOP.set()  # running actions end at their next poll; the pool waits for them on the way out
            raise
    return [run.results[e.name] for e in entries]


@dataclass
class _Run:
    waits_for: Mapping[str, tuple[str, ...]]
    action: Callable[[StackEntry], StackResult]
    on_done: Callable[[StackResult], None]
    pending: dict[str, StackEntry]
    results: dict[str, StackResult] = field(default_factory=dict)
    running: dict[Future[StackResult], str] = field(default_factory=dict)

    def walk(self, pool: ThreadPoolExecutor) -> None:
        while self.pending or self.running:
            before = len(self.pending)
            self._start_or_skip(pool)
            if not self.running:
                if len(self.pending) == before:
                    raise RuntimeError(f"dependency cycle among stacks: {sorted(self.pending)}")  # a manifest bug
                continue  # something was skipped: its dependents are decided on the next pass
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in done:
                self.running.pop(future)
                self._finish(future.result())

    def _start_or_skip(self, pool: ThreadPoolExecutor) -> None:
        for name in list(self.pending):
            deps = self.waits_for.get(name, ())
            blockers = [d for d in deps if d in self.results and not self.results[d].outcome.ok]
            if blockers:
                entry = self.pending.pop(name)
                self._finish(StackResult(name, entry.region, Outcome.SKIPPED, reason=f"{blockers[0]} did not succeed"))
            elif all(d in self.results for d in deps):
                self.running[pool.submit(_timed, self.action, self.pending.pop(name))] = name

    def _finish(self, result: StackResult) -> None:
        self.results[result.name] = result
        self.on_done(result)


def _timed(action: Callable[[StackEntry], StackResult], entry: StackEntry) -> StackResult:
    started = time.monotonic()
    try:
        result = action(entry)
    except AWS_ERRORS as exc:
        result = StackResult(entry.name, entry.region, Outcome.FAILED, reason=error_text(exc))
    return replace(result, seconds=time.monotonic() - started)
