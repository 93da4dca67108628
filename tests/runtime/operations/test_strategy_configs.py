"""Strategy options given a config object instead of a callable behave as in the official SDK.

The official failure-tolerance examples pass ``RetryStrategyConfig(max_attempts=1)`` as a step's retry strategy.
The official SDK accepts it and only calls it when an attempt fails: that call raises ``TypeError``, which fails
the item. A step that succeeds never notices.
"""

from __future__ import annotations

import json
from typing import Any

from durable_runtime.config import CompletionConfig, MapConfig, StepConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryStrategyConfig
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.waits import WaitForConditionConfig, WaitStrategyConfig

_NOT_CALLABLE = "'RetryStrategyConfig' object is not callable"


def _double_unless_multiple_of_three(value: int) -> int:
    if value % 3 == 0:
        raise ValueError(f"{value} is a multiple of three")
    return value * 2


def test_map_tolerates_items_whose_retry_strategy_is_a_config_object() -> None:
    step_config = StepConfig(retry_strategy=RetryStrategyConfig(max_attempts=1))  # type: ignore[arg-type]

    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        config = MapConfig(max_concurrency=5, completion_config=CompletionConfig(tolerated_failure_count=3))
        result = ctx.map(
            list(range(1, 11)),
            lambda c, value, index, items: c.step(
                lambda _: _double_unless_multiple_of_three(value), name=f"item_{index}", config=step_config
            ),
            name="tolerant",
            config=config,
        )
        return {
            "succeeded": [item.result for item in result.succeeded()],
            "errors": [[item.index, item.error.type, item.error.message] for item in result.failed()],
            "reason": result.completion_reason.value,
        }

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.SUCCEEDED
    outcome = json.loads(result.result or "")
    assert outcome["succeeded"] == [2, 4, 8, 10, 14, 16, 20]
    assert outcome["errors"] == [[index, "TypeError", _NOT_CALLABLE] for index in (2, 5, 8)]
    assert outcome["reason"] == "ALL_COMPLETED"


def test_step_with_a_config_object_as_strategy_succeeds_and_fails_with_type_error_unwrapped() -> None:
    step_config = StepConfig(retry_strategy=RetryStrategyConfig(max_attempts=2))  # type: ignore[arg-type]

    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        ok = ctx.step(lambda _: "fine", name="ok", config=step_config)
        try:
            ctx.step(lambda _: _double_unless_multiple_of_three(3), name="bad", config=step_config)
        except Exception as error:  # noqa: BLE001 - the test reports what the handler sees
            return {"ok": ok, "caught": type(error).__name__, "message": str(error)}
        return {"ok": ok}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert json.loads(result.result or "") == {"ok": "fine", "caught": "TypeError", "message": _NOT_CALLABLE}


def test_wait_for_condition_with_a_config_object_as_strategy_fails_the_operation() -> None:
    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        strategy_config = WaitStrategyConfig(should_continue_polling=lambda state: state < 3)
        config = WaitForConditionConfig(wait_strategy=strategy_config, initial_state=0)  # type: ignore[arg-type]
        try:
            ctx.wait_for_condition(lambda state, check: state + 1, config=config, name="poll")
        except Exception as error:  # noqa: BLE001 - the test reports what the handler sees
            return {"caught": type(error).__name__, "error_type": error.error_type}  # type: ignore[attr-defined]
        return {}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert json.loads(result.result or "") == {"caught": "WaitForConditionError", "error_type": "TypeError"}
