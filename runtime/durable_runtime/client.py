"""DurableClient: the managed service's durable APIs, with boto3's Lambda method names and shapes."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from .engine.history import render_history
from .engine.ids import ExecutionArn, FunctionArn
from .engine.lifecycle import ResourceConflictException, ResourceNotFoundException, reported_status
from .engine.services import EngineServices, current_services
from .engine.starting import DurableExecutionAlreadyStartedException, start_execution
from .exceptions import ErrorObject
from .journal.records import ExecutionRecord, ExecutionStatus, ExecutionSummary, JournalSnapshot, OperationRecord

__all__ = [
    "DurableClient",
    "DurableExecutionAlreadyStartedException",
    "ResourceConflictException",
    "ResourceNotFoundException",
]


def _ts(epoch: float | None) -> datetime.datetime | None:
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


class DurableClient:
    """Start, inspect, list and stop durable executions; same methods and shapes as boto3's Lambda client."""

    def __init__(self, services: EngineServices | None = None, *, session: Any = None) -> None:
        if services is None and session is not None:
            from .engine.services import services_from_environment

            services = services_from_environment(session)
        self._services = services

    @property
    def services(self) -> EngineServices:
        """The engine services this client talks to."""
        return self._services or current_services()

    # region starting and stopping
    def start_execution(
        self,
        function: str,
        input: str | None = None,
        execution_name: str | None = None,
        *,
        execution_timeout: int | None = None,
        business_key: str | None = None,
    ) -> dict[str, Any]:
        """Start an execution of `function` (name or ARN; a version or alias qualifier pins that version).

        Idempotent by name: the same name and input return the existing execution; the same name with another
        input raises DurableExecutionAlreadyStartedException. `business_key` (an order id, a ticket id) lets
        `list_durable_executions_by_function(..., BusinessKey=...)` find the execution by it.
        """
        services = self.services
        described = services.invoker.describe(function)
        name = execution_name or str(uuid.uuid4())
        # The execution record carries its first invocation as an outbox entry (DESIGN §4 "Liveness"): once the
        # record exists the journal's stream starts it, even if this process dies the moment the call returns.
        record, _ = start_execution(
            services, described, name, input, execution_timeout_seconds=execution_timeout, business_key=business_key
        )
        return {"DurableExecutionArn": record.arn, "StartTimestamp": _ts(record.started_at)}

    def stop_durable_execution(self, DurableExecutionArn: str, Error: dict[str, Any] | None = None) -> dict[str, Any]:
        """Close a running execution as STOPPED; later resumes and callbacks for it are rejected."""
        from .engine.invocation import parent_wake
        from .journal.payloads import fit_outcome, shrink_events
        from .journal.records import EXECUTION_END_POSITION, JournalEvent

        arn = ExecutionArn.parse(DurableExecutionArn)
        # The whole journal, not the execution record alone: the stop is numbered after every event recorded so
        # far, an invocation's that never took the lease included (its events carry the number after the lease's).
        snapshot = self.services.store.load(arn.journal_key)
        record = snapshot.execution
        if record is None:
            raise ResourceNotFoundException(f"no durable execution {arn}")
        if record.status.is_closed:
            raise ResourceConflictException(
                f"execution {DurableExecutionArn} is already {record.status.value}; nothing to stop"
            )
        now = self.services.clock.now()
        error = ErrorObject.from_dict(Error) if Error else None
        details = {"Error": {"Payload": error.to_dict()}} if error else {}
        event = JournalEvent("ExecutionStopped", now, (snapshot.last_invocation() + 1, EXECUTION_END_POSITION), details)
        _, _, stored_error, error_ref, known = fit_outcome(self.services.payloads, arn.journal_key, "stop", None, error)
        closed = self.services.store.close_execution(
            arn.journal_key,
            ExecutionStatus.STOPPED,
            result=None,
            result_ref=None,
            error=stored_error,
            error_ref=error_ref,
            events=shrink_events([event], self.services.payloads, arn.journal_key, "stop", known),
            ended_at=now,
            expires_at=int(now + record.retention_days * 86_400),
            # A stopped child execution resumes its parent through the journal's outbox, like any other close.
            wake=parent_wake(record),
        )
        if not closed:
            raise ResourceConflictException(f"execution {DurableExecutionArn} closed before it could be stopped")
        return {"StopTimestamp": _ts(now)}

    def pause_durable_execution(
        self,
        DurableExecutionArn: str,
        Reason: str | None = None,
        ExecutionTimeoutPaused: bool = True,
        ClientToken: str | None = None,
    ) -> dict[str, Any]:
        """Pause a RUNNING execution: no invocation starts until it is resumed, while its waits and callbacks
        still complete. With ExecutionTimeoutPaused (the default) the time paused is added to its timeout."""
        from .engine.lifecycle import pause

        pause(self.services, DurableExecutionArn, Reason, ExecutionTimeoutPaused)
        return {}

    def resume_durable_execution(
        self, DurableExecutionArn: str, Reason: str | None = None, ClientToken: str | None = None
    ) -> dict[str, Any]:
        """Resume a PAUSED execution: it acts on whatever completed meanwhile, or waits on as before."""
        from .engine.lifecycle import resume

        resume(self.services, DurableExecutionArn, Reason)
        return {}

    def delete_durable_execution(self, DurableExecutionArn: str) -> dict[str, Any]:
        """Delete a closed execution's journal records and payloads."""
        from .engine.lifecycle import delete

        return {"DeletionRequestTimestamp": _ts(delete(self.services, DurableExecutionArn))}

    def redrive_durable_execution(self, DurableExecutionArn: str, Qualifier: str | None = None) -> dict[str, Any]:
        """Durable Kit's own: reopen a FAILED or TIMED_OUT execution at the operation that failed.

        Completed operations keep their results; the failed step gets a new attempt. `Qualifier` (a version or
        an alias) moves the execution to that version, to run a fix; the returned ARN names the version it runs.
        """
        from .engine.lifecycle import redrive

        return {"DurableExecutionArn": redrive(self.services, DurableExecutionArn, Qualifier)}

    # endregion

    # region callbacks
    def send_durable_execution_callback_success(
        self, CallbackId: str, Result: bytes | str | None = None
    ) -> dict[str, Any]:
        """Complete a callback with `Result` (the raw payload) and resume its execution."""
        from .callbacks.completion import send_success

        payload = Result.decode() if isinstance(Result, bytes) else Result
        send_success(self.services, CallbackId, payload)
        return {}

    def send_durable_execution_callback_failure(
        self, CallbackId: str, Error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Fail a callback with `Error` ({ErrorType, ErrorMessage, ErrorData, StackTrace}) and resume its execution."""
        from .callbacks.completion import send_failure

        send_failure(self.services, CallbackId, ErrorObject.from_dict(Error or {}))
        return {}

    def send_durable_execution_callback_heartbeat(self, CallbackId: str) -> dict[str, Any]:
        """Tell a callback its external system is still working (pushes its heartbeat timeout out)."""
        from .callbacks.completion import send_heartbeat

        send_heartbeat(self.services, CallbackId)
        return {}

    # endregion

    # region reading
    def get_durable_execution(self, DurableExecutionArn: str) -> dict[str, Any]:
        """The execution's status, input, result or error and timestamps."""
        arn = ExecutionArn.parse(DurableExecutionArn)
        record = self._execution(arn)
        return self._execution_shape(record, self.services.store.get_input(arn.journal_key))

    def get_durable_execution_history(
        self,
        DurableExecutionArn: str,
        IncludeExecutionData: bool = False,
        MaxItems: int | None = None,
        Marker: str | None = None,
        ReverseOrder: bool = False,
    ) -> dict[str, Any]:
        """The event history, numbered from 1, in the managed service's format."""
        snapshot, _ = self._snapshot(DurableExecutionArn)
        events = render_history(snapshot, self.services, include_execution_data=IncludeExecutionData)
        if ReverseOrder:
            events.reverse()
        return _page(events, "Events", MaxItems, Marker)

    def get_durable_execution_state(
        self,
        DurableExecutionArn: str,
        CheckpointToken: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The current state of every operation, in the API's Operation shape."""
        snapshot, _ = self._snapshot(DurableExecutionArn)
        return _page(self._operations(snapshot), "Operations", MaxItems, Marker)

    def get_durable_execution_record(
        self, DurableExecutionArn: str, IncludeExecutionData: bool = False
    ) -> dict[str, Any]:
        """The execution, its operations and its history, whole, from one read of its journal.

        Durable Kit's own call (the managed API has none): a test runner reading a closed execution's result
        needs all three, and reading the journal once instead of three times is most of the cost of a result.
        """
        snapshot, execution = self._snapshot(DurableExecutionArn)
        return {
            "Execution": self._execution_shape(execution, snapshot.input_payload),
            "Operations": self._operations(snapshot),
            "Events": render_history(snapshot, self.services, include_execution_data=IncludeExecutionData),
        }

    def export_durable_execution(self, DurableExecutionArn: str) -> dict[str, Any]:
        """The execution's whole journal (and its history, with data) as one JSON-ready document.

        Keep it as a test fixture: `durable_runtime.testing.replay(handler, document)` replays it against the
        current code, without side effects, and names the first operation the code no longer agrees with.
        """
        from .export import export_document

        snapshot, _ = self._snapshot(DurableExecutionArn)
        history = render_history(snapshot, self.services, include_execution_data=True)
        return export_document(self.services, snapshot, history)

    def _snapshot(self, execution_arn: str) -> tuple[JournalSnapshot, ExecutionRecord]:
        snapshot = self.services.store.load(ExecutionArn.parse(execution_arn).journal_key)
        if snapshot.execution is None:
            raise ResourceNotFoundException(f"no durable execution {execution_arn}")
        return snapshot, snapshot.execution

    def _execution_shape(self, record: ExecutionRecord, input_payload: str | None) -> dict[str, Any]:
        result = record.result
        if record.result_ref:
            result = self.services.payloads.get(record.result_ref)
        return _without_none(
            {
                "DurableExecutionArn": record.arn,
                "DurableExecutionName": record.execution_name,
                "FunctionArn": f"{record.function_arn}:{record.version}",
                "InputPayload": input_payload,
                "Result": result,
                "Error": _error_dict(self.services, record.error, record.error_ref),
                "StartTimestamp": _ts(record.started_at),
                "EndTimestamp": _ts(record.ended_at),
                "Status": reported_status(self.services, record).value,
                "Version": record.version,
                "BusinessKey": record.business_key,
                "PauseDetails": _pause_details(record),
                "ExpectedExecutionTimeoutTimestamp": (
                    _ts(record.effective_timeout_at) if record.status.is_open else None
                ),
            }
        )

    def _operations(self, snapshot: JournalSnapshot) -> list[dict[str, Any]]:
        finished = {event.operation_id for event, _ in snapshot.events() if event.event_type == "WaitSucceeded"}
        operations = [
            _operation_shape(record, record.operation_id in finished, self.services)
            for record in snapshot.operations.values()
        ]
        operations.sort(key=lambda op: op.get("StartTimestamp") or datetime.datetime.min.replace(tzinfo=datetime.UTC))
        return operations

    def list_durable_executions_by_function(
        self,
        FunctionName: str,
        Qualifier: str | None = None,
        DurableExecutionName: str | None = None,
        Statuses: list[str] | None = None,
        StartedAfter: datetime.datetime | None = None,
        StartedBefore: datetime.datetime | None = None,
        ReverseOrder: bool = False,
        Marker: str | None = None,
        MaxItems: int = 50,
        BusinessKey: str | None = None,
    ) -> dict[str, Any]:
        """A function's executions by start time (oldest first unless ReverseOrder), filtered as asked.

        `BusinessKey` (ours) lists only the executions started with that business key, from its own index.
        """
        unqualified = FunctionArn.parse(self.services.invoker.describe(FunctionName).function_arn).unqualified
        wanted: list[dict[str, Any]] = []
        marker = Marker
        while len(wanted) < MaxItems:
            page = self.services.store.list_executions(
                unqualified, limit=MaxItems, marker=marker, newest_first=ReverseOrder, business_key=BusinessKey
            )
            wanted.extend(
                _summary(record)
                for record in page.executions
                if _matches(record, Qualifier, DurableExecutionName, Statuses, StartedAfter, StartedBefore)
            )
            marker = page.next_marker
            if marker is None:
                break
        return _without_none({"DurableExecutions": wanted[:MaxItems], "NextMarker": marker})

    # endregion

    def _execution(self, arn: ExecutionArn) -> ExecutionRecord:
        record = self.services.store.get_execution(arn.journal_key)
        if record is None:
            raise ResourceNotFoundException(f"no durable execution {arn}")
        return record


def _pause_details(record: ExecutionRecord) -> dict[str, Any] | None:
    if record.pause is None:
        return None
    details = {"PauseRequestTimestamp": _ts(record.pause.requested_at), "Reason": record.pause.reason}
    return _without_none({**details, "ExecutionTimeoutPaused": record.pause.timeout_paused})


def _page(items: list[dict[str, Any]], key: str, max_items: int | None, marker: str | None) -> dict[str, Any]:
    start = int(marker) if marker else 0
    end = len(items) if not max_items else start + max_items
    page: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        page["NextMarker"] = str(end)
    return page


def _matches(
    record: ExecutionSummary,
    qualifier: str | None,
    name: str | None,
    statuses: list[str] | None,
    after: datetime.datetime | None,
    before: datetime.datetime | None,
) -> bool:
    started = _ts(record.started_at)
    assert started is not None
    return (
        (qualifier is None or qualifier == record.version)
        and (name is None or name == record.execution_name)
        and (not statuses or record.status.value in statuses)
        and (after is None or started > after)
        and (before is None or started < before)
    )


def _summary(record: ExecutionSummary) -> dict[str, Any]:
    return _without_none(
        {
            "DurableExecutionArn": record.arn,
            "DurableExecutionName": record.execution_name,
            "FunctionArn": f"{record.function_arn}:{record.version}",
            "Status": record.status.value,
            "StartTimestamp": _ts(record.started_at),
            "EndTimestamp": _ts(record.ended_at),
        }
    )


def _error_dict(services: EngineServices, error: ErrorObject | None, error_ref: str | None) -> dict[str, Any] | None:
    from .journal.payloads import full_error

    whole = full_error(services.payloads, error, error_ref)
    return whole.to_dict() if whole else None


def _operation_shape(record: OperationRecord, wait_finished: bool, services: EngineServices) -> dict[str, Any]:
    status = "SUCCEEDED" if wait_finished else record.status.value
    result = {"Result": record.result} if record.result is not None else {}
    error_dict = _error_dict(services, record.error, record.error_ref)
    error = {"Error": error_dict} if error_dict else {}
    shape: dict[str, Any] = _without_none(
        {
            "Id": record.operation_id,
            "ParentId": record.parent_id,
            "Name": record.name,
            "Type": record.operation_type.value,
            "SubType": record.sub_type,
            "StartTimestamp": _ts(record.started_at),
            # A wait found finished ended when it was due, whichever invocation noticed it.
            "EndTimestamp": _ts(record.wait_until if wait_finished else record.ended_at),
            "Status": status,
        }
    )
    kind = record.operation_type.value
    if kind == "STEP":
        shape["StepDetails"] = _without_none(
            {
                "Attempt": record.attempt,
                "NextAttemptTimestamp": _ts(record.next_attempt_at),
                **result,
                **error,
            }
        )
    elif kind == "WAIT":
        shape["WaitDetails"] = _without_none({"ScheduledEndTimestamp": _ts(record.wait_until)})
    elif kind == "CONTEXT":
        shape["ContextDetails"] = {"ReplayChildren": record.replay_children, **result, **error}
    elif kind == "CALLBACK":
        # The callback's id is a capability and is not kept in the journal: the history hands it to its owner.
        shape["CallbackDetails"] = {**result, **error}
    elif kind == "CHAINED_INVOKE":
        shape["ChainedInvokeDetails"] = {**result, **error}
    return shape
