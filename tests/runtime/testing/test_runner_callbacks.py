"""The runner's wait_for_callback keeps the execution going until the callback exists, time included."""

from __future__ import annotations

import json

import pytest

from durable_runtime.config import Duration, StepConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryDecision
from durable_runtime.testing import DurableFunctionTestRunner


def test_wait_for_callback_moves_virtual_time_through_waits_and_retries_before_the_callback() -> None:
    def retry_once(error: Exception, attempt: int) -> RetryDecision:
        return RetryDecision.retry(Duration.from_seconds(30)) if attempt < 2 else RetryDecision.no_retry()

    def flaky(step) -> str:
        if step.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "ready"

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_minutes(2), name="cool-off")
        ctx.step(flaky, name="prepare", config=StepConfig(retry_strategy=retry_once))
        return ctx.create_callback("answer").result()

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.send_callback_success(runner.wait_for_callback(arn, "answer"), b"yes")
        result = runner.wait_for_result(arn)

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "yes"


def test_wait_for_callback_fails_at_once_when_the_execution_ends_without_one() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        return "no callback here"

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        with pytest.raises(TimeoutError, match="issued no callback"):
            runner.wait_for_callback(arn, "answer")
