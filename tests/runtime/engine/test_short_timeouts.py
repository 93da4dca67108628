"""Short function timeouts work, and no configuration can make an execution loop without progress."""

from __future__ import annotations

import json

import pytest

from durable_runtime import contract
from durable_runtime.config import Duration
from durable_runtime.engine.envelope import ResumeRequest, parse_envelope
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.engine.invocation import MAX_IDLE_HOPS, NO_PROGRESS_ERROR_TYPE, RunawayLoopError, _recheck_later
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _steps_and_waits(event: dict, ctx) -> list[int]:
    values = []
    for index in range(3):
        values.append(ctx.step(lambda _, i=index: i, name=f"step-{index}"))
        ctx.wait(Duration.from_seconds(2), name=f"wait-{index}")
    return values


@pytest.mark.parametrize("timeout", [5, 10, 30])
def test_functions_with_short_timeouts_make_progress(timeout: int) -> None:
    with DurableFunctionTestRunner(_steps_and_waits, invocation_timeout=timeout) as runner:
        result = runner.run(input="{}")
        invocations = sum(
            1
            for event in runner.get_execution_history(result.execution_arn)["Events"]
            if event["EventType"] == "InvocationCompleted"
        )

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == [0, 1, 2]
    assert invocations == 4  # one per wait, and the last


def test_an_invocation_that_can_never_record_anything_fails_the_execution_instead_of_looping() -> None:
    runner_ref: list[DurableFunctionTestRunner] = []

    @durable_execution
    def slow_before_each_step(event: dict, ctx) -> str:
        runner_ref[0].clock.advance(9)  # code between operations that takes 9 of the function's 10 seconds
        return ctx.step(lambda _: "never", name="step")

    with DurableFunctionTestRunner(slow_before_each_step, invocation_timeout=10) as runner:
        runner_ref.append(runner)
        result = runner.run(input="{}")
        invocations = runner.local_lambda.invocations_of["test-function"]

    assert result.status == InvocationStatus.FAILED
    assert result.error is not None and result.error.type == NO_PROGRESS_ERROR_TYPE
    assert "longer timeout" in (result.error.message or "")
    assert invocations == 1


def test_a_chain_of_rechecks_without_progress_stops() -> None:
    arn = ExecutionArn.parse(
        "arn:aws:lambda:us-west-2:123456789012:function:f:1/durable-execution/run/0123456789abcdef"
    )
    scheduled: list[ResumeRequest] = []

    class Timers:
        def schedule(self, request: ResumeRequest, due_at: float) -> None:
            scheduled.append(request)

    class Services:
        timers = Timers()

        class clock:  # noqa: N801 - stands in for an object with a now()
            @staticmethod
            def now() -> float:
                return 1_000.0

    _recheck_later(Services(), ResumeRequest(arn, contract.REASON_TIMER), 1_030.0)  # type: ignore[arg-type]
    assert parse_envelope(json.loads(scheduled[0].to_json())).hops == 1
    with pytest.raises(RunawayLoopError, match="without progress"):
        _recheck_later(Services(), ResumeRequest(arn, "x", hops=MAX_IDLE_HOPS), 1_030.0)  # type: ignore[arg-type]
