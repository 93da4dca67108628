"""The background driver: keeps a local runner's executions going while the test does something else.

After `run_async` a test polls the history, looks for callbacks, sleeps, answers callbacks and finally waits for
the result, as with the official testing SDK; meanwhile this thread delivers invocations, stream records and
timers. Idle time before a wait's end, a retry or a redelivery is skipped (with `skip_time`); idle time before a
callback's or the execution's deadline passes in real time, unless a test is blocked in `wait_for_result` (then
nobody can answer before the deadline, and it is skipped too). With nothing pending the thread sleeps until the
test does something (`poke`), so it never spins a CPU.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .local_engine import LocalEngine

# How long the driver waits, in real time, before it looks again when a deadline is running or nothing is pending.
_IDLE_WAIT_SECONDS = 0.02
_NOTHING_PENDING_WAIT_SECONDS = 0.2
# How far past a due moment real time may carry virtual time: SQS shows a message only once its time has passed.
_PAST_DUE_SECONDS = 0.001


class BackgroundDriver:
    """One thread that steps a LocalEngine until stopped."""

    def __init__(self, engine: LocalEngine, *, skip_time: bool, start_grace: float) -> None:
        self._engine = engine
        self._skip_time = skip_time
        self._start_grace = start_grace
        self._stopping = threading.Event()
        self._kicked = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        # The test's thread. Only it waits for the driver to stop: a handler that stops the driver (by touching the
        # runner's clock) runs on a thread the driver itself is waiting for, and joining there would deadlock.
        self._owner = threading.current_thread()
        self._fast_forward = 0
        # Bumped whenever the test does something that can create work; `stalled_at` is the generation at which
        # the driver last found nothing at all pending (nothing due, now or later).
        self.generation = 0
        self.stalled_at = -1
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive and not told to stop."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def start(self) -> None:
        """Start the thread (once); it begins after the start grace unless kicked earlier."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="durable-test-driver", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Begin at once (the test is waiting on the execution)."""
        self._kicked.set()

    def poke(self) -> None:
        """The test did something: look for new work now."""
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def stop(self) -> None:
        """Stop the thread; from the test's thread, also wait for the step it is in to end."""
        self._stopping.set()
        self._kicked.set()
        self.poke()
        if self._thread is not None and threading.current_thread() is self._owner:
            self._thread.join()

    def wait_for_change(self, seconds: float) -> None:
        """Block the calling (test) thread until the driver made progress or `seconds` passed."""
        with self._changed:
            self._changed.wait(seconds)

    def fast_forward(self) -> _FastForward:
        """While in this block, deadlines are skipped too (the test is blocked and cannot answer anything)."""
        return _FastForward(self)

    def _run(self) -> None:
        self._kicked.wait(self._start_grace)
        try:
            while not self._stopping.is_set():
                self._turn()
        except BaseException as error:  # noqa: BLE001 - reported to the test by the runner's waits
            self.error = error
            self.poke()

    def _turn(self) -> None:
        engine = self._engine
        with engine._pump_lock:
            generation = self.generation
            if engine._step():
                self._notify()
                return
            upcoming = engine.upcoming()
            if upcoming:
                moment, skippable = min(upcoming)
                if self._skip_time and (skippable or self._fast_forward > 0):
                    engine._jump_to(moment)
                    self._notify()
                    return
        if not upcoming:
            with self._changed:
                self.stalled_at = generation
                self._changed.notify_all()
                if self.generation == generation and not self._stopping.is_set():
                    self._changed.wait(_NOTHING_PENDING_WAIT_SECONDS)
            return
        # A deadline is next (or time is not skipped): let real time pass, and virtual time with it, but never past
        # the next moment something is due. On a loaded machine a slice can take longer than the gap between two
        # deadlines (a callback's timeout, then the execution's): each must be handled before the next comes due.
        before = time.monotonic()
        gap = max(moment - engine._clock.now(), 0.0)
        with self._changed:
            if self.generation == generation and not self._stopping.is_set():
                self._changed.wait(min(_IDLE_WAIT_SECONDS, gap))
        engine._clock.advance(min(time.monotonic() - before, gap + _PAST_DUE_SECONDS))

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()


class _FastForward:
    def __init__(self, driver: BackgroundDriver) -> None:
        self._driver = driver

    def __enter__(self) -> None:
        with self._driver._changed:
            self._driver._fast_forward += 1
            self._driver._changed.notify_all()

    def __exit__(self, *_: object) -> None:
        with self._driver._changed:
            self._driver._fast_forward -= 1
