"""DurableFunction pass-through props: VPC, a role of the user's, layers, tracing, concurrency and logging."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from durable_constructs import DurableFunction
from durable_constructs._perms import VPC_NETWORK_INTERFACES
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
EXTRA_LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:extra:1"


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(app, "Reports")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
    )
    role = iam.Role(stack, "SharedRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    reports = DurableFunction(
        stack,
        "Reports",
        handler="index.handler",
        code=CODE,
        execution_timeout=cdk.Duration.days(30),
        retention=cdk.Duration.days(7),
        role=role,
        layers=[lambda_.LayerVersion.from_layer_version_arn(stack, "Extra", EXTRA_LAYER)],
        vpc=vpc,
        tracing=lambda_.Tracing.ACTIVE,
        reserved_concurrent_executions=5,
        provisioned_concurrent_executions=2,
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level=lambda_.ApplicationLogLevel.WARN,
        system_log_level=lambda_.SystemLogLevel.INFO,
    )
    return stack, {"reports": reports, "role": role, "vpc": vpc}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("props"), _build)


def _props(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]["Properties"]


def _role_statements(synth: Synthesized, role: Any) -> list[dict[str, Any]]:
    role_ref = {"Ref": synth.logical_id(role)}
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return sorted([actions] if isinstance(actions, str) else actions)


def test_a_users_role_runs_the_function_and_gets_every_grant(synth: Synthesized) -> None:
    reports, role = synth.objects["reports"], synth.objects["role"]
    statements = _role_statements(synth, role)
    actions = {action for statement in statements for action in _actions(statement)}

    assert _props(synth, reports.function)["Role"] == {"Fn::GetAtt": [synth.logical_id(role), "Arn"]}
    assert reports.node.try_find_child("ServiceRole") is None
    # Its durable policy (journal, payloads, timers, own versions), its logs, and the CDK's timer consumption.
    assert _props(synth, reports.policy)["Roles"] == [{"Ref": synth.logical_id(role)}]
    assert {"dynamodb:PutItem", "s3:PutObject", "sqs:SendMessage", "scheduler:CreateSchedule"} <= actions
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:ReceiveMessage", "lambda:InvokeFunction"} <= actions
    (logs,) = [s for s in statements if "logs:PutLogEvents" in _actions(s)]
    log_group = reports.node.find_child("LogGroup")
    assert logs["Resource"] == {"Fn::GetAtt": [synth.logical_id(log_group), "Arn"]}


def test_vpc_places_the_function_and_lets_lambda_manage_its_interfaces(synth: Synthesized) -> None:
    reports = synth.objects["reports"]
    config = _props(synth, reports.function)["VpcConfig"]
    statements = _role_statements(synth, synth.objects["role"])

    assert config["SubnetIds"] == ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    (group,) = config["SecurityGroupIds"]
    assert group == {"Fn::GetAtt": [synth.logical_id(reports.function.connections.security_groups[0]), "GroupId"]}
    (interfaces,) = [s for s in statements if "ec2:CreateNetworkInterface" in _actions(s)]
    # Merged with the X-Ray actions, the other ones with no resource-level permissions.
    assert set(VPC_NETWORK_INTERFACES) <= set(_actions(interfaces))
    assert interfaces["Resource"] == "*"


def test_layers_tracing_concurrency_and_logging_pass_through(synth: Synthesized) -> None:
    reports = synth.objects["reports"]
    props = _props(synth, reports.function)

    # The runtime layer first, so a user's layer cannot shadow durable_runtime.
    assert props["Layers"] == [{"Ref": synth.logical_id(reports.engine.layer)}, EXTRA_LAYER]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 5
    assert props["LoggingConfig"] == {
        "ApplicationLogLevel": "WARN",
        "LogFormat": "JSON",
        "LogGroup": {"Ref": synth.logical_id(reports.node.find_child("LogGroup"))},
        "SystemLogLevel": "INFO",
    }
    assert _props(synth, reports.alias)["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}


def test_unscoped_actions_are_acknowledged_with_their_reason(synth: Synthesized) -> None:
    acknowledged = synth.acknowledgments()[synth.objects["role"].node.path]

    (reason,) = [reason for rule, reason in acknowledged.items() if rule.endswith("AwsSolutions-IAM5[Resource::*]")]
    assert "network interfaces" in reason
    assert "xray:PutTraceSegments" in reason


def test_payloads_outlive_the_longest_execution_the_function_accepts(synth: Synthesized) -> None:
    reports = synth.objects["reports"]
    variables = _props(synth, reports.function)["Environment"]["Variables"]
    (rule,) = _props(synth, reports.engine.payload_bucket)["LifecycleConfiguration"]["Rules"]

    assert variables[contract.ENV_EXECUTION_TIMEOUT_SECONDS] == str(30 * 86_400)
    assert rule["ExpirationInDays"] == 30 + 7
