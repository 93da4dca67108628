"""The callback endpoint: documented status codes and JSON errors, and a rejection never changes the journal."""

from __future__ import annotations

import json

import pytest

from durable_runtime.callbacks.ids import CallbackCapability, decode
from durable_runtime.testing.runner import callback_proxy_event

from .conftest import Waiting


def _post(waiting: Waiting, callback_id: str, action: str, body: str | None, method: str = "POST") -> dict:
    return waiting.runner.post_callback_event(callback_proxy_event(callback_id, action, body, method))


def _assert_rejected(
    waiting: Waiting, status: int, callback_id: str, action: str, body: str | None, method: str = "POST"
) -> dict:
    before = waiting.runner.scan_table()
    response = _post(waiting, callback_id, action, body, method)
    assert response["statusCode"] == status, response
    error = json.loads(response["body"])
    assert set(error) == {"error", "message"} and error["message"]
    assert waiting.runner.scan_table() == before
    return error


def test_success_completes_the_callback_and_resumes_the_execution(waiting: Waiting) -> None:
    response = _post(waiting, waiting.callback_id, "succeed", '{"approved": true}')
    result = waiting.runner.wait_for_result(waiting.execution_arn)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"status": "OK"}
    assert result.result == json.dumps('{"approved": true}')


def test_fails_when_callback_id_is_forged(waiting: Waiting) -> None:
    real = decode(waiting.callback_id)
    forged = CallbackCapability(real.journal_key, real.operation_id, bytes(20)).encode()
    _assert_rejected(waiting, 404, forged, "succeed", '"yes"')


def test_fails_when_callback_id_is_truncated(waiting: Waiting) -> None:
    _assert_rejected(waiting, 404, waiting.callback_id[:-4], "succeed", '"yes"')


def test_fails_when_callback_id_names_another_execution(waiting: Waiting) -> None:
    other = waiting.runner.run_async(input='{"order": 2}')
    other_key = decode(waiting.runner.wait_for_callback(other, "approval")).journal_key
    real = decode(waiting.callback_id)
    crossed = CallbackCapability(other_key, real.operation_id, real.secret).encode()
    _assert_rejected(waiting, 404, crossed, "succeed", '"yes"')


def test_fails_when_completed_after_its_timeout(waiting: Waiting) -> None:
    waiting.runner.clock.advance(3601)  # past the timeout, before the timer is delivered
    error = _assert_rejected(waiting, 409, waiting.callback_id, "succeed", '"late"')
    assert "timed out" in error["message"]
    result = waiting.runner.wait_for_result(waiting.execution_arn)
    assert result.error is not None and result.error.type.endswith("CallbackTimeoutError")
    _assert_rejected(waiting, 409, waiting.callback_id, "succeed", '"later still"')


def test_fails_when_completed_a_second_time(waiting: Waiting) -> None:
    assert _post(waiting, waiting.callback_id, "succeed", '"first"')["statusCode"] == 200
    _assert_rejected(waiting, 409, waiting.callback_id, "succeed", '"second"')
    _assert_rejected(waiting, 409, waiting.callback_id, "fail", "{}")
    _assert_rejected(waiting, 409, waiting.callback_id, "heartbeat", None)


def test_fails_when_execution_was_stopped(waiting: Waiting) -> None:
    waiting.runner.client.stop_durable_execution(DurableExecutionArn=waiting.execution_arn)
    error = _assert_rejected(waiting, 409, waiting.callback_id, "succeed", '"yes"')
    assert "STOPPED" in error["message"]


def test_fails_when_body_is_over_the_limit(waiting: Waiting) -> None:
    _assert_rejected(waiting, 413, waiting.callback_id, "succeed", '"' + "x" * (256 * 1024) + '"')


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"ErrorType": 5}', '{"StackTrace": "one line"}'])
def test_fails_when_failure_body_is_malformed(waiting: Waiting, body: str) -> None:
    _assert_rejected(waiting, 400, waiting.callback_id, "fail", body)


def test_failure_body_fails_the_callback_with_the_given_error(waiting: Waiting) -> None:
    body = json.dumps({"ErrorType": "Rejected", "ErrorMessage": "fraud", "ErrorData": "{}", "StackTrace": ["a"]})
    assert _post(waiting, waiting.callback_id, "fail", body)["statusCode"] == 200
    result = waiting.runner.wait_for_result(waiting.execution_arn)
    assert result.error is not None and result.error.message == "fraud"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_fails_when_method_is_not_post(waiting: Waiting, method: str) -> None:
    _assert_rejected(waiting, 405, waiting.callback_id, "succeed", '"yes"', method)


def test_fails_when_path_is_not_a_callback_route(waiting: Waiting) -> None:
    _assert_rejected(waiting, 404, waiting.callback_id, "approve", '"yes"')
    before = waiting.runner.scan_table()
    response = waiting.runner.post_callback_event({"httpMethod": "POST", "path": "/somewhere/else", "body": "{}"})
    assert response["statusCode"] == 404 and waiting.runner.scan_table() == before


def test_heartbeat_extends_the_heartbeat_deadline_without_history(waiting: Waiting) -> None:
    events_before = waiting.runner.get_execution_history(waiting.execution_arn)["Events"]
    assert _post(waiting, waiting.callback_id, "heartbeat", None)["statusCode"] == 200
    assert waiting.runner.get_execution_history(waiting.execution_arn)["Events"] == events_before


def test_client_methods_share_the_endpoint_core(waiting: Waiting) -> None:
    from durable_runtime.callbacks.completion import CallbackNotFound

    client = waiting.runner.client
    with pytest.raises(CallbackNotFound):
        client.send_durable_execution_callback_success(CallbackId=waiting.callback_id[:-2], Result=b'"x"')
    client.send_durable_execution_callback_heartbeat(CallbackId=waiting.callback_id)
    client.send_durable_execution_callback_success(CallbackId=waiting.callback_id, Result=b'"via client"')
    assert waiting.runner.wait_for_result(waiting.execution_arn).result == json.dumps('"via client"')
