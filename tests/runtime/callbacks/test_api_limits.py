"""The callback endpoint at its limits: large but valid bodies work, odd events and unreadable results are refused.

Regression tests for the liveness audit's r09 (a 250 KB ErrorMessage), r10 (pathParameters that is not an object)
and r15 (a result the callback's serdes cannot read), and for the handler's least-privilege writes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_runtime import contract
from durable_runtime.config import CallbackConfig
from durable_runtime.exceptions import CallbackError
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.serdes import JsonSerDes, SerDes, SerDesContext
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.testing.runner import callback_proxy_event

from .conftest import Waiting


def test_r09_failure_with_a_250_kb_message_is_recorded_whole(waiting: Waiting) -> None:
    message = "m" * (250 * 1024)
    response = waiting.runner.post_callback_event(
        callback_proxy_event(
            waiting.callback_id, "fail", json.dumps({"ErrorType": "Rejected", "ErrorMessage": message})
        )
    )
    result = waiting.runner.wait_for_result(waiting.execution_arn)
    history = waiting.runner.get_execution_history(waiting.execution_arn)["Events"]

    assert response["statusCode"] == 200, response
    assert result.status == InvocationStatus.FAILED
    assert result.error is not None and result.error.message == message
    (failed,) = [e for e in history if e["EventType"] == "CallbackFailed"]
    assert failed["CallbackFailedDetails"]["Error"]["Payload"]["ErrorMessage"] == message


@pytest.mark.parametrize("parameters", ["CallbackId", ["CallbackId"], 42, True])
def test_r10_path_parameters_that_are_not_an_object_get_a_json_4xx(waiting: Waiting, parameters: Any) -> None:
    event = callback_proxy_event("unknown", "succeed", '"x"')
    event["pathParameters"] = parameters
    event["path"] = "/not/a/callback/route"
    before = waiting.runner.scan_table()

    response = waiting.runner.post_callback_event(event)

    assert response["statusCode"] == 404
    assert set(json.loads(response["body"])) == {"error", "message"}
    assert waiting.runner.scan_table() == before


def test_r15_json_callback_refuses_a_body_that_is_not_json() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> Any:
        return ctx.create_callback("answer", CallbackConfig(serdes=JsonSerDes())).result()

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        callback_id = runner.wait_for_callback(arn, "answer")
        before = runner.scan_table()
        refused = runner.post_callback_event(callback_proxy_event(callback_id, "succeed", "approved, thanks"))
        unchanged = runner.scan_table() == before
        accepted = runner.post_callback_event(callback_proxy_event(callback_id, "succeed", '{"approved": true}'))
        result = runner.wait_for_result(arn)

    assert refused["statusCode"] == 400 and "expects a JSON result" in json.loads(refused["body"])["message"]
    assert unchanged
    assert accepted["statusCode"] == 200
    assert json.loads(result.result or "") == {"approved": True}


class _Strict(SerDes[Any]):
    """A serdes the endpoint cannot check in advance: it only reads results that start with 'ok:'."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return f"ok:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        if not data.startswith("ok:"):
            raise ValueError(f"unreadable: {data!r}")
        return data[3:]


def test_r15_result_its_serdes_cannot_read_fails_the_callback_not_the_invocation() -> None:
    caught: list[str] = []

    @durable_execution
    def handler(event: dict, ctx) -> str:
        callback = ctx.create_callback("answer", CallbackConfig(serdes=_Strict()))
        try:
            return callback.result()
        except CallbackError as error:
            caught.append(error.message or "")
            return "recovered"

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.send_callback_success(runner.wait_for_callback(arn, "answer"), b"garbage")
        result = runner.wait_for_result(arn)

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "recovered"
    assert caught and "could not be deserialized" in caught[0]


def test_completion_updates_only_operation_record_attributes(waiting: Waiting) -> None:
    """The handler's role may update only these names (DurableEngine grants UpdateItem on exactly them)."""
    written: list[set[str]] = []

    def record(params: Any, **_: Any) -> None:
        names = set(params.get("ExpressionAttributeNames", {}).values())
        expression = params["UpdateExpression"] + " " + params.get("ConditionExpression", "")
        literal = {word for word in contract.OPERATION_RECORD_ATTRIBUTES if f" {word} " in f" {expression} "}
        written.append(names | literal | set(params["Key"]))

    events = waiting.runner.dynamodb.meta.events
    events.register("before-parameter-build.dynamodb.UpdateItem", record)
    try:
        waiting.runner.send_callback_heartbeat(waiting.callback_id)
        waiting.runner.send_callback_success(waiting.callback_id, b'"yes"')
    finally:
        events.unregister("before-parameter-build.dynamodb.UpdateItem", record)

    assert len(written) == 2
    for names in written:
        assert names <= set(contract.OPERATION_RECORD_ATTRIBUTES), names
