"""The functions' clock. In AWS it is the system clock; drgen's local sandbox runs the same code on a simulated
clock (``drgen drill`` lets a day pass in seconds) by replacing ``source``. Every time the functions stamp
(metric datapoints, the lock's expiry, the run's record) or read back (a metric's latest minute) comes from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

source: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch."""
    return source()


def utcnow() -> datetime:
    return datetime.fromtimestamp(source(), UTC)
