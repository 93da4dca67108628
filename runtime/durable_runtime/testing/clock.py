"""Virtual time for local runs: it stands still while work happens and jumps over idle time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class VirtualClock:
    """A clock the runner moves forward to the next due timer when nothing else is happening."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The virtual time."""
        with self._lock:
            return self._now

    def advance_to(self, moment: float) -> None:
        """Move forward to `moment` (never backward)."""
        with self._lock:
            self._now = max(self._now, moment)

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        with self._lock:
            self._now += seconds


@contextmanager
def moto_on_virtual_time(clock: VirtualClock) -> Iterator[None]:
    """Make moto's SQS honour delays and visibility timeouts in virtual time."""
    from moto.sqs import models

    originals = (models.unix_time_millis, models.unix_time)
    models.unix_time_millis = lambda *_: clock.now() * 1000
    models.unix_time = lambda *_: clock.now()
    try:
        yield
    finally:
        models.unix_time_millis, models.unix_time = originals
