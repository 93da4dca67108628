"""How invocations start, end and are reported: direct events, long timers, retention, errors and logging."""

from __future__ import annotations

import json
import logging

import pytest

from durable_runtime import contract
from durable_runtime.config import Duration
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _quick(event: dict, ctx) -> dict:
    total = ctx.step(lambda _: sum(event["items"]), name="total")
    return {"total": total}


@durable_execution
def _slow(event: dict, ctx) -> str:
    ctx.wait(Duration.from_seconds(30), name="pause")
    return "later"


def _direct(runner: DurableFunctionTestRunner, event: object, request_id: str) -> object:
    handler = runner.local_lambda.functions["test-function"].versions["1"]
    return handler(event, runner.local_lambda.context_for("test-function", "1", request_id))


def test_direct_invoke_returns_the_result_when_the_execution_finishes_in_it() -> None:
    with DurableFunctionTestRunner(_quick) as runner:
        response = _direct(runner, {"items": [1, 2, 3]}, "req-direct-1")
        listed = runner.client.list_durable_executions_by_function(FunctionName="test-function")

    assert response == {"total": 6}
    assert [e["DurableExecutionName"] for e in listed["DurableExecutions"]] == ["req-direct-1"]


def test_direct_invoke_that_suspends_returns_pending_and_a_retry_does_not_start_twice() -> None:
    with DurableFunctionTestRunner(_slow) as runner:
        first = _direct(runner, {"order": 7}, "req-direct-2")
        retried = _direct(runner, {"order": 7}, "req-direct-2")  # Lambda's retry of the same event
        result = runner.wait_for_result(first["DurableExecutionArn"])  # type: ignore[index]
        listed = runner.client.list_durable_executions_by_function(FunctionName="test-function")

    assert first["Status"] == "PENDING" and "/durable-execution/req-direct-2/" in first["DurableExecutionArn"]  # type: ignore[index]
    assert retried["DurableExecutionArn"] == first["DurableExecutionArn"]  # type: ignore[index]
    assert result.result == '"later"'
    assert len(listed["DurableExecutions"]) == 1


def test_wait_longer_than_fifteen_minutes_uses_a_schedule_and_ends_on_time() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_hours(3), name="cool-off")
        return "done"

    with DurableFunctionTestRunner(handler, execution_timeout=86_400) as runner:
        result = runner.run(input="{}")
        events = runner.get_execution_history(result.execution_arn)["Events"]

    assert runner.faults.count("scheduler", "CreateSchedule") == 1
    started = next(e for e in events if e["EventType"] == "WaitStarted")["EventTimestamp"]
    finished = next(e for e in events if e["EventType"] == "WaitSucceeded")["EventTimestamp"]
    assert 3 * 3600 <= (finished - started).total_seconds() < 3 * 3600 + 2


def test_closed_execution_records_expire_after_the_retention_period() -> None:
    with DurableFunctionTestRunner(_quick) as runner:
        result = runner.run(input=json.dumps({"items": [1]}))
        items = runner.scan_table()
        ended = runner.client.get_durable_execution(DurableExecutionArn=result.execution_arn)["EndTimestamp"]

    execution = next(item for item in items if item[contract.SORT_KEY]["S"] == contract.RECORD_EXECUTION)
    retention = contract.DEFAULT_RETENTION_DAYS * 86_400
    assert int(execution[contract.TTL_ATTRIBUTE]["N"]) == int(ended.timestamp() + retention)
    assert all(contract.TTL_ATTRIBUTE in item for item in items)


def test_failing_dependency_is_recorded_with_its_type_and_retried() -> None:
    with DurableFunctionTestRunner(_quick) as runner:
        runner.faults.fail_before("dynamodb", "UpdateItem", skip=1)  # after the lease: the step's write fails
        result = runner.run(input=json.dumps({"items": [4, 5]}))
        events = runner.get_execution_history(result.execution_arn)["Events"]

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == {"total": 9}
    errors = [
        e["InvocationCompletedDetails"]["Error"]["Payload"]
        for e in events
        if e["EventType"] == "InvocationCompleted" and "Error" in e["InvocationCompletedDetails"]
    ]
    assert [error["ErrorType"] for error in errors] == ["durable_runtime.testing.faults.InjectedFault"]


def test_context_logger_emits_each_line_once_with_execution_fields(caplog: pytest.LogCaptureFixture) -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.logger.info("checking stock")
        ctx.step(lambda sc: sc.logger.info("reserving"), name="reserve")
        ctx.wait(Duration.from_seconds(5), name="pause")
        ctx.logger.info("resumed")
        return "ok"

    caplog.set_level(logging.INFO, logger="durable_runtime.user")
    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    # Records of `context.logger` carry the execution's ARN, whichever logger writes them (stdlib or Powertools).
    messages = [record.getMessage() for record in caplog.records if hasattr(record, "executionArn")]
    assert messages == ["checking stock", "reserving", "resumed"]
    reserve = next(record for record in caplog.records if record.getMessage() == "reserving")
    assert reserve.executionArn == result.execution_arn  # type: ignore[attr-defined]
    assert reserve.operationName == "reserve" and reserve.attempt == 1  # type: ignore[attr-defined]


def test_pytest_fixture_gives_a_fresh_runner(durable_runner: DurableFunctionTestRunner) -> None:
    durable_runner.register_durable_function("sum", _quick)
    result = durable_runner.run(input=json.dumps({"items": [2, 2]}), function_name="sum")
    assert json.loads(result.result or "") == {"total": 4}
