"""The durable-execution service's data model, under the official SDK's names (`lambda_service`).

Operations as the service reports them (`Operation` and its per-kind details), the enums tests compare against
(`OperationType`, `OperationStatus`, `OperationSubType`, `OperationAction`, `InvocationStatus`), the checkpoint
update shape (`OperationUpdate` and its options) and the invocation output. Durable Kit keeps its state in its own
journal rather than calling the managed service's checkpoint API, so these classes are the shared vocabulary for
histories, test results and typed operations; `OperationType`, `OperationStatus` and `ErrorObject` are the very
classes the journal and the operations use, so there is one class per concept.

Every `from_dict`/`to_dict` pair reads and writes the service's wire shape (``Id``, ``Type``, ``StepDetails`` ...).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

from ._reexports import lazy_reexports
from .exceptions import CheckpointError, DurableOperationError, ErrorObject, GetExecutionStateError, SerDesError
from .journal.records import OperationStatus, OperationType
from .lambda_service_updates import (
    CallbackOptions,
    ChainedInvokeOptions,
    ContextOptions,
    DurableServiceClient,
    LambdaClient,
    OperationAction,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)

if TYPE_CHECKING:
    from .execution import InvocationStatus

__all__ = [
    "CallbackDetails",
    "CallbackOptions",
    "CallbackTimeoutType",
    "ChainedInvokeDetails",
    "ChainedInvokeOptions",
    "CheckpointError",
    "CheckpointOutput",
    "CheckpointUpdatedExecutionState",
    "ContextDetails",
    "ContextOptions",
    "DurableExecutionInvocationOutput",
    "DurableOperationError",
    "DurableServiceClient",
    "ErrorObject",
    "ExecutionDetails",
    "GetExecutionStateError",
    "InvocationStatus",
    "LambdaClient",
    "Operation",
    "OperationAction",
    "OperationPayload",
    "OperationStatus",
    "OperationSubType",
    "OperationType",
    "OperationUpdate",
    "ReplayChildren",
    "SerDesError",
    "StateOutput",
    "StepDetails",
    "StepOptions",
    "TimeoutSeconds",
    "TimestampConverter",
    "WaitDetails",
    "WaitOptions",
]

ReplayChildren: TypeAlias = bool
OperationPayload: TypeAlias = str
TimeoutSeconds: TypeAlias = int


# `InvocationStatus` is defined with the handler wrapper; importing that module eagerly would pull the engine into
# every `import durable_runtime.lambda_service`, so it is resolved on first use.
__getattr__, __dir__ = lazy_reexports(__name__, {"InvocationStatus": "execution"})


class CallbackTimeoutType(Enum):
    """Which deadline a callback missed: its overall timeout or its heartbeat timeout."""

    TIMEOUT = "Callback.Timeout"
    HEARTBEAT = "Callback.Heartbeat"


class OperationSubType(StrEnum):
    """The sub-type labels the runtime records for its own operations.

    Sub-types are plain strings on the wire (a step, callback or child context may carry a user-chosen label), so
    this is a ``StrEnum``: ``operation.sub_type == OperationSubType.MAP`` holds for a recorded ``"Map"``.
    """

    STEP = "Step"
    WAIT = "Wait"
    CALLBACK = "Callback"
    RUN_IN_CHILD_CONTEXT = "RunInChildContext"
    MAP = "Map"
    MAP_ITERATION = "MapIteration"
    PARALLEL = "Parallel"
    PARALLEL_BRANCH = "ParallelBranch"
    WAIT_FOR_CALLBACK = "WaitForCallback"
    WAIT_FOR_CONDITION = "WaitForCondition"
    CHAINED_INVOKE = "ChainedInvoke"


def _error_from(data: Mapping[str, Any]) -> ErrorObject | None:
    raw = data.get("Error")
    return ErrorObject.from_dict(raw) if raw else None


@dataclass(frozen=True)
class ExecutionDetails:
    """The execution operation's input, as the JSON text the execution was started with."""

    input_payload: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExecutionDetails:
        """Read ``{"InputPayload": ...}``."""
        return cls(input_payload=data.get("InputPayload"))


@dataclass(frozen=True)
class ContextDetails:
    """A child context's outcome, and whether replay must re-run its children to rebuild a large result."""

    replay_children: ReplayChildren = False
    result: OperationPayload | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContextDetails:
        """Read ``{"ReplayChildren", "Result", "Error"}``."""
        return cls(bool(data.get("ReplayChildren", False)), data.get("Result"), _error_from(data))


@dataclass(frozen=True)
class StepDetails:
    """A step's attempt count, its next retry time while it waits to retry, and its outcome."""

    attempt: int = 0
    next_attempt_timestamp: datetime.datetime | None = None
    result: OperationPayload | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepDetails:
        """Read ``{"Attempt", "NextAttemptTimestamp", "Result", "Error"}``."""
        return cls(
            attempt=int(data.get("Attempt", 0)),
            next_attempt_timestamp=data.get("NextAttemptTimestamp"),
            result=data.get("Result"),
            error=_error_from(data),
        )


@dataclass(frozen=True)
class WaitDetails:
    """When a wait is due to end."""

    scheduled_end_timestamp: datetime.datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaitDetails:
        """Read ``{"ScheduledEndTimestamp": ...}``."""
        return cls(scheduled_end_timestamp=data.get("ScheduledEndTimestamp"))


@dataclass(frozen=True)
class CallbackDetails:
    """A callback's id (what an external system answers with) and the answer once it came."""

    callback_id: str
    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbackDetails:
        """Read ``{"CallbackId", "Result", "Error"}``."""
        return cls(callback_id=data["CallbackId"], result=data.get("Result"), error=_error_from(data))


@dataclass(frozen=True)
class ChainedInvokeDetails:
    """A chained invocation's outcome."""

    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainedInvokeDetails:
        """Read ``{"Result", "Error"}``."""
        return cls(result=data.get("Result"), error=_error_from(data))


class TimestampConverter:
    """Conversions between aware UTC datetimes and Unix epoch milliseconds."""

    @staticmethod
    def to_unix_millis(dt: datetime.datetime | None) -> int | None:
        """Epoch milliseconds of `dt`, or None."""
        return None if dt is None else int(dt.timestamp() * 1000)

    @staticmethod
    def from_unix_millis(ms: int | None) -> datetime.datetime | None:
        """The UTC datetime `ms` epoch milliseconds denote, or None."""
        return None if ms is None else datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


# Wire key of each details field, and the timestamps inside details that JSON form carries as epoch millis.
_DETAILS_KEYS = (
    ("execution_details", "ExecutionDetails", ExecutionDetails),
    ("context_details", "ContextDetails", ContextDetails),
    ("step_details", "StepDetails", StepDetails),
    ("wait_details", "WaitDetails", WaitDetails),
    ("callback_details", "CallbackDetails", CallbackDetails),
    ("chained_invoke_details", "ChainedInvokeDetails", ChainedInvokeDetails),
)
_NESTED_TIMESTAMPS = (("StepDetails", "NextAttemptTimestamp"), ("WaitDetails", "ScheduledEndTimestamp"))


@dataclass(frozen=True)
class Operation:
    """One operation of an execution as the service reports it (execution, step, wait, callback, context, invoke)."""

    operation_id: str
    operation_type: OperationType
    status: OperationStatus
    parent_id: str | None = None
    name: str | None = None
    start_timestamp: datetime.datetime | None = None
    end_timestamp: datetime.datetime | None = None
    sub_type: str | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        """Read the wire shape (``Id``, ``Type``, ``Status``, ``StepDetails`` ...); timestamps stay as given."""
        details: dict[str, Any] = {
            attr: kind.from_dict(data[key]) for attr, key, kind in _DETAILS_KEYS if data.get(key)
        }
        return cls(
            operation_id=data["Id"],
            operation_type=OperationType(data["Type"]),
            status=OperationStatus(data["Status"]),
            parent_id=data.get("ParentId"),
            name=data.get("Name"),
            start_timestamp=data.get("StartTimestamp"),
            end_timestamp=data.get("EndTimestamp"),
            sub_type=data.get("SubType") or None,
            **details,
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, leaving out absent fields; timestamps stay datetimes."""
        shape: dict[str, Any] = {
            "Id": self.operation_id,
            "Type": self.operation_type.value,
            "Status": self.status.value,
        }
        for key, value in (
            ("ParentId", self.parent_id),
            ("Name", self.name),
            ("StartTimestamp", self.start_timestamp),
            ("EndTimestamp", self.end_timestamp),
            ("SubType", self.sub_type),
        ):
            if value:
                shape[key] = value
        if self.execution_details:
            shape["ExecutionDetails"] = {"InputPayload": self.execution_details.input_payload}
        if self.context_details:
            shape["ContextDetails"] = _context_shape(self.context_details)
        if self.step_details:
            shape["StepDetails"] = _step_shape(self.step_details)
        if self.wait_details:
            end = self.wait_details.scheduled_end_timestamp
            shape["WaitDetails"] = {"ScheduledEndTimestamp": end} if end else {}
        if self.callback_details:
            shape["CallbackDetails"] = {
                "CallbackId": self.callback_details.callback_id,
                **_outcome_shape(self.callback_details.result, self.callback_details.error),
            }
        if self.chained_invoke_details:
            invoke = self.chained_invoke_details
            shape["ChainedInvokeDetails"] = _outcome_shape(invoke.result, invoke.error)
        return shape

    def to_json_dict(self) -> dict[str, Any]:
        """Like `to_dict`, with every timestamp as epoch milliseconds so the result is JSON-serializable."""
        shape = self.to_dict()
        for key in ("StartTimestamp", "EndTimestamp"):
            if shape.get(key):
                shape[key] = TimestampConverter.to_unix_millis(shape[key])
        for details_key, key in _NESTED_TIMESTAMPS:
            details = shape.get(details_key)
            if details and details.get(key):
                details[key] = TimestampConverter.to_unix_millis(details[key])
        return shape

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Operation:
        """Read what `to_json_dict` wrote, turning epoch milliseconds back into datetimes."""
        shape = dict(data)
        for key in ("StartTimestamp", "EndTimestamp"):
            if shape.get(key):
                shape[key] = TimestampConverter.from_unix_millis(shape[key])
        for details_key, key in _NESTED_TIMESTAMPS:
            if shape.get(details_key) and shape[details_key].get(key):
                shape[details_key] = {
                    **shape[details_key],
                    key: TimestampConverter.from_unix_millis(shape[details_key][key]),
                }
        return cls.from_dict(shape)


def _outcome_shape(result: str | None, error: ErrorObject | None) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    if result:
        shape["Result"] = result
    if error:
        shape["Error"] = error.to_dict()
    return shape


def _context_shape(details: ContextDetails) -> dict[str, Any]:
    shape: dict[str, Any] = {"Result": details.result}
    if details.error:
        shape["Error"] = details.error.to_dict()
    if details.replay_children:
        shape["ReplayChildren"] = True
    return shape


def _step_shape(details: StepDetails) -> dict[str, Any]:
    shape: dict[str, Any] = {"Attempt": details.attempt}
    if details.next_attempt_timestamp:
        shape["NextAttemptTimestamp"] = details.next_attempt_timestamp
    return {**shape, **_outcome_shape(details.result, details.error)}


def _operations_from(data: Mapping[str, Any]) -> list[Operation]:
    return [Operation.from_dict(item) for item in data.get("Operations") or ()]


@dataclass(frozen=True)
class CheckpointUpdatedExecutionState:
    """Operations changed by others (callbacks answered, waits ended) that a checkpoint response hands back."""

    operations: list[Operation] = field(default_factory=list)
    next_marker: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckpointUpdatedExecutionState:
        """Read ``{"Operations": [...], "NextMarker": ...}``."""
        return cls(operations=_operations_from(data), next_marker=data.get("NextMarker"))


@dataclass(frozen=True)
class CheckpointOutput:
    """A checkpoint's response: the token for the next checkpoint (None once the execution ended) and new state."""

    checkpoint_token: str | None
    new_execution_state: CheckpointUpdatedExecutionState

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckpointOutput:
        """Read ``{"CheckpointToken", "NewExecutionState"}``; a missing state reads as empty."""
        state = data.get("NewExecutionState")
        return cls(
            checkpoint_token=data.get("CheckpointToken"),
            new_execution_state=CheckpointUpdatedExecutionState.from_dict(state or {}),
        )


@dataclass(frozen=True)
class StateOutput:
    """One page of an execution's operations."""

    operations: list[Operation] = field(default_factory=list)
    next_marker: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StateOutput:
        """Read ``{"Operations": [...], "NextMarker": ...}``."""
        return cls(operations=_operations_from(data), next_marker=data.get("NextMarker"))


@dataclass(frozen=True)
class DurableExecutionInvocationOutput:
    """What a durable handler returns for one invocation: its status and, when it ended, the result or error."""

    status: InvocationStatus
    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DurableExecutionInvocationOutput:
        """Read ``{"Status", "Result", "Error"}``."""
        from .execution import InvocationStatus

        return cls(InvocationStatus(data.get("Status")), data.get("Result"), _error_from(data))

    def to_dict(self) -> dict[str, Any]:
        """The handler's response mapping (an empty result string is kept: large results are sent elsewhere)."""
        shape: dict[str, Any] = {"Status": self.status.value}
        if self.result is not None:
            shape["Result"] = self.result
        if self.error:
            shape["Error"] = self.error.to_dict()
        return shape

    @classmethod
    def create_succeeded(cls, result: str) -> DurableExecutionInvocationOutput:
        """A succeeded invocation returning `result`."""
        from .execution import InvocationStatus

        return cls(InvocationStatus.SUCCEEDED, result=result)

    @classmethod
    def create_pending(cls) -> DurableExecutionInvocationOutput:
        """An invocation that ended with the execution still in progress."""
        from .execution import InvocationStatus

        return cls(InvocationStatus.PENDING)

    @classmethod
    def create_retry(cls, error: ErrorObject) -> DurableExecutionInvocationOutput:
        """An invocation that failed with `error` and is to be invoked again."""
        from .execution import InvocationStatus

        return cls(InvocationStatus.RETRY, error=error)
