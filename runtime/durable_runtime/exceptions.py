"""Errors raised by durable executions and the operations inside them.

The hierarchy mirrors the official SDK class for class, so ``except StepError`` and friends keep working after
the import prefix changes. Two additions:

* every error class users can see carries a stable class attribute ``error_type`` naming it (``"StepError"``),
  usable in logs, metrics and ``match`` statements without depending on module paths. Instances of operation
  and serdes errors override it, as the official SDK's do, with the escaped error's type name, or this class's
  module-qualified name when none is known;
* :class:`ErrorObject`, the error fields recorded in the journal for a failed operation, lives here (the
  official SDK keeps it in its service client): every operation and the batch models share that one shape.

This module sits at the bottom of the import graph: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

from ._reexports import lazy_reexports

if TYPE_CHECKING:
    import builtins
    import datetime
    from collections.abc import Mapping
    from typing import Self

# Journals exported from the managed service name SDK errors by the official module path; replay maps them
# onto our classes (see _wire_aliases).
_OWN_PACKAGE = "durable_runtime"
_OFFICIAL_PACKAGE = "aws_durable_execution_sdk_python"

# HTTP statuses and error codes that decide how an AWS API failure is categorised (official names).
BAD_REQUEST_ERROR = 400
TOO_MANY_REQUESTS_ERROR = 429
SERVICE_ERROR = 500
INVALID_PARAMETER_VALUE_EXCEPTION = "InvalidParameterValueException"
# The managed service's message for a stale checkpoint token; Durable Kit's journal has no tokens.
INVALID_CHECKPOINT_TOKEN_PREFIX = "Invalid checkpoint token"


class AwsErrorObj(TypedDict):
    """The ``Error`` member of a botocore error response."""

    Code: str | None
    Message: str | None


class AwsErrorMetadata(TypedDict):
    """The ``ResponseMetadata`` member of a botocore error response."""

    RequestId: str | None
    HostId: str | None
    HTTPStatusCode: int | None
    HTTPHeaders: str | None
    RetryAttempts: str | None


class TerminationReason(Enum):
    """Why an invocation or execution was ended by the runtime."""

    UNHANDLED_ERROR = "UNHANDLED_ERROR"
    INVOCATION_ERROR = "INVOCATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    CHECKPOINT_FAILED = "CHECKPOINT_FAILED"
    NON_DETERMINISTIC_EXECUTION = "NON_DETERMINISTIC_EXECUTION"
    STEP_INTERRUPTED = "STEP_INTERRUPTED"
    SERIALIZATION_ERROR = "SERIALIZATION_ERROR"


class DurableExecutionsError(Exception):
    """Base class of every error the durable runtime raises to user code.

    Attributes:
        error_type: Stable name of the error class (``"StepError"``, ``"ValidationError"``, ...). It does not
            change when modules move, so logs, metrics and alarms can key on it. On
            :class:`DurableOperationError` instances it is replaced by the type of the error that escaped the
            operation, exactly as in the official SDK.
    """

    error_type: str = "DurableExecutionsError"


class PluginLoadError(DurableExecutionsError):
    """An instrumentation plugin named in configuration could not be loaded."""

    error_type = "PluginLoadError"


class UnrecoverableError(DurableExecutionsError):
    """Base class of errors that stop the invocation for ``termination_reason``, never reaching user code."""

    error_type = "UnrecoverableError"

    def __init__(self, message: str, termination_reason: TerminationReason) -> None:
        super().__init__(message)
        self.termination_reason = termination_reason


class ExecutionError(UnrecoverableError):
    """An error that fails the whole execution at once, with no invocation retry."""

    error_type = "ExecutionError"

    def __init__(self, message: str, termination_reason: TerminationReason = TerminationReason.EXECUTION_ERROR) -> None:
        super().__init__(message, termination_reason)


class InvocationError(UnrecoverableError):
    """An error that fails only this invocation, so the execution is retried by a new one."""

    error_type = "InvocationError"

    def __init__(
        self, message: str, termination_reason: TerminationReason = TerminationReason.INVOCATION_ERROR
    ) -> None:
        super().__init__(message, termination_reason)

    def is_retryable(self) -> bool:
        """Tell whether a new invocation may succeed; subclasses refine this."""
        return True


class DurableApiErrorCategory(Enum):
    """Whether a storage or service failure is worth another invocation."""

    INVOCATION = "INVOCATION"
    EXECUTION = "EXECUTION"


CheckpointErrorCategory = DurableApiErrorCategory


class BotoClientError(InvocationError):
    """A call to an AWS API failed.

    Retrying the invocation is the default; a client-side (4xx) failure other than throttling cannot heal by
    itself and is categorised ``EXECUTION`` so the execution fails instead. ``error`` and
    ``response_metadata`` are the members of the botocore error response, when known.
    """

    error_type = "BotoClientError"
    _default_termination_reason = TerminationReason.INVOCATION_ERROR

    def __init__(
        self,
        message: str,
        error_category: DurableApiErrorCategory = DurableApiErrorCategory.INVOCATION,
        error: AwsErrorObj | None = None,
        response_metadata: AwsErrorMetadata | None = None,
        termination_reason: TerminationReason | None = None,
    ) -> None:
        super().__init__(message, termination_reason or self._default_termination_reason)
        self.error = error
        self.response_metadata = response_metadata
        self.error_category = error_category

    @classmethod
    def from_exception(cls, exception: Exception) -> Self:
        """Build the error from a botocore ``ClientError`` (or any exception)."""
        response: Mapping[str, Any] = getattr(exception, "response", None) or {}
        error = response.get("Error")
        metadata = response.get("ResponseMetadata")
        status = (metadata or {}).get("HTTPStatusCode") or 0
        client_fault = BAD_REQUEST_ERROR <= status < SERVICE_ERROR and status != TOO_MANY_REQUESTS_ERROR
        category = DurableApiErrorCategory.EXECUTION if client_fault else DurableApiErrorCategory.INVOCATION
        return cls(str(exception), category, error, metadata)

    def is_retryable(self) -> bool:
        """Tell whether another invocation may succeed."""
        return self.error_category is DurableApiErrorCategory.INVOCATION

    is_retriable = is_retryable

    def build_logger_extras(self) -> dict[str, Any]:
        """Return the AWS error details as structured log fields."""
        extras: dict[str, Any] = {}
        if self.error:
            extras["Error"] = self.error
        if self.response_metadata:
            extras["ResponseMetadata"] = self.response_metadata
        return extras


class CheckpointError(BotoClientError):
    """Recording an operation in the journal failed; the invocation stops without running further code."""

    error_type = "CheckpointError"
    _default_termination_reason = TerminationReason.CHECKPOINT_FAILED


class GetExecutionStateError(BotoClientError):
    """Loading the execution's journal failed."""

    error_type = "GetExecutionStateError"


class NonDeterministicExecutionError(ExecutionError):
    """On replay the handler did something other than what the journal recorded for operation ``step_id``."""

    error_type = "NonDeterministicExecutionError"

    def __init__(self, message: str, step_id: str | None = None) -> None:
        super().__init__(message, TerminationReason.NON_DETERMINISTIC_EXECUTION)
        self.step_id = step_id


class ValidationError(DurableExecutionsError):
    """An argument or configuration value passed to the runtime is invalid."""

    error_type = "ValidationError"


class InvalidStateError(DurableExecutionsError):
    """An object was used in a state that does not allow the call."""

    error_type = "InvalidStateError"


class StepInterruptedError(InvocationError):
    """An at-most-once attempt of step ``step_id`` started but never recorded its outcome."""

    error_type = "StepInterruptedError"

    def __init__(self, message: str, step_id: str | None = None) -> None:
        super().__init__(message, TerminationReason.STEP_INTERRUPTED)
        self.step_id = step_id


class DurableOperationError(DurableExecutionsError):
    """Base class of the typed failure of one durable operation.

    The subclass tells which kind of operation failed (``except StepError``). The error that escaped the
    operation is only known through the recorded fields; ``__cause__`` is a stand-in rebuilt from them, the
    same on the first run and on replay.

    Args:
        message: Human-readable failure message.
        error_type: Type name of the error that escaped the operation (for example ``"ValueError"``). Defaults
            to this class's module-qualified name (``"durable_runtime.exceptions.StepError"``), as officially.
        data: Optional serialized error payload carried across operation boundaries.
        stack_trace: Optional stack trace lines from where the error started.
    """

    error_type = "DurableOperationError"

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # With no inner error known, the official SDK names the class itself, module-qualified; so do we.
        self.error_type = error_type or _qualified_name(type(self))
        self.data = data
        self.stack_trace = stack_trace

    @classmethod
    def from_error_fields(
        cls, error_type: str | None, message: str | None, data: str | None, stack_trace: list[str] | None
    ) -> DurableOperationError:
        """Rebuild a recorded operation error as the most specific known class.

        Recorded type names of the runtime's own operation errors (in this package's or the official SDK's
        module path) give their class; any other name gives a plain :class:`DurableOperationError`, so no
        constructor outside the runtime is ever called.
        """
        target = _OPERATION_ERRORS.get(error_type or "", DurableOperationError)
        return target(message=message, error_type=error_type, data=data, stack_trace=stack_trace)


class StepError(DurableOperationError):
    """A step failed after its retry strategy gave up."""

    error_type = "StepError"


class InvokeError(DurableOperationError):
    """A durable invocation of another function failed."""

    error_type = "InvokeError"


class ChildContextError(DurableOperationError):
    """A child context (``run_in_child_context``, a map item or a parallel branch) failed."""

    error_type = "ChildContextError"


class WaitForConditionError(DurableOperationError):
    """A ``wait_for_condition`` failed or ran out of attempts."""

    error_type = "WaitForConditionError"


class CallbackError(DurableOperationError):
    """Base class of callback failures; catching it catches all of them."""

    error_type = "CallbackError"


class CallbackExternalError(CallbackError):
    """The external system reported the callback as failed."""

    error_type = "CallbackExternalError"


class CallbackTimeoutError(CallbackError):
    """The callback timed out, or its heartbeat stopped arriving in time."""

    error_type = "CallbackTimeoutError"


class CallbackSubmitterError(CallbackError):
    """The submitter function of a ``wait_for_callback`` failed."""

    error_type = "CallbackSubmitterError"


class SerDesError(DurableExecutionsError):
    """A value could not be serialized or deserialized; permanent, so it fails the operation.

    It carries the same ``message``, ``error_type``, ``data`` and ``stack_trace`` fields as
    :class:`DurableOperationError`.
    """

    error_type = "SerDesError"

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type or _qualified_name(type(self))
        self.data = data
        self.stack_trace = stack_trace


class RetryableSerDesError(InvocationError):
    """A transient (de)serialization failure: the invocation fails and is retried, not the operation."""

    error_type = "RetryableSerDesError"

    def __init__(
        self, message: str, termination_reason: TerminationReason = TerminationReason.SERIALIZATION_ERROR
    ) -> None:
        super().__init__(message, termination_reason)


def _qualified_name(cls: type) -> str:
    module = "" if cls.__module__ == "builtins" else f"{cls.__module__}."
    return f"{module}{cls.__qualname__}"


def _wire_aliases(cls: type) -> list[str]:
    name = _qualified_name(cls)
    aliases = [name]
    if name.startswith(f"{_OWN_PACKAGE}."):
        aliases.append(_OFFICIAL_PACKAGE + name[len(_OWN_PACKAGE) :])
    return aliases


_OPERATION_ERRORS: dict[str, type[DurableOperationError]] = {}
_SERDES_ERROR_NAMES = frozenset(_wire_aliases(SerDesError))


def register_operation_error(error_cls: type[DurableOperationError]) -> None:
    """Let replay rebuild a runtime-owned operation error class defined outside this module.

    The class must accept the ``message``, ``error_type``, ``data`` and ``stack_trace`` keywords.
    """
    for alias in _wire_aliases(error_cls):
        _OPERATION_ERRORS[alias] = error_cls


for _cls in (
    StepError,
    InvokeError,
    ChildContextError,
    WaitForConditionError,
    CallbackError,
    CallbackExternalError,
    CallbackTimeoutError,
    CallbackSubmitterError,
):
    register_operation_error(_cls)
del _cls


@dataclass(frozen=True)
class ErrorObject:
    """The error fields recorded for a failed operation, in the service's wire shape.

    Attributes:
        message: The error message (``ErrorMessage``).
        type: The error's type name (``ErrorType``): module-qualified, builtins bare.
        data: Optional serialized payload (``ErrorData``).
        stack_trace: Optional stack trace lines (``StackTrace``).
    """

    message: str | None
    type: str | None
    data: str | None
    stack_trace: list[str] | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorObject:
        """Read the ``ErrorMessage``/``ErrorType``/``ErrorData``/``StackTrace`` mapping."""
        return cls(data.get("ErrorMessage"), data.get("ErrorType"), data.get("ErrorData"), data.get("StackTrace"))

    @classmethod
    def from_exception(cls, exception: BaseException) -> ErrorObject:
        """Record an exception; serdes failures keep the ``SerDesError`` name so replay rebuilds them."""
        if isinstance(exception, SerDesError):
            return cls(exception.message, _qualified_name(SerDesError), exception.data, exception.stack_trace)
        if isinstance(exception, DurableOperationError):
            return cls(exception.message, _qualified_name(type(exception)), exception.data, exception.stack_trace)
        return cls(str(exception), _qualified_name(type(exception)), None, None)

    @classmethod
    def from_message(cls, message: str) -> ErrorObject:
        """Record a bare message with no type."""
        return cls(message, None, None, None)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire mapping, leaving out fields that are ``None``."""
        pairs = (
            ("ErrorMessage", self.message),
            ("ErrorType", self.type),
            ("ErrorData", self.data),
            ("StackTrace", self.stack_trace),
        )
        return {key: value for key, value in pairs if value is not None}

    def to_durable_operation_error(self) -> DurableOperationError:
        """Rebuild the escaped error as the most specific known operation error class."""
        return DurableOperationError.from_error_fields(self.type, self.message, self.data, self.stack_trace)

    def raise_as_operation_error(self, operation_error_cls: builtins.type[DurableOperationError]) -> NoReturn:
        """Raise ``operation_error_cls`` carrying these fields, with the rebuilt escaped error as its cause.

        First runs and replays both go through here, so they raise identical errors. A recorded serdes
        failure is raised as :class:`SerDesError` whatever the operation kind.
        """
        cause = self.to_durable_operation_error()
        if self.type in _SERDES_ERROR_NAMES:
            raise SerDesError(self.message, self.type, self.data, self.stack_trace) from cause
        raise operation_error_cls(
            message=self.message, error_type=self.type, data=self.data, stack_trace=self.stack_trace
        ) from cause


class BackgroundThreadError(BaseException):
    """A fatal failure in a runtime background thread, re-raised in the user's thread.

    It derives from ``BaseException`` so user ``except Exception`` blocks cannot swallow it.
    """

    def __init__(self, message: str, source_exception: Exception) -> None:
        super().__init__(message)
        self.source_exception = source_exception


class SuspendExecution(BaseException):
    """Signal that ends the invocation with the execution left pending, to be resumed later.

    It derives from ``BaseException`` (like ``SystemExit``) so user ``except Exception`` blocks cannot swallow
    it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class TimedSuspendExecution(SuspendExecution):
    """Suspend until a known time.

    Args:
        message: Why the execution suspends.
        scheduled_timestamp: Unix time in seconds at which to resume.
    """

    def __init__(self, message: str, scheduled_timestamp: float) -> None:
        super().__init__(message)
        self.scheduled_timestamp = scheduled_timestamp

    @classmethod
    def from_delay(cls, message: str, delay_seconds: float, *, now: float | None = None) -> TimedSuspendExecution:
        """Suspend for ``delay_seconds`` from ``now`` (Unix seconds; the wall clock when omitted)."""
        if now is None:
            import time

            now = time.time()
        return cls(message, scheduled_timestamp=now + delay_seconds)

    @classmethod
    def from_datetime(cls, message: str, datetime_timestamp: datetime.datetime) -> TimedSuspendExecution:
        """Suspend until the given aware datetime."""
        return cls(message, scheduled_timestamp=datetime_timestamp.timestamp())


class OrphanedChildException(BaseException):
    """A map item or parallel branch tried to record an operation after its batch had already completed.

    It derives from ``BaseException`` so user code cannot swallow it; it stops the orphaned branch at its next
    durable operation.
    """

    def __init__(self, message: str, operation_id: str) -> None:
        super().__init__(message)
        self.operation_id = operation_id


# The official module re-exports the ordered lock's error; it is defined with the lock, which imports this module.
__getattr__, __dir__ = lazy_reexports(__name__, {"OrderedLockError": "threading"})
