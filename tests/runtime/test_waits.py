"""Behaviour of wait_for_condition polling strategies and config."""

from __future__ import annotations

from typing import Any

import pytest

from durable_runtime.config import Duration, JitterStrategy
from durable_runtime.exceptions import ValidationError, WaitForConditionError
from durable_runtime.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)


def _not_done(state: dict[str, str]) -> bool:
    return state["status"] != "DONE"


PENDING = {"status": "PENDING"}
DONE = {"status": "DONE"}


def test_stops_polling_once_condition_holds() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done))
    assert strategy(DONE, 1) == WaitForConditionDecision.stop_polling()


def test_condition_met_on_last_attempt_still_succeeds() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done, max_attempts=3))
    assert strategy(DONE, 3).should_continue is False


def test_gives_up_with_error_after_max_attempts() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done, max_attempts=3))
    strategy(PENDING, 2)
    with pytest.raises(WaitForConditionError, match=r"gave up after 3 attempts.*raise max_attempts"):
        strategy(PENDING, 3)


def test_default_backoff_grows_by_half_from_five_seconds_up_to_five_minutes() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done), rng=lambda: 0.999999)
    delays = [strategy(PENDING, attempt).delay_seconds for attempt in range(1, 20)]
    assert delays[:5] == [5, 8, 12, 17, 26]
    assert max(delays) == 300
    assert delays[-1] == 300


def test_default_config_polls_sixty_times_with_full_jitter() -> None:
    config: WaitStrategyConfig[Any] = WaitStrategyConfig(_not_done)
    assert config.max_attempts == 60
    assert config.jitter_strategy is JitterStrategy.FULL
    assert (config.initial_delay_seconds, config.max_delay_seconds, config.backoff_rate) == (5, 300, 1.5)


def test_jittered_delay_is_whole_seconds_and_at_least_one() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done), rng=lambda: 0.0)
    assert strategy(PENDING, 1).delay == Duration(1)


def test_no_jitter_gives_exact_backoff() -> None:
    config = WaitStrategyConfig(
        _not_done, initial_delay=Duration(2), backoff_rate=2, jitter_strategy=JitterStrategy.NONE
    )
    strategy = create_wait_strategy(config)
    assert [strategy(PENDING, attempt).delay_seconds for attempt in (1, 2, 3)] == [2, 4, 8]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"should_continue_polling": "yes"}, "should_continue_polling must be callable"),
        (
            {"should_continue_polling": _not_done, "max_attempts": 0},
            "max_attempts must be an int of at least 1",
        ),
        ({"should_continue_polling": _not_done, "max_delay": 60}, "max_delay must be a Duration, got 60"),
        (
            {"should_continue_polling": _not_done, "backoff_rate": -1},
            "backoff_rate must be positive",
        ),
    ],
)
def test_wait_strategy_config_rejects_bad_values(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        WaitStrategyConfig(**kwargs)


def test_decision_helpers() -> None:
    assert WaitForConditionDecision.continue_waiting(Duration(9)).delay_seconds == 9
    assert WaitForConditionDecision.stop_polling() == WaitForConditionDecision(False, Duration(0))


def test_wait_for_condition_config_holds_strategy_and_initial_state() -> None:
    strategy = create_wait_strategy(WaitStrategyConfig(_not_done))
    config = WaitForConditionConfig(wait_strategy=strategy, initial_state=PENDING)
    assert config.initial_state == PENDING
    assert config.serdes is None


def test_wait_for_condition_config_accepts_strategy_config_passed_directly_as_official() -> None:
    # Officially it fails the operation after the first check instead (tests/runtime/operations cover that run).
    strategy_config = WaitStrategyConfig(_not_done)
    config = WaitForConditionConfig(wait_strategy=strategy_config, initial_state=None)  # type: ignore[arg-type]
    assert config.wait_strategy is strategy_config
