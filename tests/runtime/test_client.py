"""DurableClient: boto3's durable API names and shapes over the journal."""

from __future__ import annotations

import datetime

import pytest

from durable_runtime.client import DurableExecutionAlreadyStartedException, ResourceNotFoundException
from durable_runtime.config import Duration
from durable_runtime.exceptions import ValidationError
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _greeter(event: dict, ctx) -> str:
    greeting = ctx.step(lambda _: f"Hello, {event['name']}!", name="greet")
    ctx.wait(Duration.from_minutes(30), name="pause")
    return greeting


def test_start_is_idempotent_by_name_and_input() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        first = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-1")
        again = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-1")
        with pytest.raises(DurableExecutionAlreadyStartedException, match="different input"):
            runner.client.start_execution("test-function", '{"name": "Bob"}', "order-1")
        result = runner.wait_for_result(first["DurableExecutionArn"])

    assert first["DurableExecutionArn"] == again["DurableExecutionArn"]
    assert result.result == '"Hello, Ada!"'
    # One execution ran: the duplicate start invoked nothing.
    assert [op.name for op in result.operations].count("greet") == 1


def test_get_execution_and_state_report_progress_in_the_api_shapes() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        arn = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-2")["DurableExecutionArn"]
        runner.pump_once()  # first invocation: greet, then suspend on the wait
        running = runner.client.get_durable_execution(DurableExecutionArn=arn)
        state = runner.client.get_durable_execution_state(DurableExecutionArn=arn)
        runner.wait_for_result(arn)
        done = runner.client.get_durable_execution(DurableExecutionArn=arn)

    assert running["Status"] == "RUNNING" and running["InputPayload"] == '{"name": "Ada"}'
    assert isinstance(running["StartTimestamp"], datetime.datetime)
    by_name = {op["Name"]: op for op in state["Operations"]}
    assert by_name["greet"]["Status"] == "SUCCEEDED" and by_name["greet"]["StepDetails"]["Attempt"] == 1
    assert by_name["pause"]["Type"] == "WAIT" and by_name["pause"]["Status"] == "STARTED"
    assert "ScheduledEndTimestamp" in by_name["pause"]["WaitDetails"]
    assert done["Status"] == "SUCCEEDED" and done["Result"] == '"Hello, Ada!"'
    # Journal timestamps are kept to the millisecond: a wait may end within that rounding of its due time.
    early = datetime.timedelta(milliseconds=1)
    assert done["EndTimestamp"] - done["StartTimestamp"] >= datetime.timedelta(minutes=30) - early


def test_list_by_function_filters_by_status_and_orders_by_start() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        arns = []
        for index in range(3):
            runner.clock.advance(1)
            arns.append(
                runner.client.start_execution("test-function", '{"name": "x"}', f"run-{index}")["DurableExecutionArn"]
            )
        runner.wait_for_result(arns[0])
        everything = runner.client.list_durable_executions_by_function(FunctionName="test-function")
        newest_first = runner.client.list_durable_executions_by_function(
            FunctionName="test-function", ReverseOrder=True
        )
        succeeded = runner.client.list_durable_executions_by_function(
            FunctionName="test-function", Statuses=["SUCCEEDED"]
        )

    assert [e["DurableExecutionArn"] for e in everything["DurableExecutions"]] == arns
    assert [e["DurableExecutionArn"] for e in newest_first["DurableExecutions"]] == arns[::-1]
    assert len(succeeded["DurableExecutions"]) >= 1
    assert all(e["Status"] == "SUCCEEDED" for e in succeeded["DurableExecutions"])


def test_stopped_execution_is_closed_and_later_resumes_do_nothing() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        arn = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-3")["DurableExecutionArn"]
        runner.pump_once()
        stopped = runner.client.stop_durable_execution(
            DurableExecutionArn=arn, Error={"ErrorType": "Cancelled", "ErrorMessage": "customer cancelled"}
        )
        result = runner.wait_for_result(arn)
        with pytest.raises(ValidationError, match="already STOPPED"):
            runner.client.stop_durable_execution(DurableExecutionArn=arn)
        while runner.pump_once():  # the wait's timer still fires; the resume finds the execution closed
            pass
        history = runner.get_execution_history(arn)["Events"]

    assert isinstance(stopped["StopTimestamp"], datetime.datetime)
    assert result.error is not None and result.error.message == "customer cancelled"
    assert history[-1]["EventType"] == "ExecutionStopped"
    assert [e["EventType"] for e in history].count("WaitSucceeded") == 0


def test_unknown_execution_is_resource_not_found() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        arn = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-4")["DurableExecutionArn"]
        missing = arn.rsplit("/", 2)[0] + "/other/0123456789abcdef"
        with pytest.raises(ResourceNotFoundException):
            runner.client.get_durable_execution(DurableExecutionArn=missing)
        with pytest.raises(ResourceNotFoundException):
            runner.client.get_durable_execution_history(DurableExecutionArn=missing)


def test_the_functions_configuration_bounds_an_executions_timeout() -> None:
    with DurableFunctionTestRunner() as runner:
        runner.register_durable_function("bounded", _greeter, execution_timeout=600)
        with pytest.raises(ValidationError, match=r"use 1 to 600 seconds"):
            runner.client.start_execution("bounded", '{"name": "Ada"}', "too-long", execution_timeout=86_400)
        arn = runner.client.start_execution("bounded", '{"name": "Ada"}', "default")["DurableExecutionArn"]
        started = runner.get_execution_history(arn)["Events"][0]

    # Unless a start asks for less, an execution gets the function's own timeout.
    assert started["ExecutionStartedDetails"]["ExecutionTimeout"] == 600


def test_execution_record_is_the_execution_state_and_history_from_one_journal_read() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        arn = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-9")["DurableExecutionArn"]
        runner.wait_for_result(arn)
        client = runner.client
        queries_before = _queries(runner)
        record = client.get_durable_execution_record(DurableExecutionArn=arn, IncludeExecutionData=True)
        queries = _queries(runner) - queries_before

        assert record["Execution"] == client.get_durable_execution(DurableExecutionArn=arn)
        assert record["Operations"] == client.get_durable_execution_state(DurableExecutionArn=arn)["Operations"]
        history = client.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)
        assert record["Events"] == history["Events"]
        assert queries == 1
        with pytest.raises(ResourceNotFoundException):
            client.get_durable_execution_record(DurableExecutionArn=arn.replace("order-9", "order-0"))


def _queries(runner: DurableFunctionTestRunner) -> int:
    return sum(1 for service, operation in runner.faults.calls if (service, operation) == ("dynamodb", "Query"))


def test_executions_are_found_by_their_business_key() -> None:
    with DurableFunctionTestRunner(_greeter, execution_timeout=86_400) as runner:
        runner.register_durable_function("other-function", _greeter, execution_timeout=86_400)
        first = runner.client.start_execution("test-function", '{"name": "a"}', "a-1", business_key="order-1234")
        runner.clock.advance(1)
        second = runner.client.start_execution("test-function", '{"name": "b"}', "a-2", business_key="order-1234")
        runner.client.start_execution("test-function", '{"name": "c"}', "a-3", business_key="order-9999")
        runner.client.start_execution("test-function", '{"name": "d"}', "a-4")
        elsewhere = runner.client.start_execution("other-function", '{"name": "e"}', "b-1", business_key="order-1234")
        found = runner.client.list_durable_executions_by_function(
            FunctionName="test-function", BusinessKey="order-1234"
        )
        newest = runner.client.list_durable_executions_by_function(
            FunctionName="test-function", BusinessKey="order-1234", ReverseOrder=True, MaxItems=1
        )
        described = runner.client.get_durable_execution(DurableExecutionArn=first["DurableExecutionArn"])
        with pytest.raises(ValidationError, match="business key"):
            runner.client.start_execution("test-function", "{}", "a-5", business_key="x" * 257)

    assert [e["DurableExecutionArn"] for e in found["DurableExecutions"]] == [
        first["DurableExecutionArn"],
        second["DurableExecutionArn"],
    ]
    assert elsewhere["DurableExecutionArn"] not in str(found)
    assert [e["DurableExecutionArn"] for e in newest["DurableExecutions"]] == [second["DurableExecutionArn"]]
    assert described["BusinessKey"] == "order-1234"


def test_stopping_an_execution_that_does_not_exist_says_so_and_writes_nothing() -> None:
    with DurableFunctionTestRunner(_greeter) as runner:
        arn = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-4")["DurableExecutionArn"]
        unknown = arn.replace("order-4", "order-404")
        before = runner.scan_table()
        with pytest.raises(ResourceNotFoundException, match="no durable execution"):
            runner.client.stop_durable_execution(DurableExecutionArn=unknown)
        after = runner.scan_table()

    assert after == before
