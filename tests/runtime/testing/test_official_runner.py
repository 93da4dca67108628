"""Test bodies written the way the official testing SDK's users write them, run on Durable Kit's runner.

Only the import prefix differs from a test of the official SDK (`aws_durable_execution_sdk_python_testing` ->
`durable_runtime.testing`, `aws_durable_execution_sdk_python` -> `durable_runtime`).
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest

from durable_runtime.config import Duration, StepConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.lambda_service import ErrorObject, OperationStatus, OperationType
from durable_runtime.retries import RetryDecision
from durable_runtime.testing.exceptions import (
    AwsApiException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from durable_runtime.testing.runner import (
    CallbackOperation,
    ContextOperation,
    DurableFunctionTestRunner,
    StepOperation,
    WaitOperation,
)


@durable_execution
def approval(event: dict, ctx: Any) -> dict:
    callback = ctx.create_callback("approval")
    return {"order": event.get("order"), "decision": callback.result()}


def test_callback_answered_while_the_execution_runs_in_the_background() -> None:
    with DurableFunctionTestRunner(handler=approval) as runner:
        arn = runner.run_async(input={"order": 7}, timeout=60)
        callback_id = runner.wait_for_callback(execution_arn=arn)
        runner.send_callback_success(callback_id=callback_id, result=json.dumps("approved").encode())
        result = runner.wait_for_result(execution_arn=arn)

    assert result.status is InvocationStatus.SUCCEEDED
    # A callback hands its payload over as sent (JSON text here), as with the official SDK.
    assert json.loads(result.result or "") == {"order": 7, "decision": '"approved"'}
    callback = result.get_callback("approval")
    assert isinstance(callback, CallbackOperation)
    assert callback.status is OperationStatus.SUCCEEDED and callback.callback_id
    assert callback.result == json.dumps("approved")  # the payload as sent, as on the official runner
    assert callback.operation_type is OperationType.CALLBACK


def test_history_polled_after_a_sleep_shows_the_callback_started_in_the_background() -> None:
    with DurableFunctionTestRunner(handler=approval) as runner:
        arn = runner.run_async(input='{"order": 1}')
        time.sleep(0.5)  # the official examples sleep; the execution must progress meanwhile
        events = runner.get_execution_history(arn).events
        started = [event for event in events if event.event_type == "CallbackStarted"]
        assert started and started[0].name == "approval"
        runner.send_callback_failure(
            started[0].callback_started_details.callback_id, error=ErrorObject("no", "Rejected", None, None)
        )
        result = runner.wait_for_result(arn)

    assert result.status is InvocationStatus.FAILED
    assert result.error is not None and result.error.message == "no"


def test_anonymous_callback_found_after_a_retry_and_a_wait() -> None:
    def retry_once(error: Exception, attempt: int) -> RetryDecision:
        return RetryDecision.retry(Duration.from_seconds(30)) if attempt < 2 else RetryDecision.no_retry()

    def flaky(step: Any) -> str:
        if step.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "ready"

    @durable_execution
    def handler(event: dict, ctx: Any) -> str:
        ctx.step(flaky, name="prepare", config=StepConfig(retry_strategy=retry_once))
        ctx.wait(Duration.from_hours(2), name="cool-off")
        return ctx.create_callback().result()

    with DurableFunctionTestRunner(handler) as runner:
        # Virtual time counts toward the execution's timeout here (see the runner's docs): give the wait room.
        arn = runner.run_async(input=None, execution_timeout=86_400)
        runner.send_callback_success(runner.wait_for_callback(arn, timeout=30), b"yes")
        result = runner.wait_for_result(arn, timeout=30)

    assert result.status is InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "yes"
    step = result.get_step("prepare")
    assert isinstance(step, StepOperation) and step.attempt == 2 and step.result == '"ready"'
    wait = result.get_wait("cool-off")
    assert isinstance(wait, WaitOperation) and wait.scheduled_end_timestamp is not None
    assert wait.status is OperationStatus.SUCCEEDED and wait.start_timestamp is not None
    assert wait.scheduled_end_timestamp - wait.start_timestamp >= datetime.timedelta(hours=2)


def test_operations_are_in_start_order_and_children_nested() -> None:
    @durable_execution
    def handler(event: dict, ctx: Any) -> list:
        first = ctx.step(lambda _: "z", name="zeta")
        second = ctx.step(lambda _: "a", name="alpha")
        mapped = ctx.map([1, 2, 3], lambda c, item, index, items: item * 10, name="tens")
        return [first, second, mapped.get_results()]

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.SUCCEEDED
    assert [op.name for op in result.operations] == ["zeta", "alpha", "tens"]
    tens = result.get_context("tens")
    assert isinstance(tens, ContextOperation) and len(tens.child_operations) == 3
    assert all(child.parent_id == tens.operation_id for child in tens.child_operations)
    assert {op.name for op in result.get_all_operations()} >= {"zeta", "alpha", "tens"}


@pytest.mark.parametrize(
    ("given", "seen"),
    [('{"a": 1}', {"a": 1}), ("plain text", "plain text"), ({"a": [1, 2]}, {"a": [1, 2]}), ([1, 2], [1, 2])],
)
def test_input_is_normalised_to_json(given: Any, seen: Any) -> None:
    @durable_execution
    def echo(event: Any, ctx: Any) -> Any:
        return event

    with DurableFunctionTestRunner(echo) as runner:
        result = runner.run(input=given)

    assert json.loads(result.result or "") == seen


def test_registered_durable_function_execution_timeout_is_honoured() -> None:
    @durable_execution
    def slow_child(event: Any, ctx: Any) -> str:
        ctx.wait(Duration.from_minutes(10))
        return "late"

    @durable_execution
    def parent(event: Any, ctx: Any) -> Any:
        return ctx.invoke("slow-child", {}, name="call")

    with DurableFunctionTestRunner(parent) as runner:
        runner.register_durable_function("slow-child", slow_child, execution_timeout=60)
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.FAILED
    invoke = result.get_invoke("call")
    assert invoke.status in (OperationStatus.TIMED_OUT, OperationStatus.FAILED)


def test_pause_holds_back_invocations_until_resume() -> None:
    @durable_execution
    def handler(event: Any, ctx: Any) -> str:
        ctx.step(lambda _: "one", name="first")
        ctx.wait(Duration.from_seconds(5), name="pause-point")
        return ctx.step(lambda _: "two", name="second")

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.pause_execution(arn)
        time.sleep(0.3)
        names = [event.name for event in runner.get_execution_history(arn).events]
        assert "second" not in names
        with pytest.raises(TimeoutError):
            runner.wait_for_result(arn, timeout=1)
        runner.resume_execution(arn)
        result = runner.wait_for_result(arn)

    assert result.status is InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "two"


def test_history_events_carry_typed_details_and_a_dict_view() -> None:
    @durable_execution
    def handler(event: Any, ctx: Any) -> str:
        return ctx.step(lambda _: "done", name="only")

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.wait_for_result(arn)
        history = runner.get_execution_history(arn, include_execution_data=True)

    succeeded = next(event for event in history.events if event.event_type == "StepSucceeded")
    assert succeeded.name == "only" and succeeded.id and succeeded.event_id > 1
    assert succeeded.step_succeeded_details.result.payload == '"done"'
    assert succeeded.callback_started_details is None
    assert history["Events"][succeeded.event_id - 1]["EventType"] == "StepSucceeded"


def test_close_stops_the_background_driver() -> None:
    runner = DurableFunctionTestRunner(approval)
    arn = runner.run_async(input="{}")
    runner.wait_for_callback(arn)
    runner.close()
    assert not runner._driver.running


def test_refused_callback_requests_raise_the_official_api_exceptions() -> None:
    with DurableFunctionTestRunner(handler=approval) as runner:
        arn = runner.run_async(input={"order": 3})
        callback_id = runner.wait_for_callback(execution_arn=arn)
        runner.send_callback_success(callback_id, b'"yes"')
        runner.wait_for_result(arn)

        # Answering a settled callback again is the caller's mistake, not a lost answer.
        with pytest.raises(InvalidParameterValueException) as settled:
            runner.send_callback_success(callback_id, b'"again"')
        assert settled.value.http_status_code == 400
        assert settled.value.to_dict()["Type"] == "InvalidParameterValueException"
        with pytest.raises(AwsApiException) as malformed:
            runner.send_callback_heartbeat("not-a-callback-id")
        assert 400 <= malformed.value.http_status_code < 500
        with pytest.raises(ResourceNotFoundException):
            runner.pause_execution(arn.replace(arn.rsplit("/", 1)[-1], "no-such-execution"))


def test_branches_of_a_parallel_are_listed_in_branch_order_whatever_order_they_started_in() -> None:
    from durable_runtime.engine.ids import branch_id, operation_id
    from durable_runtime.testing.operations import build_operations

    parallel = operation_id(1, None)
    started = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def shape(op_id: str, name: str, parent: str | None, sub_type: str) -> dict[str, Any]:
        return {
            "Id": op_id,
            "Type": "CONTEXT",
            "SubType": sub_type,
            "Status": "SUCCEEDED",
            "Name": name,
            "StartTimestamp": started,
            **({"ParentId": parent} if parent else {}),
        }

    names = ["fetch-users", "fetch-orders", "fetch-stock"]
    branches = [shape(branch_id(parallel, i), name, parallel, "ParallelBranch") for i, name in enumerate(names)]
    # Concurrent branches started (and were recorded) in the order 2, 0, 1.
    shapes = [shape(parallel, "fetch", None, "Parallel"), branches[2], branches[0], branches[1]]
    start_order = {item["Id"]: rank for rank, item in enumerate(shapes)}

    (context,) = build_operations(shapes, start_order)

    assert isinstance(context, ContextOperation)
    assert [child.name for child in context.child_operations] == names


def test_cloud_runner_starts_follows_and_reads_an_execution_of_the_engine_it_is_pointed_at() -> None:
    """The cloud runner against an engine on moto: the local runner plays the deployed function and its engine."""
    from durable_runtime.testing.runner import DurableFunctionCloudTestRunner

    @durable_execution
    def pay(event: dict, ctx: Any) -> dict:
        charged = ctx.step(lambda _: event["amount"] * 2, name="charge")
        ctx.wait(Duration.from_seconds(30), name="settle")
        return {"charged": charged}

    with DurableFunctionTestRunner(handler=pay) as local:
        cloud = DurableFunctionCloudTestRunner(local.function_name, poll_interval=0.01, client=local.client)
        arn = cloud.run_async(input={"amount": 21})
        local.wait_for_result(arn)  # the "deployed" engine runs it
        result = cloud.wait_for_result(arn, timeout=10)
        history = cloud.get_execution_history(arn)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == {"charged": 42}
    assert [op.name for op in result.operations] == ["charge", "settle"]
    assert isinstance(result.get_wait("settle"), WaitOperation)
    assert [event.event_type for event in history.events][:2] == ["ExecutionStarted", "StepStarted"]


def test_child_context_runner_runs_one_child_context_function_with_its_arguments() -> None:
    from durable_runtime.context import durable_with_child_context
    from durable_runtime.testing.runner import DurableChildContextTestRunner

    @durable_with_child_context
    def quote(ctx: Any, item: str, *, quantity: int) -> dict:
        price = ctx.step(lambda _: 250, name="price")
        ctx.wait(Duration.from_seconds(5), name="hold")
        return {"item": item, "total": price * quantity}

    with DurableChildContextTestRunner(quote, "mug", quantity=3) as runner:
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result or "") == {"item": "mug", "total": 750}
    assert result.get_step("price").status is OperationStatus.SUCCEEDED
    assert isinstance(result.get_wait("hold"), WaitOperation)


def test_result_rebuilt_from_execution_and_history_alone_matches_the_runners() -> None:
    """`from_execution_history` (the official cloud runner's factory) sees what the runner's own result sees."""
    from durable_runtime.config import ChildConfig
    from durable_runtime.retries import RetryStrategyConfig, create_retry_strategy
    from durable_runtime.testing.runner import DurableFunctionTestResult

    attempts = []

    def flaky(_: Any) -> str:
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("transient")
        return "ok"

    @durable_execution
    def handler(event: dict, ctx: Any) -> str:
        retry = create_retry_strategy(RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1)))
        ctx.step(flaky, name="flaky", config=StepConfig(retry_strategy=retry))
        ctx.wait(Duration.from_seconds(30), name="cool")
        ctx.run_in_child_context(lambda child: child.step(lambda _: 7, name="inner"), name="box", config=ChildConfig())
        callback = ctx.create_callback("approval")
        return callback.result()

    with DurableFunctionTestRunner(handler=handler) as runner:
        arn = runner.run_async(input="{}")
        runner.send_callback_success(runner.wait_for_callback(arn), result=b'"yes"')
        expected = runner.wait_for_result(arn)
        execution = runner.client.get_durable_execution(DurableExecutionArn=arn)
        history = runner.get_execution_history(arn, include_execution_data=True)

    rebuilt = DurableFunctionTestResult.from_execution_history(execution, history)

    def millis(moment: datetime.datetime | None) -> int | None:
        return None if moment is None else round(moment.timestamp() * 1000)  # history has millisecond timestamps

    def seen(result: DurableFunctionTestResult) -> list[tuple]:
        return [
            (op.name, op.operation_type, op.status, getattr(op, "result", None), getattr(op, "attempt", None),
             getattr(op, "callback_id", None), op.parent_id, millis(op.start_timestamp), millis(op.end_timestamp))
            for op in result.get_all_operations()
        ]  # fmt: skip

    assert (rebuilt.status, rebuilt.result, rebuilt.execution_status) == (expected.status, expected.result, "SUCCEEDED")
    for got, want in zip(sorted(seen(rebuilt), key=repr), sorted(seen(expected), key=repr), strict=True):
        assert got == want
    assert [op.name for op in rebuilt.operations] == ["flaky", "cool", "box", "approval"]
    assert DurableFunctionTestResult.create({**execution, "Events": history["Events"]}) == rebuilt
    assert rebuilt.get_step("flaky").attempt == expected.get_step("flaky").attempt == 2
    cool = rebuilt.get_wait("cool")
    assert millis(cool.scheduled_end_timestamp) == millis(expected.get_wait("cool").scheduled_end_timestamp)


def test_skip_time_false_lets_a_wait_pass_in_real_time() -> None:
    @durable_execution
    def pause(event: dict, ctx: Any) -> str:
        ctx.wait(Duration.from_seconds(1), name="one-second")
        return "done"

    with DurableFunctionTestRunner(pause, skip_time=False) as runner:
        started = time.monotonic()
        result = runner.run(input="{}", timeout=30)
        elapsed = time.monotonic() - started

    assert result.status is InvocationStatus.SUCCEEDED
    assert elapsed >= 1.0  # a lower bound only: the wait cannot have been skipped


def test_account_and_tenant_are_checked_as_the_local_runner_models_them() -> None:
    with DurableFunctionTestRunner(approval, account_id="111122223333") as runner:
        with pytest.raises(InvalidParameterValueException, match="111122223333"):
            runner.run_async(input="{}", account_id="999999999999")
        with pytest.raises(InvalidParameterValueException, match="tenant_id must be None"):
            runner.run_async(input="{}", tenant_id="tenant-a")
        arn = runner.run_async(input="{}", account_id="111122223333")
        assert runner.wait_for_callback(arn)
