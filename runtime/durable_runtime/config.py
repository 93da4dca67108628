"""Configuration values for durable operations.

Every config is a frozen dataclass that checks itself on construction: a mistake surfaces where the config is
written, as a ``ValidationError`` showing the bad value and the fix, not inside a replay later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from durable_runtime.exceptions import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from durable_runtime.retries import RetryDecision
    from durable_runtime.serdes import SerDes
    from durable_runtime.types import SummaryGenerator

P = TypeVar("P")  # payload type
R = TypeVar("R")  # result type
T = TypeVar("T")

Numeric = int | float

_SUB_TYPE_MAX_LENGTH = 32


@dataclass(frozen=True)
class Duration:
    """A non-negative length of time, ``seconds`` in total."""

    seconds: int = 0

    def __post_init__(self) -> None:
        value: Any = self.seconds
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(
                f"Duration seconds must be a number, got {value!r}; use Duration.from_seconds(...), "
                "Duration.from_minutes(...), Duration.from_hours(...) or Duration.from_days(...)"
            )
        if value < 0:
            raise ValidationError(f"Duration seconds must not be negative, got {value!r}; pass 0 or more")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValidationError(
                    f"Duration holds whole seconds, got {value!r}; use Duration.from_seconds({value!r}) to "
                    "truncate it, or round it yourself"
                )
            object.__setattr__(self, "seconds", int(value))

    def to_seconds(self) -> int:
        """Return the total number of seconds."""
        return self.seconds

    # The from_* constructors drop fractions of a second, as the official SDK does.
    @classmethod
    def from_seconds(cls, value: float) -> Duration:
        """Build a duration from seconds."""
        return cls(seconds=int(value))

    @classmethod
    def from_minutes(cls, value: float) -> Duration:
        """Build a duration from minutes."""
        return cls(seconds=int(value * 60))

    @classmethod
    def from_hours(cls, value: float) -> Duration:
        """Build a duration from hours."""
        return cls(seconds=int(value * 3600))

    @classmethod
    def from_days(cls, value: float) -> Duration:
        """Build a duration from days."""
        return cls(seconds=int(value * 86400))


def _require_duration(name: str, value: object) -> None:
    if not isinstance(value, Duration):
        raise ValidationError(f"{name} must be a Duration, got {value!r}; use e.g. Duration.from_seconds(30)")


def _require_callable(name: str, value: object, fix: str) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{name} must be callable, got {value!r}; {fix}")


def _require_serdes(name: str, value: object) -> None:
    if value is not None and not (hasattr(value, "serialize") and hasattr(value, "deserialize")):
        raise ValidationError(
            f"{name} must be a SerDes (with serialize and deserialize), got {value!r}; "
            "subclass durable_runtime.serdes.SerDes"
        )


def _require_max_concurrency(value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError(f"max_concurrency must be an int of at least 1, got {value!r}; use None for no limit")


def _validate_sub_type(sub_type: str | None) -> None:
    # Checked up front so no step runs under a label the service would refuse; None and "" mean the default.
    if not sub_type:
        return
    allowed = isinstance(sub_type, str) and all(c.isascii() and (c.isalnum() or c in "-_") for c in sub_type)
    if not allowed or len(sub_type) > _SUB_TYPE_MAX_LENGTH:
        raise ValidationError(
            f"sub_type must be 1 to {_SUB_TYPE_MAX_LENGTH} characters from A-Z, a-z, 0-9, '-' and '_', "
            f"got {sub_type!r}; pick a shorter plain name such as 'ChargeCard'"
        )


class NestingType(Enum):
    """How map items and parallel branches are recorded.

    ``NESTED`` records each item or branch as its own child-context operation: most visible in the history,
    one extra operation each. ``FLAT`` runs each in a virtual context that records nothing itself: a smaller,
    cheaper history that does not show the items as separate operations.
    """

    NESTED = "NESTED"
    FLAT = "FLAT"


class BatchItemStatus(Enum):
    """State of one map item or parallel branch."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STARTED = "STARTED"


class CompletionOutcome(Enum):
    """Whether a batch completed early by a custom decision counts as a success or a failure."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class CompletionDecision:
    """Answer of a ``should_complete`` predicate; build it with ``continue_batch()`` or ``complete_batch()``.

    Attributes:
        complete: Whether the batch stops now.
        outcome: How the stopped batch counts; required when ``complete`` is true, ``None`` otherwise.
    """

    complete: bool
    outcome: CompletionOutcome | None = None

    def __post_init__(self) -> None:
        if self.complete and self.outcome is None:
            raise ValidationError("CompletionDecision(complete=True) needs an outcome; use complete_batch(...)")
        if not self.complete and self.outcome is not None:
            raise ValidationError(
                f"CompletionDecision(complete=False) takes no outcome, got {self.outcome!r}; use continue_batch()"
            )


def continue_batch() -> CompletionDecision:
    """Let the batch keep running."""
    return CompletionDecision(complete=False)


def complete_batch(outcome: CompletionOutcome = CompletionOutcome.SUCCEEDED) -> CompletionDecision:
    """Stop the batch now, counting it as ``outcome`` (a success by default)."""
    return CompletionDecision(complete=True, outcome=outcome)


@dataclass(frozen=True)
class CompletionItemStatus:
    """What a completion predicate sees of one item: index, custom name, status (``None`` until started)."""

    index: int
    name: str | None = None
    status: BatchItemStatus | None = None


@dataclass(frozen=True)
class CompletionStatus:
    """Progress of a batch, handed to a ``should_complete`` predicate.

    Attributes:
        success_count: Items that succeeded.
        failure_count: Items that failed.
        completed_count: ``success_count + failure_count``.
        total_count: Items in the batch.
        items: One entry per item, in input order whatever the completion order.
    """

    success_count: int
    failure_count: int
    completed_count: int
    total_count: int
    items: tuple[CompletionItemStatus, ...] = ()


@dataclass(frozen=True)
class CompletionConfig:
    """When a map or parallel batch is done.

    The batch completes at the first of: the predicate deciding so, ``min_successful`` successes, the failure
    tolerance being exceeded, or every item finishing. With no field set, the first failure ends it.

    Attributes:
        min_successful: Successes that complete the batch early; ``None`` for no such threshold.
        tolerated_failure_count: Failures allowed before the batch fails; ``None`` for no count limit.
        tolerated_failure_percentage: Percentage (0 to 100) of failed items allowed; ``None`` for no limit.
        should_complete: Custom predicate from :class:`CompletionStatus` to :class:`CompletionDecision`,
            used instead of the three thresholds (it cannot be combined with them). It runs before any item
            starts and after every change, so it must accept zero progress, be deterministic, free of side
            effects and monotonic (once it completes, more progress must not make it continue): on replay it
            may see finished items in a different order.
    """

    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: int | float | None = None
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None

    def __post_init__(self) -> None:
        if self.min_successful is not None and self.min_successful < 1:
            raise ValidationError(
                f"min_successful must be at least 1, got {self.min_successful!r}; use None for no minimum"
            )
        if self.tolerated_failure_count is not None and self.tolerated_failure_count < 0:
            raise ValidationError(
                f"tolerated_failure_count must not be negative, got {self.tolerated_failure_count!r}; "
                "use 0 to tolerate no failure"
            )
        percentage = self.tolerated_failure_percentage
        if percentage is not None and not 0 <= percentage <= 100:
            raise ValidationError(f"tolerated_failure_percentage must be between 0 and 100, got {percentage!r}")
        _require_callable("should_complete", self.should_complete, "pass a function returning continue_batch()")
        thresholds = (self.min_successful, self.tolerated_failure_count, percentage)
        if self.should_complete is not None and any(value is not None for value in thresholds):
            raise ValidationError(
                "should_complete cannot be combined with min_successful, tolerated_failure_count or "
                "tolerated_failure_percentage; express the thresholds inside the predicate"
            )

    def _validate_for_total(self, total: int) -> None:
        """Check the config against the number of items before the batch starts."""
        if self.min_successful is not None and self.min_successful > total:
            raise ValidationError(
                f"min_successful ({self.min_successful}) is greater than the number of items ({total}); "
                "lower min_successful or add items"
            )

    @staticmethod
    def first_successful() -> CompletionConfig:
        """Complete as soon as one item succeeds."""
        return CompletionConfig(min_successful=1)

    @staticmethod
    def all_completed() -> CompletionConfig:
        """Run every item whatever fails (100% tolerated failures)."""
        return CompletionConfig(tolerated_failure_percentage=100)

    @staticmethod
    def all_successful() -> CompletionConfig:
        """Require every item to succeed; the first failure ends the batch."""
        return CompletionConfig(tolerated_failure_count=0, tolerated_failure_percentage=0)


@dataclass(frozen=True)
class ParallelConfig:
    """Options of ``context.parallel``.

    Attributes:
        max_concurrency: Branches running at once; ``None`` runs them all together.
        completion_config: When the operation is done; every branch must succeed by default.
        serdes: Serdes of the whole :class:`~durable_runtime.concurrency.models.BatchResult`; also used for
            each branch's result when ``item_serdes`` is not given.
        item_serdes: Serdes of each branch's result.
        summary_generator: Produces the recorded summary of a result too large to record in full.
        nesting_type: Whether branches are recorded as their own operations.
    """

    max_concurrency: int | None = None
    completion_config: CompletionConfig = field(default_factory=CompletionConfig.all_successful)
    serdes: SerDes | None = None
    item_serdes: SerDes | None = None
    summary_generator: SummaryGenerator | None = None
    nesting_type: NestingType = NestingType.NESTED

    def __post_init__(self) -> None:
        _require_max_concurrency(self.max_concurrency)
        _require_serdes("serdes", self.serdes)
        _require_serdes("item_serdes", self.item_serdes)


@dataclass(frozen=True)
class ParallelBranch(Generic[T]):
    """A parallel branch with a name shown in the history instead of ``parallel-branch-<index>``.

    Calling the branch calls ``func``.

    Attributes:
        func: The branch body; it receives a ``DurableContext``.
        name: Name of the branch in the execution history.
    """

    func: Callable[..., T]
    name: str | None = None

    def __post_init__(self) -> None:
        _require_callable("ParallelBranch.func", self.func, "pass a function taking a DurableContext")

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        """Run the branch body."""
        return self.func(*args, **kwargs)


class StepSemantics(Enum):
    """How often one attempt of a step may run its function.

    ``AT_LEAST_ONCE_PER_RETRY`` (the default) re-runs an attempt interrupted by a crash.
    ``AT_MOST_ONCE_PER_RETRY`` records the attempt's start durably before running it; an interrupted attempt
    then becomes a ``StepInterruptedError`` handed to the retry strategy instead of running again.
    """

    AT_MOST_ONCE_PER_RETRY = "AT_MOST_ONCE_PER_RETRY"
    AT_LEAST_ONCE_PER_RETRY = "AT_LEAST_ONCE_PER_RETRY"


@dataclass(frozen=True)
class StepConfig:
    """Options of ``context.step``.

    Attributes:
        retry_strategy: ``(error, attempts_made) -> RetryDecision``; ``None`` uses ``RetryPresets.default()``.
        step_semantics: At-least-once (default) or at-most-once per attempt.
        serdes: Serdes of the step's result; ``None`` uses the default extended-type serdes.
        sub_type: Label recorded with the step (default ``"Step"``), up to 32 characters from A-Z, a-z, 0-9,
            ``-`` and ``_``. It is checked on replay, so changing it breaks executions in flight.
    """

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    step_semantics: StepSemantics = StepSemantics.AT_LEAST_ONCE_PER_RETRY
    serdes: SerDes | None = None
    sub_type: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        # retry_strategy is not checked here: the official SDK accepts anything and only calls it when an attempt
        # fails, so a handler passing e.g. a RetryStrategyConfig runs fine until then, and its failed attempt
        # then raises the TypeError of calling it (see operations/step.py).
        if not isinstance(self.step_semantics, StepSemantics):
            raise ValidationError(
                f"step_semantics must be a StepSemantics, got {self.step_semantics!r}; "
                "use StepSemantics.AT_MOST_ONCE_PER_RETRY or StepSemantics.AT_LEAST_ONCE_PER_RETRY"
            )
        _require_serdes("serdes", self.serdes)
        _validate_sub_type(self.sub_type)


@dataclass(frozen=True)
class ChildConfig(Generic[T]):
    """Options of ``context.run_in_child_context``.

    Attributes:
        serdes: Serdes of the child's result; ``None`` uses the default extended-type serdes.
        sub_type: Label recorded with the context (default ``"RunInChildContext"``), same rules as
            :attr:`StepConfig.sub_type`.
        summary_generator: ``(result) -> str`` producing what is recorded instead of a result too large to
            record; the children are then re-run on replay to rebuild the full result.
        is_virtual: Record nothing for the context itself; its operations report to the caller's parent. Used
            by ``NestingType.FLAT``.
    """

    serdes: SerDes | None = None
    sub_type: str | None = None
    summary_generator: SummaryGenerator | None = None
    is_virtual: bool = False

    def __post_init__(self) -> None:
        _require_serdes("serdes", self.serdes)
        _validate_sub_type(self.sub_type)
        _require_callable("summary_generator", self.summary_generator, "pass a function (result) -> str")


@dataclass(frozen=True)
class MapConfig(Generic[T]):
    """Options of ``context.map``.

    Attributes:
        max_concurrency: Items processed at once; ``None`` processes them all together.
        completion_config: When the map is done; by default the first failed item fails it.
        serdes: Serdes of the whole batch result; also used per item when ``item_serdes`` is not given.
        item_serdes: Serdes of each item's result.
        summary_generator: Produces the recorded summary of a result too large to record in full.
        nesting_type: Whether items are recorded as their own operations.
        item_namer: ``(item, index) -> name`` for each item instead of ``map-item-<index>``; called for every
            item on every run, so it must be deterministic.
    """

    max_concurrency: int | None = None
    completion_config: CompletionConfig = field(default_factory=CompletionConfig)
    serdes: SerDes | None = None
    item_serdes: SerDes | None = None
    summary_generator: SummaryGenerator | None = None
    nesting_type: NestingType = NestingType.NESTED
    item_namer: Callable[[T, int], str] | None = None

    def __post_init__(self) -> None:
        _require_max_concurrency(self.max_concurrency)
        _require_serdes("serdes", self.serdes)
        _require_serdes("item_serdes", self.item_serdes)
        _require_callable("item_namer", self.item_namer, "pass a function (item, index) -> str")


@dataclass(frozen=True)
class InvokeConfig(Generic[P, R]):
    """Options of ``context.invoke``: payload and result serdes (plain JSON when ``None``) and a tenant id."""

    serdes_payload: SerDes[P] | None = None
    serdes_result: SerDes[R] | None = None
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        _require_serdes("serdes_payload", self.serdes_payload)
        _require_serdes("serdes_result", self.serdes_result)


@dataclass(frozen=True)
class CallbackConfig:
    """Options of ``context.create_callback``.

    Attributes:
        timeout: How long to wait for the result; zero (the default) waits forever.
        heartbeat_timeout: Longest gap allowed between heartbeats; zero (the default) disables it.
        serdes: Serdes of the result; ``None`` returns the payload string unparsed.
        sub_type: Label recorded with the callback (default ``"Callback"``), same rules as
            :attr:`StepConfig.sub_type`.
    """

    timeout: Duration = field(default_factory=Duration)
    heartbeat_timeout: Duration = field(default_factory=Duration)
    serdes: SerDes | None = None
    # Keyword-only so positional order stays (timeout, heartbeat_timeout, serdes[, retry_strategy]).
    sub_type: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        _require_duration("timeout", self.timeout)
        _require_duration("heartbeat_timeout", self.heartbeat_timeout)
        _require_serdes("serdes", self.serdes)
        _validate_sub_type(self.sub_type)

    @property
    def timeout_seconds(self) -> int:
        """The timeout in seconds."""
        return self.timeout.to_seconds()

    @property
    def heartbeat_timeout_seconds(self) -> int:
        """The heartbeat timeout in seconds."""
        return self.heartbeat_timeout.to_seconds()


@dataclass(frozen=True)
class WaitForCallbackConfig(CallbackConfig):
    """Options of ``context.wait_for_callback``: callback options plus the submitter step's retry strategy."""

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None


class JitterStrategy(StrEnum):
    """Random spread applied to retry and polling delays so that many waiters do not wake together.

    ``NONE`` keeps the delay, ``FULL`` picks uniformly in ``[0, delay]`` and ``HALF`` in ``[delay/2, delay]``
    (the "full" and "equal" jitter of the AWS Architecture Blog's backoff article).
    """

    NONE = "NONE"
    FULL = "FULL"
    HALF = "HALF"

    def apply_jitter(self, delay: float, rng: Callable[[], float] | None = None) -> float:
        """Return ``delay`` with this jitter applied.

        Args:
            delay: The delay before jitter, in seconds.
            rng: Source of uniform numbers in ``[0, 1)``; ``random.random`` when omitted. Inject one for
                reproducible tests. Replays never call this: the engine records the delay it decided.
        """
        if self is JitterStrategy.NONE:
            return delay
        if rng is None:
            import random

            rng = random.random
        if self is JitterStrategy.HALF:
            return delay / 2 + rng() * (delay / 2)
        return rng() * delay

    def finalize_delay(self, base_delay: float, rng: Callable[[], float] | None = None) -> int:
        """Apply the jitter, then round up to whole seconds, at least 1."""
        return max(1, math.ceil(self.apply_jitter(base_delay, rng)))
