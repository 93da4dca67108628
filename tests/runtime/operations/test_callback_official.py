"""Callbacks as handlers and tests written for the official SDK see them: names, empty results, timeouts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_runtime.config import CallbackConfig, Duration, WaitForCallbackConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.serdes import ExtendedTypeSerDes, JsonSerDes
from durable_runtime.testing import DurableFunctionTestRunner


@pytest.mark.parametrize(
    ("name", "callback_name", "submitter_name"),
    [("payment", "payment create callback id", "payment submitter"), (None, "create callback id", "submitter")],
)
def test_wait_for_callback_inner_operations_carry_the_official_names(
    name: str | None, callback_name: str, submitter_name: str
) -> None:
    @durable_execution
    def handler(event: Any, ctx) -> Any:
        return ctx.wait_for_callback(lambda callback_id, context: None, name=name)

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.send_callback_success(runner.wait_for_callback(arn, callback_name), b'"paid"')
        result = runner.wait_for_result(arn)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == '"paid"'
    (context,) = result.operations
    assert [child.name for child in context.child_operations] == [callback_name, submitter_name]


_SERDES: list[Any] = [None, JsonSerDes(), ExtendedTypeSerDes()]


@pytest.mark.parametrize("payload", [b"", None])
@pytest.mark.parametrize("serdes", _SERDES, ids=["raw", "json", "extended"])
@pytest.mark.parametrize("via", ["create_callback", "wait_for_callback"])
def test_empty_callback_result_reaches_the_handler_as_none(payload: bytes | None, serdes: Any, via: str) -> None:
    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        if via == "create_callback":
            value = ctx.create_callback(name="answer", config=CallbackConfig(serdes=serdes)).result()
        else:
            value = ctx.wait_for_callback(lambda i, c: None, name="answer", config=WaitForCallbackConfig(serdes=serdes))
        return {"type": type(value).__name__}

    callback_name = "answer" if via == "create_callback" else "answer create callback id"
    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        callback_id = runner.wait_for_callback(arn, callback_name)
        if payload is None:
            runner.send_callback_success(callback_id)
        else:
            runner.send_callback_success(callback_id, payload)
        result = runner.wait_for_result(arn)

    assert json.loads(result.result or "") == {"type": "NoneType"}


def test_callback_timeout_carries_the_official_message() -> None:
    @durable_execution
    def handler(event: Any, ctx) -> dict[str, Any]:
        try:
            ctx.create_callback(name="late", config=CallbackConfig(timeout=Duration.from_seconds(5))).result()
        except Exception as error:  # noqa: BLE001 - the test reports what the handler sees
            return {"caught": type(error).__name__, "message": str(error), "error_type": error.error_type}  # type: ignore[attr-defined]
        return {}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert json.loads(result.result or "") == {
        "caught": "CallbackTimeoutError",
        "message": "Callback timed out",
        "error_type": "durable_runtime.exceptions.CallbackTimeoutError",
    }
