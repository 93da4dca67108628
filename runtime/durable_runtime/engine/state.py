"""One invocation's view of an execution: recorded operations, event order and pending writes."""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import SuspendExecution
from ..journal.payloads import needs_offload, shrink_events
from ..journal.records import JournalEvent, OperationRecord, OperationStatus, carries_own_identity
from ..journal.store import ExpectedState, JournalConflictError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..journal.records import ExecutionRecord, JournalSnapshot
    from .services import EngineServices

# A start record that would only say "in progress" is held back this long (real time): a step that finishes
# sooner records its start and its end in one write. Longer work shows as started.
DEFAULT_START_LINGER_SECONDS = 0.25

_live_states: weakref.WeakSet[InvocationState] = weakref.WeakSet()


def abandon_thread(thread_ident: int) -> None:
    """Stop every invocation started on a thread from writing (its process died, in a simulated crash)."""
    for state in list(_live_states):
        if state.owner_thread == thread_ident:
            state.abandon()


class InvocationAbandoned(BaseException):
    """This invocation lost the execution to another one; it unwinds the handler and stops quietly.

    A BaseException so that user code's `except Exception` cannot swallow it.
    """


class InfrastructureFailure(BaseException):
    """The journal or a payload store failed under an operation; the invocation must end, not the handler's code.

    A BaseException so that a handler's `except Exception` around `context.step` cannot mistake an outage for
    its step's failure. The engine re-raises `error` for Lambda to retry.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Pending:
    record: OperationRecord
    events: list[JournalEvent]
    # A final write ends this invocation's work on the operation (a wait started, a retry scheduled): it waits
    # for the suspension so the invocation's end can ride on it.
    final: bool = False


@dataclass
class SuspensionPlan:
    """What the invocation must arrange before it returns: the earliest time something is due, and for what."""

    due_at: float | None = None
    reason: str = ""
    operation_id: str | None = None
    # Every operation waiting on a time, and when: a timer that woke for one of them checks whether it moved.
    due_by_operation: dict[str, float] = field(default_factory=dict)

    def wake_at(self, due_at: float, reason: str, operation_id: str | None = None) -> None:
        """Ask to be resumed at `due_at` at the latest."""
        if operation_id is not None:
            self.due_by_operation[operation_id] = due_at
        if self.due_at is None or due_at < self.due_at:
            self.due_at, self.reason, self.operation_id = due_at, reason, operation_id


class InvocationState:
    """The journal as one invocation sees it, and the single path through which it writes.

    Thread-safe: concurrent branches share one state. Writes are held back where that saves a request: a start
    that only says "in progress" merges into the operation's next write, and the write that precedes a
    suspension carries the invocation's end. Only work with side effects (a step body) takes the execution's
    lease; every other write is guarded by its own record's condition.
    """

    def __init__(
        self,
        services: EngineServices,
        snapshot: JournalSnapshot,
        execution: ExecutionRecord,
        seq: int,
        *,
        start_linger: float = DEFAULT_START_LINGER_SECONDS,
    ) -> None:
        from .ids import ExecutionArn

        self.services = services
        self.execution = execution
        self.arn = execution.arn
        self.key = ExecutionArn.parse(execution.arn).journal_key
        self.seq = seq
        self.expires_at = int(execution.timeout_at + execution.retention_days * 86_400)
        self.plan = SuspensionPlan()
        self._durable: dict[str, OperationRecord] = dict(snapshot.operations)
        self.has_news = snapshot.has_news()
        self._observed = {
            (event.operation_id, event.event_type) for event, _ in snapshot.events() if carries_own_identity(event)
        }
        self._invocation_events: list[JournalEvent] = []
        self._pending: dict[str, _Pending] = {}
        self._positions = itertools.count(1)
        self._lock = threading.RLock()
        self._linger = start_linger
        self._flusher: threading.Timer | None = None
        self.writes_enabled = True
        self._claim: Callable[[], None] | None = None
        self.claimed = False
        self.wrote = False
        self.lease_owner = ""
        self._deadline = float("inf")
        self._margin = services.settings.deadline_margin_seconds
        self.owner_thread = threading.get_ident()
        _live_states.add(self)

    # region ownership
    def set_owner(self, claim: Callable[[], None], deadline: float) -> None:
        """How to take the execution's lease, and when Lambda will stop this invocation."""
        self._claim = claim
        self._deadline = deadline

    def claim(self) -> None:
        """Take the execution's lease (once) before running code with side effects."""
        with self._lock:
            if self.claimed:
                return
            if self._claim is not None:
                try:
                    self._claim()
                except Exception as error:
                    self.abandon()
                    raise InfrastructureFailure(error) from error
            self.claimed = True

    def check_deadline(self) -> None:
        """Suspend, to continue at once in a fresh invocation, when Lambda's time limit is close."""
        if self.now() >= self._deadline - self._margin:
            self.plan.wake_at(self.now(), "deadline")
            raise SuspendExecution("suspended: close to the Lambda time limit")

    def abandon(self) -> None:
        """Drop held-back writes and refuse further ones (the invocation is aborting or its process died)."""
        with self._lock:
            if self._flusher is not None:
                self._flusher.cancel()
                self._flusher = None
            self._pending.clear()
            self.writes_enabled = False

    # endregion

    # region reads
    def operation(self, operation_id: str) -> OperationRecord | None:
        """The operation's record as this invocation knows it, held-back writes included."""
        with self._lock:
            pending = self._pending.get(operation_id)
            return pending.record if pending else self._durable.get(operation_id)

    def has_operations(self) -> bool:
        """True when the journal holds any operation (the invocation starts by replaying)."""
        return bool(self._durable)

    def has_pending(self) -> bool:
        """True when writes are held back."""
        with self._lock:
            return bool(self._pending)

    def payload(self, record: OperationRecord) -> str | None:
        """The operation's serialized result, fetched from the payload bucket when it was offloaded."""
        if record.result_ref is not None:
            return self.services.payloads.get(record.result_ref)
        return record.result

    def now(self) -> float:
        """The current time on the engine's clock."""
        return self.services.clock.now()

    # endregion

    # region events
    def event(self, event_type: str, details: dict[str, Any] | None = None, **identity: Any) -> JournalEvent:
        """A new event, ordered after every event this invocation produced before it."""
        with self._lock:
            position = next(self._positions)
        return JournalEvent(event_type, self.now(), (self.seq, position), details or {}, **identity)

    def observe_once(self, record: OperationRecord, event_type: str, details: dict[str, Any]) -> None:
        """Record an event no operation write carries (a wait found finished), once across invocations."""
        with self._lock:
            if (record.operation_id, event_type) in self._observed:
                return
            self._observed.add((record.operation_id, event_type))
            self._invocation_events.append(
                self.event(
                    event_type,
                    details,
                    operation_id=record.operation_id,
                    name=record.name,
                    parent_id=record.parent_id,
                    sub_type=record.sub_type,
                )
            )

    def take_invocation_events(self) -> list[JournalEvent]:
        """The events only this invocation observed, to store with its end."""
        with self._lock:
            events, self._invocation_events = self._invocation_events, []
            return events

    # endregion

    # region writes
    def record(self, record: OperationRecord, events: list[JournalEvent]) -> OperationRecord:
        """Write an operation's new state and events now, merged with its held-back write if any."""
        with self._lock:
            pending = self._pending.pop(record.operation_id, None)
            if pending is not None:
                events = pending.events + events
            return self._store(record, events)

    def record_start(self, record: OperationRecord, events: list[JournalEvent], *, durable: bool) -> None:
        """Record that an operation started: at once when `durable`, otherwise held back briefly."""
        if durable:
            self.record(record, events)
            return
        with self._lock:
            self._pending[record.operation_id] = _Pending(record, events)
            if self._flusher is None:
                self._flusher = threading.Timer(self._linger, self._flush_from_timer)
                self._flusher.daemon = True
                self._flusher.start()

    def record_final(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Record the last thing this invocation does to an operation before suspending; written at suspension."""
        with self._lock:
            pending = self._pending.pop(record.operation_id, None)
            if pending is not None:
                events = pending.events + events
            self._pending[record.operation_id] = _Pending(record, events, final=True)

    def flush(self, closing_events: list[JournalEvent] | None = None) -> bool:
        """Write every held-back record; the last one also carries `closing_events` if given.

        Returns True when the closing events were written (there was a held-back record to carry them).
        """
        with self._lock:
            if self._flusher is not None:
                self._flusher.cancel()
                self._flusher = None
            pending, self._pending = self._pending, {}
            entries = list(pending.values())
            for index, entry in enumerate(entries):
                extra = closing_events if closing_events and index == len(entries) - 1 else []
                self._store(entry.record, entry.events + list(extra))
            return bool(closing_events) and bool(entries)

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._flusher = None
            if not self.writes_enabled:
                return
            starts = {key: entry for key, entry in self._pending.items() if not entry.final}
            for key, entry in starts.items():
                try:
                    self._store(entry.record, entry.events)
                except Exception:  # noqa: BLE001 - the suspension or the operation's next write retries it
                    return
                del self._pending[key]

    def _store(self, record: OperationRecord, events: list[JournalEvent]) -> OperationRecord:
        try:
            return self._store_unguarded(record, events)
        except (InvocationAbandoned, InfrastructureFailure):
            raise
        except Exception as error:
            self.abandon()
            raise InfrastructureFailure(error) from error

    def _store_unguarded(self, record: OperationRecord, events: list[JournalEvent]) -> OperationRecord:
        if not self.writes_enabled:
            raise InvocationAbandoned("this invocation lost its execution and may not write")
        name = f"op-{record.operation_id}-{record.attempt}"
        known: dict[str, str] = {}
        if needs_offload(record.result):
            ref = self.services.payloads.put(self.key, name, record.result or "")
            known[record.result or ""] = ref
            record = record.evolve(result=None, result_ref=ref)
        # Large payloads in events go to the bucket too (the history reads them back), so the item fits.
        events = shrink_events(events, self.services.payloads, self.key, name, known)
        durable = self._durable.get(record.operation_id)
        expected = None if durable is None else ExpectedState(durable.status.value, durable.attempt)
        try:
            self.services.store.write_operation(self.key, record, events, expected, self.expires_at)
        except JournalConflictError as conflict:
            # Another invocation recorded this operation first: it carries on; this one must stop, and user
            # code must not be able to catch that.
            self.abandon()
            raise InvocationAbandoned(str(conflict)) from conflict
        self.wrote = True
        self._durable[record.operation_id] = record
        return record

    # endregion

    def is_terminal(self, operation_id: str) -> bool:
        """True when the operation has finished for good."""
        record = self.operation(operation_id)
        return record is not None and OperationStatus(record.status).is_terminal
