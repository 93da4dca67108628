"""Polling strategies for ``context.wait_for_condition``.

A wait strategy is any callable ``(state, attempts_made) -> WaitForConditionDecision`` called after each
check: it either stops polling (the condition holds) or asks for another check after a delay. The engine
records the decided delay, so a replay never draws the jitter again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from durable_runtime.config import Duration, JitterStrategy
from durable_runtime.exceptions import ValidationError, WaitForConditionError
from durable_runtime.retries import check_backoff

if TYPE_CHECKING:
    from collections.abc import Callable

    from durable_runtime.serdes import SerDes

T = TypeVar("T")

Numeric = int | float


@dataclass(frozen=True)
class WaitStrategyConfig(Generic[T]):
    """Exponential backoff between checks, until a predicate says to stop.

    The delay before check ``n + 1`` is ``initial_delay * backoff_rate ** (n - 1)``, capped at ``max_delay``,
    then jittered and rounded up to whole seconds (at least 1).

    Attributes:
        should_continue_polling: ``(state) -> bool``; true while the condition does not hold yet.
        max_attempts: Checks in total before giving up with ``WaitForConditionError``.
        initial_delay: Delay after the first check (before jitter).
        max_delay: Upper bound of the delay (before jitter).
        backoff_rate: Growth factor between successive delays.
        jitter_strategy: Random spread applied to each delay.
    """

    should_continue_polling: Callable[[T], bool]
    max_attempts: int = 60
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 1.5
    jitter_strategy: JitterStrategy = JitterStrategy.FULL

    def __post_init__(self) -> None:
        if not callable(self.should_continue_polling):
            raise ValidationError(
                f"should_continue_polling must be callable, got {self.should_continue_polling!r}; "
                "pass e.g. lambda state: state['status'] != 'DONE'"
            )
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
class WaitForConditionDecision:
    """Whether to check the condition again, and after how long.

    Attributes:
        should_continue: Check again.
        delay: Wait before that check.
    """

    should_continue: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        """The delay in seconds."""
        return self.delay.to_seconds()

    @classmethod
    def continue_waiting(cls, delay: Duration) -> WaitForConditionDecision:
        """Check again after ``delay``."""
        return cls(should_continue=True, delay=delay)

    @classmethod
    def stop_polling(cls) -> WaitForConditionDecision:
        """Stop: the condition holds."""
        return cls(should_continue=False, delay=Duration())


def create_wait_strategy(
    config: WaitStrategyConfig[T], *, rng: Callable[[], float] | None = None
) -> Callable[[T, int], WaitForConditionDecision]:
    """Build a wait strategy from a :class:`WaitStrategyConfig`.

    A condition that holds wins over running out of attempts, so a condition met on the last check succeeds.

    Args:
        config: The predicate and backoff parameters.
        rng: Source of uniform numbers in ``[0, 1)`` for the jitter; ``random.random`` when omitted.

    Returns:
        A strategy ``(state, attempts_made) -> WaitForConditionDecision``. It raises
        ``WaitForConditionError`` when the condition still does not hold after ``max_attempts`` checks, rather
        than stopping, which would pass the unfinished state off as the result.
    """

    def wait_strategy(state: T, attempts_made: int) -> WaitForConditionDecision:
        if not config.should_continue_polling(state):
            return WaitForConditionDecision.stop_polling()
        if attempts_made >= config.max_attempts:
            raise WaitForConditionError(
                f"wait_for_condition gave up after {config.max_attempts} attempts without the condition "
                "being met; raise max_attempts or lengthen the delays in WaitStrategyConfig"
            )
        exponential = config.initial_delay_seconds * config.backoff_rate ** (attempts_made - 1)
        base_delay = min(exponential, config.max_delay_seconds)
        return WaitForConditionDecision.continue_waiting(
            Duration(seconds=config.jitter_strategy.finalize_delay(base_delay, rng))
        )

    return wait_strategy


@dataclass(frozen=True)
class WaitForConditionConfig(Generic[T]):
    """Options of ``context.wait_for_condition``.

    Attributes:
        wait_strategy: ``(state, attempts_made) -> WaitForConditionDecision``, called after each check.
        initial_state: State given to the first check. It goes through the serdes (out and back) before that
            check, so it must be serializable.
        serdes: Serdes of the state recorded after each check; ``None`` uses the default extended-type serdes.
    """

    wait_strategy: Callable[[T, int], WaitForConditionDecision]
    initial_state: T
    # wait_strategy is not checked here: as officially, a non-callable one fails the operation after the first
    # check (a TypeError, surfaced as WaitForConditionError), not the config.
    serdes: SerDes | None = None
