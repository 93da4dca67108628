"""Instrumentation plugins: hooks that observe invocations, operations and user code, never steer them.

The same contract as the official SDK's `plugin` module (3.0): a plugin subclasses `DurableInstrumentationPlugin`
and overrides the hooks it needs; what is registered with `durable_execution(plugins=[...])` (or named in the
`DURABLE_EXECUTION_PLUGINS` environment variable, see `plugin_discovery`) is a *factory* whose
`create_plugin(info)` builds one plugin instance per invocation.

When each hook fires in Durable Kit:

- `on_invocation_start` / `on_invocation_end`: on the handler thread, before the handler runs and after it
  returned or suspended (every other hook of the invocation has run by then).
- `on_operation_start`: before an operation's first record is written (`is_replayed=False`), or when a replay
  meets an operation an earlier invocation started and did not finish (`is_replayed=True`: a wait still
  running, a step waiting for its retry, a callback not answered yet).
- `on_operation_end`: once per operation, in the invocation that sees it finish: the one that recorded the
  terminal state, or, for an operation finished outside any invocation (a wait that elapsed, a callback
  answered, a chained invoke that ended), the first invocation that reads it. A replay of an operation that
  finished earlier fires nothing.
- `on_user_function_start` / `on_user_function_end`: around each run of user code an operation owns: a step
  attempt, a child context's body (map and parallel branches included), a wait-for-condition check.
- `on_operation_change`: after an operation's state changed in this invocation's journal writes.

A hook that raises is logged and ignored (except `KeyboardInterrupt`, `SystemExit` and `GeneratorExit`, which
stop the thread as they would anywhere); a factory that raises or returns something that is not a plugin is
logged and skipped for that invocation. Hooks run synchronously on the thread named above, so a slow hook slows
that thread; a plugin that exports over the network does so on its own thread.

Plugins written against the official SDK (the OpenTelemetry package, say) import
`aws_durable_execution_sdk_python.plugin`; see `durable_runtime.plugins.official_alias` for how they run here.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from ._reexports import lazy_reexports
from .exceptions import ErrorObject
from .journal.records import OperationStatus

if TYPE_CHECKING:
    from .lambda_service import DurableExecutionInvocationOutput, Operation
    from .plugins.executor import PluginExecutor, PluginHost

__all__ = [
    "DurableInstrumentationPlugin",
    "DurableInstrumentationPluginFactory",
    "ErrorObject",
    "InvocationEndInfo",
    "InvocationInfo",
    "InvocationStartInfo",
    "InvocationStatus",
    "OperationChangeInfo",
    "OperationEndInfo",
    "OperationInfo",
    "OperationStartInfo",
    "OperationStatus",
    "OperationType",
    "PluginExecutor",
    "PluginHost",
    "PropagationInput",
    "PropagationMetadata",
    "UserFunctionEndInfo",
    "UserFunctionOutcome",
    "UserFunctionStartInfo",
]


class InvocationStatus(Enum):
    """How an invocation ended, as plugins see it (RETRY: it raised, and Lambda will invoke it again)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    RETRY = "RETRY"


class OperationType(Enum):
    """The kinds of durable operation, as plugins see them."""

    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class UserFunctionOutcome(Enum):
    """How one run of user code ended: returned, raised, or suspended before it could finish."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"

    @classmethod
    def from_error(cls, error: ErrorObject | None) -> UserFunctionOutcome:
        """SUCCEEDED without an error, FAILED with one."""
        return cls.SUCCEEDED if error is None else cls.FAILED


@dataclass(frozen=True)
class OperationInfo:
    """One operation as a hook sees it.

    `sub_type` is the recorded subtype as plain text (`"Map"`, `"WaitForCallback"`, ...), None when there is none;
    compare it with `==`. `result` is the serialized result, when the hook knows it.
    """

    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    start_time: datetime.datetime | None
    is_replayed: bool
    status: OperationStatus
    end_time: datetime.datetime | None = field(default=None, kw_only=True)
    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)
    attempt: int | None = field(default=None, kw_only=True)

    @staticmethod
    def from_operation(operation: Operation, *, is_replayed: bool = False) -> OperationInfo:
        """A hook's view of an operation in the service's shape (`lambda_service.Operation`)."""
        details = [
            operation.step_details,
            operation.context_details,
            operation.callback_details,
            operation.chained_invoke_details,
        ]
        outcome = next((found for found in details if found is not None), None)
        error = getattr(outcome, "error", None)
        if error is not None and error.stack_trace:
            # A copy: the recorded error reaches user code on replay, and its stack trace is a mutable list.
            error = dataclasses.replace(error, stack_trace=list(error.stack_trace))
        return OperationInfo(
            operation_id=operation.operation_id,
            operation_type=OperationType(operation.operation_type.value),
            sub_type=operation.sub_type,
            name=operation.name,
            parent_id=operation.parent_id,
            start_time=operation.start_timestamp,
            end_time=operation.end_timestamp,
            result=getattr(outcome, "result", None),
            error=error,
            attempt=operation.step_details.attempt if operation.step_details else None,
            is_replayed=is_replayed,
            status=operation.status,
        )


@dataclass(frozen=True)
class OperationStartInfo(OperationInfo):
    """An operation starting, or found unfinished on replay (`is_replayed`)."""


@dataclass(frozen=True)
class OperationEndInfo(OperationInfo):
    """An operation that reached a terminal status."""


@dataclass(frozen=True)
class OperationChangeInfo:
    """Operations whose status changed, and every operation the invocation knows, after a journal write."""

    execution_arn: str | None
    updated_operations: dict[str, OperationInfo]
    operations: dict[str, OperationInfo]


@dataclass(frozen=True)
class UserFunctionStartInfo(OperationInfo):
    """User code of an operation about to run; `is_replay_children` when a child context re-runs to rebuild
    a result too large to have been recorded."""

    is_replay_children: bool = False


@dataclass(frozen=True)
class UserFunctionEndInfo(OperationInfo):
    """User code of an operation that returned, raised or suspended."""

    is_replay_children: bool
    outcome: UserFunctionOutcome

    @classmethod
    def from_start_info(
        cls,
        start_info: UserFunctionStartInfo,
        error: ErrorObject | None,
        *,
        outcome: UserFunctionOutcome | None = None,
    ) -> UserFunctionEndInfo:
        """The end matching `start_info`, ended now."""
        return cls(
            operation_id=start_info.operation_id,
            operation_type=start_info.operation_type,
            sub_type=start_info.sub_type,
            name=start_info.name,
            parent_id=start_info.parent_id,
            start_time=start_info.start_time,
            is_replayed=start_info.is_replayed,
            status=start_info.status,
            is_replay_children=start_info.is_replay_children,
            attempt=start_info.attempt,
            outcome=outcome if outcome is not None else UserFunctionOutcome.from_error(error),
            end_time=datetime.datetime.now(datetime.UTC),
            error=error,
        )


@dataclass(frozen=True)
class InvocationInfo:
    """One invocation of a durable execution.

    `operations` is the journal as the hook sees it (at the start, or at the end of the invocation);
    `execution_input` the deserialized input (a copy: changing it changes nothing).
    """

    request_id: str | None
    execution_arn: str | None
    is_first_invocation: bool
    execution_start_time: datetime.datetime | None = None
    # Payload-bearing fields stay out of repr/eq/hash: hook infos get logged whole, and a dict-valued field would
    # make an info unhashable.
    execution_input: Any = field(default=None, kw_only=True, repr=False, compare=False, hash=False)
    operations: dict[str, OperationInfo] = field(
        default_factory=dict, kw_only=True, repr=False, compare=False, hash=False
    )


@dataclass(frozen=True)
class InvocationStartInfo(InvocationInfo):
    """An invocation starting; `updated_operations` finished or changed while the execution was suspended."""

    updated_operations: dict[str, OperationInfo] = field(
        default_factory=dict, kw_only=True, repr=False, compare=False, hash=False
    )


@dataclass(frozen=True)
class InvocationEndInfo(InvocationInfo):
    """An invocation that ended; `execution_result` is the serialized result once the execution succeeded."""

    status: InvocationStatus = field(kw_only=True)
    error: ErrorObject | None = field(default=None)
    execution_result: str | None = field(default=None, kw_only=True, repr=False, compare=False, hash=False)

    @classmethod
    def from_durable_execution_invocation_output(
        cls,
        invocation_start_info: InvocationInfo,
        output: DurableExecutionInvocationOutput,
        operations: dict[str, OperationInfo] | None = None,
    ) -> InvocationEndInfo:
        """The end of the invocation `invocation_start_info` began, as `output` reports it."""
        return cls(
            request_id=invocation_start_info.request_id,
            execution_arn=invocation_start_info.execution_arn,
            is_first_invocation=invocation_start_info.is_first_invocation,
            execution_start_time=invocation_start_info.execution_start_time,
            execution_input=invocation_start_info.execution_input,
            operations=operations if operations is not None else invocation_start_info.operations,
            status=InvocationStatus(output.status.value),
            error=output.error,
            execution_result=output.result,
        )


@dataclass(frozen=True)
class PropagationInput:
    """A chained invoke about to start: what a plugin may attach trace metadata to."""

    execution_arn: str
    operation_id: str
    target_function_name: str
    parent_operation_id: str | None = None


@dataclass(frozen=True)
class PropagationMetadata:
    """What plugins contribute to a chained invoke's start; the first non-blank value wins."""

    x_amzn_trace_id: str | None = None


class DurableInstrumentationPlugin:
    """Base class of instrumentation plugins: every hook does nothing; override the ones you need.

    See the module docstring for when each hook fires and on which thread.
    """

    def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
        """Metadata to send with a new chained invoke (never called on its replay)."""
        return None

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        """An invocation starts, before the handler runs."""

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        """An invocation ends, after every other hook of it."""

    def on_operation_start(self, info: OperationStartInfo) -> None:
        """An operation starts, or a replay meets one that has not finished; before its user code runs."""

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """An operation finished; fired once, by the first invocation that sees it finished."""

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        """Operations changed status in a journal write of this invocation."""

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        """User code of an operation is about to run, on the thread that runs it."""

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        """User code of an operation returned, raised or suspended, on the thread that ran it."""


class DurableInstrumentationPluginFactory(Protocol):
    """Builds the plugin instance that serves one invocation.

    Register factories, not plugins: `durable_execution(plugins=[MyFactory(exporter)])`. The factory keeps what
    outlives an invocation (an exporter, configuration); the plugin keeps one invocation's state. A factory class
    may opt in to registration metadata with `__durable_registration_api__ = 1`, an `exclusive_group` name and an
    `on_registration_result(registered)` callback (see `plugin_discovery`).
    """

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        """The plugin for the invocation `info` describes; called once, before any of its hooks."""
        ...


# The dispatch machinery is needed only once a plugin is configured: imported on first use.
# The service vocabulary is re-exported under the official module's names, resolved on first read.
__getattr__, __dir__ = lazy_reexports(
    __name__,
    {
        "PluginExecutor": "plugins.executor",
        "PluginHost": "plugins.executor",
        "OperationIdentifier": "identifier",
        "LambdaContext": "types",
        "DurableExecutionInvocationOutput": "lambda_service",
        "Operation": "lambda_service",
        "OperationAction": "lambda_service",
        "OperationUpdate": "lambda_service",
        "ServiceInvocationStatus": "lambda_service:InvocationStatus",
        "ServiceOperationType": "lambda_service:OperationType",
    },
)
