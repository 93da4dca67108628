"""Small context objects handed to user functions, and the protocols the runtime is typed against.

The protocols exist for type checkers: nothing here checks them at run time. This module imports nothing from
the runtime except under ``TYPE_CHECKING``, so any module can import it without a cycle.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from durable_runtime.config import (
        CallbackConfig,
        ChildConfig,
        Duration,
        MapConfig,
        ParallelBranch,
        ParallelConfig,
        StepConfig,
    )

T = TypeVar("T")
U = TypeVar("U")
C_co = TypeVar("C_co", covariant=True)
C_contra = TypeVar("C_contra", contravariant=True)


class LoggerInterface(Protocol):
    """What the runtime needs of a logger: the standard level methods, each taking ``extra`` fields."""

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def exception(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


@dataclass(frozen=True)
class OperationContext:
    """What every user function run by an operation receives.

    Attributes:
        logger: Logger tagged with the execution and operation, silent while replaying.
    """

    logger: LoggerInterface


@dataclass(frozen=True)
class StepContext(OperationContext):
    """What a step function receives.

    Attributes:
        attempt: Number of this attempt, 1 for the first run.
    """

    attempt: int


@dataclass(frozen=True)
class WaitForCallbackContext(OperationContext):
    """What the submitter function of ``wait_for_callback`` receives."""


@dataclass(frozen=True)
class WaitForConditionCheckContext(OperationContext):
    """What the check function of ``wait_for_condition`` receives.

    Attributes:
        attempt: Number of this check, 1 for the first.
    """

    attempt: int


class Callback(Protocol, Generic[C_co]):
    """A callback created by ``context.create_callback``.

    Attributes:
        callback_id: The id to hand to the external system that will complete the callback.
    """

    callback_id: str

    @abstractmethod
    def result(self) -> C_co | None:
        """Return the callback's result, suspending the execution until it arrives."""


class BatchResult(Protocol, Generic[T]):
    """The result of ``map`` or ``parallel``."""

    @abstractmethod
    def get_results(self) -> list[T]:
        """Return the results of the items that succeeded, in input order."""


class DurableContext(Protocol):
    """The operations a durable handler calls on its context."""

    @abstractmethod
    def step(self, func: Callable[[StepContext], T], name: str | None = None, config: StepConfig | None = None) -> T:
        """Run ``func`` once, record its result, and return the recorded result on replay."""

    @abstractmethod
    def run_in_child_context(
        self, func: Callable[[DurableContext], T], name: str | None = None, config: ChildConfig | None = None
    ) -> T:
        """Run ``func`` with a child context grouping its operations."""

    @abstractmethod
    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[DurableContext, U, int, Sequence[U]], T],
        name: str | None = None,
        config: MapConfig | None = None,
    ) -> BatchResult[T]:
        """Run ``func`` durably for every item of ``inputs``."""

    @abstractmethod
    def parallel(
        self,
        functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run the given functions durably and concurrently."""

    @abstractmethod
    def wait(self, duration: Duration, name: str | None = None) -> None:
        """Pause the execution for ``duration`` without running (or paying for) the function."""

    @abstractmethod
    def create_callback(self, name: str | None = None, config: CallbackConfig | None = None) -> Callback[Any]:
        """Create a callback an external system completes."""


class LambdaContext(Protocol):
    """The Lambda runtime's context object, as far as the runtime uses it."""

    aws_request_id: str
    log_group_name: str | None = None
    log_stream_name: str | None = None
    function_name: str | None = None
    memory_limit_in_mb: str | None = None
    function_version: str | None = None
    invoked_function_arn: str | None = None
    tenant_id: str | None = None
    client_context: Any | None = None
    identity: Any | None = None

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before Lambda stops the invocation."""
        ...

    def log(self, msg: Any) -> None:
        """Write ``msg`` to the function's log."""
        ...


class SummaryGenerator(Protocol[C_contra]):
    """Turns a result too large to record into the short string recorded instead.

    The full result is then rebuilt on replay by running the operation's children again.
    """

    def __call__(self, result: C_contra) -> str: ...


@dataclass(frozen=True)
class DurableExecutionArn:
    """The parts of a durable execution ARN.

    The ARN reads ``arn:<partition>:lambda:<region>:<account>:function:<function>:<version>`` followed by
    ``/durable-execution/<execution name>/<invocation id>``.

    Attributes:
        function_name: Name of the Lambda function.
        execution_name: Name of the execution, unique per function.
        invocation_id: The last part of the ARN.
    """

    function_name: str
    execution_name: str
    invocation_id: str

    @classmethod
    def from_arn(cls, arn: str) -> DurableExecutionArn | None:
        """Split ``arn`` into its parts, or return ``None`` when it is not a durable execution ARN."""
        head, sep, tail = arn.partition("/durable-execution/")
        fields = head.split(":")
        names = tail.split("/")
        valid = (
            sep
            and len(fields) == 8
            and fields[0] == "arn"
            and fields[2] == "lambda"
            and fields[5] == "function"
            and all(fields[6:8])
            and "/" not in head
            and len(names) == 2
            and all(names)
        )
        if not valid:
            return None
        return cls(function_name=fields[6], execution_name=names[0], invocation_id=names[1])
