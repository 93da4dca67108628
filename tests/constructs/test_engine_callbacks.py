"""DurableEngine's callback endpoint: the HTTP API, its routes, stage, access logs and auth, and the handler's role.

Why an HTTP API and a $default stage: constructs/durable_constructs/_callbacks.py. test_callback_events.py checks
that the runtime's handler answers the events this API sends.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from durable_runtime import contract

if TYPE_CHECKING:
    from conftest import Synthesized

    from durable_constructs import DurableEngine


@pytest.fixture(scope="module")
def synth(engines: Synthesized) -> Synthesized:
    return engines


def _one(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]


def _ref(synth: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synth.logical_id(construct)}


def _arn(synth: Synthesized, construct: Any) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


def _statements(synth: Synthesized, role: Any) -> list[dict[str, Any]]:
    role_id = synth.logical_id(role)
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return sorted([actions] if isinstance(actions, str) else actions)


def _of_api(synth: Synthesized, engine: DurableEngine, resource_type: str) -> dict[str, dict[str, Any]]:
    """The resources of `resource_type` that belong to the engine's HTTP API."""
    api = _ref(synth, engine.api)
    return {k: v["Properties"] for k, v in synth.of_type(resource_type).items() if v["Properties"]["ApiId"] == api}


def _routes(synth: Synthesized, engine: DurableEngine) -> dict[str, dict[str, Any]]:
    return {route["RouteKey"]: route for route in _of_api(synth, engine, "AWS::ApiGatewayV2::Route").values()}


def test_callback_api_is_an_http_api(synth: Synthesized) -> None:
    # An HTTP API's access logs need no account-wide API Gateway CloudWatch role (a REST API stage's do).
    assert not synth.of_type("AWS::ApiGateway::RestApi")
    assert not synth.of_type("AWS::ApiGateway::Account")
    for engine in ("default", "custom"):
        api = _one(synth, synth.objects[engine].api)
        assert (api["Type"], api["Properties"]["ProtocolType"]) == ("AWS::ApiGatewayV2::Api", "HTTP")
        assert "DisableExecuteApiEndpoint" not in api["Properties"]


def test_callback_api_has_exactly_the_three_post_routes_to_one_handler(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    routes = _routes(synth, engine)

    prefix = contract.CALLBACK_ROUTE_PREFIX
    assert sorted(routes) == sorted(f"POST {prefix}/{{CallbackId}}/{action}" for action in contract.CALLBACK_ACTIONS)
    (integration_id, integration), *others = _of_api(synth, engine, "AWS::ApiGatewayV2::Integration").items()
    assert not others
    # Payload format 1.0: the REST-style proxy event (httpMethod, path, pathParameters) the handler parses.
    assert integration == {
        "ApiId": _ref(synth, engine.api),
        "IntegrationType": "AWS_PROXY",
        "IntegrationUri": _arn(synth, engine.callback_handler),
        "PayloadFormatVersion": "1.0",
    }
    for route in routes.values():
        assert route["AuthorizationType"] == "NONE"  # the callback id is the capability
        assert "AuthorizerId" not in route
        assert route["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}


def test_api_gateway_may_invoke_the_handler_on_the_callback_routes_only(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    handler = _arn(synth, engine.callback_handler)
    permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == handler
    ]

    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    sources = sorted(p["SourceArn"]["Fn::Join"][1][-1] for p in permissions)
    prefix = contract.CALLBACK_ROUTE_PREFIX
    assert sources == sorted(f"/*/*{prefix}/{{CallbackId}}/{action}" for action in contract.CALLBACK_ACTIONS)


def test_callback_api_can_require_iam_auth(synth: Synthesized) -> None:
    routes = _routes(synth, synth.objects["custom"])

    assert len(routes) == len(contract.CALLBACK_ACTIONS)
    # HttpIamAuthorizer: SigV4 on every route, no authorizer resource.
    assert {route["AuthorizationType"] for route in routes.values()} == {"AWS_IAM"}
    assert not synth.of_type("AWS::ApiGatewayV2::Authorizer")


@pytest.mark.parametrize(("engine", "rate", "burst", "retention"), [("default", 100, 200, 30), ("custom", 10, 20, 7)])
def test_callback_stage_is_throttled_and_access_logged_without_callback_ids(
    synth: Synthesized, engine: str, rate: int, burst: int, retention: int
) -> None:
    durable = synth.objects[engine]
    (stage,) = _of_api(synth, durable, "AWS::ApiGatewayV2::Stage").values()

    # $default: served at the API's root, so the path the handler receives carries no stage name.
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert stage["DefaultRouteSettings"] == {
        "DetailedMetricsEnabled": True,
        "ThrottlingBurstLimit": burst,
        "ThrottlingRateLimit": rate,
    }
    log_group = durable.node.find_child("Callbacks").node.find_child("AccessLogs")
    assert stage["AccessLogSettings"]["DestinationArn"] == _arn(synth, log_group)
    assert _one(synth, log_group)["Properties"]["RetentionInDays"] == retention
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert log_format["routeKey"] == "$context.routeKey"  # the route template, never the id
    assert log_format["requestId"] == "$context.requestId"
    assert not [value for value in log_format.values() if "path" in value.lower()]


def test_callback_base_url_is_the_apis_default_endpoint(synth: Synthesized) -> None:
    engine = synth.objects["default"]

    assert synth.stack.resolve(engine.callback_base_url) == {
        "Fn::Join": [
            "",
            [
                "https://",
                _ref(synth, engine.api),
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
            ],
        ]
    }


def test_callback_handler_runs_the_layers_handler_with_the_engine_resources(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    handler = _one(synth, engine.callback_handler)["Properties"]

    assert handler["Handler"] == "durable_runtime.callbacks.api.handler"
    assert handler["Layers"] == [_ref(synth, engine.layer)]
    assert "durable_runtime.callbacks.api.handler" in handler["Code"]["ZipFile"]
    assert (handler["Runtime"], handler["Architectures"]) == ("python3.13", ["arm64"])
    assert handler["Environment"]["Variables"] == {
        contract.ENV_JOURNAL_TABLE: _ref(synth, engine.journal),
        contract.ENV_PAYLOAD_BUCKET: _ref(synth, engine.payload_bucket),
    }


def test_callback_handler_invokes_no_function(synth: Synthesized) -> None:
    for engine in ("default", "custom"):
        statements = _statements(synth, synth.objects[engine].callback_handler.role)

        assert statements, "the handler's role has no policy"
        assert not [s for s in statements if any(a.startswith("lambda:") for a in _actions(s))]


def test_callback_handler_only_reads_and_updates_operation_records_on_the_journal(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    statements = _statements(synth, engine.callback_handler.role)

    journal = {tuple(_actions(s)): s for s in statements if s["Resource"] == _arn(synth, engine.journal)}
    assert set(journal) == {("dynamodb:GetItem", "dynamodb:Query"), ("dynamodb:UpdateItem",)}
    # A callback id names an execution of any function sharing the engine: reads cannot be narrowed by key.
    assert "Condition" not in journal[("dynamodb:GetItem", "dynamodb:Query")]
    # Exactly the attributes the runtime's callback completion writes (tests/runtime/callbacks checks that side).
    assert journal[("dynamodb:UpdateItem",)]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": list(contract.OPERATION_RECORD_ATTRIBUTES)}
    }
    assert not [s for s in statements if "dynamodb:PutItem" in _actions(s)]


def test_callback_handler_only_writes_payloads(synth: Synthesized) -> None:
    for engine in ("default", "custom"):
        bucket = synth.objects[engine].payload_bucket
        statements = _statements(synth, synth.objects[engine].callback_handler.role)

        (payloads,) = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
        assert (payloads["Action"], payloads["Resource"]) == (
            "s3:PutObject",
            {"Fn::Join": ["", [_arn(synth, bucket), f"/{contract.PAYLOAD_PREFIX}*"]]},
        )


def test_callback_handler_uses_the_customer_key_when_there_is_one(synth: Synthesized) -> None:
    default = _statements(synth, synth.objects["default"].callback_handler.role)
    custom = _statements(synth, synth.objects["custom"].callback_handler.role)

    assert not [s for s in default if any(a.startswith("kms:") for a in _actions(s))]
    (kms_use,) = [s for s in custom if any(a.startswith("kms:") for a in _actions(s))]
    assert kms_use["Resource"] == _arn(synth, synth.objects["key"])


def test_grant_send_callback_allows_post_on_the_callback_routes_only(synth: Synthesized) -> None:
    (statement,) = _statements(synth, synth.objects["caller"])

    assert statement["Action"] == "execute-api:Invoke"
    api = _ref(synth, synth.objects["custom"].api)
    assert sorted(statement["Resource"], key=json.dumps) == sorted(
        (
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":execute-api:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":",
                        api,
                        # Any stage (the API has the one), POST, any callback id, one action.
                        f"/*/POST{contract.CALLBACK_ROUTE_PREFIX}/*/{action}",
                    ],
                ]
            }
            for action in contract.CALLBACK_ACTIONS
        ),
        key=json.dumps,
    )
