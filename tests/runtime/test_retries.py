"""Behaviour of retry strategies, presets and with_retry."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from durable_runtime.config import ChildConfig, Duration, JitterStrategy
from durable_runtime.exceptions import SuspendExecution, ValidationError
from durable_runtime.retries import (
    LinearRetryStrategyConfig,
    RetryDecision,
    RetryPresets,
    RetryStrategyConfig,
    WithRetryConfig,
    create_linear_retry_strategy,
    create_retry_strategy,
    with_retry,
)

T = TypeVar("T")

Strategy = Callable[[Exception, int], RetryDecision]


def _max_rng() -> float:
    # Just below 1: full jitter then keeps (almost) the whole base delay, which makes the backoff visible.
    return 0.999999


def _delays(strategy: Strategy, error: Exception | None = None) -> list[int | None]:
    """Delay chosen after each failed attempt, None once the strategy gives up."""
    error = error or RuntimeError("boom")
    decisions = [strategy(error, attempts_made) for attempts_made in range(1, 12)]
    return [d.delay_seconds if d.should_retry else None for d in decisions]


def test_default_retry_gives_up_after_six_attempts() -> None:
    strategy = RetryPresets.default()
    assert [strategy(RuntimeError("x"), n).should_retry for n in range(1, 8)] == [True] * 5 + [False] * 2


def test_default_retry_doubles_from_five_seconds_capped_at_a_minute() -> None:
    strategy = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=6,
            initial_delay=Duration(5),
            max_delay=Duration(60),
            jitter_strategy=JitterStrategy.FULL,
        ),
        rng=_max_rng,
    )
    assert _delays(strategy)[:6] == [5, 10, 20, 40, 60, None]


def test_default_retry_applies_full_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setattr(random, "random", lambda: 0.5)
    assert _delays(RetryPresets.default())[:6] == [3, 5, 10, 20, 30, None]


def test_no_retry_preset_never_retries() -> None:
    assert _delays(RetryPresets.none())[0] is None


def test_presets_have_official_attempt_counts_and_delays() -> None:
    assert _delays(RetryPresets.critical()) == [1, 2, 3, 4, 6, 8, 12, 18, 26, None, None]
    assert _delays(RetryPresets.linear())[:6] == [1, 2, 3, 4, 5, None]
    assert _delays(RetryPresets.fixed())[:5] == [5, 5, 5, 5, None]
    assert _delays(RetryPresets.fixed(Duration(7)))[:5] == [7, 7, 7, 7, None]
    assert [d is not None for d in _delays(RetryPresets.transient())[:3]] == [True, True, False]
    assert [d is not None for d in _delays(RetryPresets.resource_availability())[:5]] == [True] * 4 + [False]


def test_transient_preset_uses_half_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setattr(random, "random", lambda: 0.0)
    # Half jitter never goes below half the base delay of 5 then 10 seconds.
    assert _delays(RetryPresets.transient())[:2] == [3, 5]


def test_delay_is_whole_seconds_and_at_least_one() -> None:
    strategy = create_retry_strategy(RetryStrategyConfig(initial_delay=Duration(0)), rng=lambda: 0.0)
    assert _delays(strategy)[:2] == [1, 1]


def test_linear_strategy_adds_increment_up_to_max_delay() -> None:
    config = LinearRetryStrategyConfig(
        max_attempts=5,
        initial_delay=Duration(2),
        increment=Duration(3),
        max_delay=Duration(9),
        jitter_strategy=JitterStrategy.NONE,
    )
    assert _delays(create_linear_retry_strategy(config))[:5] == [2, 5, 8, 9, None]


def test_default_config_retries_three_attempts_in_total() -> None:
    assert [d is not None for d in _delays(create_retry_strategy(), RuntimeError())[:3]] == [
        True,
        True,
        False,
    ]
    assert [d is not None for d in _delays(create_linear_retry_strategy())[:6]] == [True] * 5 + [False]


class TransientError(Exception):
    pass


@pytest.mark.parametrize(
    ("messages", "types", "error", "retried"),
    [
        (None, None, ValueError("anything"), True),
        (["timed out"], None, ValueError("request timed out"), True),
        (["timed out"], None, ValueError("bad input"), False),
        ([re.compile(r"^5\d\d")], None, ValueError("503 unavailable"), True),
        ([re.compile(r"^5\d\d")], None, ValueError("got 503"), False),
        (None, [TransientError], TransientError("x"), True),
        (None, [TransientError], ValueError("x"), False),
        (["zzz"], [TransientError], ValueError("zzz here"), True),
        ([], None, ValueError("x"), False),
        (None, [], ValueError("x"), False),
    ],
)
def test_error_filters_select_retried_errors(
    messages: list[Any] | None, types: list[type[Exception]] | None, error: Exception, retried: bool
) -> None:
    strategy = create_retry_strategy(RetryStrategyConfig(retryable_errors=messages, retryable_error_types=types))
    assert strategy(error, 1).should_retry is retried


def test_strategy_is_deterministic_with_injected_rng() -> None:
    values = iter([0.1, 0.9, 0.1, 0.9])

    def rng() -> float:
        return next(values)

    strategy = create_retry_strategy(RetryStrategyConfig(max_attempts=5, initial_delay=Duration(10)), rng=rng)
    assert [strategy(RuntimeError(), n).delay_seconds for n in (1, 2)] == [1, 18]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_attempts": 0}, r"max_attempts must be an int of at least 1.*got 0; use 1 for no retry"),
        ({"backoff_rate": 0}, r"backoff_rate must be positive, got 0"),
        ({"initial_delay": 5}, r"initial_delay must be a Duration, got 5"),
        ({"jitter_strategy": "FULL!"}, r"jitter_strategy must be a JitterStrategy"),
    ],
)
def test_retry_config_rejects_bad_values(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        RetryStrategyConfig(**kwargs)


def test_linear_config_rejects_bad_increment() -> None:
    with pytest.raises(ValidationError, match="increment must be a Duration"):
        LinearRetryStrategyConfig(increment=1)  # type: ignore[arg-type]


def test_retry_decision_helpers() -> None:
    assert RetryDecision.retry(Duration(4)) == RetryDecision(True, Duration(4))
    assert RetryDecision.no_retry().delay_seconds == 0


class FakeContext:
    """Records what with_retry asks of a durable context."""

    def __init__(self) -> None:
        self.waits: list[tuple[int, str | None]] = []
        self.children: list[tuple[str | None, object]] = []

    def wait(self, duration: Duration, name: str | None = None) -> None:
        self.waits.append((duration.seconds, name))

    def run_in_child_context(self, func: Callable[[Any], T], name: str | None = None, config: Any = None) -> T:
        self.children.append((name, config))
        return func(self)


def _flaky(failures: int) -> tuple[Callable[[Any, int], str], list[int]]:
    attempts: list[int] = []

    def body(ctx: Any, attempt: int) -> str:
        attempts.append(attempt)
        if attempt <= failures:
            raise TransientError(f"attempt {attempt}")
        return f"done on {attempt}"

    return body, attempts


def test_with_retry_reruns_body_with_named_backoff_waits() -> None:
    ctx = FakeContext()
    body, attempts = _flaky(2)
    strategy = RetryPresets.fixed(Duration(3))
    result = with_retry(ctx, body, WithRetryConfig(retry_strategy=strategy), name="sync")  # type: ignore[arg-type]
    assert result == "done on 3"
    assert attempts == [1, 2, 3]
    assert ctx.waits == [(3, "sync-backoff-1"), (3, "sync-backoff-2")]
    assert ctx.children == [("sync", None)]


def test_with_retry_raises_last_error_when_strategy_gives_up() -> None:
    ctx = FakeContext()
    body, attempts = _flaky(10)
    config: WithRetryConfig[str] = WithRetryConfig(
        retry_strategy=RetryPresets.fixed(), wrap_with_run_in_child_context=False
    )
    with pytest.raises(TransientError, match="attempt 5"):
        with_retry(ctx, body, config)  # type: ignore[arg-type]
    assert attempts == [1, 2, 3, 4, 5]
    assert ctx.children == []
    assert [name for _, name in ctx.waits] == [None] * 4


def test_with_retry_never_intercepts_suspension() -> None:
    ctx = FakeContext()

    def body(ctx: Any, attempt: int) -> str:
        raise SuspendExecution("waiting")

    with pytest.raises(SuspendExecution):
        with_retry(ctx, body, WithRetryConfig())  # type: ignore[arg-type]
    assert ctx.waits == []


def test_with_retry_passes_child_config() -> None:
    ctx = FakeContext()
    child: ChildConfig[str] = ChildConfig(sub_type="Retrying")
    with_retry(ctx, lambda c, a: "ok", WithRetryConfig(child_context_config=child), name="n")  # type: ignore[arg-type]
    assert ctx.children == [("n", child)]


def test_with_retry_config_accepts_non_callable_strategy_as_official() -> None:
    config = WithRetryConfig(retry_strategy=RetryStrategyConfig())  # type: ignore[arg-type]
    assert config.retry_strategy == RetryStrategyConfig()
