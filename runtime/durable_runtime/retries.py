"""Retry strategies: when a failed step attempt runs again, and after how long.

A retry strategy is any callable ``(error, attempts_made) -> RetryDecision``. ``attempts_made`` counts the
attempts that already ran, the failed one included, so it is 1 after the first failure. The engine records the
decided delay in the journal, so jitter is drawn once and a replay never draws it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from durable_runtime.config import Duration, JitterStrategy
from durable_runtime.exceptions import SuspendExecution as SuspendExecution  # the official module re-exports it
from durable_runtime.exceptions import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from durable_runtime.config import ChildConfig
    from durable_runtime.types import DurableContext

T = TypeVar("T")

Numeric = int | float

# Matches every message: used when the config names neither messages nor types to retry.
_MATCH_ANY = re.compile(r".*")


@dataclass(frozen=True)
class RetryDecision:
    """Whether to run another attempt, and how long to wait before it.

    Attributes:
        should_retry: Run another attempt.
        delay: Wait before that attempt.
    """

    should_retry: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        """The delay in seconds."""
        return self.delay.to_seconds()

    @classmethod
    def retry(cls, delay: Duration) -> RetryDecision:
        """Retry after ``delay``."""
        return cls(should_retry=True, delay=delay)

    @classmethod
    def no_retry(cls) -> RetryDecision:
        """Give up."""
        return cls(should_retry=False, delay=Duration())


def check_backoff(
    max_attempts: int, delays: dict[str, Duration], jitter: JitterStrategy, backoff_rate: object = 1
) -> None:
    """Validate backoff parameters (shared by retry and wait strategies), naming the bad value and the fix."""
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValidationError(
            f"max_attempts must be an int of at least 1 (attempts in total, the first included), "
            f"got {max_attempts!r}; use 1 for no retry"
        )
    for name, value in delays.items():
        if not isinstance(value, Duration):
            raise ValidationError(f"{name} must be a Duration, got {value!r}; use e.g. Duration.from_seconds(5)")
    if not isinstance(jitter, JitterStrategy):
        raise ValidationError(f"jitter_strategy must be a JitterStrategy, got {jitter!r}; use JitterStrategy.FULL")
    if isinstance(backoff_rate, bool) or not isinstance(backoff_rate, int | float):
        raise ValidationError(f"backoff_rate must be a number, got {backoff_rate!r}; use e.g. 2")
    if backoff_rate <= 0:
        raise ValidationError(f"backoff_rate must be positive, got {backoff_rate!r}; use 1 for a fixed delay")


@dataclass(frozen=True)
class RetryStrategyConfig:
    """Exponential backoff: ``initial_delay * backoff_rate ** (attempts_made - 1)``, capped at ``max_delay``.

    Attributes:
        max_attempts: Attempts in total, the first included.
        initial_delay: Delay before the second attempt (before jitter).
        max_delay: Upper bound of the delay (before jitter).
        backoff_rate: Growth factor between successive delays.
        jitter_strategy: Random spread applied to each delay.
        retryable_errors: Retry only errors whose message contains one of these strings or matches one of
            these patterns (``re.search``).
        retryable_error_types: Retry only errors that are instances of one of these classes. When neither
            filter is given every error is retried; when either is, an error must match one of them.
    """

    max_attempts: int = 3
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 2.0
    jitter_strategy: JitterStrategy = JitterStrategy.FULL
    retryable_errors: list[str | re.Pattern[str]] | None = None
    retryable_error_types: list[type[Exception]] | None = None

    def __post_init__(self) -> None:
        delays = {"initial_delay": self.initial_delay, "max_delay": self.max_delay}
        check_backoff(self.max_attempts, delays, self.jitter_strategy, self.backoff_rate)

    @property
    def initial_delay_seconds(self) -> int:
        """The initial delay in seconds."""
        return self.initial_delay.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        """The maximum delay in seconds."""
        return self.max_delay.to_seconds()


@dataclass(frozen=True)
class LinearRetryStrategyConfig:
    """Linear backoff: ``initial_delay + increment * (attempts_made - 1)``, capped at ``max_delay``.

    Attributes:
        max_attempts: Attempts in total, the first included.
        initial_delay: Delay before the second attempt (before jitter).
        increment: Added to the delay after each further failure.
        max_delay: Upper bound of the delay (before jitter).
        jitter_strategy: Random spread applied to each delay.
        retryable_errors: Message filters, as in :class:`RetryStrategyConfig`.
        retryable_error_types: Type filters, as in :class:`RetryStrategyConfig`.
    """

    max_attempts: int = 6
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    increment: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    jitter_strategy: JitterStrategy = JitterStrategy.FULL
    retryable_errors: list[str | re.Pattern[str]] | None = None
    retryable_error_types: list[type[Exception]] | None = None

    def __post_init__(self) -> None:
        delays = {
            "initial_delay": self.initial_delay,
            "increment": self.increment,
            "max_delay": self.max_delay,
        }
        check_backoff(self.max_attempts, delays, self.jitter_strategy)

    @property
    def initial_delay_seconds(self) -> int:
        """The initial delay in seconds."""
        return self.initial_delay.to_seconds()

    @property
    def increment_seconds(self) -> int:
        """The increment in seconds."""
        return self.increment.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        """The maximum delay in seconds."""
        return self.max_delay.to_seconds()


def _error_filter(
    messages: Sequence[str | re.Pattern[str]] | None, types: Sequence[type[Exception]] | None
) -> Callable[[Exception], bool]:
    """Build the predicate telling which errors may be retried."""
    if messages is None and types is None:
        messages = [_MATCH_ANY]
    patterns = list(messages or ())
    classes = tuple(types or ())

    def is_retryable(error: Exception) -> bool:
        if classes and isinstance(error, classes):
            return True
        text = str(error)
        return any(p.search(text) if isinstance(p, re.Pattern) else p in text for p in patterns)

    return is_retryable


def _strategy(
    max_attempts: int,
    base_delay: Callable[[int], float],
    jitter: JitterStrategy,
    is_retryable: Callable[[Exception], bool],
    rng: Callable[[], float] | None,
) -> Callable[[Exception, int], RetryDecision]:
    def retry_strategy(error: Exception, attempts_made: int) -> RetryDecision:
        if attempts_made >= max_attempts or not is_retryable(error):
            return RetryDecision.no_retry()
        return RetryDecision.retry(Duration(seconds=jitter.finalize_delay(base_delay(attempts_made), rng)))

    return retry_strategy


def create_retry_strategy(
    config: RetryStrategyConfig | None = None, *, rng: Callable[[], float] | None = None
) -> Callable[[Exception, int], RetryDecision]:
    """Build an exponential-backoff retry strategy.

    Args:
        config: The backoff parameters; ``RetryStrategyConfig()`` when omitted.
        rng: Source of uniform numbers in ``[0, 1)`` for the jitter; ``random.random`` when omitted.

    Returns:
        A strategy ``(error, attempts_made) -> RetryDecision``. Delays are whole seconds, at least 1.
    """
    cfg = config if config is not None else RetryStrategyConfig()

    def base_delay(attempts_made: int) -> float:
        exponential = cfg.initial_delay_seconds * cfg.backoff_rate ** (attempts_made - 1)
        return min(exponential, cfg.max_delay_seconds)

    is_retryable = _error_filter(cfg.retryable_errors, cfg.retryable_error_types)
    return _strategy(cfg.max_attempts, base_delay, cfg.jitter_strategy, is_retryable, rng)


def create_linear_retry_strategy(
    config: LinearRetryStrategyConfig | None = None, *, rng: Callable[[], float] | None = None
) -> Callable[[Exception, int], RetryDecision]:
    """Build a linear-backoff retry strategy; jitter and filters work as in :func:`create_retry_strategy`.

    Args:
        config: The backoff parameters; ``LinearRetryStrategyConfig()`` when omitted.
        rng: Source of uniform numbers in ``[0, 1)`` for the jitter; ``random.random`` when omitted.

    Returns:
        A strategy ``(error, attempts_made) -> RetryDecision``. Delays are whole seconds, at least 1.
    """
    cfg = config if config is not None else LinearRetryStrategyConfig()

    def base_delay(attempts_made: int) -> float:
        linear = cfg.initial_delay_seconds + cfg.increment_seconds * (attempts_made - 1)
        return min(linear, cfg.max_delay_seconds)

    is_retryable = _error_filter(cfg.retryable_errors, cfg.retryable_error_types)
    return _strategy(cfg.max_attempts, base_delay, cfg.jitter_strategy, is_retryable, rng)


class RetryPresets:
    """Ready-made retry strategies with the official SDK's parameters."""

    @classmethod
    def none(cls) -> Callable[[Exception, int], RetryDecision]:
        """Never retry."""
        return create_retry_strategy(RetryStrategyConfig(max_attempts=1))

    @classmethod
    def default(cls) -> Callable[[Exception, int], RetryDecision]:
        """What steps use without a strategy: 6 attempts, 5 s doubling up to 60 s, full jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(1),
                backoff_rate=2,
                jitter_strategy=JitterStrategy.FULL,
            )
        )

    @classmethod
    def transient(cls) -> Callable[[Exception, int], RetryDecision]:
        """Short retries for passing glitches: 3 attempts, 5 s doubling, half jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(max_attempts=3, backoff_rate=2, jitter_strategy=JitterStrategy.HALF)
        )

    @classmethod
    def resource_availability(cls) -> Callable[[Exception, int], RetryDecision]:
        """Patient retries for a resource coming back: 5 attempts, 5 s doubling up to 5 min, full jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(5),
                backoff_rate=2,
            )
        )

    @classmethod
    def critical(cls) -> Callable[[Exception, int], RetryDecision]:
        """Many quick retries: 10 attempts, 1 s growing 1.5x up to 60 s, no jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=10,
                initial_delay=Duration.from_seconds(1),
                max_delay=Duration.from_minutes(1),
                backoff_rate=1.5,
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def linear(cls) -> Callable[[Exception, int], RetryDecision]:
        """Delays of 1, 2, 3, 4 and 5 s (6 attempts), no jitter."""
        return create_linear_retry_strategy(
            LinearRetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(1),
                increment=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def fixed(cls, interval: Duration | None = None) -> Callable[[Exception, int], RetryDecision]:
        """The same delay (``interval``, 5 s by default) between 5 attempts, no jitter."""
        delay = interval if interval is not None else Duration.from_seconds(5)
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=delay,
                max_delay=delay,
                backoff_rate=1,
                jitter_strategy=JitterStrategy.NONE,
            )
        )


@dataclass(frozen=True)
class WithRetryConfig(Generic[T]):
    """Options of :func:`with_retry`.

    Attributes:
        retry_strategy: ``(error, attempts_made) -> RetryDecision``; ``None`` uses ``create_retry_strategy()``
            (3 attempts).
        wrap_with_run_in_child_context: Run the loop in its own child context (the default); the final
            failure then surfaces as ``ChildContextError`` with the original error as its cause. Without
            it the original error is raised unchanged.
        child_context_config: Options of that child context; ignored without wrapping.
    """

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    wrap_with_run_in_child_context: bool = True
    # Like StepConfig, retry_strategy is only called (and so only fails) when an attempt fails, as officially.
    child_context_config: ChildConfig[T] | None = None


def with_retry(
    context: DurableContext,
    func: Callable[[DurableContext, int], T],
    config: WithRetryConfig[T],
    name: str | None = None,
) -> T:
    """Run a block of durable code, re-running all of it from the top when it fails.

    Unlike a step's retry, which repeats one function, this repeats a body that may itself hold several
    durable operations. Each backoff is a durable wait (named ``"<name>-backoff-<attempt>"`` when ``name`` is
    given), so waiting costs nothing.

    Args:
        context: The context to run in.
        func: The body, called as ``func(context, attempt)`` with ``attempt`` counting from 1.
        config: The retry strategy and wrapping options.
        name: Name of the child context and prefix of the backoff waits.

    Returns:
        What ``func`` returned on the attempt that succeeded.

    Raises:
        ChildContextError: When wrapped (the default) and the strategy gives up.
        Exception: The last attempt's error, when not wrapped and the strategy gives up.
    """
    strategy = config.retry_strategy or create_retry_strategy()

    def run_loop(ctx: DurableContext) -> T:
        attempt = 1
        while True:
            # Suspension signals derive from BaseException, so this never intercepts them.
            try:
                return func(ctx, attempt)
            except Exception as error:
                decision = strategy(error, attempt)
                if not decision.should_retry:
                    raise
                ctx.wait(duration=decision.delay, name=f"{name}-backoff-{attempt}" if name else None)
            attempt += 1

    if config.wrap_with_run_in_child_context:
        return context.run_in_child_context(run_loop, name=name, config=config.child_context_config)
    return run_loop(context)
