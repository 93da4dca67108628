"""A dying invocation is recorded and resumed; committed work is never lost or repeated beyond its semantics."""

from __future__ import annotations

import json
from collections import Counter

from durable_runtime.config import Duration, StepConfig, StepSemantics
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryDecision, RetryPresets
from durable_runtime.testing import DurableFunctionTestRunner, simulate_process_exit


def _crash_events(runner: DurableFunctionTestRunner, arn: str) -> list[dict]:
    return [
        event
        for event in runner.get_execution_history(arn)["Events"]
        if event["EventType"] == "InvocationCompleted" and "Error" in event["InvocationCompletedDetails"]
    ]


def test_at_least_once_step_interrupted_by_crash_runs_again() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def charge(_) -> str:
            runs["charge"] += 1
            if runs["charge"] == 1:
                simulate_process_exit()
            return "charged"

        return ctx.step(charge, name="charge")

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
        crashes = _crash_events(runner, result.execution_arn)

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == "charged"
    assert runs["charge"] == 2
    assert [c["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] for c in crashes] == ["Runtime.ExitError"]


def test_at_most_once_step_interrupted_by_crash_becomes_step_interrupted_error() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def transfer(_) -> str:
            runs["transfer"] += 1
            simulate_process_exit()
            return "never"

        config = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, retry_strategy=RetryPresets.none())
        return ctx.step(transfer, name="transfer", config=config)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.FAILED
    assert runs["transfer"] == 1
    step = result.get_step("transfer")
    assert step.status == "FAILED"
    assert step.error is not None and (step.error.type or "").endswith("StepInterruptedError")


def test_at_most_once_interrupted_attempt_is_retried_as_a_new_attempt() -> None:
    runs: Counter[str] = Counter()
    seen_errors: list[str] = []

    def retry_once(error: Exception, attempts: int) -> RetryDecision:
        seen_errors.append(type(error).__name__)
        return RetryDecision.retry(Duration.from_seconds(3)) if attempts < 2 else RetryDecision.no_retry()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def transfer(step_context) -> str:
            runs[step_context.attempt] += 1
            if step_context.attempt == 1:
                simulate_process_exit()
            return f"attempt {step_context.attempt}"

        config = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, retry_strategy=retry_once)
        return ctx.step(transfer, name="transfer", config=config)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == "attempt 2"
    assert runs == Counter({1: 1, 2: 1})
    assert seen_errors == ["StepInterruptedError"]


def test_crash_after_step_is_recorded_does_not_run_the_step_again() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> list[str]:
        first = ctx.step(lambda _: runs.update(["first"]) or "one", name="first")
        second = ctx.step(lambda _: runs.update(["second"]) or "two", name="second")
        return [first, second]

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.crash_after("dynamodb", "UpdateItem", skip=1)  # the lease, then the first step's record
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == ["one", "two"]
    assert runs == Counter({"first": 1, "second": 1})


def test_crash_before_the_timer_is_set_still_resumes_the_wait() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: runs.update(["reserve"]), name="reserve")
        ctx.wait(Duration.from_seconds(30), name="pause")
        return "woke"

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.crash_before("sqs", "SendMessage")
        result = runner.run(input="{}")
        crashes = _crash_events(runner, result.execution_arn)

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == "woke"
    assert runs["reserve"] == 1
    assert len(crashes) == 1


def test_invocation_that_dies_before_doing_anything_durable_is_simply_redone() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_seconds(30), name="pause")
        return "woke"

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.crash_before("sqs", "SendMessage")
        result = runner.run(input="{}")
        events = [e["EventType"] for e in runner.get_execution_history(result.execution_arn)["Events"]]

    assert json.loads(result.result or "") == "woke"
    # Nothing of the dead invocation was durable, so there is nothing to report: the retry did its work.
    assert events == [
        "ExecutionStarted",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


def test_throttled_journal_writes_are_retried() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> int:
        return ctx.step(lambda _: 7, name="seven")

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.throttle("UpdateItem", times=2)
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == 7
