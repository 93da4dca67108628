"""The synthesized callback API and the runtime's handler agree: each route's event, as API Gateway sends it, works.

The template decides what the handler receives: the stage (a named stage puts its name in front of the path), the
route keys and the payload format version. These tests read all three from the example app's template, build the
event an HTTP API sends to a Lambda proxy integration for a request to that route, and hand it to the callback
handler through the local runner: an execution waiting on a callback must complete, fail or be heartbeated.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from durable_runtime import contract
from durable_runtime.config import CallbackConfig, Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

if TYPE_CHECKING:
    from conftest import Synthesized


@durable_execution
def awaiting_approval(event: dict[str, Any], ctx: Any) -> object:
    callback = ctx.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(1)))
    return callback.result()


@dataclass(frozen=True)
class CallbackApi:
    """What the synthesized template says API Gateway does with a callback request."""

    stage: str
    route_keys: dict[str, str]  # action -> "POST /durable-execution-callbacks/{CallbackId}/<action>"
    payload_format_version: str

    def event(self, action: str, callback_id: str, body: str | None, *, base64_body: bool = False) -> dict[str, Any]:
        """The payload format 1.0 event an HTTP API sends for `POST <callback_base_url>/<route>` with `body`."""
        method, route = self.route_keys[action].split(" ", 1)
        # A request to a named stage is <endpoint>/<stage>/<route>, and the event's path keeps the stage; the
        # $default stage is served at the endpoint's root.
        path = ("" if self.stage == "$default" else f"/{self.stage}") + route.replace("{CallbackId}", callback_id)
        if body is not None and base64_body:
            body = base64.b64encode(body.encode()).decode()
        return {
            "version": self.payload_format_version,
            "resource": route,
            "path": path,
            "httpMethod": method,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "domainName": "a1b2c3d4e5.execute-api.us-west-2.amazonaws.com",
                "httpMethod": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "requestId": "test-request",
                "resourceId": None,
                "resourcePath": route,
                "stage": self.stage,
            },
            "pathParameters": {"CallbackId": callback_id},
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": base64_body,
        }


@pytest.fixture(scope="module")
def callback_api(example_app: Synthesized) -> CallbackApi:
    def one(resource_type: str) -> dict[str, Any]:
        (resource,) = example_app.of_type(resource_type).values()
        return dict(resource["Properties"])

    routes = [route["Properties"]["RouteKey"] for route in example_app.of_type("AWS::ApiGatewayV2::Route").values()]
    return CallbackApi(
        stage=one("AWS::ApiGatewayV2::Stage")["StageName"],
        route_keys={key.rsplit("/", 1)[1]: key for key in routes},
        payload_format_version=one("AWS::ApiGatewayV2::Integration")["PayloadFormatVersion"],
    )


@dataclass
class Waiting:
    runner: DurableFunctionTestRunner
    execution_arn: str
    callback_id: str


@pytest.fixture
def waiting() -> Iterator[Waiting]:
    with DurableFunctionTestRunner(awaiting_approval, execution_timeout=86_400) as runner:
        arn = runner.run_async(input='{"order": 1}')
        yield Waiting(runner, arn, runner.wait_for_callback(arn, "approval"))


def _post(waiting: Waiting, event: dict[str, Any]) -> dict[str, Any]:
    response = waiting.runner.post_callback_event(event)
    assert response["statusCode"] == 200, response
    return response


def test_the_template_routes_every_callback_action_with_the_rest_style_payload(callback_api: CallbackApi) -> None:
    assert sorted(callback_api.route_keys) == sorted(contract.CALLBACK_ACTIONS)
    assert callback_api.payload_format_version == "1.0"  # 2.0 has neither httpMethod nor path


@pytest.mark.parametrize("base64_body", [False, True], ids=["text", "base64"])
def test_succeed_route_completes_the_callback(callback_api: CallbackApi, waiting: Waiting, base64_body: bool) -> None:
    _post(waiting, callback_api.event("succeed", waiting.callback_id, '{"approved": true}', base64_body=base64_body))

    result = waiting.runner.wait_for_result(waiting.execution_arn)
    assert result.result == json.dumps('{"approved": true}')


def test_fail_route_fails_the_callback(callback_api: CallbackApi, waiting: Waiting) -> None:
    body = json.dumps({"ErrorType": "Rejected", "ErrorMessage": "a reviewer said no"})
    _post(waiting, callback_api.event("fail", waiting.callback_id, body))

    result = waiting.runner.wait_for_result(waiting.execution_arn)
    assert result.error is not None
    assert result.error.message == "a reviewer said no"


def test_heartbeat_route_is_accepted(callback_api: CallbackApi, waiting: Waiting) -> None:
    response = _post(waiting, callback_api.event("heartbeat", waiting.callback_id, None))

    assert json.loads(response["body"]) == {"status": "OK"}
