"""Time is injected: every part of the engine asks a Clock, so tests can run on virtual time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as seconds since the epoch."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""
        ...


class SystemClock:
    """The wall clock, for code running in Lambda."""

    def now(self) -> float:
        """Return the wall-clock time."""
        return time.time()


def iso_timestamp(epoch_seconds: float) -> str:
    """Render an epoch time the way the durable APIs print timestamps (UTC, milliseconds)."""
    whole = int(epoch_seconds)
    millis = round((epoch_seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


# Journal times are stored to the millisecond and Lambda hosts' clocks differ by a few: a timer that lands
# within this margin of its due time counts as on time, rather than costing another resume a second later.
DUE_TOLERANCE_SECONDS = 0.05


def is_due(now: float, due_at: float) -> bool:
    """True when `due_at` has come, allowing for storage rounding and small clock skew."""
    return now + DUE_TOLERANCE_SECONDS >= due_at
