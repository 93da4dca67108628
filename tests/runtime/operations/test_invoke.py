"""context.invoke: durable targets as child executions, plain targets as one Invoke, failures as InvokeError."""

from __future__ import annotations

import json

import pytest

from durable_runtime.config import Duration
from durable_runtime.exceptions import InvokeError
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

TARGET_ARN = "arn:aws:lambda:us-west-2:123456789012:function:doubler"


@durable_execution
def _doubler(event: dict, ctx) -> int:
    ctx.wait(Duration.from_seconds(5), name="think")
    if event["n"] < 0:
        raise ValueError(f"cannot double {event['n']}")
    return ctx.step(lambda _: event["n"] * 2, name="double")


def _caller(target: str, catch: bool = False):
    @durable_execution
    def handler(event: dict, ctx) -> object:
        try:
            return ctx.invoke(target, {"n": event["n"]}, name="call")
        except InvokeError as error:
            if not catch:
                raise
            return {"error_type": error.error_type, "message": error.message}

    return handler


@pytest.mark.parametrize("target", ["doubler", TARGET_ARN, f"{TARGET_ARN}:1"], ids=["name", "arn", "qualified"])
def test_durable_target_runs_as_a_child_execution(target: str) -> None:
    with DurableFunctionTestRunner(_caller(target)) as runner:
        runner.register_durable_function("doubler", _doubler)
        result = runner.run(input=json.dumps({"n": 21}))
        started = next(
            e
            for e in runner.get_execution_history(result.execution_arn)["Events"]
            if e["EventType"] == "ChainedInvokeStarted"
        )
        child_arn = started["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
        child = runner.client.get_durable_execution(DurableExecutionArn=child_arn)

    assert json.loads(result.result or "") == 42
    assert child["Status"] == "SUCCEEDED" and child["Result"] == "42"


def test_child_failure_surfaces_as_invoke_error_with_the_targets_error() -> None:
    with DurableFunctionTestRunner(_caller("doubler", catch=True)) as runner:
        runner.register_durable_function("doubler", _doubler)
        result = runner.run(input=json.dumps({"n": -1}))

    assert json.loads(result.result or "") == {"error_type": "ValueError", "message": "cannot double -1"}


def test_plain_target_is_one_synchronous_invoke() -> None:
    calls = []

    def plain(event: dict, context: object) -> dict:
        calls.append(event)
        if event["n"] < 0:
            raise KeyError("negative")
        return {"doubled": event["n"] * 2}

    with DurableFunctionTestRunner(_caller("plain", catch=True)) as runner:
        runner.register_function("plain", plain)
        ok = runner.run(input=json.dumps({"n": 4}))
        failed = runner.run(input=json.dumps({"n": -4}))
        events = [e["EventType"] for e in runner.get_execution_history(ok.execution_arn)["Events"]]

    assert json.loads(ok.result or "") == {"doubled": 8}
    assert json.loads(failed.result or "") == {"error_type": "KeyError", "message": "'negative'"}
    assert calls == [{"n": 4}, {"n": -4}]
    assert events.count("InvocationCompleted") == 1  # no suspension for a plain target


def test_stopping_the_child_fails_the_parents_invoke() -> None:
    with DurableFunctionTestRunner(_caller("doubler"), execution_timeout=3600) as runner:
        runner.register_durable_function("doubler", _doubler)
        parent = runner.run_async(input=json.dumps({"n": 1}))
        runner.pump_once(advance_time=False)  # the parent starts the child and suspends
        child = next(
            e["DurableExecutionArn"]
            for e in runner.client.list_durable_executions_by_function(FunctionName="doubler")["DurableExecutions"]
        )
        runner.client.stop_durable_execution(DurableExecutionArn=child)
        result = runner.wait_for_result(parent)
        events = [e["EventType"] for e in runner.get_execution_history(parent)["Events"]]

    assert result.status == InvocationStatus.FAILED
    assert "ChainedInvokeStopped" in events
