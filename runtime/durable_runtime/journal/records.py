"""What the journal holds, as plain values independent of the storage backend."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ErrorObject

if TYPE_CHECKING:
    from collections.abc import Iterator


class OperationType(StrEnum):
    """The kinds of durable operation, named as the managed service names them."""

    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationStatus(StrEnum):
    """The states an operation record moves through."""

    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        """True once the operation can never change again."""
        return self not in (OperationStatus.STARTED, OperationStatus.PENDING, OperationStatus.READY)


class ExecutionStatus(StrEnum):
    """The states of a whole execution (suspended executions are RUNNING, as in the managed service).

    The journal stores RUNNING, PAUSED, DELETING and the closed states; PAUSING is what a reader sees of a PAUSED
    execution whose last invocation still runs.
    """

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"
    DELETING = "DELETING"

    @property
    def is_open(self) -> bool:
        """True while the execution can still move on (running, or paused until it is resumed)."""
        return self in (ExecutionStatus.RUNNING, ExecutionStatus.PAUSING, ExecutionStatus.PAUSED)

    @property
    def is_closed(self) -> bool:
        """True once the execution ended: it has an outcome (or is being deleted)."""
        return not self.is_open


@dataclass(frozen=True)
class PauseInfo:
    """Why and since when an execution is paused, and whether its timeout stands still meanwhile."""

    requested_at: float
    reason: str | None
    timeout_paused: bool

    def encode(self) -> str:
        """Serialize compactly for the execution record."""
        doc: dict[str, Any] = {"at": round(self.requested_at, 3), "tp": self.timeout_paused}
        if self.reason is not None:
            doc["r"] = self.reason
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> PauseInfo:
        """Read a pause written by `encode`."""
        doc = json.loads(text)
        return cls(float(doc["at"]), doc.get("r"), bool(doc["tp"]))


# Event order is (invocation sequence, position within it); these positions close an invocation.
INVOCATION_END_POSITION = 10**9 - 1
EXECUTION_END_POSITION = 10**9


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One history event as recorded, before it is numbered.

    Events recorded on an operation's own record take their Id, Name, ParentId and SubType from it; events
    recorded elsewhere (a wait observed to finish, an invocation's end) carry them here.
    """

    event_type: str
    timestamp: float
    order: tuple[int, int]
    details: dict[str, Any] = field(default_factory=dict)
    operation_id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None

    def encode(self) -> str:
        """Serialize compactly for a journal list attribute."""
        doc: dict[str, Any] = {"t": self.event_type, "ts": round(self.timestamp, 3), "o": list(self.order)}
        if self.details:
            doc["d"] = self.details
        for key, value in (
            ("id", self.operation_id),
            ("n", self.name),
            ("p", self.parent_id),
            ("s", self.sub_type),
        ):
            if value is not None:
                doc[key] = value
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> JournalEvent:
        """Read an event written by `encode`."""
        doc = json.loads(text)
        return cls(
            event_type=doc["t"],
            timestamp=float(doc["ts"]),
            order=(int(doc["o"][0]), int(doc["o"][1])),
            details=doc.get("d", {}),
            operation_id=doc.get("id"),
            name=doc.get("n"),
            parent_id=doc.get("p"),
            sub_type=doc.get("s"),
        )


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """The current state of one operation, plus the history events it produced."""

    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    status: OperationStatus
    attempt: int = 0
    result: str | None = None
    result_ref: str | None = None
    error: ErrorObject | None = None
    # Set when the error was too large for the item: `error` is then a preview, the whole error is in the bucket.
    error_ref: str | None = None
    next_attempt_at: float | None = None
    wait_until: float | None = None
    replay_children: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    # Operation-specific fields (callback ids, timeouts, child execution ARNs) that only one operation reads.
    extra: dict[str, str] = field(default_factory=dict)
    events: tuple[JournalEvent, ...] = ()

    def evolve(self, **changes: Any) -> OperationRecord:
        """Return a copy with some fields changed; a new result or error drops the old one's bucket reference."""
        return replace(self, **_dropping_stale_refs(changes))


def _dropping_stale_refs(changes: dict[str, Any]) -> dict[str, Any]:
    for value_field, ref_field in (("result", "result_ref"), ("error", "error_ref")):
        if value_field in changes and ref_field not in changes:
            changes[ref_field] = None
    return changes


@dataclass(frozen=True)
class ExecutionRecord:
    """The execution's own record: identity, pinned version, lease and outcome."""

    arn: str
    function_arn: str
    version: str
    execution_name: str
    status: ExecutionStatus
    started_at: float
    timeout_at: float
    retention_days: int
    input_hash: str
    invocation_seq: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    ended_at: float | None = None
    result: str | None = None
    result_ref: str | None = None
    error: ErrorObject | None = None
    error_ref: str | None = None
    events: tuple[JournalEvent, ...] = ()
    # Set on an execution started by another's `context.invoke`: its end resumes that operation.
    parent_arn: str | None = None
    parent_operation_id: str | None = None
    # Set while the execution is PAUSED.
    pause: PauseInfo | None = None
    # What the execution is about in the caller's terms (an order id), to find it by.
    business_key: str | None = None

    @property
    def effective_timeout_at(self) -> float:
        """When the execution times out: its timeout, or the longest an execution may live while its timeout is
        paused."""
        if self.pause is not None and self.pause.timeout_paused:
            return self.started_at + c.MAX_EXECUTION_TIMEOUT_SECONDS
        return self.timeout_at

    def evolve(self, **changes: Any) -> ExecutionRecord:
        """Return a copy with some fields changed; a new result or error drops the old one's bucket reference."""
        return replace(self, **_dropping_stale_refs(changes))


@dataclass(frozen=True)
class ExecutionSummary:
    """What a listing shows of an execution (what the listing index holds)."""

    arn: str
    execution_name: str
    function_arn: str
    version: str
    status: ExecutionStatus
    started_at: float
    ended_at: float | None = None


@dataclass(frozen=True)
class InvocationRecord:
    """Written once when an invocation ends: its sequence number and the events only it observed."""

    seq: int
    events: tuple[JournalEvent, ...]


@dataclass(frozen=True)
class JournalSnapshot:
    """Everything one Query returned for an execution."""

    execution: ExecutionRecord | None
    input_payload: str | None
    operations: dict[str, OperationRecord]
    invocations: dict[int, InvocationRecord]

    def events(self) -> list[tuple[JournalEvent, OperationRecord | None]]:
        """Every recorded event, with the operation record it is stored on (None for other records)."""
        found: list[tuple[JournalEvent, OperationRecord | None]] = (
            [(event, None) for event in self.execution.events] if self.execution is not None else []
        )
        found += [(event, record) for record in self.operations.values() for event in record.events]
        found += [(event, None) for invocation in self.invocations.values() for event in invocation.events]
        return found

    def last_invocation(self) -> int:
        """The highest invocation sequence number any record mentions."""
        return self._facts().last_invocation

    def has_news(self) -> bool:
        """True when something was recorded after the last invocation ended (a callback completed, say), or that
        invocation ended with an error.

        The invocation that finds such news records its own end even if it then suspends again, so the
        history shows every invocation that acted on something; a duplicate resume finds no news. An invocation
        that ended with an error (an outage, say) may have stopped before it set its timer: the one that follows
        it sets it again and records its own end, after which duplicates find nothing to do.
        """
        facts = self._facts()
        return facts.newest_news > facts.last_end or facts.last_end_failed

    def completed_invocations(self) -> set[int]:
        """The sequence numbers of invocations whose end is recorded."""
        return set(self._facts().completed)

    def last_sign_of_life(self, seq: int) -> float | None:
        """When invocation `seq` last recorded something (None if it recorded nothing): a rare question, of an
        invocation that died, answered by a walk over the events."""
        times = [event.timestamp for event in _every_event(self) if event.order[0] == seq]
        return max(times, default=None)

    def events_with_own_identity(self) -> set[tuple[str | None, str]]:
        """(operation id, event type) of every event stored on a record other than its operation's."""
        return set(self._facts().own_identity)

    def _facts(self) -> _EventFacts:
        # What every invocation asks of the events, gathered in one pass without pairing them with their records:
        # a 50,000-operation journal holds 150,000 events, and pairing them was a third of its replay.
        facts: _EventFacts | None = self.__dict__.get("_event_facts")
        if facts is None:
            facts = _EventFacts.of(self)
            object.__setattr__(self, "_event_facts", facts)  # a cache on a frozen snapshot
        return facts


@dataclass(frozen=True)
class _EventFacts:
    last_invocation: int
    completed: frozenset[int]
    last_end: tuple[int, int]  # the order of the last InvocationCompleted
    last_end_failed: bool  # whether that invocation ended with an error
    newest_news: tuple[int, int]  # the order of the newest event other than the execution's own
    own_identity: frozenset[tuple[str | None, str]]

    @classmethod
    def of(cls, snapshot: JournalSnapshot) -> _EventFacts:
        last_invocation = snapshot.execution.invocation_seq if snapshot.execution else 0
        completed: set[int] = set()
        own_identity: set[tuple[str | None, str]] = set()
        last_end = newest_news = (0, 0)
        last_end_failed = False
        for event in _every_event(snapshot):
            order, event_type = event.order, event.event_type
            last_invocation = max(last_invocation, order[0])
            if event_type == "InvocationCompleted":
                completed.add(order[0])
                if order > last_end:
                    last_end, last_end_failed = order, "Error" in event.details
            if order > newest_news and not event_type.startswith("Execution"):
                newest_news = order
            if carries_own_identity(event):
                own_identity.add((event.operation_id, event_type))
        return cls(
            last_invocation, frozenset(completed), last_end, last_end_failed, newest_news, frozenset(own_identity)
        )


def _every_event(snapshot: JournalSnapshot) -> Iterator[JournalEvent]:
    if snapshot.execution is not None:
        yield from snapshot.execution.events
    for record in snapshot.operations.values():
        yield from record.events
    for invocation in snapshot.invocations.values():
        yield from invocation.events


def carries_own_identity(event: JournalEvent) -> bool:
    """True for events stored on a record other than their operation's (an invocation's end, a finished wait)."""
    return event.operation_id is not None or event.event_type == "InvocationCompleted"
