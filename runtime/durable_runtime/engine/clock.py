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
