"""The operations as one invocation knows them, and the one path that changes them: conditional journal writes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..journal.payloads import fit_operation
from ..journal.store import ExpectedState, JournalConflictError
from .pacing import write_paced

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..journal.records import JournalEvent, JournalSnapshot, OperationRecord
    from .services import EngineServices


class LostExecution(Exception):  # noqa: N818 - names what happened
    """A conditional write found the operation changed by another invocation: that one carries on."""


class JournalView:
    """Recorded operations, plus events this invocation observed that no operation write carries yet.

    Observed events (a wait found finished) are recorded with the invocation's next write, whichever record it
    goes to: if the invocation then dies, the event is durable already, even when the code that observed it is
    never replayed again (a child context that completed after its wait).
    """

    def __init__(
        self,
        services: EngineServices,
        key: str,
        snapshot: JournalSnapshot,
        expires_at: int,
        may_wait: Callable[[float], bool] = lambda seconds: False,
    ) -> None:
        self._services = services
        self._key = key
        self._expires_at = expires_at
        self._may_wait = may_wait  # whether a failing write may wait that many seconds more (see engine.pacing)
        self._recorded: dict[str, OperationRecord] = dict(snapshot.operations)
        self._seen = snapshot.events_with_own_identity()
        self._unwritten: list[JournalEvent] = []
        self._lock = threading.Lock()
        self.wrote = False
        # Operation writes this invocation made (its metric; branches write from several threads).
        self.writes = 0

    def get(self, operation_id: str) -> OperationRecord | None:
        """The operation as last recorded."""
        return self._recorded.get(operation_id)

    def __bool__(self) -> bool:
        return bool(self._recorded)

    def observe_once(self, key: tuple[str, str], make_event: Callable[[], JournalEvent]) -> None:
        """Keep an event no operation write produces, unless the journal (or this invocation) has it already."""
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._unwritten.append(make_event())

    def take_unwritten(self) -> list[JournalEvent]:
        """The observed events not yet written, to carry on a write (they are then no longer held here)."""
        with self._lock:
            events, self._unwritten = self._unwritten, []
            return events

    def has_unwritten(self) -> bool:
        """True when observed events wait for a write to carry them."""
        with self._lock:
            return bool(self._unwritten)

    def write(self, record: OperationRecord, events: list[JournalEvent], *, paced: bool = True) -> OperationRecord:
        """One conditional write of the operation's new state; raise LostExecution if another invocation moved it.

        `paced`, a throttled or transient failure is tried again, the very same request, while the invocation has
        time (`engine.pacing`). Other infrastructure errors propagate as they are; the caller decides what they mean.
        """
        observed = self.take_unwritten()
        try:
            record, fitted = fit_operation(self._services.payloads, self._key, record, [*observed, *events])
            current = self._recorded.get(record.operation_id)
            expected = None if current is None else ExpectedState(current.status.value, current.attempt)
            store = self._services.store

            def request() -> None:
                store.write_operation(self._key, record, fitted, expected, self._expires_at)

            if paced:
                write_paced(request, self._may_wait)
            else:
                request()
        except JournalConflictError as conflict:
            raise LostExecution(str(conflict)) from conflict
        except BaseException:
            self._give_back(observed)
            raise
        with self._lock:
            self.wrote = True
            self.writes += 1
        self._recorded[record.operation_id] = record
        return record

    def _give_back(self, observed: list[JournalEvent]) -> None:
        with self._lock:
            self._unwritten[:0] = observed
