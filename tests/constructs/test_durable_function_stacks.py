"""Durable functions across stacks: grants live in the grantee's stack, so the callee's stack never depends on it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from durable_constructs import DurableFunction
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


def _plain(scope: cdk.Stack, id: str) -> lambda_.Function:
    role = iam.Role(scope, f"{id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    return lambda_.Function(
        scope, id, handler="index.handler", code=CODE, runtime=lambda_.Runtime.PYTHON_3_14, role=role
    )


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    children = cdk.Stack(app, "Children")
    refunds = DurableFunction(children, "Refunds", handler="index.handler", code=CODE)
    mailer = _plain(children, "Mailer")

    callers = cdk.Stack(app, "Callers")
    orders = DurableFunction(callers, "Orders", handler="index.handler", code=CODE)
    refunds.grant_invoke(orders)
    orders.grant_invoke_plain(mailer)

    clients = cdk.Stack(app, "Clients")
    api = _plain(clients, "Api")
    refunds.grant_client(api, stop=True, callbacks=True)
    # A function known only by the outputs of another app's stack.
    imported = DurableFunction.from_function_attributes(
        clients,
        "Partner",
        function_arn=cdk.Fn.import_value("PartnerFunctionArn"),
        journal_table_arn=cdk.Fn.import_value("PartnerJournalArn"),
        payload_bucket_arn=cdk.Fn.import_value("PartnerPayloadsArn"),
    )
    imported.grant_read_history(api)
    stacks = {"children": children, "callers": callers, "clients": clients}
    return callers, {**stacks, "refunds": refunds, "orders": orders, "mailer": mailer, "api": api}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("stacks"), _build)


def _template(synth: Synthesized, name: str) -> dict[str, Any]:
    stack = synth.objects[name]
    return json.loads((synth.outdir / f"{stack.artifact_id}.template.json").read_text())


def _dependencies(synth: Synthesized, name: str) -> list[str]:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    return sorted(d for d in manifest["artifacts"][name].get("dependencies", []) if not d.endswith(".assets"))


def _policy(synth: Synthesized, scope: Any, id: str) -> dict[str, Any]:
    return synth.resources[synth.logical_id(scope.node.find_child(id))]["Properties"]


def test_the_callee_stack_references_nothing_of_its_callers_or_clients(synth: Synthesized) -> None:
    assert "Fn::ImportValue" not in json.dumps(_template(synth, "children"))
    assert _dependencies(synth, "Children") == []
    assert _dependencies(synth, "Callers") == ["Children"]
    assert _dependencies(synth, "Clients") == ["Children"]


def test_the_callers_stack_lets_the_childs_relay_resume_the_caller(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    policy = _policy(synth, orders, "ResumedByDurableEngine")

    # The relay's role, imported by ARN: its name is the last part of the ARN the child's stack exports.
    (role_name,) = policy["Roles"]
    assert "Fn::ImportValue" in json.dumps(role_name)
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [synth.logical_id(orders.function), "Arn"]}, ":*"]]},
        }
    ]
    alias = synth.resources[synth.logical_id(orders.alias)]
    assert synth.logical_id(orders.node.find_child("ResumedByDurableEngine")) in alias["DependsOn"]


def test_the_callers_grants_name_the_childs_resources_by_import(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    invokes = _policy(synth, orders, "InvokesRefunds")["PolicyDocument"]["Statement"]
    plain = _policy(synth, orders, "InvokesMailer")["PolicyDocument"]["Statement"]

    journal = next(s for s in invokes if "dynamodb:PutItem" in s["Action"])
    assert "Fn::ImportValue" in json.dumps(journal["Resource"])
    assert "Fn::ImportValue" in json.dumps(plain)


def test_a_client_in_a_third_stack_gets_its_environment_by_import(synth: Synthesized) -> None:
    variables = _template(synth, "clients")["Resources"]
    (api,) = [r for r in variables.values() if r["Type"] == "AWS::Lambda::Function"]
    environment = api["Properties"]["Environment"]["Variables"]

    assert set(environment) == {contract.ENV_JOURNAL_TABLE, contract.ENV_PAYLOAD_BUCKET}
    assert all("Fn::ImportValue" in json.dumps(value) for value in environment.values())
