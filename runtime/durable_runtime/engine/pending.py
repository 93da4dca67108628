"""Writes an invocation holds back to save a request, and the linger timer that writes long-running starts early."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..journal.records import JournalEvent, OperationRecord

log = logging.getLogger("durable_runtime")

# Operations' writes are ordered by this many locks, an operation's chosen by its id: enough that concurrent
# branches rarely share one, without a lock per operation to keep or clean up.
_STRIPES = 1024


@dataclass
class HeldWrite:
    """A record and its events, not yet written."""

    record: OperationRecord
    events: list[JournalEvent]
    # A final write ends this invocation's work on the operation (a wait started, a retry scheduled): it waits
    # for the suspension so the invocation's end can ride on it. Other held writes are starts.
    final: bool = False
    # When it was held (the linger clock's reading): a start is written early only once it is a linger old.
    held_at: float = 0.0


class PendingWrites:
    """Held-back writes, by operation id, and the order of each operation's writes.

    A start that only says "in progress" merges into the operation's next write, so a step that finishes within
    the linger costs one write. One that runs longer has its start written early by a timer thread; that early
    write is only an optimisation of what the history shows, so if it fails the start simply stays held back and
    rides on the operation's next write (whose failure, on the invocation's own thread, ends the invocation).

    No lock is held across a journal write except the operation's own (`serial`), and, by the timer, one only
    `discard` waits for: concurrent branches write their own operations side by side, and the timer never keeps
    a branch from reading or writing another operation.
    """

    def __init__(
        self,
        linger_seconds: float,
        write: Callable[[HeldWrite], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._linger = linger_seconds
        self._write = write
        self._clock = clock
        self._held: dict[str, HeldWrite] = {}
        self._lock = threading.Lock()  # guards `_held` and `_timer`, never held across a write
        self._serials = [threading.Lock() for _ in range(_STRIPES)]
        # Held by the timer while it writes, so that `discard` returns only once no early write is in flight.
        self._early_writing = threading.RLock()
        self._timer: threading.Timer | None = None
        self._stopped = False

    def serial(self, operation_id: str) -> threading.Lock:
        """The lock that orders the operation's writes: whoever writes it (its thread, the timer) holds it."""
        return self._serials[hash(operation_id) % _STRIPES]

    def hold_start(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Hold a start back; the linger timer writes it if the operation is still running by then.

        Not under the operation's lock (this is on every step's path): nothing else of this operation can be
        held or being written now, since its previous write took whatever was held for it.
        """
        with self._lock:
            self._held[record.operation_id] = HeldWrite(record, events, held_at=self._clock())
            if self._timer is None and not self._stopped:
                self._arm(self._linger)

    def hold_final(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Hold the operation's last write of this invocation until the suspension, merged with what was held."""
        with self.serial(record.operation_id), self._lock:
            merged = self._merged(record.operation_id, events)
            self._held[record.operation_id] = HeldWrite(record, merged, final=True)

    @contextmanager
    def writing(self, operation_id: str, events: list[JournalEvent]) -> Iterator[list[JournalEvent]]:
        """Write the operation, in order: yields its held events followed by `events`, for one merged write.

        The held write is dropped once the block succeeds; until then readers still see it.
        """
        with self.serial(operation_id):
            with self._lock:
                held = self._held.get(operation_id)
            yield events if held is None else held.events + events
            with self._lock:
                if self._held.get(operation_id) is held:
                    self._held.pop(operation_id, None)

    def record_of(self, operation_id: str) -> OperationRecord | None:
        """The operation's held record, if any (one dict look-up, atomic without the lock: it is on every replay)."""
        held = self._held.get(operation_id)
        return held.record if held else None

    def drain(self) -> list[HeldWrite]:
        """Every held write, in the order they were held; nothing stays held (an early write under way ends first)."""
        with self._lock:
            self._cancel_timer()
            operation_ids = list(self._held)
        drained = []
        for operation_id in operation_ids:
            with self.serial(operation_id), self._lock:
                held = self._held.pop(operation_id, None)
            if held is not None:
                drained.append(held)
        return drained

    def discard(self) -> None:
        """Drop everything held and stop the timer for good (the invocation is aborting, or lost its execution).

        Returns once no early write is in flight, so nothing is written for this invocation afterwards.
        """
        with self._lock:
            self._cancel_timer()
            self._stopped = True
            self._held.clear()
        with self._early_writing:
            pass

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._held)

    def _merged(self, operation_id: str, events: list[JournalEvent]) -> list[JournalEvent]:
        held = self._held.pop(operation_id, None)
        return events if held is None else held.events + events

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay: float) -> None:
        timer = threading.Timer(delay, self._write_starts_early)
        timer.daemon, timer.name = True, "durable-linger"
        try:
            timer.start()
        except RuntimeError as error:  # the process is at its thread limit: held starts ride on the next writes
            log.info("no linger timer (%s): held starts are written with their operations' next writes", error)
            return
        self._timer = timer

    def _write_starts_early(self) -> None:
        # Runs on the timer thread. Only starts held a linger long are written: one held a moment ago may still
        # finish in time to merge. A start whose operation is being written now rides on that write instead.
        with self._lock:
            self._timer = None
            now = self._clock()
            due = [op for op, held in self._held.items() if not held.final and now - held.held_at >= self._linger]
        with self._early_writing:
            for operation_id in due:
                if not self._write_one_early(operation_id):
                    break
        with self._lock:
            younger = [held.held_at for held in self._held.values() if not held.final]
            if younger and self._timer is None and not self._stopped:
                # Never sooner than a tenth of the linger: a start skipped for a busy lock is tried again then.
                self._arm(max(min(younger) + self._linger - now, self._linger / 10))

    def _write_one_early(self, operation_id: str) -> bool:
        """Write one held start under its operation's lock; False when writing should stop (it failed)."""
        serial = self.serial(operation_id)
        if not serial.acquire(blocking=False):
            return True  # being written (the start rides on that write), or a neighbour's write: later
        try:
            with self._lock:
                held = None if self._stopped else self._held.get(operation_id)
            if held is None or held.final:
                return True
            try:
                self._write(held)
            except BaseException as error:  # noqa: BLE001 - kept held: the operation's next write carries it
                log.info("early write of a start failed; it rides on the next write instead: %s", error)
                return False
            with self._lock:
                if self._held.get(operation_id) is held:
                    del self._held[operation_id]
            return True
        finally:
            serial.release()
