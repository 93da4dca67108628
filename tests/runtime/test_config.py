"""Behaviour of the operation configs: defaults, validation messages and jitter."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from durable_runtime.config import (
    CallbackConfig,
    ChildConfig,
    CompletionConfig,
    CompletionDecision,
    CompletionItemStatus,
    CompletionOutcome,
    CompletionStatus,
    Duration,
    InvokeConfig,
    JitterStrategy,
    MapConfig,
    NestingType,
    ParallelBranch,
    ParallelConfig,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
    complete_batch,
    continue_batch,
)
from durable_runtime.exceptions import ValidationError
from durable_runtime.retries import RetryPresets, RetryStrategyConfig
from durable_runtime.serdes import JsonSerDes


def test_duration_constructors_convert_to_whole_seconds() -> None:
    assert Duration.from_seconds(90).to_seconds() == 90
    assert Duration.from_minutes(1.5).seconds == 90
    assert Duration.from_hours(2).seconds == 7200
    assert Duration.from_days(1).seconds == 86400
    assert Duration.from_seconds(2.9).seconds == 2
    assert Duration().seconds == 0


def test_duration_rejects_negative_seconds_showing_value() -> None:
    with pytest.raises(ValidationError, match=r"must not be negative, got -1"):
        Duration(-1)


def test_duration_rejects_fractional_seconds_and_points_to_from_seconds() -> None:
    with pytest.raises(ValidationError, match=r"got 1\.5; use Duration\.from_seconds\(1\.5\)"):
        Duration(seconds=1.5)  # type: ignore[arg-type]


def test_duration_accepts_whole_float_as_int() -> None:
    duration = Duration(seconds=3.0)  # type: ignore[arg-type]
    assert duration.seconds == 3
    assert isinstance(duration.seconds, int)
    assert duration == Duration(3)


@pytest.mark.parametrize("bad", ["5", None, True])
def test_duration_rejects_non_numbers(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"Duration\.from_seconds"):
        Duration(bad)


def test_configs_are_frozen() -> None:
    config = StepConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.serdes = None  # type: ignore[misc]


def test_step_config_defaults_to_at_least_once_without_strategy() -> None:
    config = StepConfig()
    assert config.step_semantics is StepSemantics.AT_LEAST_ONCE_PER_RETRY
    assert config.retry_strategy is None
    assert config.serdes is None
    assert config.sub_type is None


def test_step_config_accepts_retry_config_passed_instead_of_strategy_as_official() -> None:
    # The official SDK only calls the strategy when an attempt fails (tests/runtime/operations cover that run).
    config = StepConfig(retry_strategy=RetryStrategyConfig(max_attempts=1))  # type: ignore[arg-type]
    assert config.retry_strategy == RetryStrategyConfig(max_attempts=1)


def test_step_config_rejects_semantics_given_as_string() -> None:
    with pytest.raises(ValidationError, match=r"StepSemantics\.AT_MOST_ONCE_PER_RETRY"):
        StepConfig(step_semantics="AT_MOST_ONCE_PER_RETRY")  # type: ignore[arg-type]


def test_step_config_rejects_object_that_is_not_a_serdes() -> None:
    with pytest.raises(ValidationError, match="must be a SerDes"):
        StepConfig(serdes="json")  # type: ignore[arg-type]


def test_step_config_accepts_strategy_and_serdes() -> None:
    strategy = RetryPresets.none()
    config = StepConfig(strategy, StepSemantics.AT_MOST_ONCE_PER_RETRY, JsonSerDes(), sub_type="Charge_Card-2")
    assert config.retry_strategy is strategy


@pytest.mark.parametrize("sub_type", ["x" * 33, "has space", "ünïcode", "semi;colon"])
def test_sub_type_outside_service_alphabet_is_rejected(sub_type: str) -> None:
    with pytest.raises(ValidationError, match="sub_type must be 1 to 32 characters"):
        StepConfig(sub_type=sub_type)
    with pytest.raises(ValidationError, match=re.escape(repr(sub_type))):
        ChildConfig(sub_type=sub_type)


@pytest.mark.parametrize("sub_type", [None, "", "x" * 32, "A-z_09"])
def test_sub_type_inside_service_alphabet_is_accepted(sub_type: str | None) -> None:
    assert CallbackConfig(sub_type=sub_type).sub_type == sub_type


def test_callback_config_defaults_to_no_timeouts() -> None:
    config = CallbackConfig()
    assert config.timeout_seconds == 0
    assert config.heartbeat_timeout_seconds == 0


def test_callback_config_rejects_int_timeout_and_shows_duration_fix() -> None:
    with pytest.raises(ValidationError, match=r"timeout must be a Duration, got 30; use e\.g\. Duration"):
        CallbackConfig(timeout=30)  # type: ignore[arg-type]


def test_wait_for_callback_config_keeps_official_positional_order() -> None:
    strategy = RetryPresets.none()
    config = WaitForCallbackConfig(Duration(60), Duration(10), None, strategy)
    assert (config.timeout_seconds, config.heartbeat_timeout_seconds) == (60, 10)
    assert config.retry_strategy is strategy


def test_wait_for_callback_config_validates_inherited_and_own_fields() -> None:
    with pytest.raises(ValidationError, match="heartbeat_timeout"):
        WaitForCallbackConfig(heartbeat_timeout=5)  # type: ignore[arg-type]
    # Like StepConfig's, the retry strategy is only called when the submitter fails, as officially.
    assert WaitForCallbackConfig(retry_strategy=3).retry_strategy == 3  # type: ignore[arg-type]


def test_child_config_defaults() -> None:
    config: ChildConfig[int] = ChildConfig()
    assert (config.serdes, config.sub_type, config.summary_generator, config.is_virtual) == (
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize("factory", [MapConfig, ParallelConfig])
@pytest.mark.parametrize("bad", [0, -3, True])
def test_batch_configs_reject_max_concurrency_below_one(factory: Any, bad: int) -> None:
    with pytest.raises(ValidationError, match=rf"got {bad!r}; use None for no limit"):
        factory(max_concurrency=bad)


def test_map_fails_fast_and_parallel_requires_all_by_default() -> None:
    assert MapConfig().completion_config == CompletionConfig()
    assert ParallelConfig().completion_config == CompletionConfig.all_successful()
    assert MapConfig().nesting_type is NestingType.NESTED


def test_map_config_rejects_non_callable_item_namer() -> None:
    with pytest.raises(ValidationError, match="item_namer"):
        MapConfig(item_namer="item-{index}")  # type: ignore[arg-type]


def test_invoke_config_holds_serdes_and_tenant() -> None:
    config: InvokeConfig[dict[str, int], int] = InvokeConfig(JsonSerDes(), JsonSerDes(), tenant_id="t-1")
    assert config.tenant_id == "t-1"


def test_parallel_branch_calls_its_function() -> None:
    branch = ParallelBranch(lambda ctx: f"ran with {ctx}", name="fetch")
    assert branch("ctx") == "ran with ctx"
    assert branch.name == "fetch"


def test_completion_presets_match_official_thresholds() -> None:
    assert CompletionConfig.first_successful() == CompletionConfig(min_successful=1)
    assert CompletionConfig.all_completed() == CompletionConfig(tolerated_failure_percentage=100)
    assert CompletionConfig.all_successful() == CompletionConfig(
        tolerated_failure_count=0, tolerated_failure_percentage=0
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"min_successful": 0}, "min_successful must be at least 1, got 0"),
        ({"tolerated_failure_count": -1}, "tolerated_failure_count must not be negative, got -1"),
        ({"tolerated_failure_percentage": 101}, "between 0 and 100, got 101"),
        ({"should_complete": "yes"}, "should_complete must be callable"),
        ({"should_complete": lambda status: continue_batch(), "min_successful": 1}, "cannot be combined"),
    ],
)
def test_completion_config_rejects_bad_thresholds(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        CompletionConfig(**kwargs)


def test_completion_config_checks_min_successful_against_item_count() -> None:
    CompletionConfig(min_successful=3)._validate_for_total(3)
    with pytest.raises(ValidationError, match=r"min_successful \(4\) is greater than the number of items \(3\)"):
        CompletionConfig(min_successful=4)._validate_for_total(3)


def test_completion_decisions_come_from_helpers() -> None:
    assert continue_batch() == CompletionDecision(complete=False)
    assert complete_batch() == CompletionDecision(True, CompletionOutcome.SUCCEEDED)
    assert complete_batch(CompletionOutcome.FAILED).outcome is CompletionOutcome.FAILED


def test_completion_decision_requires_outcome_exactly_when_complete() -> None:
    with pytest.raises(ValidationError, match="complete_batch"):
        CompletionDecision(complete=True)
    with pytest.raises(ValidationError, match="continue_batch"):
        CompletionDecision(complete=False, outcome=CompletionOutcome.SUCCEEDED)


def test_completion_status_lists_items_in_input_order() -> None:
    items = (CompletionItemStatus(0), CompletionItemStatus(1, "b"))
    status = CompletionStatus(0, 0, 0, 2, items)
    assert [item.index for item in status.items] == [0, 1]
    assert status.items[0].status is None


def test_no_jitter_keeps_delay() -> None:
    assert JitterStrategy.NONE.apply_jitter(10, rng=lambda: 0.5) == 10


def test_full_jitter_scales_delay_by_random_fraction() -> None:
    assert JitterStrategy.FULL.apply_jitter(10, rng=lambda: 0.25) == 2.5


def test_half_jitter_stays_in_upper_half() -> None:
    assert JitterStrategy.HALF.apply_jitter(10, rng=lambda: 0.0) == 5
    assert JitterStrategy.HALF.apply_jitter(10, rng=lambda: 0.5) == 7.5


def test_finalized_delay_rounds_up_and_is_at_least_one_second() -> None:
    assert JitterStrategy.FULL.finalize_delay(10, rng=lambda: 0.01) == 1
    assert JitterStrategy.FULL.finalize_delay(10, rng=lambda: 0.0) == 1
    assert JitterStrategy.FULL.finalize_delay(10, rng=lambda: 0.41) == 5


def test_jitter_uses_random_module_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setattr(random, "random", lambda: 0.5)
    assert JitterStrategy.FULL.apply_jitter(8) == 4
