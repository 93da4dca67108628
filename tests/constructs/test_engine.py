"""DurableEngine: journal, outbox relay, payloads, dead letters, callback API and alarms, default and configured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match

from durable_constructs import DurableEngine, DurableValidationError
from durable_constructs._outbox import OutboxRelay
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
LAYER_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:durable-runtime:1"
# What a Lambda event source mapping needs to read a stream (AWS's documented four actions).
_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(app, "Engines")
    default = DurableEngine(stack, "Default")
    orders = default.add_function("Orders", handler="index.handler", code=CODE)

    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "AlarmTopic", master_key=key, enforce_ssl=True)
    access_logs = s3.Bucket(stack, "AccessLogs", enforce_ssl=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
    cdk.Validations.of(access_logs).acknowledge(
        cdk.Acknowledgment(id="AwsSolutions-S1", reason="This is the test stack's access log bucket itself.")
    )
    custom = DurableEngine(
        stack,
        "Custom",
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        deletion_protection=True,
        callback_iam_auth=True,
        callback_throttling_rate_limit=10,
        callback_throttling_burst_limit=20,
        log_retention=logs.RetentionDays.ONE_WEEK,
        alarm_topic=topic,
        payload_access_logs_bucket=access_logs,
    )
    refunds = custom.add_function(
        "Refunds",
        handler="index.handler",
        code=CODE,
        execution_timeout=cdk.Duration.days(30),
        retention=cdk.Duration.days(7),
    )
    # Across engines: a child of orders (default engine) wakes refunds through the default engine's relay.
    orders.grant_invoke(refunds)
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    custom.grant_send_callback(caller)
    objects = {"default": default, "custom": custom, "orders": orders, "refunds": refunds, "key": key}
    return stack, {**objects, "topic": topic, "caller": caller, "access_logs": access_logs}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("engine"), _build)


def _one(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]


def _ref(synth: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synth.logical_id(construct)}


def _arn(synth: Synthesized, construct: Any) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


# region journal
def test_journal_has_the_contract_key_schema_index_and_ttl(synth: Synthesized) -> None:
    journal = _one(synth, synth.objects["default"].journal)["Properties"]

    assert journal["KeySchema"] == [
        {"AttributeName": contract.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert sorted(journal["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        [
            {"AttributeName": contract.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.SORT_KEY, "AttributeType": "S"},
            {"AttributeName": contract.LIST_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.LIST_INDEX_SORT_KEY, "AttributeType": "N"},
        ],
        key=lambda a: a["AttributeName"],
    )
    assert journal["GlobalSecondaryIndexes"] == [
        {
            "IndexName": contract.LIST_INDEX_NAME,
            "KeySchema": [
                {"AttributeName": contract.LIST_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": contract.LIST_INDEX_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": list(contract.LIST_INDEX_PROJECTED_ATTRIBUTES),
            },
        }
    ]
    assert journal["TimeToLiveSpecification"] == {"AttributeName": contract.TTL_ATTRIBUTE, "Enabled": True}


@pytest.mark.parametrize("engine", ["default", "custom"])
def test_journal_streams_new_images_for_the_outbox(synth: Synthesized, engine: str) -> None:
    journal = _one(synth, synth.objects[engine].journal)["Properties"]

    assert journal["StreamSpecification"] == {"StreamViewType": contract.JOURNAL_STREAM_VIEW_TYPE}


def test_journal_is_on_demand_recoverable_encrypted_and_retained_by_default(synth: Synthesized) -> None:
    journal = _one(synth, synth.objects["default"].journal)

    assert journal["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert journal["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert journal["Properties"]["SSESpecification"] == {"SSEEnabled": True}  # AWS managed key
    assert journal["Properties"]["DeletionProtectionEnabled"] is False
    assert (journal["DeletionPolicy"], journal["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_journal_takes_a_customer_key_deletion_protection_and_removal_policy(synth: Synthesized) -> None:
    journal = _one(synth, synth.objects["custom"].journal)

    assert journal["Properties"]["SSESpecification"] == {
        "KMSMasterKeyId": _arn(synth, synth.objects["key"]),
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert journal["Properties"]["DeletionProtectionEnabled"] is True
    assert journal["DeletionPolicy"] == "Delete"


# endregion


# region payloads and dead letters
def test_payload_bucket_is_private_tls_only_encrypted_and_retained(synth: Synthesized) -> None:
    bucket = _one(synth, synth.objects["default"].payload_bucket)

    assert bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["DeletionPolicy"] == "Retain"
    synth.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": _ref(synth, synth.objects["default"].payload_bucket),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


@pytest.mark.parametrize(
    ("engine", "days"),
    [
        ("default", 1 + contract.DEFAULT_RETENTION_DAYS),  # its function: 1-day executions, 14 days retention
        ("custom", 30 + 7),  # its function: 30-day executions, 7 days retention
    ],
)
def test_payloads_expire_after_the_longest_execution_plus_retention(synth: Synthesized, engine: str, days: int) -> None:
    rules = _one(synth, synth.objects[engine].payload_bucket)["Properties"]["LifecycleConfiguration"]["Rules"]

    assert rules == [
        {
            "Id": "ExpirePayloads",
            "Prefix": "payloads/",
            "ExpirationInDays": days,
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "Status": "Enabled",
        }
    ]


def test_payload_bucket_takes_a_customer_key_and_access_logs(synth: Synthesized) -> None:
    bucket = _one(synth, synth.objects["custom"].payload_bucket)["Properties"]

    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": _arn(synth, synth.objects["key"]),
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    assert bucket["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": synth.logical_id(synth.objects["access_logs"])},
        "LogFilePrefix": "durable-payloads/",
    }


def test_dead_letter_queue_is_encrypted_tls_only_and_keeps_messages_14_days(synth: Synthesized) -> None:
    default = _one(synth, synth.objects["default"].dead_letter_queue)["Properties"]
    custom = _one(synth, synth.objects["custom"].dead_letter_queue)["Properties"]

    assert default == {"MessageRetentionPeriod": 14 * 86_400, "SqsManagedSseEnabled": True}
    assert custom == {"MessageRetentionPeriod": 14 * 86_400, "KmsMasterKeyId": _arn(synth, synth.objects["key"])}
    synth.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [_ref(synth, synth.objects["default"].dead_letter_queue)],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
                ]
            },
        },
    )


# endregion


# region callback API
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


# endregion


# region outbox relay
def _relay_mapping(synth: Synthesized, engine: DurableEngine) -> tuple[str, dict[str, Any]]:
    (mapping,) = [
        (logical_id, resource)
        for logical_id, resource in synth.of_type("AWS::Lambda::EventSourceMapping").items()
        if resource["Properties"]["FunctionName"] == _ref(synth, engine.outbox_relay)
    ]
    return mapping


def test_outbox_relay_runs_the_layers_handler_with_no_environment(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    relay = _one(synth, engine.outbox_relay)["Properties"]

    assert relay["Handler"] == contract.OUTBOX_HANDLER
    assert relay["Layers"] == [_ref(synth, engine.layer)]
    assert contract.OUTBOX_HANDLER in relay["Code"]["ZipFile"]
    assert (relay["Runtime"], relay["Architectures"]) == ("python3.13", ["arm64"])
    assert (relay["MemorySize"], relay["Timeout"]) == (256, 30)
    assert "Environment" not in relay


@pytest.mark.parametrize("engine", ["default", "custom"])
def test_outbox_relay_consumes_only_wakes_from_the_journal_stream(synth: Synthesized, engine: str) -> None:
    durable = synth.objects[engine]
    logical_id, mapping = _relay_mapping(synth, durable)
    props = mapping["Properties"]

    assert props["EventSourceArn"] == {"Fn::GetAtt": [synth.logical_id(durable.journal), "StreamArn"]}
    (only,) = props["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == contract.OUTBOX_FILTER_PATTERN
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert (props["BatchSize"], props["ParallelizationFactor"]) == (10, 4)
    assert logical_id == synth.logical_id(durable.node.find_child("Outbox").node.find_child("JournalStream"))


@pytest.mark.parametrize("engine", ["default", "custom"])
def test_outbox_relay_retries_failed_wakes_a_bounded_time_then_dead_letters(synth: Synthesized, engine: str) -> None:
    durable = synth.objects[engine]
    _, mapping = _relay_mapping(synth, durable)
    props = mapping["Properties"]

    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    # Both bounded (-1, the default, retries until the stream drops the record 24 hours later).
    assert (props["MaximumRetryAttempts"], props["MaximumRecordAgeInSeconds"]) == (10, 3600)
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": _arn(synth, durable.dead_letter_queue)}}
    # No record reaches the relay before it may invoke the functions the record wakes.
    policy = synth.logical_id(durable.node.find_child("Outbox").node.find_child("ResumePolicy"))
    assert policy in mapping["DependsOn"]


def _invoked_versions(synth: Synthesized, statements: list[dict[str, Any]]) -> list[str]:
    invokes = [s for s in statements if any(a.startswith("lambda:") for a in _actions(s))]
    assert all(_actions(s) == ["lambda:InvokeFunction"] for s in invokes)
    resources = [r for s in invokes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    return sorted(json.dumps(resource, sort_keys=True) for resource in resources)


def _versions(synth: Synthesized, *functions: Any) -> list[str]:
    return sorted(
        json.dumps({"Fn::Join": ["", [_arn(synth, function.function), ":*"]]}, sort_keys=True) for function in functions
    )


def test_outbox_relay_invokes_the_versions_of_the_functions_whose_wakes_reach_it(synth: Synthesized) -> None:
    orders, refunds = synth.objects["orders"], synth.objects["refunds"]
    default = _statements(synth, synth.objects["default"].outbox_relay.role)
    custom = _statements(synth, synth.objects["custom"].outbox_relay.role)

    # The default engine's relay wakes its own function, and refunds when a child refunds started on orders ends.
    assert _invoked_versions(synth, default) == _versions(synth, orders, refunds)
    assert _invoked_versions(synth, custom) == _versions(synth, refunds)


@pytest.mark.parametrize("engine", ["default", "custom"])
def test_outbox_relay_touches_no_journal_item_and_no_payload(synth: Synthesized, engine: str) -> None:
    durable = synth.objects[engine]
    statements = _statements(synth, durable.outbox_relay.role)
    actions = {action for statement in statements for action in _actions(statement)}

    assert {a for a in actions if a.startswith("dynamodb:")} == set(_STREAM_READ)
    assert not {a for a in actions if a.startswith("s3:") or a.endswith("Item")}
    streams = {"Fn::Join": ["", [{"Fn::GetAtt": [synth.logical_id(durable.journal), "Arn"]}, "/stream/*"]]}
    assert [s["Resource"] for s in statements if s["Action"] == list(_STREAM_READ)] == [streams]
    services = {action.split(":")[0] for action in actions}
    assert services == ({"logs", "dynamodb", "sqs", "lambda"} | ({"kms"} if engine == "custom" else set()))


def test_outbox_relay_refuses_a_journal_without_a_stream() -> None:
    stack = cdk.Stack(cdk.App(), "NoStream")
    table = dynamodb.Table(
        stack, "Journal", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )

    with pytest.raises(DurableValidationError, match=r"journal NoStream/Journal has no stream: .*stream=NEW_IMAGE"):
        OutboxRelay(
            stack,
            "Outbox",
            layer=lambda_.LayerVersion.from_layer_version_arn(stack, "Layer", LAYER_ARN),
            journal=table,
            dead_letter_queue=sqs.Queue(stack, "DeadLetters"),
            encryption_key=None,
            log_retention=logs.RetentionDays.ONE_DAY,
        )


# endregion


# region alarms
def test_engine_alarms_on_dead_letters_callback_handler_and_outbox_relay(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    alarms = {alarm.node.id: _one(synth, alarm)["Properties"] for alarm in engine.alarms}

    dead_letters = alarms["DeadLettersAlarm"]
    assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead_letters["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synth.logical_id(engine.dead_letter_queue), "QueueName"]}}
    ]
    assert (
        alarms["CallbackHandlerErrorsAlarm"]["MetricName"],
        alarms["CallbackHandlerThrottlesAlarm"]["MetricName"],
        alarms["OutboxErrorsAlarm"]["MetricName"],
    ) == ("Errors", "Throttles", "Errors")
    assert alarms["OutboxErrorsAlarm"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": _ref(synth, engine.outbox_relay)}
    ]
    iterator_age = alarms.pop("OutboxIteratorAgeAlarm")
    assert (iterator_age["MetricName"], iterator_age["Statistic"]) == ("IteratorAge", "Maximum")
    assert iterator_age["Dimensions"] == [{"Name": "FunctionName", "Value": _ref(synth, engine.outbox_relay)}]
    assert (iterator_age["Threshold"], iterator_age["ComparisonOperator"]) == (60_000, "GreaterThanOrEqualToThreshold")
    for alarm in [*alarms.values(), iterator_age]:
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in alarm
    for alarm in alarms.values():
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_alarm_topic_receives_every_engine_and_function_alarm(synth: Synthesized) -> None:
    engine = synth.objects["custom"]
    topic = _ref(synth, synth.objects["topic"])

    assert {alarm.node.id for alarm in engine.alarms} == {
        "DeadLettersAlarm",
        "CallbackHandlerErrorsAlarm",
        "CallbackHandlerThrottlesAlarm",
        "OutboxErrorsAlarm",
        "OutboxIteratorAgeAlarm",
        "ExecutionsFailedAlarm",
        "ErrorsAlarm",
        "ThrottlesAlarm",
    }
    for alarm in engine.alarms:
        assert _one(synth, alarm)["Properties"]["AlarmActions"] == [topic]


# endregion


# region construct tree
def test_construct_ids_are_stable(synth: Synthesized) -> None:
    engine = synth.objects["default"]

    assert {child.node.id for child in engine.node.children} == {
        "Journal",
        "Payloads",
        "DeadLetterQueue",
        "RuntimeLayer",
        "Outbox",
        "Callbacks",
        "DeadLettersAlarm",
        "CallbackHandlerErrorsAlarm",
        "CallbackHandlerThrottlesAlarm",
        "OutboxErrorsAlarm",
        "OutboxIteratorAgeAlarm",
        "Orders",  # engine.add_function defines the function inside the engine
    }
    callbacks = engine.node.find_child("Callbacks")
    # "HttpApi", not the REST API's "Api": CloudFormation cannot change a resource's type under one logical id.
    assert {child.node.id for child in callbacks.node.children} == {"Handler", "HttpApi", "AccessLogs"}
    assert engine.api.node.path == "Engines/Default/Callbacks/HttpApi"
    assert {child.node.id for child in engine.api.node.children} == {
        "Resource",
        "Stage",
        "SucceedRoute",
        "FailRoute",
        "HeartbeatRoute",
    }
    # The one integration is defined where the first route binds it.
    succeed = engine.api.node.find_child("SucceedRoute")
    assert {child.node.id for child in succeed.node.children} == {"Resource", "Handler", "Handler-Permission"}
    assert engine.callback_handler.node.path.endswith("Callbacks/Handler/Resource")
    outbox = engine.node.find_child("Outbox")
    assert {child.node.id for child in outbox.node.children} == {
        "Resource",
        "ServiceRole",
        "LogGroup",
        "ResumePolicy",
        "JournalStream",
    }
    assert outbox.node.default_child is engine.outbox_relay
    assert engine.outbox_relay.node.path == "Engines/Default/Outbox/Resource"


def test_of_stack_refuses_to_guess_between_two_engines(synth: Synthesized) -> None:
    with pytest.raises(
        DurableValidationError, match=r"has 2 durable engines .*Engines/Default, Engines/Custom.*engine="
    ):
        DurableEngine.of_stack(synth.stack)


# endregion


def test_every_synthesized_file_is_in_the_assembly(synth: Synthesized) -> None:
    assert Path(synth.outdir, "manifest.json").is_file()
