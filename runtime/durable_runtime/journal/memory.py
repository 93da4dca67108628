"""A JournalStore in process memory, with the same conditions as DynamoDB: for unit tests and CPU benchmarks."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .records import (
    ExecutionRecord,
    ExecutionStatus,
    ExecutionSummary,
    InvocationRecord,
    JournalSnapshot,
    OperationRecord,
)
from .store import ExecutionChange, ExecutionPage, ExpectedState, JournalConflictError, JournalStore

if TYPE_CHECKING:
    from ..exceptions import ErrorObject
    from .records import JournalEvent


class InMemoryJournalStore(JournalStore):
    """Keeps each execution's records in dictionaries; every write checks the same condition DynamoDB would."""

    def __init__(self) -> None:
        self._executions: dict[str, ExecutionRecord] = {}
        self._inputs: dict[str, tuple[str, str | None]] = {}
        self._operations: dict[str, dict[str, OperationRecord]] = {}
        self._invocations: dict[str, dict[int, InvocationRecord]] = {}
        # Outbox entries (`wake`) of the writes that landed, in order: what the journal stream would carry.
        self._outbox: list[str] = []
        self._lock = threading.Lock()

    def take_outbox(self) -> list[str]:
        """The outbox entries written since the last call, oldest first."""
        with self._lock:
            entries, self._outbox = self._outbox, []
            return entries

    def put_snapshot(self, key: str, snapshot: JournalSnapshot) -> None:
        """Hold `snapshot` as execution `key`'s journal (a replay's starting point)."""
        with self._lock:
            if snapshot.execution is not None:
                self._executions[key] = snapshot.execution
                self._inputs[key] = (snapshot.execution.input_hash, snapshot.input_payload)
            self._operations[key] = dict(snapshot.operations)
            self._invocations[key] = dict(snapshot.invocations)

    def load(self, key: str) -> JournalSnapshot:
        """A consistent copy of the execution's records."""
        with self._lock:
            input_record = self._inputs.get(key)
            return JournalSnapshot(
                self._executions.get(key),
                input_record[1] if input_record else None,
                dict(self._operations.get(key, {})),
                dict(self._invocations.get(key, {})),
            )

    def create_execution(
        self, record: ExecutionRecord, input_payload: str | None, expires_at: int, *, wake: str | None = None
    ) -> bool:
        """Claim the name with the input, then create the execution record."""
        from ..engine.ids import ExecutionArn

        key = ExecutionArn.parse(record.arn).journal_key
        with self._lock:
            claimed = self._inputs.get(key)
            if claimed is not None and claimed[0] != record.input_hash:
                return False
            self._inputs[key] = (record.input_hash, input_payload)
            if key in self._executions:
                return False
            self._executions[key] = record
            self._outbox.extend([wake] if wake else [])
            return True

    def get_execution(self, key: str) -> ExecutionRecord | None:
        """The execution record."""
        with self._lock:
            return self._executions.get(key)

    def get_input(self, key: str) -> str | None:
        """The execution's input."""
        with self._lock:
            claimed = self._inputs.get(key)
            return claimed[1] if claimed else None

    def get_operation(self, key: str, operation_id: str) -> OperationRecord | None:
        """One operation record."""
        with self._lock:
            return self._operations.get(key, {}).get(operation_id)

    def last_invocation_seq(self, key: str) -> int:
        """The highest recorded invocation sequence number."""
        with self._lock:
            return max(self._invocations.get(key, {}), default=0)

    def acquire_lease(self, key: str, seen_seq: int, new_seq: int, owner: str, until: float) -> bool:
        """Move the lease from `seen_seq` to `new_seq`."""
        with self._lock:
            record = self._executions.get(key)
            if record is None or record.invocation_seq != seen_seq or record.status != ExecutionStatus.RUNNING:
                return False
            self._executions[key] = record.evolve(invocation_seq=new_seq, lease_owner=owner, lease_until=until)
            return True

    def renew_lease(self, key: str, seq: int, owner: str, until: float) -> bool:
        """Extend the lease while `owner` holds it."""
        with self._lock:
            record = self._executions.get(key)
            held = record is not None and record.invocation_seq == seq and record.lease_owner == owner
            if not held or record is None or record.status != ExecutionStatus.RUNNING:
                return False
            self._executions[key] = record.evolve(lease_until=until)
            return True

    def restore_lease(self, key: str, taken_seq: int, owner: str, previous: ExecutionRecord) -> bool:
        """Put the lease fields back."""
        with self._lock:
            record = self._executions.get(key)
            if record is None or record.invocation_seq != taken_seq or record.lease_owner != owner:
                return False
            self._executions[key] = record.evolve(
                invocation_seq=previous.invocation_seq,
                lease_owner=previous.lease_owner,
                lease_until=previous.lease_until,
            )
            return True

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
        """Store the record and append its events if it is as expected."""
        with self._lock:
            operations = self._operations.setdefault(key, {})
            current = operations.get(record.operation_id)
            matches = (
                current is None
                if expected is None
                else current is not None
                and (current.status.value, current.attempt) == (expected.status, expected.attempt)
            )
            if not matches:
                raise JournalConflictError(f"operation {record.operation_id} was changed by another invocation")
            events = (current.events if current else ()) + tuple(new_events)
            operations[record.operation_id] = record.evolve(events=events)
            self._outbox.extend([wake] if wake else [])

    def write_invocation(self, key: str, seq: int, events: list[JournalEvent], expires_at: int) -> bool:
        """Store the invocation record once."""
        with self._lock:
            invocations = self._invocations.setdefault(key, {})
            if seq in invocations:
                return False
            invocations[seq] = InvocationRecord(seq, tuple(events))
            return True

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
        """Close a running execution."""
        with self._lock:
            record = self._executions.get(key)
            if record is None or not record.status.is_open:
                return False
            self._executions[key] = record.evolve(
                pause=None,
                status=status,
                result=result,
                result_ref=result_ref,
                error=error,
                error_ref=error_ref,
                ended_at=ended_at,
                lease_owner=None,
                lease_until=None,
                events=record.events + tuple(events),
            )
            self._outbox.extend([wake] if wake else [])
            return True

    def change_execution(self, key: str, change: ExecutionChange) -> bool:
        """Apply the change if the record's status is one it moves from."""
        with self._lock:
            record = self._executions.get(key)
            if record is None or record.status not in change.from_statuses:
                return False
            changed = record.evolve(
                status=change.status,
                pause=change.pause,
                timeout_at=record.timeout_at if change.timeout_at is None else change.timeout_at,
                events=record.events + change.events,
            )
            if change.reopen_as is not None:
                arn, version = change.reopen_as
                changed = changed.evolve(
                    arn=arn, version=version, ended_at=None, result=None, error=None, lease_owner=None, lease_until=None
                )
            self._executions[key] = changed
            self._outbox.extend([change.wake] if change.wake else [])
            return True

    def extend_expiry(self, key: str, expires_at: int) -> None:
        """Nothing expires in memory."""

    def delete_execution(self, key: str) -> None:
        """Forget the execution's records."""
        with self._lock:
            for records in (self._inputs, self._operations, self._invocations, self._executions):
                records.pop(key, None)

    def list_executions(
        self,
        function_arn: str,
        *,
        limit: int,
        marker: str | None,
        newest_first: bool,
        business_key: str | None = None,
    ) -> ExecutionPage:
        """The function's executions (with `business_key`, if given) by start time."""
        with self._lock:
            matching = sorted(
                (
                    r
                    for r in self._executions.values()
                    if r.function_arn == function_arn and business_key in (None, r.business_key)
                ),
                key=lambda r: r.started_at,
                reverse=newest_first,
            )
        start = int(marker or 0)
        page = [
            ExecutionSummary(r.arn, r.execution_name, r.function_arn, r.version, r.status, r.started_at, r.ended_at)
            for r in matching[start : start + limit]
        ]
        more = start + limit < len(matching)
        return ExecutionPage(page, str(start + limit) if more else None)
