"""Plugin hooks fire once per real operation on the local runner, never again when the journal is replayed."""

from __future__ import annotations

from durable_runtime.config import Duration
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.plugin import InvocationStatus as PluginInvocationStatus
from durable_runtime.plugin import OperationType, UserFunctionOutcome
from durable_runtime.testing import DurableFunctionTestRunner

from .conftest import RecordingFactory

factory = RecordingFactory()


@durable_execution(plugins=[factory])
def _step_wait_step(event: dict, ctx) -> str:
    first = ctx.step(lambda _: "a", name="first")
    ctx.wait(Duration.from_seconds(5), name="pause")
    second = ctx.step(lambda _: "b", name="second")
    return first + second


def test_each_operation_starts_and_ends_once_across_invocations() -> None:
    factory.calls.clear()
    with DurableFunctionTestRunner(_step_wait_step) as runner:
        result = runner.run(input="{}")
    assert result.status is InvocationStatus.SUCCEEDED
    assert factory.names("operation_start") == ["first", "pause", "second"]
    assert factory.names("operation_end") == ["first", "pause", "second"]
    assert all(not info.is_replayed for info in factory.hooks("operation_start"))
    # The step "first" ran once, in the first invocation: its replay in the second fires nothing.
    assert factory.names("user_function_start") == ["first", "second"]
    assert [info.outcome for info in factory.hooks("user_function_end")] == [UserFunctionOutcome.SUCCEEDED] * 2
    ends = factory.hooks("invocation_end")
    assert [info.status for info in ends] == [PluginInvocationStatus.PENDING, PluginInvocationStatus.SUCCEEDED]
    assert ends[-1].execution_result == '"ab"'
    starts = factory.hooks("invocation_start")
    assert [info.is_first_invocation for info in starts] == [True, False]
    assert factory.created == 2
    assert {info.operation_type for info in factory.hooks("operation_end")} == {OperationType.STEP, OperationType.WAIT}
