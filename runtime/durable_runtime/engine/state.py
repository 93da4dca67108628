"""One invocation's view of an execution: what is recorded, what is held back, and who owns the execution."""

from __future__ import annotations

import itertools
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..contract import REASON_DEADLINE
from ..exceptions import DurableExecutionsError, SuspendExecution
from ..journal.payloads import full_error
from ..journal.records import JournalEvent, OperationRecord, OperationStatus
from .journal_view import JournalView, LostExecution
from .ownership import Ownership
from .pending import HeldWrite, PendingWrites

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..exceptions import ErrorObject
    from ..journal.records import ExecutionRecord, JournalSnapshot
    from .services import EngineServices

# A start record that would only say "in progress" is held back this long (real time): a step that finishes
# sooner records its start and its end in one write. Longer work shows as started.
DEFAULT_START_LINGER_SECONDS = 0.25
# At most this share of an invocation's time is kept back, before Lambda's limit, to suspend cleanly.
_MARGIN_SHARE = 0.2

T = TypeVar("T")

_live_states: weakref.WeakSet[InvocationState] = weakref.WeakSet()


def abandon_thread(thread_ident: int | None = None) -> None:
    """Stop every invocation started on a thread (or every one) from writing: its process died, in a simulation."""
    for state in list(_live_states):
        if thread_ident is None or state.owner_thread == thread_ident:
            state.abandon()


class InvocationAbandoned(BaseException):
    """This invocation lost the execution to another one; it unwinds the handler and stops quietly.

    A BaseException so that user code's `except Exception` cannot swallow it.
    """


class InfrastructureFailure(BaseException):
    """The journal or another AWS service failed under an operation; the invocation must end, not the handler's code.

    A BaseException so that a handler's `except Exception` around `context.step` cannot mistake an outage for
    its step's failure. The engine re-raises `error` for Lambda to retry.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


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

    Thread-safe: concurrent branches share one state. It composes three parts with one job each: the journal
    view (recorded operations; every write is conditional on what it recorded), the pending writes (held back
    where that saves a request), and the ownership (the lease, taken only before work with side effects).
    Every AWS call made for an operation goes through `infrastructure()`, so an outage ends the invocation for a
    retry and never reaches the handler's code as a failure.
    """

    def __init__(
        self,
        services: EngineServices,
        snapshot: JournalSnapshot,
        execution: ExecutionRecord,
        ownership: Ownership,
        *,
        start_linger: float = DEFAULT_START_LINGER_SECONDS,
    ) -> None:
        from .ids import ExecutionArn, scheme_of

        self.services = services
        self.execution = execution
        self.arn = execution.arn
        self.key = ExecutionArn.parse(execution.arn).journal_key
        self.ownership = ownership
        self.seq = ownership.seq
        self.expires_at = int(execution.timeout_at + execution.retention_days * 86_400)
        self.plan = SuspensionPlan()
        self.has_news = snapshot.has_news()
        # How this execution's operation ids are derived (an execution keeps the scheme it was started with).
        self.ids = scheme_of(snapshot.operations)
        # Only the lease's claim is made under an invocation-wide lock; operations' writes are ordered per
        # operation (`PendingWrites.serial`), so concurrent branches never wait for each other's requests.
        self._claim_lock = threading.RLock()
        self.journal = JournalView(services, self.key, snapshot, self.expires_at, self._may_wait)
        self.pending = PendingWrites(start_linger, self._write_early)
        # `next` on a count is atomic under the GIL: events of concurrent branches get distinct positions.
        self._positions = itertools.count(1)
        # A short function timeout gets a proportionate margin: with the full 30 s, a function whose timeout is
        # 30 s or less would suspend before its first operation on every invocation.
        budget = ownership.deadline - services.clock.now()
        self._margin = min(services.settings.deadline_margin_seconds, max(1.0, budget * _MARGIN_SHARE))
        self.writes_enabled = True
        self.owner_thread = threading.get_ident()
        _live_states.add(self)

    # region ownership
    @property
    def claimed(self) -> bool:
        """True once this invocation holds the execution's lease."""
        return self.ownership.claimed

    def claim(self) -> None:
        """Take the execution's lease (once) before running code with side effects."""
        if self.ownership.claimed:
            return
        with self._claim_lock:
            self._write(lambda: self.ownership.claim(on_lost=self.abandon))

    def check_deadline(self) -> None:
        """Suspend, to continue at once in a fresh invocation, when Lambda's time limit is close."""
        if self.now() >= self.ownership.deadline - self._margin:
            self.plan.wake_at(self.now(), REASON_DEADLINE)
            raise SuspendExecution("suspended: close to the Lambda time limit")

    def abandon(self) -> None:
        """Drop held-back writes and refuse further ones (the invocation is aborting or its process died)."""
        self.writes_enabled = False
        self.pending.discard()
        with self._claim_lock:
            self.ownership.stop()

    @contextmanager
    def infrastructure(self) -> Iterator[None]:
        """Make AWS calls for an operation: a failure ends the invocation for a retry, never the handler's code.

        The engine's own typed errors (a validation error, say) pass through as they are.
        """
        try:
            yield
        except (InvocationAbandoned, InfrastructureFailure, LostExecution, DurableExecutionsError):
            raise
        except Exception as error:
            self.abandon()
            raise InfrastructureFailure(error) from error

    def _write(self, write: Callable[[], T]) -> T:
        """Make a journal write; a lost race or an outage unwinds the handler (a plain call: it is on every step)."""
        if not self.writes_enabled:
            raise InvocationAbandoned("this invocation lost its execution and may not write")
        try:
            return write()
        except LostExecution as lost:
            # Another invocation recorded this operation first: it carries on; this one must stop, and user
            # code must not be able to catch that.
            self.abandon()
            raise InvocationAbandoned(str(lost)) from lost
        except (InvocationAbandoned, InfrastructureFailure, DurableExecutionsError):
            raise
        except Exception as error:
            self.abandon()
            raise InfrastructureFailure(error) from error

    def _may_wait(self, seconds: float) -> bool:
        # A throttled or transiently failing write waits while the invocation keeps its margin before Lambda's limit.
        return self.writes_enabled and self.now() + seconds < self.ownership.deadline - self._margin

    # endregion

    # region reads
    def operation(self, operation_id: str) -> OperationRecord | None:
        """The operation's record as this invocation knows it, held-back writes included.

        No lock: an operation is read by the code running it, and a held write stays visible until the write
        that carries it has recorded the new state.
        """
        return self.pending.record_of(operation_id) or self.journal.get(operation_id)

    def has_operations(self) -> bool:
        """True when the journal holds any operation (the invocation starts by replaying)."""
        return bool(self.journal)

    def has_pending(self) -> bool:
        """True when writes or observed events are held back."""
        return bool(self.pending) or self.journal.has_unwritten()

    @property
    def wrote(self) -> bool:
        """True once this invocation changed the journal."""
        return self.journal.wrote

    def payload(self, record: OperationRecord) -> str | None:
        """The operation's serialized result, fetched from the payload bucket when it was offloaded."""
        if record.result_ref is None:
            return record.result
        with self.infrastructure():
            return self.services.payloads.get(record.result_ref)

    def error(self, record: OperationRecord) -> ErrorObject | None:
        """The operation's whole error, fetched from the payload bucket when only a preview is recorded."""
        with self.infrastructure():
            return full_error(self.services.payloads, record.error, record.error_ref)

    def now(self) -> float:
        """The current time on the engine's clock."""
        return self.services.clock.now()

    def is_terminal(self, operation_id: str) -> bool:
        """True when the operation has finished for good."""
        record = self.operation(operation_id)
        return record is not None and OperationStatus(record.status).is_terminal

    # endregion

    # region events
    def event(self, event_type: str, details: dict[str, Any] | None = None, **identity: Any) -> JournalEvent:
        """A new event, ordered after every event this invocation produced before it."""
        return JournalEvent(event_type, self.now(), (self.seq, next(self._positions)), details or {}, **identity)

    def observe_once(self, record: OperationRecord, event_type: str, details: dict[str, Any]) -> None:
        """Record an event no operation write carries (a wait found finished), once across invocations."""
        self.journal.observe_once(
            (record.operation_id, event_type),
            lambda: self.event(
                event_type,
                details,
                operation_id=record.operation_id,
                name=record.name,
                parent_id=record.parent_id,
                sub_type=record.sub_type,
            ),
        )

    def take_invocation_events(self) -> list[JournalEvent]:
        """The observed events no write carried, to store with the invocation's end."""
        return self.journal.take_unwritten()

    # endregion

    # region writes
    def record(self, record: OperationRecord, events: list[JournalEvent]) -> OperationRecord:
        """Write an operation's new state and events now, merged with its held-back write if any."""
        with self.pending.writing(record.operation_id, events) as merged:
            return self._write(lambda: self.journal.write(record, merged))

    def record_start(self, record: OperationRecord, events: list[JournalEvent], *, durable: bool) -> None:
        """Record that an operation started: at once when `durable`, otherwise held back briefly."""
        if durable:
            self.record(record, events)
        else:
            self.pending.hold_start(record, events)

    def record_final(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Record the last thing this invocation does to an operation before suspending; written at suspension."""
        self.pending.hold_final(record, events)

    def flush(self, closing_events: list[JournalEvent] | None = None) -> bool:
        """Write every held-back record; the last one also carries `closing_events` if given.

        Returns True when the closing events were written (there was a held-back record to carry them).
        """
        held = self.pending.drain()
        for index, entry in enumerate(held):
            events = entry.events + (closing_events or []) if index == len(held) - 1 else entry.events
            self._write_in_order(entry.record, events)
        return bool(closing_events) and bool(held)

    def _write_in_order(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        # One write each: a throttled write is tried again alone, never the ones that landed before it.
        with self.pending.serial(record.operation_id):
            self._write(lambda: self.journal.write(record, events))

    def _write_early(self, held: HeldWrite) -> None:
        # The linger timer's write of a start: its failure is not the invocation's (see PendingWrites). Only a
        # lost race means something: then the execution belongs to another invocation.
        if not self.writes_enabled:
            raise InvocationAbandoned("this invocation lost its execution and may not write")
        try:
            self.journal.write(held.record, held.events, paced=False)  # it rides on the next write instead
        except LostExecution:
            self.abandon()
            raise

    # endregion
