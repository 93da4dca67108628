"""DurableFunction: defaults, environment, version pinning, timers, least-privilege grants, metrics, validation."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from durable_constructs import DurableEngine, DurableFunction, DurableValidationError
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import Synthesized

DLQ_AGE_SECONDS = 6 * 3600


def _build(src: Path) -> Callable[[cdk.App], tuple[cdk.Stack, dict[str, Any]]]:
    def build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
        # The minimal use in an existing app, exactly as the README shows it.
        stack = cdk.Stack(app, "Shop")
        orders = DurableFunction(stack, "Orders", handler="orders.handler", code=lambda_.Code.from_asset(str(src)))

        refunds = DurableFunction(
            stack,
            "Refunds",
            handler="orders.refund",
            code=lambda_.Code.from_asset(str(src)),
            runtime=lambda_.Runtime.PYTHON_3_14,
            execution_timeout=cdk.Duration.days(366),
            retention=cdk.Duration.days(90),
            memory_size=1024,
            timeout=cdk.Duration.minutes(15),
            environment={"STAGE": "test"},
            alias_name="prod",
            timer_batch_size=5,
            powertools_layer_version=27,
            execution_age_alarm=cdk.Duration.days(300),
        )
        timeout = cdk.CfnParameter(stack, "TimeoutSeconds", type="Number", default=3600)
        tokens = DurableFunction(
            stack,
            "Tokens",
            handler="orders.handler",
            code=lambda_.Code.from_asset(str(src)),
            execution_timeout=cdk.Duration.seconds(timeout.value_as_number),
            memory_size=cdk.CfnParameter(stack, "Memory", type="Number", default=256).value_as_number,
            timeout=cdk.Duration.seconds(cdk.CfnParameter(stack, "InvocationTimeout", type="Number").value_as_number),
            function_name="durable-tokens",
        )
        starter = iam.Role(stack, "Starter", assumed_by=iam.AccountRootPrincipal())
        reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
        orders.grant_start_execution(starter)
        orders.grant_read_history(reader)
        refunds.grant_invoke(orders)  # orders may context.invoke refunds
        return stack, {"orders": orders, "refunds": refunds, "tokens": tokens, "starter": starter, "reader": reader}

    return build


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    src = tmp_path_factory.mktemp("src")
    (src / "orders.py").write_text("def handler(event, context):\n    return event\n\nrefund = handler\n")
    return synthesize(tmp_path_factory.mktemp("functions"), _build(src))


def _props(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]["Properties"]


def _ref(synth: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synth.logical_id(construct)}


def _arn(synth: Synthesized, construct: Any) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


def _own_keys(synth: Synthesized, function: DurableFunction) -> dict[str, Any]:
    """`arn:<partition>:lambda:<region>:<account>:function:<name>`, as the policy spells it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":function:",
                _ref(synth, function.function),
                "/durable-execution/*",
            ],
        ]
    }


def _policies_of(synth: Synthesized, role: Any) -> dict[str, list[dict[str, Any]]]:
    role_ref = _ref(synth, role)
    return {
        logical_id: policy["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, policy in synth.of_type("AWS::IAM::Policy").items()
        if role_ref in policy["Properties"]["Roles"]
    }


def _statements(synth: Synthesized, role: Any) -> list[dict[str, Any]]:
    return [statement for statements in _policies_of(synth, role).values() for statement in statements]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return sorted([actions] if isinstance(actions, str) else actions)


# region defaults and environment
def test_minimal_use_gets_python_313_arm64_the_layer_and_sane_sizes(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    props = _props(synth, orders.function)

    assert (props["Runtime"], props["Architectures"], props["Handler"]) == ("python3.13", ["arm64"], "orders.handler")
    assert props["Layers"] == [_ref(synth, orders.engine.layer)]
    assert (props["MemorySize"], props["Timeout"]) == (512, 300)
    assert props["LoggingConfig"] == {"LogGroup": _ref(synth, orders.node.find_child("LogGroup"))}


def test_functions_of_a_stack_share_one_engine_created_at_its_root(synth: Synthesized) -> None:
    orders, refunds, tokens = (synth.objects[name] for name in ("orders", "refunds", "tokens"))

    assert orders.engine is refunds.engine is tokens.engine
    assert orders.engine.node.path == "Shop/DurableEngine"
    assert len(synth.of_type("AWS::DynamoDB::Table")) == 1
    assert len(synth.of_type("AWS::Lambda::LayerVersion")) == 1
    assert orders.engine.functions == [orders, refunds, tokens]


def test_environment_names_the_engine_and_timer_resources(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    engine, timers = orders.engine, orders.timers

    variables = _props(synth, orders.function)["Environment"]["Variables"]
    assert variables == {
        contract.ENV_JOURNAL_TABLE: _ref(synth, engine.journal),
        contract.ENV_PAYLOAD_BUCKET: _ref(synth, engine.payload_bucket),
        contract.ENV_TIMER_QUEUE_URL: _ref(synth, timers.queue),
        contract.ENV_TIMER_QUEUE_ARN: _arn(synth, timers.queue),
        contract.ENV_SCHEDULE_GROUP: _props(synth, timers.schedule_group)["Name"],
        contract.ENV_SCHEDULER_ROLE_ARN: _arn(synth, timers.scheduler_role),
        contract.ENV_EXECUTION_TIMEOUT_SECONDS: str(contract.DEFAULT_EXECUTION_TIMEOUT_SECONDS),
        contract.ENV_RETENTION_DAYS: str(contract.DEFAULT_RETENTION_DAYS),
        contract.ENV_CALLBACK_BASE_URL: synth.stack.resolve(engine.callback_base_url),
    }


def test_timers_may_loop_back_into_the_function(synth: Synthesized) -> None:
    # Each short timer is a message to the function's own queue that invokes it again: Lambda must not stop that.
    for name in ("orders", "refunds", "tokens"):
        assert _props(synth, synth.objects[name].function)["RecursiveLoop"] == "Allow"


def test_props_reach_the_function_and_its_environment(synth: Synthesized) -> None:
    props = _props(synth, synth.objects["refunds"].function)
    variables = props["Environment"]["Variables"]

    assert (props["Runtime"], props["MemorySize"], props["Timeout"]) == ("python3.14", 1024, 900)
    assert variables["STAGE"] == "test"
    assert variables[contract.ENV_EXECUTION_TIMEOUT_SECONDS] == str(366 * 86_400)
    assert variables[contract.ENV_RETENTION_DAYS] == "90"


def test_unresolved_tokens_are_not_validated(synth: Synthesized) -> None:
    props = _props(synth, synth.objects["tokens"].function)

    assert (props["MemorySize"], props["Timeout"]) == ({"Ref": "Memory"}, {"Ref": "InvocationTimeout"})
    assert props["Environment"]["Variables"][contract.ENV_EXECUTION_TIMEOUT_SECONDS] == {"Ref": "TimeoutSeconds"}
    # Payloads must outlive an execution of unknown length: the longest allowed, plus the longest retention.
    (rule,) = _props(synth, synth.objects["tokens"].engine.payload_bucket)["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 366 + 90


# endregion


# region versions, async invocation and timers
def _version_id(synth: Synthesized, function: DurableFunction) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, version in synth.of_type("AWS::Lambda::Version").items()
        if version["Properties"]["FunctionName"] == _ref(synth, function.function)
    ]
    return logical_id


def test_executions_pin_versions_behind_an_alias(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    version = _version_id(synth, orders)

    assert _props(synth, orders.alias) == {
        "FunctionName": _ref(synth, orders.function),
        "FunctionVersion": {"Fn::GetAtt": [version, "Version"]},
        "Name": "live",
    }
    assert synth.resources[version]["DeletionPolicy"] == "Retain"
    assert _props(synth, synth.objects["refunds"].alias)["Name"] == "prod"


def test_every_qualifier_retries_async_invokes_twice_then_dead_letters(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    function = _ref(synth, orders.function)
    configs = [
        resource
        for resource in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if resource["Properties"]["FunctionName"] == function
    ]

    qualifiers = [json.dumps(config["Properties"]["Qualifier"]) for config in configs]
    assert len(configs) == 3  # $LATEST, the current version, the alias
    assert any('"$LATEST"' in q for q in qualifiers)
    assert any("Version" in q for q in qualifiers)
    assert any(synth.logical_id(orders.alias) in q or '"live"' in q for q in qualifiers)
    for config in configs:
        props = config["Properties"]
        assert (props["MaximumRetryAttempts"], props["MaximumEventAgeInSeconds"]) == (2, DLQ_AGE_SECONDS)
        assert props["DestinationConfig"] == {
            "OnFailure": {"Destination": _arn(synth, orders.engine.dead_letter_queue)}
        }
    # The version's config stays with the version: executions pinned to it keep their failure destination.
    (version_config,) = [c for c, q in zip(configs, qualifiers, strict=True) if "Version" in q]
    assert version_config["DeletionPolicy"] == "Retain"


def test_alias_consumes_its_own_timer_queue_reporting_partial_failures(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    (mapping,) = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == _arn(synth, orders.timers.queue)
    ]

    # The alias, as "<function name>:live".
    assert synth.logical_id(orders.alias) in json.dumps(mapping["FunctionName"])
    assert json.dumps(mapping["FunctionName"]).endswith('":live"]]}')
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Nothing reaches the alias before its policies exist: its own, and the one of its invoke grant.
    invokes = orders.node.find_child("InvokesRefunds")
    assert sorted(synth.resources[synth.logical_id(orders.alias)]["DependsOn"]) == sorted(
        [synth.logical_id(orders.policy), synth.logical_id(invokes)]
    )


def test_timer_queue_is_encrypted_dead_letters_and_outlasts_the_function_timeout(synth: Synthesized) -> None:
    orders, refunds = synth.objects["orders"], synth.objects["refunds"]

    dead_letters = _arn(synth, orders.engine.dead_letter_queue)
    assert _props(synth, orders.timers.queue) == {
        "RedrivePolicy": {
            "deadLetterTargetArn": dead_letters,
            "maxReceiveCount": contract.TIMER_QUEUE_MAX_RECEIVE_COUNT,
        },
        "SqsManagedSseEnabled": True,
        # A message whose invocation died comes back a minute after the function's timeout at the latest.
        "VisibilityTimeout": 300 + 60,
    }
    assert _props(synth, refunds.timers.queue)["VisibilityTimeout"] == 900 + 60


def test_scheduler_role_can_only_send_to_its_functions_timer_queue(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    role = _props(synth, orders.timers.scheduler_role)

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    assert _statements(synth, orders.timers.scheduler_role) == [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": _arn(synth, orders.timers.queue)}
    ]


# endregion


# region least privilege
def test_function_policy_is_exactly_what_the_runtime_calls(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    engine, timers = orders.engine, orders.timers
    statements = _policies_of(synth, orders.function.role)[synth.logical_id(orders.policy.node.default_child)]

    journal, payloads, timer, schedules, pass_role, invoke = statements
    assert _actions(journal) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    assert journal["Resource"] == _arn(synth, engine.journal)
    assert journal["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [_own_keys(synth, orders)]}}
    assert (_actions(payloads), payloads["Resource"]) == (
        ["s3:GetObject", "s3:PutObject"],
        {"Fn::Join": ["", [_arn(synth, engine.payload_bucket), "/payloads/", _ref(synth, orders.function), "/*"]]},
    )
    assert (timer["Action"], timer["Resource"]) == ("sqs:SendMessage", _arn(synth, timers.queue))
    group = _props(synth, timers.schedule_group)["Name"]
    assert schedules["Action"] == "scheduler:CreateSchedule"
    assert json.dumps(schedules["Resource"]).endswith(f':schedule/{group}/*"]]}}')
    assert pass_role == {
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": _arn(synth, timers.scheduler_role),
    }
    assert (invoke["Action"], invoke["Resource"]) == (
        "lambda:InvokeFunction",
        {"Fn::Join": ["", [_arn(synth, orders.function), ":*"]]},
    )


def test_no_policy_grants_a_bare_wildcard_or_wildcard_action(synth: Synthesized) -> None:
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Resource"] != "*"
            assert not any("*" in action for action in _actions(statement)), statement


def test_grant_start_execution_resolves_and_records_and_invokes_nothing(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    statements = {tuple(_actions(s)): s for s in _statements(synth, synth.objects["starter"])}

    versions = {"Fn::Join": ["", [_arn(synth, orders.function), ":*"]]}
    assert statements[("lambda:GetFunction",)]["Resource"] == [_arn(synth, orders.function), versions]
    journal = statements[("dynamodb:GetItem", "dynamodb:PutItem")]
    assert journal["Resource"] == _arn(synth, orders.engine.journal)
    assert journal["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [_own_keys(synth, orders)]}}
    # The engine's outbox relay invokes the function once the execution record exists.
    assert len(statements) == 2


def test_grant_read_history_resolves_reads_own_records_and_lists_own_shards(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    statements = _statements(synth, synth.objects["reader"])

    resolve, records, index, by_business_key, payloads = statements
    assert (resolve["Action"], resolve["Resource"][0]) == ("lambda:GetFunction", _arn(synth, orders.function))
    assert _actions(records) == ["dynamodb:GetItem", "dynamodb:Query"]
    assert records["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [_own_keys(synth, orders)]}}
    assert index["Action"] == "dynamodb:Query"
    assert index["Resource"] == {
        "Fn::Join": ["", [_arn(synth, orders.engine.journal), f"/index/{contract.LIST_INDEX_NAME}"]]
    }
    # The index's partition key is `<unqualified function ARN>#<shard>`.
    shards = [*_own_keys(synth, orders)["Fn::Join"][1][:-1], f"{contract.LIST_INDEX_SHARD_SEPARATOR}*"]
    assert index["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [{"Fn::Join": ["", shards]}]}}
    # The business-key index's partition key is `<unqualified function ARN>/<business key>`.
    assert by_business_key["Resource"] == {
        "Fn::Join": ["", [_arn(synth, orders.engine.journal), f"/index/{contract.BUSINESS_KEY_INDEX_NAME}"]]
    }
    keys = [*_own_keys(synth, orders)["Fn::Join"][1][:-1], f"{contract.BUSINESS_KEY_SEPARATOR}*"]
    assert by_business_key["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [{"Fn::Join": ["", keys]}]}
    }
    assert (payloads["Action"], payloads["Resource"]) == (
        "s3:GetObject",
        {
            "Fn::Join": [
                "",
                [_arn(synth, orders.engine.payload_bucket), "/payloads/", _ref(synth, orders.function), "/*"],
            ]
        },
    )


# endregion


def test_the_powertools_layer_is_the_public_one_for_the_runtime_and_architecture(synth: Synthesized) -> None:
    refunds, orders = synth.objects["refunds"], synth.objects["orders"]
    layers = json.dumps(_props(synth, refunds.function)["Layers"])

    assert "017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:27" in layers
    assert "Powertools" not in json.dumps(_props(synth, orders.function)["Layers"])


def test_the_execution_age_alarm_is_at_80_percent_of_the_timeout_unless_given(synth: Synthesized) -> None:
    thresholds = {
        name: _props(synth, next(a for a in synth.objects[name].alarms if a.node.id == "ExecutionAgeAlarm"))[
            "Threshold"
        ]
        for name in ("orders", "refunds", "tokens")
    }

    # A deploy-time execution timeout (a parameter) falls back to 80% of the default one.
    assert thresholds == {"orders": 69_120, "refunds": 300 * 86_400, "tokens": 69_120}


# region metrics and construct tree
@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("metric_executions_started", "ExecutionsStarted"),
        ("metric_executions_succeeded", "ExecutionsSucceeded"),
        ("metric_executions_failed", "ExecutionsFailed"),
        ("metric_executions_timed_out", "ExecutionsTimedOut"),
    ],
)
def test_execution_metrics_sum_per_function(synth: Synthesized, method: str, name: str) -> None:
    orders = synth.objects["orders"]
    metric = getattr(orders, method)()

    assert (metric.namespace, metric.metric_name, metric.statistic) == (contract.METRIC_NAMESPACE, name, "Sum")
    assert metric.period.to_seconds() == 300
    assert synth.stack.resolve(metric.dimensions) == {"FunctionName": _ref(synth, orders.function)}


def test_metric_options_override_the_defaults(synth: Synthesized) -> None:
    metric = synth.objects["orders"].metric_executions_failed(statistic="Maximum", period=cdk.Duration.hours(1))

    assert (metric.statistic, metric.period.to_seconds()) == ("Maximum", 3600)


def test_alarms_watch_failed_executions_errors_and_throttles(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    alarms = {alarm.node.id: _props(synth, alarm) for alarm in orders.alarms}

    assert alarms["ExecutionsFailedAlarm"]["Namespace"] == contract.METRIC_NAMESPACE
    assert (alarms["ErrorsAlarm"]["MetricName"], alarms["ThrottlesAlarm"]["MetricName"]) == ("Errors", "Throttles")
    assert set(orders.alarms) <= set(orders.engine.alarms)


def test_construct_ids_are_a_stable_contract(synth: Synthesized) -> None:
    orders = synth.objects["orders"]

    assert {child.node.id for child in orders.node.children} == {
        "Resource",
        "ServiceRole",
        "LogGroup",
        "DurablePolicy",
        "TimerQueue",
        "ScheduleGroup",
        "SchedulerRole",
        "Alias",
        "ExecutionsFailedAlarm",
        "ErrorsAlarm",
        "ThrottlesAlarm",
        "CallbackTimeoutsAlarm",
        "ExecutionAgeAlarm",
        "InvokesRefunds",  # from refunds.grant_invoke(orders): one policy per target, named after it
    }
    # A child wakes its caller through the engine's outbox relay: the child's side gets no policy.
    assert not [c for c in synth.objects["refunds"].node.children if c.node.id.startswith("Resumes")]
    assert orders.node.default_child is orders.function
    assert orders.function.node.path == "Shop/Orders/Resource"


# endregion


# region validation at synth time
@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"execution_timeout": cdk.Duration.days(367)}, r"execution_timeout is 367 days .*1 second to 366 days"),
        ({"execution_timeout": cdk.Duration.millis(500)}, r"execution_timeout is 500 millis.*1 second to 366 days"),
        ({"retention": cdk.Duration.hours(12)}, r"retention is 12 hours: allowed range is 1 to 90 whole days"),
        ({"retention": cdk.Duration.days(91)}, r"retention is 91 days: allowed range is 1 to 90 whole days"),
        ({"runtime": lambda_.Runtime.NODEJS_22_X}, r"runtime is nodejs22\.x: .*needs a Python runtime"),
        ({"runtime": lambda_.Runtime.PYTHON_3_10}, r"runtime is python3\.10: .*python3\.11 or later"),
        ({"memory_size": 64}, r"memory_size is 64 MB: allowed range is 128 to 10240 MB"),
        ({"memory_size": 10_241}, r"memory_size is 10241 MB: allowed range is 128 to 10240 MB"),
        ({"environment": {contract.ENV_JOURNAL_TABLE: "mine"}}, rf"environment sets {contract.ENV_JOURNAL_TABLE}"),
        # The runtime suspends before the invocation's end: a timeout this short leaves no time to make progress.
        ({"timeout": cdk.Duration.seconds(5)}, r"timeout is 5 seconds \(5 s\): .*10 seconds to 15 minutes"),
        ({"timeout": cdk.Duration.minutes(16)}, r"timeout is 16 minutes \(960 s\): .*10 seconds to 15 minutes"),
        (
            {"application_log_level": lambda_.ApplicationLogLevel.WARN},
            r"logging_format is not set \(text\) with a log level set: .*LoggingFormat\.JSON",
        ),
    ],
)
def test_bad_input_fails_at_synth_time_showing_value_and_range(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")

    with pytest.raises(DurableValidationError, match=message):
        DurableFunction(stack, "Bad", handler="index.handler", code=lambda_.Code.from_inline("x = 1"), **props)
    assert not [node for node in stack.node.find_all() if isinstance(node, DurableEngine)]


def test_the_shortest_timeout_is_accepted(synth: Synthesized) -> None:
    stack = cdk.Stack(cdk.App(), "Short")
    short = DurableFunction(
        stack,
        "Short",
        handler="index.handler",
        code=lambda_.Code.from_inline("x = 1"),
        timeout=cdk.Duration.seconds(10),
    )

    assert short.function.timeout is not None
    assert short.function.timeout.to_seconds() == 10


def test_setting_function_name_warns_that_changing_it_replaces_the_function(synth: Synthesized) -> None:
    def warnings(function: DurableFunction) -> list[str]:
        return [str(entry.data) for entry in function.node.metadata if entry.type == "aws:cdk:warning"]

    (warning,) = warnings(synth.objects["tokens"])
    assert "function_name is set (durable-tokens): changing it later replaces the function" in warning
    assert "[ack: @durable-kit/constructs:functionName]" in warning
    assert not warnings(synth.objects["orders"])


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(DurableValidationError, ValueError)
    assert re.search("DurableValidationError", DurableValidationError.__name__)


# endregion


def test_grant_invoke_lets_the_caller_resolve_start_and_read_children_and_the_relay_resume_it(
    synth: Synthesized,
) -> None:
    orders, refunds = synth.objects["orders"], synth.objects["refunds"]
    invokes = orders.node.find_child("InvokesRefunds")
    child_statements = _statements(synth, refunds.function.role)
    relay_statements = _statements(synth, orders.engine.outbox_relay.role)

    assert _props(synth, invokes)["Roles"] == [_ref(synth, orders.function.role)]
    resolve, journal, payloads = _props(synth, invokes)["PolicyDocument"]["Statement"]
    versions = {"Fn::Join": ["", [_arn(synth, refunds.function), ":*"]]}
    assert (resolve["Action"], resolve["Resource"]) == ("lambda:GetFunction", [_arn(synth, refunds.function), versions])
    # The child's records go to the child's journal; the caller never invokes it (the relay does).
    assert _actions(journal) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    assert journal["Resource"] == _arn(synth, refunds.engine.journal)
    assert journal["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [_own_keys(synth, refunds)]}}
    # A child's result or error too large for its journal is read from the child's payload prefix.
    assert (payloads["Action"], payloads["Resource"]) == (
        "s3:GetObject",
        {
            "Fn::Join": [
                "",
                [_arn(synth, refunds.engine.payload_bucket), "/payloads/", _ref(synth, refunds.function), "/*"],
            ]
        },
    )
    # The child invokes only its own versions (timers it forwards); its close wakes the caller through the journal.
    (child_invoke,) = [s for s in child_statements if s["Action"] == "lambda:InvokeFunction"]
    assert child_invoke["Resource"] == versions
    # The engine's relay invokes the versions of each function once, the caller's among them.
    (relay_invoke,) = [s for s in relay_statements if s["Action"] == "lambda:InvokeFunction"]
    assert sorted(json.dumps(r) for r in relay_invoke["Resource"]) == sorted(
        json.dumps({"Fn::Join": ["", [_arn(synth, durable.function), ":*"]]})
        for durable in (orders, refunds, synth.objects["tokens"])
    )
