"""The local runner holds invocations to the function's timeout, as Lambda does, in virtual time."""

from __future__ import annotations

import pytest

from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.testing.exceptions import InvocationTimeoutExceededError


def _handler_taking(holder: dict[str, DurableFunctionTestRunner], seconds_per_step: int, steps: int) -> object:
    @durable_execution
    def handler(event: dict, ctx) -> list[int]:
        def work(_, n: int) -> int:
            holder["runner"].clock.advance(seconds_per_step)  # the step's body takes this long
            return n

        return [ctx.step(lambda sc, n=n: work(sc, n), name=f"work-{n}") for n in range(steps)]

    return handler


@pytest.mark.parametrize("backend", ["moto", "memory"])
def test_a_step_running_past_the_function_timeout_is_reported_not_passed(backend: str) -> None:
    """On Lambda the invocation would be stopped mid-step and the step run again on every retry; a local run
    that let it finish would pass a workflow that never finishes when deployed."""
    holder: dict[str, DurableFunctionTestRunner] = {}
    handler = _handler_taking(holder, seconds_per_step=200, steps=1)
    with DurableFunctionTestRunner(handler, invocation_timeout=100, backend=backend) as runner:
        holder["runner"] = runner
        with pytest.raises(InvocationTimeoutExceededError) as raised:
            runner.run(input="{}")

    assert raised.value.seconds >= 200
    message = str(raised.value)
    assert "past the function's 100 s timeout" in message and "invocation_timeout" in message


def test_work_split_into_steps_that_fit_runs_across_invocations_without_complaint() -> None:
    holder: dict[str, DurableFunctionTestRunner] = {}
    handler = _handler_taking(holder, seconds_per_step=40, steps=5)
    with DurableFunctionTestRunner(handler, invocation_timeout=100) as runner:
        holder["runner"] = runner
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert runner.local_lambda.overruns == []
