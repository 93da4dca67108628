"""Huge or pathological input ends an execution cleanly, with a typed error that says the limit, or just works.

Regression tests for the liveness audit's r11 (a 300 KB step error), r12 (500 KB operation names), r13 (child
contexts nested 400 deep) and r14 (a 450 KB start input). None may leave an execution RUNNING or loop.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from durable_runtime.config import Duration, StepConfig
from durable_runtime.exceptions import StepError, ValidationError
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryPresets
from durable_runtime.testing import DurableFunctionTestRunner


def _invocations(runner: DurableFunctionTestRunner, arn: str) -> int:
    events = runner.get_execution_history(arn)["Events"]
    return sum(1 for event in events if event["EventType"] == "InvocationCompleted")


def test_r11_step_error_of_300_kb_is_recorded_whole_and_runs_the_body_once() -> None:
    runs: Counter[str] = Counter()
    message = "e" * (300 * 1024)

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def explode(_) -> str:
            runs["explode"] += 1
            raise RuntimeError(message)

        return ctx.step(explode, name="explode", config=StepConfig(retry_strategy=RetryPresets.none()))

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
        step = result.get_step("explode")
        history = runner.get_execution_history(result.execution_arn)["Events"]

    assert result.status == InvocationStatus.FAILED
    assert runs["explode"] == 1
    assert result.error is not None and result.error.message == message
    assert step.error is not None and step.error.message == message
    (failed,) = [e for e in history if e["EventType"] == "StepFailed"]
    assert failed["StepFailedDetails"]["Error"]["Payload"]["ErrorMessage"] == message


def test_r11_replay_raises_the_whole_recorded_error() -> None:
    message = "r" * (100 * 1024)
    seen: list[int] = []

    def fails(_) -> None:
        raise ValueError(message)

    @durable_execution
    def handler(event: dict, ctx) -> str:
        try:
            ctx.step(fails, name="fails", config=StepConfig(retry_strategy=RetryPresets.none()))
        except StepError as error:
            seen.append(len(error.message or ""))
        ctx.wait(Duration.from_seconds(5), name="pause")  # the next invocation replays the failure
        return "done"

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert seen == [len(message), len(message)]


@pytest.mark.parametrize("operation", ["step", "wait", "child", "callback"])
def test_r12_operation_name_over_256_characters_fails_the_execution_at_the_call(operation: str) -> None:
    name = "n" * (500 * 1024)

    @durable_execution
    def handler(event: dict, ctx) -> None:
        if operation == "step":
            ctx.step(lambda _: None, name=name)
        elif operation == "wait":
            ctx.wait(Duration.from_seconds(1), name=name)
        elif operation == "child":
            ctx.run_in_child_context(lambda child: None, name=name)
        else:
            ctx.create_callback(name)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
        invocations = _invocations(runner, result.execution_arn)

    assert result.status == InvocationStatus.FAILED
    assert result.error is not None and result.error.type == "durable_runtime.exceptions.ValidationError"
    assert "at most 256 characters" in (result.error.message or "")
    assert len(result.error.message or "") < 1000  # the error names the limit; it does not repeat the name
    assert invocations == 1


def _nested(depth: int):
    @durable_execution
    def handler(event: dict, ctx) -> str:
        def nest(context, level: int) -> str:
            if level == 0:
                return context.step(lambda _: "bottom", name="bottom")
            return context.run_in_child_context(lambda child: nest(child, level - 1), name=f"level-{level}")

        return nest(ctx, depth)

    return handler


def test_r13_child_contexts_nested_400_deep_fail_with_the_depth_limit() -> None:
    with DurableFunctionTestRunner(_nested(400)) as runner:
        result = runner.run(input="{}")
        invocations = _invocations(runner, result.execution_arn)

    assert result.status == InvocationStatus.FAILED
    assert "nest more than 100 deep" in (result.error.message if result.error else "")
    assert invocations == 1


def test_r13_child_contexts_nested_within_the_limit_work() -> None:
    with DurableFunctionTestRunner(_nested(100)) as runner:
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "bottom"


def test_r14_start_input_over_256_kb_is_a_validation_error_that_says_the_limit() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> int:
        return len(event["blob"])

    with DurableFunctionTestRunner(handler) as runner:
        before = runner.scan_table()
        with pytest.raises(ValidationError, match=r"the limit is 262144 bytes \(256 KB\)"):
            runner.client.start_execution("test-function", json.dumps({"blob": "b" * (450 * 1024)}), "too-big")
        unchanged = runner.scan_table() == before
        fits = runner.run(input=json.dumps({"blob": "b" * (250 * 1024)}))

    assert unchanged
    assert fits.status == InvocationStatus.SUCCEEDED and json.loads(fits.result or "") == 250 * 1024
