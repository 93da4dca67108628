"""The DurableContext a handler receives: a thin facade that numbers operations and hands each to its module."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ._reexports import lazy_reexports
from .config import (
    CallbackConfig,
    ChildConfig,
    Duration,
    InvokeConfig,
    MapConfig,
    ParallelBranch,
    ParallelConfig,
    StepConfig,
    WaitForCallbackConfig,
)
from .engine.logging import DurableLogger
from .exceptions import ValidationError
from .journal.records import OperationType
from .metrics import DurableMetrics, MetricsSink
from .operations.base import OperationIdentity
from .types import StepContext, WaitForCallbackContext, WaitForConditionCheckContext

if TYPE_CHECKING:
    import datetime
    import uuid

    from .concurrency.models import BatchResult
    from .engine.state import InvocationState
    from .operations.batch import BatchOptions, Branch
    from .operations.callback import Callback
    from .waits import WaitForConditionConfig

T = TypeVar("T")
U = TypeVar("U")
Params = ParamSpec("Params")

# Child contexts nest at most this deep: each level costs stack frames, and Python's recursion limit would
# otherwise fail a deeper execution on every attempt.
MAX_CONTEXT_DEPTH = 100

__all__ = [
    "DurableContext",
    "ExecutionContext",
    "StepContext",
    "WaitForCallbackContext",
    "durable_parallel_branch",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
]

# The official module re-exports these for code that imports them from here; resolved on first use.
_REEXPORTS = {
    "Callback": "operations.callback",
    "CallbackProtocol": "types:Callback",
    "DurableContextProtocol": "types:DurableContext",
    "LoggerInterface": "types",
    "CallbackError": "exceptions",
    "CallbackExternalError": "exceptions",
    "CallbackSubmitterError": "exceptions",
    "CallbackTimeoutError": "exceptions",
    "ChildContextError": "exceptions",
    "StepError": "exceptions",
    "SuspendExecution": "exceptions",
    "LogInfo": "logger",
    "Logger": "logger",
    "OperationIdNamespace": "identifier",
    "OperationIdentifier": "identifier",
    "OperationSubType": "lambda_service",
    "OrderedCounter": "threading",
    "PASS_THROUGH_SERDES": "serdes",
    "PassThroughSerDes": "serdes",
    "SerDes": "serdes",
    "deserialize": "serdes",
}
__getattr__, __dir__ = lazy_reexports(__name__, _REEXPORTS)


@dataclass(frozen=True)
class ExecutionContext:
    """Read-only facts about the running execution."""

    durable_execution_arn: str


def _bind_item(
    func: Callable[[DurableContext, U, int, Sequence[U]], T], item: U, index: int, items: Sequence[U]
) -> Callable[[DurableContext], T]:
    return lambda context: func(context, item, index, items)


def _named(function: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    function._original_name = original.__name__  # type: ignore[attr-defined]
    return function


def durable_step(
    func: Callable[Concatenate[StepContext, Params], T],
) -> Callable[Params, Callable[[StepContext], T]]:
    """Turn `func(step_context, *args)` into a factory of step functions named after `func`."""

    def bind(*args: Params.args, **kwargs: Params.kwargs) -> Callable[[StepContext], T]:
        return _named(lambda step_context: func(step_context, *args, **kwargs), func)

    return bind


def durable_with_child_context(
    func: Callable[Concatenate[DurableContext, Params], T],
) -> Callable[Params, Callable[[DurableContext], T]]:
    """Turn `func(child_context, *args)` into a factory of child-context functions named after `func`."""

    def bind(*args: Params.args, **kwargs: Params.kwargs) -> Callable[[DurableContext], T]:
        return _named(lambda child_context: func(child_context, *args, **kwargs), func)

    return bind


def durable_wait_for_callback(
    func: Callable[Concatenate[str, WaitForCallbackContext, Params], T],
) -> Callable[Params, Callable[[str, WaitForCallbackContext], T]]:
    """Turn `func(callback_id, context, *args)` into a factory of wait_for_callback submitters."""

    def bind(*args: Params.args, **kwargs: Params.kwargs) -> Callable[[str, WaitForCallbackContext], T]:
        return _named(lambda callback_id, context: func(callback_id, context, *args, **kwargs), func)

    return bind


def durable_parallel_branch(
    name: str | None = None,
) -> Callable[[Callable[Concatenate[DurableContext, Params], T]], Callable[Params, ParallelBranch[T]]]:
    """Decorator factory: turn `func(ctx, *args)` into a factory of named parallel branches."""

    def decorate(
        func: Callable[Concatenate[DurableContext, Params], T],
    ) -> Callable[Params, ParallelBranch[T]]:
        def bind(*args: Params.args, **kwargs: Params.kwargs) -> ParallelBranch[T]:
            return ParallelBranch(func=lambda ctx: func(ctx, *args, **kwargs), name=name)

        return bind

    return decorate


class DurableContext:
    """What a durable handler uses to run steps, waits and child contexts that survive replays."""

    def __init__(
        self,
        state: InvocationState,
        *,
        parent_id: str | None = None,
        lambda_context: Any = None,
        replaying: bool = False,
        logger: DurableLogger | None = None,
        metrics_sink: MetricsSink | None = None,
    ) -> None:
        self.state = state
        self.lambda_context = lambda_context
        self.execution_context = ExecutionContext(state.arn)
        self._parent_id = parent_id
        # Operation ids derive from this prefix; it differs from the parent only in a virtual (FLAT) context.
        self._id_prefix = parent_id
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._upcoming: tuple[int, str] = (0, "")  # (counter, id) of the next operation, if already derived
        self._replaying = replaying
        self._depth = 0
        base = logger or DurableLogger.for_execution(state.arn, self.is_replaying)
        self.logger = base.bind(self.is_replaying, parentId=parent_id)
        # One per invocation, shared by its child contexts; flushed when the invocation ends.
        self.metrics_sink = metrics_sink or MetricsSink()

    @property
    def metrics(self) -> DurableMetrics:
        """Replay-aware metrics: what this context's replayed code adds is dropped (see `durable_runtime.metrics`)."""
        return DurableMetrics(self.metrics_sink, self.is_replaying)

    def set_metrics(self, metrics: Any) -> None:
        """Send this invocation's `context.metrics` to `metrics` (e.g. your Powertools ``Metrics`` object)."""
        self.metrics_sink.set_target(metrics)

    # region identity and replay status
    def is_replaying(self) -> bool:
        """True while this context is re-running operations the journal already holds."""
        return self._replaying

    def set_logger(self, new_logger: Any) -> None:
        """Send this context's log records to another logger."""
        self.logger.set_target(new_logger)

    def _identity(self, operation_type: OperationType, sub_type: str, name: str | None) -> OperationIdentity:
        with self._counter_lock:
            self._counter += 1
            counter = self._counter
        upcoming_counter, upcoming_id = self._upcoming
        if upcoming_counter == counter:
            operation_id = upcoming_id
        else:
            operation_id = self.state.ids.operation_id(counter, self._id_prefix)
        identity = OperationIdentity(operation_id, operation_type, sub_type, name, self._parent_id)
        if self._replaying:
            record = self.state.operation(identity.operation_id)
            if record is None or (operation_type == OperationType.STEP and not record.status.is_terminal):
                self._replaying = False
        return identity

    def _after_operation(self) -> None:
        if self._replaying:
            counter = self._counter + 1
            upcoming = self.state.ids.operation_id(counter, self._id_prefix)
            self._upcoming = (counter, upcoming)  # the next operation's id, hashed once
            if self.state.operation(upcoming) is None:
                self._replaying = False

    def _child(self, parent_id: str, replaying: bool) -> DurableContext:
        if self._depth >= MAX_CONTEXT_DEPTH:
            raise ValidationError(
                f"child contexts nest more than {MAX_CONTEXT_DEPTH} deep; flatten the recursion (a loop of steps, "
                "or a map over the items) instead of nesting a context per level"
            )
        child = DurableContext(
            self.state,
            parent_id=parent_id,
            lambda_context=self.lambda_context,
            replaying=replaying,
            logger=self.logger,
            metrics_sink=self.metrics_sink,
        )
        child._depth = self._depth + 1
        return child

    def _virtual_child(self, id_prefix: str) -> DurableContext:
        """A context that records nothing itself: its operations report to this context's parent."""
        child = self._child(self._parent_id or "", self._replaying)
        child._parent_id = self._parent_id
        child._id_prefix = id_prefix
        return child

    @staticmethod
    def _resolve_name(name: str | None, func: Callable[..., Any]) -> str | None:
        return name or getattr(func, "_original_name", None)

    # endregion

    # region operations
    def step(self, func: Callable[[StepContext], T], name: str | None = None, config: StepConfig | None = None) -> T:
        """Run `func` as a step: its result is recorded, and replays return it without running `func` again."""
        from .operations.step import run_step

        if not callable(func):
            raise ValidationError(f"step needs a callable taking a StepContext, got {func!r}")
        config = config or StepConfig()
        identity = self._identity(OperationType.STEP, config.sub_type or "Step", self._resolve_name(name, func))
        try:
            return run_step(self.state, identity, func, config, self.logger)
        finally:
            self._after_operation()

    def wait(self, duration: Duration, name: str | None = None) -> None:
        """Suspend the execution for `duration` (at least one second); no compute is used while waiting."""
        from .operations.wait import run_wait

        if not isinstance(duration, Duration):
            raise ValidationError(f"wait needs a Duration, got {duration!r}; use Duration.from_seconds(...)")
        seconds = duration.to_seconds()
        if seconds < 1:
            raise ValidationError(f"wait duration must be at least 1 second, got {seconds}")
        identity = self._identity(OperationType.WAIT, "Wait", name)
        try:
            run_wait(self.state, identity, seconds)
        finally:
            self._after_operation()

    def run_in_child_context(
        self, func: Callable[[DurableContext], T], name: str | None = None, config: ChildConfig | None = None
    ) -> T:
        """Run `func` with a child context whose operations are grouped, recorded and replayed as one."""
        from .operations.child import run_child

        if not callable(func):
            raise ValidationError(f"run_in_child_context needs a callable taking a DurableContext, got {func!r}")
        sub_type = (config.sub_type if config else None) or "RunInChildContext"
        identity = self._identity(OperationType.CONTEXT, sub_type, self._resolve_name(name, func))
        try:
            return run_child(
                self.state,
                identity,
                func,
                config,
                lambda replaying: self._child(identity.operation_id, replaying),
            )
        finally:
            self._after_operation()

    def now(self, name: str | None = None) -> datetime.datetime:
        """The current UTC time, recorded once: replays see the same instant."""
        import datetime

        return self.step(
            lambda _: datetime.datetime.fromtimestamp(self.state.now(), tz=datetime.UTC),
            name=name or "now",
            config=StepConfig(sub_type="Now"),
        )

    def uuid(self, name: str | None = None) -> uuid.UUID:
        """A random UUID, recorded once: replays see the same value."""
        import uuid

        return self.step(lambda _: uuid.uuid4(), name=name or "uuid", config=StepConfig(sub_type="Uuid"))

    def random(self, name: str | None = None) -> float:
        """A random float in [0, 1), recorded once: replays see the same value."""
        import random

        return self.step(lambda _: random.random(), name=name or "random", config=StepConfig(sub_type="Random"))

    def _not_yet(self, operation: str) -> Any:
        raise NotImplementedError(f"context.{operation} is not available in this Durable Kit release yet")

    def create_callback(self, name: str | None = None, config: CallbackConfig | None = None) -> Callback[Any]:
        """Create a callback: hand `callback_id` to an external system, then `result()` waits for it."""
        from .operations.callback import create_callback

        config = config or CallbackConfig()
        identity = self._identity(OperationType.CALLBACK, config.sub_type or "Callback", name)
        try:
            return create_callback(self.state, identity, config)
        finally:
            self._after_operation()

    def wait_for_callback(
        self,
        submitter: Callable[[str, WaitForCallbackContext], Any],
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
    ) -> Any:
        """Create a callback, run `submitter(callback_id, context)` as a step, and wait for the callback's result."""
        from .operations.callback import wait_for_callback

        if not callable(submitter):
            raise ValidationError(f"wait_for_callback needs a callable submitter, got {submitter!r}")
        return wait_for_callback(self, submitter, self._resolve_name(name, submitter), config)

    def wait_for_condition(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T],
        config: WaitForConditionConfig[T],
        name: str | None = None,
    ) -> T:
        """Call `check(state)` until the config's wait strategy stops, suspending between checks."""
        from .operations.condition import run_wait_for_condition

        if check is None or not callable(check):
            raise ValidationError(f"wait_for_condition needs a callable check, got {check!r}")
        if config is None:
            raise ValidationError(
                "wait_for_condition needs a WaitForConditionConfig(wait_strategy=..., initial_state=...)"
            )
        identity = self._identity(OperationType.STEP, "WaitForCondition", name)
        try:
            return run_wait_for_condition(self.state, identity, check, config, self.logger)
        finally:
            self._after_operation()

    def invoke(
        self, function_name: str, payload: Any, name: str | None = None, config: InvokeConfig[Any, Any] | None = None
    ) -> Any:
        """Invoke a function by name or ARN; a durable target runs as a child execution and this one waits."""
        from .operations.invoke import run_invoke

        if not isinstance(function_name, str) or not function_name:
            raise ValidationError(f"invoke needs a function name or ARN, got {function_name!r}")
        identity = self._identity(OperationType.CHAINED_INVOKE, "ChainedInvoke", name)
        try:
            return run_invoke(self.state, identity, function_name, payload, config or InvokeConfig())
        finally:
            self._after_operation()

    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[DurableContext, U, int, Sequence[U]], T],
        name: str | None = None,
        config: MapConfig[U] | None = None,
    ) -> BatchResult[T]:
        """Run `func(context, item, index, items)` for every item, concurrently up to `max_concurrency`."""
        from .operations.batch import BatchOptions, Branch

        if not callable(func):
            raise ValidationError(f"map needs a callable (context, item, index, items) -> result, got {func!r}")
        items = list(inputs)
        config = config or MapConfig()
        config.completion_config._validate_for_total(len(items))
        branches = [
            Branch(
                index,
                config.item_namer(item, index) if config.item_namer else f"map-item-{index}",
                _bind_item(func, item, index, items),
            )
            for index, item in enumerate(items)
        ]
        return self._batch(BatchOptions.of("Map", config), self._resolve_name(name, func), branches)

    def parallel(
        self,
        functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run the branches concurrently, up to `max_concurrency` at once, until the completion policy decides."""
        from .operations.batch import BatchOptions, Branch

        config = config or ParallelConfig()
        config.completion_config._validate_for_total(len(functions))
        branches = []
        for index, function in enumerate(functions):
            if not callable(function):
                raise ValidationError(f"parallel branch {index} is not callable: {function!r}")
            branch_name = function.name if isinstance(function, ParallelBranch) else None
            run = function.func if isinstance(function, ParallelBranch) else function
            branches.append(Branch(index, branch_name or f"parallel-branch-{index}", run))
        return self._batch(BatchOptions.of("Parallel", config), name, branches)

    def _batch(self, options: BatchOptions, name: str | None, branches: list[Branch]) -> BatchResult[Any]:
        from .operations.batch import run_batch

        identity = self._identity(OperationType.CONTEXT, options.kind, name)
        try:
            return run_batch(self, identity, branches, options)
        finally:
            self._after_operation()

    # endregion
