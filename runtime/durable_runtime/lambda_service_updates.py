"""Checkpoint updates and the managed service's checkpoint client, re-exported by `durable_runtime.lambda_service`.

`OperationUpdate` is the service's ``CheckpointDurableExecution`` update shape, with one named constructor per
(operation kind, action). `LambdaClient` sends such updates to the managed AWS service through a boto3 Lambda
client; Durable Kit's own engine records operations in its journal instead, so nothing in the runtime calls it.
It is here for code written against the official SDK that talks to the managed service directly.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .exceptions import CheckpointError, ErrorObject, GetExecutionStateError
from .journal.records import OperationType

if TYPE_CHECKING:
    from .identifier import OperationIdentifier
    from .lambda_service import CheckpointOutput, StateOutput

log = logging.getLogger("durable_runtime")


class OperationAction(Enum):
    """What a checkpoint update does to its operation."""

    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class StepOptions:
    """How long a retrying step waits before its next attempt."""

    next_attempt_delay_seconds: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepOptions:
        """Read ``{"NextAttemptDelaySeconds": ...}``."""
        return cls(int(data.get("NextAttemptDelaySeconds", 0)))

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping."""
        return {"NextAttemptDelaySeconds": self.next_attempt_delay_seconds}


@dataclass(frozen=True)
class WaitOptions:
    """A wait's length in seconds (the service accepts 1 to 31,622,400; absent means 1)."""

    wait_seconds: int = 1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaitOptions:
        """Read ``{"WaitSeconds": ...}``."""
        return cls(int(data.get("WaitSeconds", 1)))

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping."""
        return {"WaitSeconds": self.wait_seconds}


@dataclass(frozen=True)
class CallbackOptions:
    """A callback's overall and heartbeat timeouts in seconds; 0 means no timeout."""

    timeout_seconds: int = 0
    heartbeat_timeout_seconds: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbackOptions:
        """Read ``{"TimeoutSeconds", "HeartbeatTimeoutSeconds"}``."""
        return cls(int(data.get("TimeoutSeconds", 0)), int(data.get("HeartbeatTimeoutSeconds", 0)))

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping."""
        return {"TimeoutSeconds": self.timeout_seconds, "HeartbeatTimeoutSeconds": self.heartbeat_timeout_seconds}


@dataclass(frozen=True)
class ChainedInvokeOptions:
    """The function a chained invocation calls, with its optional tenant and trace header."""

    function_name: str
    tenant_id: str | None = None
    x_amzn_trace_id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainedInvokeOptions:
        """Read ``{"FunctionName", "TenantId", "XAmznTraceId"}``."""
        return cls(data["FunctionName"], data.get("TenantId"), data.get("XAmznTraceId"))

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping, leaving out absent optional fields."""
        shape: dict[str, Any] = {"FunctionName": self.function_name}
        if self.tenant_id is not None:
            shape["TenantId"] = self.tenant_id
        if self.x_amzn_trace_id is not None:
            shape["XAmznTraceId"] = self.x_amzn_trace_id
        return shape


@dataclass(frozen=True)
class ContextOptions:
    """Whether replay must re-run a child context's children (its result was too large to record)."""

    replay_children: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContextOptions:
        """Read ``{"ReplayChildren": ...}``."""
        return cls(bool(data.get("ReplayChildren", False)))

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping."""
        return {"ReplayChildren": self.replay_children}


_OPTION_KEYS: tuple[tuple[str, str, Any], ...] = (
    ("context_options", "ContextOptions", ContextOptions),
    ("step_options", "StepOptions", StepOptions),
    ("wait_options", "WaitOptions", WaitOptions),
    ("callback_options", "CallbackOptions", CallbackOptions),
    ("chained_invoke_options", "ChainedInvokeOptions", ChainedInvokeOptions),
)


@dataclass(frozen=True)
class OperationUpdate:
    """One change to one operation, as sent in a checkpoint; build it with the ``create_*`` constructors."""

    operation_id: str
    operation_type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire mapping (``Id``, ``Type``, ``Action`` ...), leaving out absent fields."""
        shape: dict[str, Any] = {
            "Id": self.operation_id,
            "Type": self.operation_type.value,
            "Action": self.action.value,
        }
        for key, value in (("ParentId", self.parent_id), ("Name", self.name), ("SubType", self.sub_type)):
            if value:
                shape[key] = value
        if self.payload is not None:
            shape["Payload"] = self.payload
        if self.error:
            shape["Error"] = self.error.to_dict()
        for attr, key, _ in _OPTION_KEYS:
            options = getattr(self, attr)
            if options:
                shape[key] = options.to_dict()
        return shape

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationUpdate:
        """Read the wire mapping written by `to_dict`."""
        options = {attr: kind.from_dict(data[key]) for attr, key, kind in _OPTION_KEYS if data.get(key)}
        return cls(
            operation_id=data["Id"],
            operation_type=OperationType(data["Type"]),
            action=OperationAction(data["Action"]),
            parent_id=data.get("ParentId"),
            name=data.get("Name"),
            sub_type=data.get("SubType") or None,
            payload=data.get("Payload"),
            error=ErrorObject.from_dict(data["Error"]) if data.get("Error") else None,
            **options,
        )

    @classmethod
    def _for(
        cls, identifier: OperationIdentifier, kind: OperationType, action: OperationAction, **fields: Any
    ) -> OperationUpdate:
        return cls(
            operation_id=identifier.operation_id,
            operation_type=kind,
            action=action,
            parent_id=identifier.parent_id,
            name=identifier.name,
            sub_type=identifier.sub_type,
            **fields,
        )

    @classmethod
    def create_callback(cls, identifier: OperationIdentifier, callback_options: CallbackOptions) -> OperationUpdate:
        """Start a callback."""
        return cls._for(identifier, OperationType.CALLBACK, OperationAction.START, callback_options=callback_options)

    @classmethod
    def create_context_start(cls, identifier: OperationIdentifier) -> OperationUpdate:
        """Start a child context."""
        return cls._for(identifier, OperationType.CONTEXT, OperationAction.START)

    @classmethod
    def create_context_succeed(
        cls, identifier: OperationIdentifier, payload: str | None, *, context_options: ContextOptions | None = None
    ) -> OperationUpdate:
        """Record a child context's result."""
        return cls._for(
            identifier, OperationType.CONTEXT, OperationAction.SUCCEED, payload=payload, context_options=context_options
        )

    @classmethod
    def create_context_fail(cls, identifier: OperationIdentifier, error: ErrorObject) -> OperationUpdate:
        """Record a child context's failure."""
        return cls._for(identifier, OperationType.CONTEXT, OperationAction.FAIL, error=error)

    @classmethod
    def create_execution_succeed(cls, payload: str) -> OperationUpdate:
        """End the execution with `payload` as its result."""
        return cls(_execution_update_id(), OperationType.EXECUTION, OperationAction.SUCCEED, payload=payload)

    @classmethod
    def create_execution_fail(cls, error: ErrorObject) -> OperationUpdate:
        """End the execution with `error`."""
        return cls(_execution_update_id(), OperationType.EXECUTION, OperationAction.FAIL, error=error)

    @classmethod
    def create_step_start(cls, identifier: OperationIdentifier) -> OperationUpdate:
        """Start a step attempt."""
        return cls._for(identifier, OperationType.STEP, OperationAction.START)

    @classmethod
    def create_step_succeed(cls, identifier: OperationIdentifier, payload: str | None) -> OperationUpdate:
        """Record a step's result."""
        return cls._for(identifier, OperationType.STEP, OperationAction.SUCCEED, payload=payload)

    @classmethod
    def create_step_fail(cls, identifier: OperationIdentifier, error: ErrorObject) -> OperationUpdate:
        """Record a step's final failure."""
        return cls._for(identifier, OperationType.STEP, OperationAction.FAIL, error=error)

    @classmethod
    def create_step_retry(
        cls, identifier: OperationIdentifier, error: ErrorObject, next_attempt_delay_seconds: int
    ) -> OperationUpdate:
        """Record a failed attempt to be retried after `next_attempt_delay_seconds`."""
        options = StepOptions(next_attempt_delay_seconds)
        return cls._for(identifier, OperationType.STEP, OperationAction.RETRY, error=error, step_options=options)

    @classmethod
    def create_invoke_start(
        cls, identifier: OperationIdentifier, payload: str | None, chained_invoke_options: ChainedInvokeOptions
    ) -> OperationUpdate:
        """Start a chained invocation of another durable function."""
        return cls._for(
            identifier,
            OperationType.CHAINED_INVOKE,
            OperationAction.START,
            payload=payload,
            chained_invoke_options=chained_invoke_options,
        )

    @classmethod
    def create_wait_for_condition_start(cls, identifier: OperationIdentifier) -> OperationUpdate:
        """Start a wait-for-condition (recorded as a step)."""
        return cls._for(identifier, OperationType.STEP, OperationAction.START)

    @classmethod
    def create_wait_for_condition_succeed(cls, identifier: OperationIdentifier, payload: str | None) -> OperationUpdate:
        """Record the state that met the condition."""
        return cls._for(identifier, OperationType.STEP, OperationAction.SUCCEED, payload=payload)

    @classmethod
    def create_wait_for_condition_retry(
        cls, identifier: OperationIdentifier, payload: str | None, next_attempt_delay_seconds: int
    ) -> OperationUpdate:
        """Record the state so far and check again after `next_attempt_delay_seconds`."""
        options = StepOptions(next_attempt_delay_seconds)
        return cls._for(identifier, OperationType.STEP, OperationAction.RETRY, payload=payload, step_options=options)

    @classmethod
    def create_wait_for_condition_fail(cls, identifier: OperationIdentifier, error: ErrorObject) -> OperationUpdate:
        """Record a wait-for-condition's failure."""
        return cls._for(identifier, OperationType.STEP, OperationAction.FAIL, error=error)

    @classmethod
    def create_wait_start(cls, identifier: OperationIdentifier, wait_options: WaitOptions) -> OperationUpdate:
        """Start a wait."""
        return cls._for(identifier, OperationType.WAIT, OperationAction.START, wait_options=wait_options)


def _execution_update_id() -> str:
    # The service ignores the id of an execution-level update; a time-based one keeps them distinct in logs.
    return f"execution-result-{int(datetime.datetime.now(tz=datetime.UTC).timestamp() * 1000)}"


class DurableServiceClient(Protocol):
    """A client of the durable-execution checkpoint API."""

    def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[OperationUpdate],
        client_token: str | None,
    ) -> CheckpointOutput:
        """Send `updates` and return the new token and any operations changed by others."""
        ...

    def get_execution_state(
        self, durable_execution_arn: str, checkpoint_token: str, next_marker: str, max_items: int = 1000
    ) -> StateOutput:
        """Return one page of the execution's operations."""
        ...


class LambdaClient(DurableServiceClient):
    """`DurableServiceClient` over the managed service's Lambda API (``CheckpointDurableExecution`` and friends)."""

    _cached_boto_client: ClassVar[Any] = None

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def initialize_client(cls) -> LambdaClient:
        """A client over one boto3 Lambda client shared by every call in this process (warm starts reuse it)."""
        if cls._cached_boto_client is None:
            import boto3
            from botocore.config import Config

            cls._cached_boto_client = boto3.client("lambda", config=Config(connect_timeout=5, read_timeout=50))
        return cls(client=cls._cached_boto_client)

    def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[OperationUpdate],
        client_token: str | None,
    ) -> CheckpointOutput:
        """Send `updates`; failures are raised as `CheckpointError` (retryable unless the request was invalid)."""
        from .lambda_service import CheckpointOutput

        if not checkpoint_token:
            raise CheckpointError("Cannot checkpoint without a checkpoint token.")
        extra = {"ClientToken": client_token} if client_token is not None else {}
        try:
            response = self.client.checkpoint_durable_execution(
                DurableExecutionArn=durable_execution_arn,
                CheckpointToken=checkpoint_token,
                Updates=[update.to_dict() for update in updates],
                **extra,
            )
        except Exception as exc:  # noqa: BLE001 - every client failure becomes the documented error type
            error = CheckpointError.from_exception(exc)
            log.error("Checkpoint failed: %s", exc, extra=error.build_logger_extras())
            raise error from None
        return CheckpointOutput.from_dict(response)

    def get_execution_state(
        self, durable_execution_arn: str, checkpoint_token: str, next_marker: str, max_items: int = 1000
    ) -> StateOutput:
        """Read one page of operations; failures are raised as `GetExecutionStateError`."""
        from .lambda_service import StateOutput

        if not checkpoint_token:
            raise GetExecutionStateError("Cannot get execution state without a checkpoint token.")
        try:
            response = self.client.get_durable_execution_state(
                DurableExecutionArn=durable_execution_arn,
                CheckpointToken=checkpoint_token,
                Marker=next_marker,
                MaxItems=max_items,
            )
        except Exception as exc:  # noqa: BLE001 - every client failure becomes the documented error type
            error = GetExecutionStateError.from_exception(exc)
            log.error("Reading execution state failed: %s", exc, extra=error.build_logger_extras())
            raise error from None
        return StateOutput.from_dict(response)
