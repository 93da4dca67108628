"""An engine in a stack of its own: its functions live in other stacks, or in other apps through an import.

The engine's stack must never name its functions (a dependency cycle, or an engine that changes whenever a
function is added elsewhere): each function's stack holds the policy that lets the engine's relay resume it.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from durable_constructs import DurableEngine, DurableFunction
from durable_constructs._validation import DurableValidationError
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


def _imported_engine(scope: cdk.Stack, payload_lifetime_days: Any = 30) -> Any:
    """An engine of another app, known by the values its stack exports."""
    return DurableEngine.from_engine_attributes(
        scope,
        "SharedEngine",
        **{
            name: cdk.Fn.import_value(f"shared-{name}")
            for name in _attribute_names()
            if name != "payload_lifetime_days"
        },
        payload_lifetime_days=payload_lifetime_days,
    )


def _attribute_names() -> list[str]:
    parameters = inspect.signature(DurableEngine.from_engine_attributes).parameters.values()
    return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    platform = cdk.Stack(app, "Platform")
    engine = DurableEngine(platform, "Engine")
    for name, value in engine.export_attributes().items():
        cdk.CfnOutput(platform, name, value=value)

    workflows = cdk.Stack(app, "Workflows")
    orders = DurableFunction(workflows, "Orders", handler="index.handler", code=CODE, engine=engine)
    refunds = DurableFunction(workflows, "Refunds", handler="index.handler", code=CODE, engine=engine)
    refunds.grant_invoke(orders)

    partner = cdk.Stack(app, "Partner")
    shared = _imported_engine(partner)
    invoices = DurableFunction(
        partner, "Invoices", handler="index.handler", code=CODE, engine=shared, retention=cdk.Duration.days(7)
    )
    objects = {"platform": platform, "workflows": workflows, "partner": partner}
    return workflows, {**objects, "engine": engine, "orders": orders, "refunds": refunds, "invoices": invoices}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("engine-stacks"), _build)


def _template(synth: Synthesized, name: str) -> dict[str, Any]:
    stack = synth.objects[name]
    return json.loads((synth.outdir / f"{stack.artifact_id}.template.json").read_text())


def _dependencies(synth: Synthesized, artifact: str) -> list[str]:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    return sorted(d for d in manifest["artifacts"][artifact].get("dependencies", []) if not d.endswith(".assets"))


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_the_engines_stack_names_none_of_its_functions(synth: Synthesized) -> None:
    platform = _template(synth, "platform")

    assert "Fn::ImportValue" not in json.dumps(platform)
    assert _dependencies(synth, "Platform") == []
    assert _dependencies(synth, "Workflows") == ["Platform"]
    # With no function of its own stack, the relay has no resume policy at all (CloudFormation refuses empty ones).
    assert _resources(platform, "AWS::IAM::Policy") == [
        p for p in _resources(platform, "AWS::IAM::Policy") if "lambda:InvokeFunction" not in json.dumps(p)
    ]


def test_each_function_lets_the_engines_relay_resume_it_from_its_own_stack(synth: Synthesized) -> None:
    workflows = _template(synth, "workflows")
    for name in ("orders", "refunds"):
        function = synth.objects[name]
        policy = function.node.find_child("ResumedByEngine")
        properties = synth.resources[synth.logical_id(policy)]["Properties"]

        (role,) = properties["Roles"]
        assert "Fn::ImportValue" in json.dumps(role)
        (statement,) = properties["PolicyDocument"]["Statement"]
        assert statement["Action"] == "lambda:InvokeFunction"
        assert statement["Resource"] == {
            "Fn::Join": ["", [{"Fn::GetAtt": [synth.logical_id(function.function), "Arn"]}, ":*"]]
        }
        # The alias, which is what starts executions, waits for the permission.
        assert synth.logical_id(policy) in synth.resources[synth.logical_id(function.alias)]["DependsOn"]
    # grant_invoke between two functions of the same engine adds no second resume policy.
    assert len([p for p in _resources(workflows, "AWS::IAM::Policy") if "ResumedBy" in json.dumps(p)]) <= 2
    assert synth.objects["orders"].node.try_find_child("ResumedByEngine2") is None


def test_a_function_on_an_imported_engine_uses_its_resources_by_import(synth: Synthesized) -> None:
    partner = _template(synth, "partner")
    (function,) = [
        r
        for r in _resources(partner, "AWS::Lambda::Function")
        if contract.ENV_JOURNAL_TABLE in r["Properties"].get("Environment", {}).get("Variables", {})
    ]
    variables = function["Properties"]["Environment"]["Variables"]

    assert "shared-journal_table_arn" in json.dumps(variables[contract.ENV_JOURNAL_TABLE])
    assert "shared-payload_bucket_arn" in json.dumps(variables[contract.ENV_PAYLOAD_BUCKET])
    assert "shared-callback_api_id" in json.dumps(variables[contract.ENV_CALLBACK_BASE_URL])
    assert "shared-runtime_layer_arn" in json.dumps(function["Properties"]["Layers"])
    resume = [p for p in _resources(partner, "AWS::IAM::Policy") if "shared-outbox_relay_role_arn" in json.dumps(p)]
    assert len(resume) == 1 and "lambda:InvokeFunction" in json.dumps(resume[0])


def test_the_engines_exports_are_exactly_what_the_import_takes(synth: Synthesized) -> None:
    outputs = {
        key.lower(): output["Value"]
        for key, output in _template(synth, "platform")["Outputs"].items()
        if not key.startswith("ExportsOutput")  # the CDK's own exports for the Workflows stack
    }

    assert {name.replace("_", "") for name in _attribute_names()} == set(outputs)
    # Sized for the functions deployed with it: a day's execution timeout plus 14 days' retention.
    assert outputs["payloadlifetimedays"] == "15"


def test_a_function_outliving_the_imported_engines_payloads_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Partner")
    shared = _imported_engine(stack, payload_lifetime_days=10)

    with pytest.raises(DurableValidationError, match=r"up to 30 days.*keeps its records 14 days.*payloads 10 days"):
        DurableFunction(
            stack, "Slow", handler="index.handler", code=CODE, engine=shared, execution_timeout=cdk.Duration.days(30)
        )
