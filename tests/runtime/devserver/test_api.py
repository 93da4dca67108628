"""The dev server's machine API through boto3's own Lambda client, and its callback endpoint over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from durable_runtime.config import Duration
from durable_runtime.devserver import DevServer, function_name_of, load_handler
from durable_runtime.execution import durable_execution


@durable_execution
def approval(event: dict, ctx: Any) -> str:
    ctx.step(lambda _: "checked", name="check")
    answer = ctx.wait_for_callback(lambda callback_id, _: None, name="approval")
    return f"{event['who']} got {answer}"


@durable_execution
def sleeper(event: dict, ctx: Any) -> str:
    ctx.wait(Duration.from_seconds(30), name="nap")
    return "rested"


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    with DevServer({"approval": approval, "sleeper": sleeper}, port=0, virtual_time=True) as running:
        yield running


@pytest.fixture(scope="module")
def lam(server: DevServer) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=server.url,
        region_name="us-west-2",
        aws_access_key_id="dev",
        aws_secret_access_key="dev",  # the dev server checks no signature
    )


def _until(lam: Any, arn: str, wanted: str) -> dict[str, Any]:
    for _ in range(200):
        execution = lam.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] == wanted:
            return dict(execution)
        time.sleep(0.05)
    raise AssertionError(f"{arn} never became {wanted}: {execution['Status']}")


def _callback_id(lam: Any, server: DevServer, arn: str) -> str:
    for _ in range(200):
        ids = server.runner.issued_callback_ids(arn)
        if ids:
            return ids[-1]
        time.sleep(0.05)
    raise AssertionError("no callback was issued")


def test_function_names_default_to_the_modules_last_part() -> None:
    assert function_name_of("examples.order_workflow:handler") == "order-workflow"
    assert function_name_of("examples.order_workflow:handler=orders") == "orders"
    assert load_handler("examples.order_workflow:handler").__name__ == "handler"
    with pytest.raises(ValueError, match="MODULE:ATTR"):
        load_handler("examples.order_workflow")


def test_invoke_starts_an_execution_that_boto3_can_follow_and_answer(server: DevServer, lam: Any) -> None:
    invoked = lam.invoke(
        FunctionName="approval", InvocationType="Event", Payload=json.dumps({"who": "Ada"}), DurableExecutionName="a-1"
    )
    arn = invoked["DurableExecutionArn"]
    callback_id = _callback_id(lam, server, arn)
    state = lam.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken="any")["Operations"]
    lam.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"approval")
    done = _until(lam, arn, "SUCCEEDED")
    history = lam.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)["Events"]
    listed = lam.list_durable_executions_by_function(FunctionName="approval")["DurableExecutions"]

    assert invoked["StatusCode"] == 202 and ":approval:1/durable-execution/a-1/" in arn
    assert {op["Name"] for op in state} >= {"check", "approval"}
    assert json.loads(done["Result"]) == "Ada got approval"
    assert history[-1]["EventType"] == "ExecutionSucceeded" and history[0]["EventTimestamp"].year >= 2025
    assert arn in [execution["DurableExecutionArn"] for execution in listed]


def test_a_synchronous_invoke_answers_with_the_result(lam: Any) -> None:
    invoked = lam.invoke(FunctionName="sleeper", Payload=b"{}")

    assert invoked["StatusCode"] == 200 and json.loads(invoked["Payload"].read()) == "rested"
    assert invoked["ExecutedVersion"] == "1" and "/durable-execution/" in invoked["DurableExecutionArn"]


def test_pause_resume_stop_and_delete_through_boto3(server: DevServer, lam: Any) -> None:
    arn = lam.invoke(FunctionName="approval", InvocationType="Event", Payload=b'{"who": "Bo"}')["DurableExecutionArn"]
    _callback_id(lam, server, arn)
    lam.pause_durable_execution(DurableExecutionArn=arn, Reason="looking")
    paused = lam.get_durable_execution(DurableExecutionArn=arn)
    lam.resume_durable_execution(DurableExecutionArn=arn)
    lam.stop_durable_execution(DurableExecutionArn=arn, Error={"ErrorType": "Cancelled", "ErrorMessage": "no"})
    stopped = _until(lam, arn, "STOPPED")
    lam.delete_durable_execution(DurableExecutionArn=arn)

    assert paused["Status"] == "PAUSED" and paused["PauseDetails"]["Reason"] == "looking"
    assert stopped["Error"]["ErrorMessage"] == "no"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_durable_execution(DurableExecutionArn=arn)


def test_refusals_are_the_apis_typed_errors(lam: Any) -> None:
    arn = lam.invoke(FunctionName="sleeper", Payload=b"{}")["DurableExecutionArn"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.resume_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_durable_execution(DurableExecutionArn=arn.replace("/durable-execution/", "/durable-execution/x"))
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.invoke(FunctionName="sleeper", Payload=b"not json")


def test_the_callback_endpoint_answers_as_api_gateway_would(server: DevServer, lam: Any) -> None:
    arn = lam.invoke(FunctionName="approval", InvocationType="Event", Payload=b'{"who": "Cy"}')["DurableExecutionArn"]
    callback_id = _callback_id(lam, server, arn)
    url = f"{server.url}/durable-execution-callbacks/{callback_id}/succeed"
    with urllib.request.urlopen(urllib.request.Request(url, data=b'"yes"', method="POST")) as response:
        status = response.status
    with pytest.raises(urllib.error.HTTPError) as again:
        urllib.request.urlopen(urllib.request.Request(url, data=b'"no"', method="POST"))
    done = _until(lam, arn, "SUCCEEDED")

    assert status == 200 and again.value.code == 409
    assert json.loads(done["Result"]) == 'Cy got "yes"'


def test_the_function_configuration_names_the_engine(lam: Any) -> None:
    configuration = lam.get_function_configuration(FunctionName="approval")

    assert configuration["Environment"]["Variables"]["DURABLE_JOURNAL_TABLE"]
    assert configuration["FunctionArn"].endswith(":approval:1")


def test_a_malformed_request_body_is_a_400_that_says_so(server: DevServer) -> None:
    arn = "arn:aws:lambda:us-west-2:123456789012:function:sleeper:1/durable-execution/x/0123"
    path = f"/2025-12-01/durable-executions/{urllib.request.quote(arn, safe='')}/pause"
    request = urllib.request.Request(server.url + path, data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)

    assert refused.value.code == 400
    assert json.loads(refused.value.read())["__type"] == "InvalidRequestContentException"


def test_a_body_over_the_limit_is_refused_unread(server: DevServer) -> None:
    import http.client
    from urllib.parse import urlsplit

    from durable_runtime.devserver import MAX_REQUEST_BYTES

    where = urlsplit(server.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    connection.putrequest("POST", "/2015-03-31/functions/sleeper/invocations")
    connection.putheader("Content-Length", str(MAX_REQUEST_BYTES + 1))
    connection.endheaders()  # the body is never sent: the server must answer without waiting for it
    response = connection.getresponse()

    assert response.status == 413 and json.loads(response.read())["__type"] == "RequestTooLargeException"
