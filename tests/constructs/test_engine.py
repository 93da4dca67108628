"""DurableEngine: journal, outbox relay, payloads, dead letters, alarms and construct ids, default and configured.

The stack is conftest's `engines`; the callback endpoint's tests are in test_engine_callbacks.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match

from durable_constructs import DurableEngine, DurableValidationError
from durable_constructs._outbox import OutboxRelay
from durable_runtime import contract

if TYPE_CHECKING:
    from conftest import Synthesized

LAYER_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:durable-runtime:1"
# What a Lambda event source mapping needs to read a stream (AWS's documented four actions).
_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")


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
            {"AttributeName": contract.BUSINESS_KEY_INDEX_PARTITION_KEY, "AttributeType": "S"},
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
        },
        {
            "IndexName": contract.BUSINESS_KEY_INDEX_NAME,
            "KeySchema": [
                {"AttributeName": contract.BUSINESS_KEY_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": contract.LIST_INDEX_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": list(contract.BUSINESS_KEY_INDEX_PROJECTED_ATTRIBUTES),
            },
        },
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
    # The function's alarm on execution age: at 80% of its one-day execution timeout, on the Maximum.
    execution_age = alarms.pop("ExecutionAgeAlarm")
    assert (execution_age["MetricName"], execution_age["Statistic"]) == (contract.METRIC_EXECUTION_AGE, "Maximum")
    assert execution_age["Threshold"] == int(contract.DEFAULT_EXECUTION_TIMEOUT_SECONDS * 0.8)
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
        "CallbackTimeoutsAlarm",
        "ExecutionAgeAlarm",
    }
    for alarm in engine.alarms:
        assert _one(synth, alarm)["Properties"]["AlarmActions"] == [topic]


# endregion


def test_the_dashboard_shows_each_functions_executions_failures_timeouts_and_age(synth: Synthesized) -> None:
    engine = synth.objects["default"]
    body = json.dumps(_one(synth, engine.dashboard)["Properties"]["DashboardBody"])

    for name in (
        contract.METRIC_EXECUTIONS_STARTED,
        contract.METRIC_EXECUTIONS_FAILED,
        contract.METRIC_EXECUTIONS_TIMED_OUT,
        contract.METRIC_STEPS_FAILED,
        contract.METRIC_CALLBACK_TIMEOUTS,
        contract.METRIC_EXECUTION_AGE,
        "ApproximateNumberOfMessagesVisible",
        "IteratorAge",
    ):
        assert name in body
    # Failures by step: a Logs Insights query over the function's log group, grouped by the step's name.
    assert f"by {contract.METRIC_STEP_NAME_PROPERTY}" in body
    assert synth.logical_id(engine.functions[0].log_group) in body


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
        "Dashboard",
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
