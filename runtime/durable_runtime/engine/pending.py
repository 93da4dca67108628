"""Writes an invocation holds back to save a request, and the linger timer that writes long-running starts early."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..journal.records import JournalEvent, OperationRecord

log = logging.getLogger("durable_runtime")


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
    """Held-back writes, by operation id.

    A start that only says "in progress" merges into the operation's next write, so a step that finishes within
    the linger costs one write. One that runs longer has its start written early by a timer thread; that early
    write is only an optimisation of what the history shows, so if it fails the start simply stays held back and
    rides on the operation's next write (whose failure, on the invocation's own thread, ends the invocation).
    """

    def __init__(
        self,
        lock: threading.RLock,
        linger_seconds: float,
        write: Callable[[HeldWrite], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = lock
        self._linger = linger_seconds
        self._write = write
        self._clock = clock
        self._held: dict[str, HeldWrite] = {}
        self._timer: threading.Timer | None = None
        self._stopped = False

    def hold_start(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Hold a start back; the linger timer writes it if the operation is still running by then."""
        with self._lock:
            self._held[record.operation_id] = HeldWrite(record, events, held_at=self._clock())
            if self._timer is None and not self._stopped:
                self._arm(self._linger)

    def hold_final(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Hold the operation's last write of this invocation until the suspension, merged with what was held."""
        with self._lock:
            self._held[record.operation_id] = HeldWrite(record, self._merged(record.operation_id, events), final=True)

    def take(self, operation_id: str, events: list[JournalEvent]) -> list[JournalEvent]:
        """Remove the operation's held write; return its events followed by `events`, for one merged write."""
        with self._lock:
            return self._merged(operation_id, events)

    def record_of(self, operation_id: str) -> OperationRecord | None:
        """The operation's held record, if any (one dict look-up, atomic without the lock: it is on every replay)."""
        held = self._held.get(operation_id)
        return held.record if held else None

    def drain(self) -> list[HeldWrite]:
        """Every held write, in the order they were held; nothing stays held."""
        with self._lock:
            self._cancel_timer()
            held, self._held = list(self._held.values()), {}
            return held

    def discard(self) -> None:
        """Drop everything held and stop the timer for good (the invocation is aborting, or lost its execution)."""
        with self._lock:
            self._cancel_timer()
            self._stopped = True
            self._held.clear()

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
        self._timer = threading.Timer(delay, self._write_starts_early)
        self._timer.daemon = True
        self._timer.start()

    def _write_starts_early(self) -> None:
        # Runs on the timer thread, holding the lock so the operation's own next write waits for this one. Only
        # starts held a linger long are written: one held a moment ago may still finish in time to merge.
        with self._lock:
            self._timer = None
            if self._stopped:
                return
            now = self._clock()
            for operation_id, held in list(self._held.items()):
                if held.final or now - held.held_at < self._linger:
                    continue
                try:
                    self._write(held)
                except BaseException as error:  # noqa: BLE001 - kept held: the operation's next write carries it
                    log.info("early write of a start failed; it rides on the next write instead: %s", error)
                    return
                del self._held[operation_id]
            younger = [held.held_at for held in self._held.values() if not held.final]
            if younger:
                self._arm(max(min(younger) + self._linger - now, 0.0))
