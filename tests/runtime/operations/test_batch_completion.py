"""map/parallel completion: which items were started when the policy decided, the same on every run and replay."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from durable_runtime.config import CompletionConfig, Duration, MapConfig, StepConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryStrategyConfig, create_retry_strategy
from durable_runtime.testing import DurableFunctionTestRunner

# Items 1 and 3 fail and schedule a retry (so they stay STARTED); the others succeed. The retry is due after the
# handler's own wait, so the wait is what resumes the execution.
_FAILING = {1, 3}
_RETRY_DELAY = Duration.from_minutes(1)
_ONE_RETRY = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(max_attempts=2, initial_delay=_RETRY_DELAY, max_delay=_RETRY_DELAY)
    )
)


def _summary(result: Any) -> dict[str, Any]:
    return {
        "total": result.total_count,
        "statuses": [[item.index, item.status.value] for item in result.all],
        "succeeded": result.success_count,
        "failed": result.failure_count,
        "reason": result.completion_reason.value,
    }


def _min_successful_handler(second_success_waits_for_first: bool, payload_size: int = 10) -> Any:
    """Five items, at most three at once, done after two successes (the official map_completion shape)."""
    first_done = threading.Event()

    def item(ctx, value: int, index: int, items: list[int]) -> str:
        def body(_: Any) -> str:
            if index in _FAILING:
                raise RuntimeError(f"item {index} failed")
            if second_success_waits_for_first and index == 0:
                first_done.set()
            return str(index) * payload_size

        result = ctx.step(body, name=f"process-item-{index}", config=_ONE_RETRY)
        if second_success_waits_for_first and index == 2:
            # Report right behind item 0: two outcomes arrive together, the case thread timing used to decide.
            first_done.wait(timeout=5)
        return result

    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        config = MapConfig(
            max_concurrency=3, completion_config=CompletionConfig(min_successful=2, tolerated_failure_percentage=50)
        )
        result = ctx.map(list(range(5)), item, name="items", config=config)
        first_run = ctx.step(lambda _: _summary(result), name="summary-on-first-run")
        ctx.wait(Duration.from_seconds(1), name="replay")  # the next invocation replays the map
        return {"first_run": first_run, "replay": _summary(result)}

    return handler


def test_min_successful_counts_the_same_started_items_on_every_run() -> None:
    expected = {
        "total": 4,
        "statuses": [[0, "SUCCEEDED"], [1, "STARTED"], [2, "SUCCEEDED"], [3, "STARTED"]],
        "succeeded": 2,
        "failed": 0,
        "reason": "MIN_SUCCESSFUL_REACHED",
    }
    outcomes = []
    for _ in range(5):
        with DurableFunctionTestRunner(_min_successful_handler(second_success_waits_for_first=True)) as runner:
            result = runner.run(input="{}")
        assert result.status is InvocationStatus.SUCCEEDED
        outcomes.append(json.loads(result.result or ""))
    assert all(outcome == {"first_run": expected, "replay": expected} for outcome in outcomes)


def test_replay_of_a_batch_too_large_to_record_rebuilds_the_decided_result_without_running_items() -> None:
    handler = _min_successful_handler(second_success_waits_for_first=False, payload_size=100_000)
    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.SUCCEEDED
    outcome = json.loads(result.result or "")
    assert outcome["replay"] == outcome["first_run"]
    assert outcome["first_run"]["total"] == 4


def test_completion_predicate_sees_items_not_started_started_and_finished() -> None:
    seen: list[tuple[str | None, ...]] = []
    lock = threading.Lock()

    def should_complete(status: Any) -> Any:
        from durable_runtime.config import complete_batch, continue_batch

        with lock:
            seen.append(tuple(item.status.value if item.status else None for item in status.items))
        return complete_batch() if status.success_count >= 2 else continue_batch()

    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        config = MapConfig(max_concurrency=1, completion_config=CompletionConfig(should_complete=should_complete))
        result = ctx.map([0, 1, 2, 3], lambda c, value, index, items: value, name="predicate", config=config)
        return _summary(result)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    outcome = json.loads(result.result or "")
    assert outcome["reason"] == "CUSTOM_COMPLETION_SUCCEEDED"
    assert outcome["statuses"] == [[0, "SUCCEEDED"], [1, "SUCCEEDED"]]  # one at a time: item 2 never started
    # Asked before anything started, then after each outcome (admissions alone do not ask again, as officially).
    assert seen == [(None, None, None, None), ("SUCCEEDED", None, None, None), ("SUCCEEDED", "SUCCEEDED", None, None)]


def test_items_running_when_the_batch_completes_report_how_they_ended() -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def item(ctx, value: int, index: int, items: list[int]) -> int:
        def body(_: Any) -> int:
            with lock:
                runs[index] += 1
            return value

        return ctx.step(body, name=f"task{index}")

    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        config = MapConfig(completion_config=CompletionConfig.first_successful())
        return _summary(ctx.map([1, 2, 3], item, name="first", config=config))

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    outcome = json.loads(result.result or "")
    # All three started together; those still running at the decision finish and count as they ended.
    assert outcome["statuses"] == [[0, "SUCCEEDED"], [1, "SUCCEEDED"], [2, "SUCCEEDED"]]
    assert outcome["reason"] == "MIN_SUCCESSFUL_REACHED"
    assert runs == Counter({0: 1, 1: 1, 2: 1})
