"""The journal store: validated public operations over a few primitives a backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..exceptions import DurableExecutionsError

if TYPE_CHECKING:
    from .records import (
        ErrorObject,
        ExecutionRecord,
        ExecutionStatus,
        ExecutionSummary,
        JournalEvent,
        JournalSnapshot,
        OperationRecord,
        PauseInfo,
    )


class JournalConflictError(DurableExecutionsError):
    """A conditional journal write lost: another invocation changed the record first.

    The invocation that sees this stops quietly and leaves the winner to continue.
    """


@dataclass(frozen=True)
class ExpectedState:
    """What a writer believes an operation record holds; the write only lands if it still does."""

    status: str
    attempt: int


@dataclass(frozen=True)
class ExecutionChange:
    """An operator's move of an execution between states (pause, resume, redrive, delete): one conditional write
    of its record, landing only while the record is in one of `from_statuses`."""

    from_statuses: tuple[ExecutionStatus, ...]
    status: ExecutionStatus
    events: tuple[JournalEvent, ...] = ()
    # The pause in force after the change (None clears one).
    pause: PauseInfo | None = None
    timeout_at: float | None = None
    # An outbox entry delivered once the change landed (the resume that continues the execution).
    wake: str | None = None
    # A redrive reopens a closed execution: its outcome is cleared, and it is pinned to (ARN, version).
    reopen_as: tuple[str, str] | None = None
    expires_at: int | None = None


@dataclass(frozen=True)
class ExecutionPage:
    """One page of a function's executions from the listing index, in start order."""

    executions: list[ExecutionSummary]
    next_marker: str | None


class JournalStore(ABC):
    """Reads and writes one execution's records; every write is conditional."""

    def for_table(self, table: str) -> JournalStore:
        """The same store on another journal table (another engine's); this one when it has no tables."""
        return self

    @abstractmethod
    def load(self, key: str) -> JournalSnapshot:
        """Read every record of an execution (one strongly consistent, paginated Query)."""

    @abstractmethod
    def create_execution(
        self, record: ExecutionRecord, input_payload: str | None, expires_at: int, *, wake: str | None = None
    ) -> bool:
        """Create the execution and its input; False when an execution with this key already exists.

        `wake` is an outbox entry (a resume envelope) the journal's stream delivers once the record exists.
        """

    @abstractmethod
    def get_execution(self, key: str) -> ExecutionRecord | None:
        """Read only the execution record."""

    @abstractmethod
    def get_input(self, key: str) -> str | None:
        """Read the execution's input."""

    @abstractmethod
    def get_operation(self, key: str, operation_id: str) -> OperationRecord | None:
        """Read one operation record."""

    @abstractmethod
    def last_invocation_seq(self, key: str) -> int:
        """The sequence number of the last invocation whose end is recorded (0 when none is)."""

    @abstractmethod
    def acquire_lease(self, key: str, seen_seq: int, new_seq: int, owner: str, until: float) -> bool:
        """Take the execution for invocation `new_seq` if no one moved the lease past `seen_seq` first."""

    @abstractmethod
    def renew_lease(self, key: str, seq: int, owner: str, until: float) -> bool:
        """Extend the lease of invocation `seq` held by `owner`; False when it no longer holds it."""

    @abstractmethod
    def restore_lease(self, key: str, taken_seq: int, owner: str, previous: ExecutionRecord) -> bool:
        """Undo `acquire_lease` for an invocation that wrote nothing, leaving the record as `previous` had it."""

    @abstractmethod
    def write_operation(
        self,
        key: str,
        record: OperationRecord,
        new_events: list[JournalEvent],
        expected: ExpectedState | None,
        expires_at: int,
        *,
        wake: str | None = None,
    ) -> None:
        """Store an operation's state and append its new events; raise JournalConflictError if `expected` is stale.

        `wake` is an outbox entry the journal's stream delivers once the write landed; other writes clear it.
        """

    @abstractmethod
    def write_invocation(self, key: str, seq: int, events: list[JournalEvent], expires_at: int) -> bool:
        """Record the end of invocation `seq`; False when it was already recorded."""

    @abstractmethod
    def close_execution(
        self,
        key: str,
        status: ExecutionStatus,
        *,
        result: str | None,
        result_ref: str | None,
        error: ErrorObject | None,
        error_ref: str | None = None,
        events: list[JournalEvent],
        ended_at: float,
        expires_at: int,
        wake: str | None = None,
    ) -> bool:
        """Move an open (RUNNING or PAUSED) execution to a closed status; False when it was already closed.

        `wake` is an outbox entry (the parent's resume, for a child execution) delivered once the close landed.
        """

    @abstractmethod
    def change_execution(self, key: str, change: ExecutionChange) -> bool:
        """Apply `change` to the execution record; False when the record is not in one of its `from_statuses`."""

    @abstractmethod
    def extend_expiry(self, key: str, expires_at: int) -> None:
        """Keep every record of the execution at least until `expires_at` (a redrive gives it a new life)."""

    @abstractmethod
    def delete_execution(self, key: str) -> None:
        """Delete every record of the execution, its execution record last (so a retried delete finds it)."""

    @abstractmethod
    def list_executions(
        self,
        function_arn: str,
        *,
        limit: int,
        marker: str | None,
        newest_first: bool,
        business_key: str | None = None,
    ) -> ExecutionPage:
        """List a function's executions (those started with `business_key`, if given) by start time."""
