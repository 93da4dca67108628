"""The invocation state of a function with plugins: the same journal path, with hooks at its transitions.

Every operation writes through `InvocationState.record/record_start/record_final/observe_once`, so this
subclass sees each operation start and finish without the operations knowing about plugins; the operations
template (`operations/base.py`) adds the two things a write does not show: a replay meeting a recorded
operation, and the user code an operation runs. A function without plugins gets the plain `InvocationState`
and pays nothing.
"""

from __future__ import annotations

import datetime
import json
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from ..engine.clock import is_due
from ..engine.state import InvocationAbandoned, InvocationState
from ..exceptions import ErrorObject, SuspendExecution
from ..journal.records import OperationRecord, OperationStatus
from ..journal.records import OperationType as JournalOperationType
from ..plugin import (
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    OperationStartInfo,
    OperationType,
    UserFunctionOutcome,
    UserFunctionStartInfo,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine.invocation import InvocationOutcome
    from ..engine.ownership import Ownership
    from ..engine.services import EngineServices
    from ..journal.records import ExecutionRecord, JournalEvent, JournalSnapshot
    from ..operations.base import OperationIdentity
    from .executor import PluginExecutor

T = TypeVar("T")
InfoT = TypeVar("InfoT", bound=OperationInfo)


def _when(timestamp: float | None) -> datetime.datetime | None:
    return None if timestamp is None else datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


def operation_info(record: OperationRecord, kind: type[InfoT], *, is_replayed: bool = False, **extra: Any) -> InfoT:
    """A hook's view of an operation record."""
    fields: dict[str, Any] = {
        "operation_id": record.operation_id,
        "operation_type": OperationType(record.operation_type.value),
        "sub_type": record.sub_type,
        "name": record.name,
        "parent_id": record.parent_id,
        "start_time": _when(record.started_at),
        "is_replayed": is_replayed,
        "status": record.status,
        "end_time": _when(record.ended_at),
        "result": record.result,
        "error": record.error,
        "attempt": record.attempt or None,
    }
    fields.update(extra)
    return kind(**fields)


def updated_operation_ids(snapshot: JournalSnapshot) -> set[str]:
    """Operations something was recorded for since the last invocation ended (a callback answered, say)."""
    events = snapshot.events()
    ends = [event.order for event, _ in events if event.event_type == "InvocationCompleted"]
    last_end = max(ends) if ends else (0, 0)
    updated: set[str] = set()
    for event, record in events:
        operation_id = event.operation_id or (record.operation_id if record is not None else None)
        if operation_id is not None and event.order > last_end:
            updated.add(operation_id)
    return updated


class InstrumentedInvocationState(InvocationState):
    """`InvocationState` that tells the invocation's plugins about operation transitions."""

    def __init__(
        self,
        services: EngineServices,
        snapshot: JournalSnapshot,
        execution: ExecutionRecord,
        ownership: Ownership,
        *,
        start_linger: float,
        executor: PluginExecutor,
    ) -> None:
        super().__init__(services, snapshot, execution, ownership, start_linger=start_linger)
        self.executor = executor
        self.updated = updated_operation_ids(snapshot)
        self._replay_announced: set[str] = set()
        # What plugins are shown as the journal: the loaded records, then every state this invocation wrote.
        self._known: dict[str, OperationRecord] = dict(snapshot.operations)
        self._known_lock = threading.Lock()  # branches write (and so learn of records) from several threads
        self.plugin_hooks = self

    # region operation transitions
    def record(self, record: OperationRecord, events: list[JournalEvent]) -> OperationRecord:
        """Write as the base class does; announce a first start before, a finish after."""
        prior = self._before_write(record)
        written = super().record(record, events)
        self._after_write(prior, record)
        return written

    def record_start(self, record: OperationRecord, events: list[JournalEvent], *, durable: bool) -> None:
        """Hold or write a start as the base class does, announced first."""
        prior = self._before_write(record)
        super().record_start(record, events, durable=durable)
        self._after_write(prior, record)

    def record_final(self, record: OperationRecord, events: list[JournalEvent]) -> None:
        """Hold the last write before suspending as the base class does, with its hooks."""
        prior = self._before_write(record)
        super().record_final(record, events)
        self._after_write(prior, record)

    def observe_once(self, record: OperationRecord, event_type: str, details: dict[str, Any]) -> None:
        """Record a finish no write carries (a wait that elapsed); the invocation that first sees it ends it."""
        first: list[bool] = []

        def make_event() -> JournalEvent:
            first.append(True)
            return self.event(
                event_type,
                details,
                operation_id=record.operation_id,
                name=record.name,
                parent_id=record.parent_id,
                sub_type=record.sub_type,
            )

        self.journal.observe_once((record.operation_id, event_type), make_event)
        if first:
            finished = record.evolve(status=OperationStatus.SUCCEEDED, ended_at=record.wait_until or self.now())
            self.executor.on_operation_end(operation_info(finished, OperationEndInfo))

    def _before_write(self, record: OperationRecord) -> OperationRecord | None:
        prior = self.operation(record.operation_id)
        if prior is None:
            self.executor.on_operation_start(
                operation_info(record, OperationStartInfo, status=OperationStatus.STARTED, end_time=None)
            )
        return prior

    def _after_write(self, prior: OperationRecord | None, record: OperationRecord) -> None:
        with self._known_lock:
            self._known[record.operation_id] = record
        if record.status.is_terminal:
            self.executor.on_operation_end(operation_info(record, OperationEndInfo))
        if self.executor.wants_changes and (prior is None or prior.status != record.status):
            self.executor.on_operation_change(
                OperationChangeInfo(
                    execution_arn=self.arn,
                    updated_operations={record.operation_id: operation_info(record, OperationInfo)},
                    operations=self.operation_infos(),
                )
            )

    # endregion

    # region hooks the operations template calls
    def saw_operation(self, record: OperationRecord) -> None:
        """A replay met a recorded operation: unfinished, it starts again; finished meanwhile, it ends here."""
        if record.status.is_terminal:
            if record.operation_id in self.updated:
                self.executor.on_operation_end(operation_info(record, OperationEndInfo))
            return
        if record.operation_id in self._replay_announced or self._elapsed_wait(record):
            return
        self._replay_announced.add(record.operation_id)
        self.executor.on_operation_start(operation_info(record, OperationStartInfo, is_replayed=True, end_time=None))

    def _elapsed_wait(self, record: OperationRecord) -> bool:
        # The service would hand this wait over finished; here it finishes when observed (`observe_once`).
        return record.operation_type == JournalOperationType.WAIT and is_due(self.now(), record.wait_until or 0.0)

    def run_user_function(
        self,
        identity: OperationIdentity,
        func: Callable[..., T],
        *args: Any,
        attempt: int | None = None,
        replay_children: bool = False,
    ) -> T:
        """Run an operation's user code between its user-function hooks."""
        start = self.executor.on_user_function_start(
            UserFunctionStartInfo(
                operation_id=identity.operation_id,
                operation_type=OperationType(identity.operation_type.value),
                sub_type=identity.sub_type,
                name=identity.name,
                parent_id=identity.parent_id,
                start_time=datetime.datetime.now(datetime.UTC),
                is_replayed=False,
                status=OperationStatus.STARTED,
                is_replay_children=replay_children,
                attempt=attempt,
            )
        )
        try:
            value = func(*args)
        except (SuspendExecution, InvocationAbandoned):
            self.executor.on_user_function_end(start, None, outcome=UserFunctionOutcome.INCOMPLETE)
            raise
        except Exception as error:
            self.executor.on_user_function_end(start, ErrorObject.from_exception(error))
            raise
        self.executor.on_user_function_end(start, None)
        return value

    # endregion

    # region invocation
    def operation_infos(self) -> dict[str, OperationInfo]:
        """Every operation this invocation knows, as hooks see them."""
        with self._known_lock:
            records = dict(self._known)
        return {key: operation_info(record, OperationInfo) for key, record in records.items()}

    def observe_invocation(
        self, snapshot: JournalSnapshot, lambda_context: Any, run: Callable[[], InvocationOutcome]
    ) -> InvocationOutcome:
        """Run the invocation between its start and end hooks; an invocation that raises ends as RETRY."""
        event = json.loads(snapshot.input_payload) if snapshot.input_payload else {}
        self.executor.on_invocation_start(
            execution_arn=self.arn,
            is_first_invocation=snapshot.last_invocation() == 0,
            execution_start_time=_when(self.execution.started_at),
            lambda_context=lambda_context,
            execution_input=event,
            operations_provider=self.operation_infos,
            updated_operation_ids=sorted(self.updated),
        )
        try:
            outcome = run()
        except BaseException as error:
            self.executor.on_invocation_end(_Retry(ErrorObject.from_exception(error)))
            raise
        self.executor.on_invocation_end(outcome)
        return outcome

    # endregion


class _Retry:
    """The end of an invocation that raised: Lambda retries it."""

    status = "RETRY"
    result = None

    def __init__(self, error: ErrorObject) -> None:
        self.error = error
