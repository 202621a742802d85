"""A simulated clock for the sandbox: a day of a failover passes in seconds, schedules run when their time comes.

``drgen drill`` runs the failover machine's Wait states and retries on it, the Lambda code reads it (as
``drgen_common.clock``), and what runs on a schedule in AWS (the engaged signal every minute, the connectivity
tests) runs as callbacks when the clock passes their time. ``advance`` runs every callback that falls due, in
order; ``skip`` moves on without running them (for a stretch where nothing the drill looks at changes).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from unittest import mock

Callback = Callable[[float], None]


@dataclass
class _Schedule:
    period: float
    callback: Callback
    due: float


@dataclass
class SimClock:
    """Starts at ``start`` (epoch seconds, default now); moves only when told to."""

    start: float = field(default_factory=time.time)
    _now: float = field(init=False, default=0.0)
    _schedules: list[_Schedule] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._now = self.start

    def now(self) -> float:
        return self._now

    def every(self, period: float, callback: Callback, offset: float = 1.0) -> None:
        """Run ``callback(time)`` every ``period`` seconds, ``offset`` seconds into each period (EventBridge
        starts a scheduled target shortly after the minute)."""
        first = math.floor(self._now / period) * period + offset
        self._schedules.append(_Schedule(period, callback, first if first >= self._now else first + period))

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward, running each callback at its due times on the way."""
        end = self._now + max(0.0, seconds)
        while True:
            due = [s for s in self._schedules if s.due <= end]
            if not due:
                break
            schedule = min(due, key=lambda s: s.due)
            self._now = schedule.due
            schedule.due += schedule.period
            schedule.callback(self._now)
        self._now = end

    def advance_to(self, moment: float) -> None:
        self.advance(moment - self._now)

    def skip(self, seconds: float) -> None:
        """Move forward without running the callbacks due meanwhile (their next due time moves along)."""
        self._now += max(0.0, seconds)
        for schedule in self._schedules:
            while schedule.due <= self._now:
                schedule.due += schedule.period


@contextlib.contextmanager
def lambda_clock(clock: SimClock) -> Iterator[None]:
    """The Lambda code (``drgen_common.clock``) on ``clock`` while the context lasts."""
    from drgen.operate import lambdas

    with mock.patch.object(lambdas.shared("clock"), "source", clock.now):
        yield
