"""A beat on a background thread while an invocation works: what tells the rest of the system it is alive."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("durable_runtime")


class Heartbeat:
    """Calls `beat` every `period` seconds (real time) until stopped, or until `beat` returns False.

    Lambda freezes the process when the handler returns, so every heartbeat is stopped before that; one that died
    with its process simply stops beating, which is the point: what it kept alive then lapses on its own.
    """

    def __init__(self, period: float, beat: Callable[[], bool], name: str) -> None:
        self._period = period
        self._beat = beat
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> Heartbeat:
        """Begin beating (the first beat comes one period from now)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating; a beat under way finishes first."""
        self._stopped.set()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            try:
                if not self._beat():
                    return
            except Exception:  # a beat that fails is tried again next period
                log.warning("heartbeat %s failed", self._thread.name, exc_info=True)
