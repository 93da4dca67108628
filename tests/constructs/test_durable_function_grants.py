"""DurableFunction grants: DurableClient's intents, clients, invoke across engines and stacks, imported functions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from durable_constructs import DurableEngine, DurableFunction, DurableFunctionBase, DurableValidationError
from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
PARTNER_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:partner"


def _plain(scope: cdk.Stack, id: str) -> lambda_.Function:
    """An ordinary function with a role of its own and no finding of its own."""
    role = iam.Role(scope, f"{id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    return lambda_.Function(
        scope, id, handler="index.handler", code=CODE, runtime=lambda_.Runtime.PYTHON_3_14, role=role
    )


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(app, "Shop")
    orders = DurableFunction(stack, "Orders", handler="index.handler", code=CODE)
    # A second engine in the same stack, with a customer managed key.
    key = kms.Key(stack, "BillingKey", enable_key_rotation=True)
    billing = DurableEngine(stack, "Billing", encryption_key=key)
    invoices = DurableFunction(stack, "Invoices", handler="index.handler", code=CODE, engine=billing)
    mailer, api = _plain(stack, "Mailer"), _plain(stack, "Api")
    stopper = iam.Role(stack, "Stopper", assumed_by=iam.AccountRootPrincipal())
    completer = iam.Role(stack, "Completer", assumed_by=iam.AccountRootPrincipal())
    partner_starter = iam.Role(stack, "PartnerStarter", assumed_by=iam.AccountRootPrincipal())
    partner = DurableFunction.from_function_attributes(
        stack,
        "Partner",
        function_arn=PARTNER_ARN,
        journal_table_arn="arn:aws:dynamodb:eu-west-1:111122223333:table/partner-journal",
        payload_bucket_arn="arn:aws:s3:::partner-payloads",
        outbox_relay_role_arn="arn:aws:iam::111122223333:role/partner-relay",
    )
    grants = {
        "invoke_grant": invoices.grant_invoke(orders),
        "invoke_again": invoices.grant_invoke(orders),
        "via_plain": orders.grant_invoke_plain(invoices.function),
        "plain_grant": orders.grant_invoke_plain(mailer),
        "client_grant": orders.grant_client(api, stop=True, callbacks=True),
        "partner_grant": partner.grant_invoke(orders),
    }
    orders.grant_stop_execution(stopper)
    orders.grant_complete_callbacks(completer)
    partner.grant_start_execution(partner_starter)
    objects = {"orders": orders, "invoices": invoices, "mailer": mailer, "api": api, "partner": partner}
    return stack, {
        **objects,
        **grants,
        "stopper": stopper,
        "completer": completer,
        "key": key,
        "partner_starter": partner_starter,
    }


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("grants"), _build)


def _props(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]["Properties"]


def _ref(synth: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synth.logical_id(construct)}


def _arn(synth: Synthesized, construct: Any) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


def _versions(synth: Synthesized, function: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", [_arn(synth, function), ":*"]]}


def _keys(synth: Synthesized, durable: DurableFunction) -> dict[str, Any]:
    return synth.stack.resolve(durable.journal_key_pattern)


def _prefix(synth: Synthesized, durable: DurableFunction) -> dict[str, Any]:
    bucket = durable.engine.payload_bucket
    return {"Fn::Join": ["", [_arn(synth, bucket), "/payloads/", _ref(synth, durable.function), "/*"]]}


def _statements(synth: Synthesized, role: Any) -> list[dict[str, Any]]:
    role_ref = _ref(synth, role)
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _by_actions(statements: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    def actions(statement: dict[str, Any]) -> tuple[str, ...]:
        value = statement["Action"]
        return tuple(sorted([value] if isinstance(value, str) else value))

    return {actions(statement): statement for statement in statements}


def _leading_keys(statement: dict[str, Any]) -> list[Any]:
    return statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]


# region DurableClient's intents
def test_grant_stop_execution_reads_and_closes_own_executions(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    statements = _by_actions(_statements(synth, synth.objects["stopper"]))

    journal = statements[("dynamodb:GetItem", "dynamodb:UpdateItem")]
    assert (journal["Resource"], _leading_keys(journal)) == (_arn(synth, orders.engine.journal), [_keys(synth, orders)])
    # A stop error too large for the execution record goes to the payload bucket.
    assert statements[("s3:PutObject",)]["Resource"] == _prefix(synth, orders)
    assert len(statements) == 2


def test_grant_complete_callbacks_reads_then_updates_only_operation_attributes(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    statements = _by_actions(_statements(synth, synth.objects["completer"]))

    reads = statements[("dynamodb:GetItem", "dynamodb:Query")]
    assert _leading_keys(reads) == [_keys(synth, orders)]
    update = statements[("dynamodb:UpdateItem",)]
    assert _leading_keys(update) == [_keys(synth, orders)]
    assert update["Condition"]["ForAllValues:StringEquals"] == {
        "dynamodb:Attributes": list(contract.OPERATION_RECORD_ATTRIBUTES)
    }
    assert statements[("s3:PutObject",)]["Resource"] == _prefix(synth, orders)


def test_grant_client_sets_the_environment_and_grants_the_chosen_intents(synth: Synthesized) -> None:
    orders, api = synth.objects["orders"], synth.objects["api"]
    variables = _props(synth, api)["Environment"]["Variables"]
    statements = _statements(synth, api.role)

    assert variables == {
        contract.ENV_JOURNAL_TABLE: _ref(synth, orders.engine.journal),
        contract.ENV_PAYLOAD_BUCKET: _ref(synth, orders.engine.payload_bucket),
    }
    actions = {action for statement in statements for action in json.dumps(statement["Action"]).split('"')}
    # start, read, stop and callbacks: resolve, record, read, list, close, complete; never invoke.
    assert {"lambda:GetFunction", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"} <= actions
    assert {"s3:GetObject", "s3:PutObject"} <= actions
    assert "lambda:InvokeFunction" not in actions
    assert synth.objects["client_grant"].success


def test_grant_client_refuses_a_client_of_two_engines_and_an_empty_grant() -> None:
    stack = cdk.Stack(cdk.App(), "Clients")
    one = DurableFunction(stack, "One", handler="index.handler", code=CODE, engine=DurableEngine(stack, "A"))
    two = DurableFunction(stack, "Two", handler="index.handler", code=CODE, engine=DurableEngine(stack, "B"))
    client = _plain(stack, "Client")
    one.grant_client(client)
    one.grant_client(client, read=False, stop=True)  # the same engine again: fine

    with pytest.raises(DurableValidationError, match=f"already has {contract.ENV_JOURNAL_TABLE} set"):
        two.grant_client(client)
    with pytest.raises(DurableValidationError, match="grants nothing"):
        one.grant_client(client, start=False, read=False)


# endregion


# region context.invoke
def test_grant_invoke_across_engines_uses_the_childs_journal_bucket_and_key(synth: Synthesized) -> None:
    orders, invoices, key = synth.objects["orders"], synth.objects["invoices"], synth.objects["key"]
    policy = orders.node.find_child("InvokesInvoices")
    statements = _by_actions(_props(synth, policy)["PolicyDocument"]["Statement"])

    journal = statements[("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")]
    assert journal["Resource"] == _arn(synth, invoices.engine.journal)
    assert _leading_keys(journal) == [_keys(synth, invoices)]
    assert statements[("s3:GetObject",)]["Resource"] == _prefix(synth, invoices)
    kms_use = statements[("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")]
    assert kms_use["Resource"] == _arn(synth, key)
    assert statements[("lambda:GetFunction",)]["Resource"] == [
        _arn(synth, invoices.function),
        _versions(synth, invoices.function),
    ]


def test_grant_invoke_across_engines_lets_the_childs_relay_resume_the_caller(synth: Synthesized) -> None:
    orders, invoices = synth.objects["orders"], synth.objects["invoices"]
    relay = _by_actions(_statements(synth, invoices.engine.outbox_relay.role))

    resumed = relay[("lambda:InvokeFunction",)]["Resource"]
    assert _versions(synth, orders.function) in resumed
    assert _versions(synth, invoices.function) in resumed


def test_grant_invoke_returns_one_grant_per_target(synth: Synthesized) -> None:
    objects = synth.objects

    assert isinstance(objects["invoke_grant"], iam.Grant)
    assert objects["invoke_grant"].success
    # Asking again, or through the durable target's plain function, gives the same grant and no second policy.
    assert objects["invoke_again"] is objects["invoke_grant"]
    assert objects["via_plain"] is objects["invoke_grant"]
    assert [c.node.id for c in objects["orders"].node.children if c.node.id.startswith("Invokes")] == [
        "InvokesInvoices",
        "InvokesMailer",
        "InvokesPartner",
    ]


def test_grant_invoke_plain_resolves_and_invokes_the_targets_versions(synth: Synthesized) -> None:
    orders, mailer = synth.objects["orders"], synth.objects["mailer"]
    statements = _props(synth, orders.node.find_child("InvokesMailer"))["PolicyDocument"]["Statement"]

    assert statements == [
        {
            "Action": "lambda:GetFunction",
            "Effect": "Allow",
            "Resource": [_arn(synth, mailer), _versions(synth, mailer)],
        },
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _versions(synth, mailer)},
    ]
    assert synth.objects["plain_grant"].success
    depends_on = synth.resources[synth.logical_id(orders.alias)]["DependsOn"]
    assert synth.logical_id(orders.node.find_child("InvokesMailer")) in depends_on


# endregion


# region imported durable functions
def test_imported_function_grants_on_its_arns(synth: Synthesized) -> None:
    partner = synth.objects["partner"]
    statements = _by_actions(_statements(synth, synth.objects["partner_starter"]))

    assert isinstance(partner, DurableFunctionBase)
    journal = statements[("dynamodb:GetItem", "dynamodb:PutItem")]
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/partner-journal"
    assert (journal["Resource"], _leading_keys(journal)) == (table, [f"{PARTNER_ARN}/durable-execution/*"])
    assert statements[("lambda:GetFunction",)]["Resource"] == [PARTNER_ARN, f"{PARTNER_ARN}:*"]


def test_imported_function_resumes_its_callers_through_its_relay_role(synth: Synthesized) -> None:
    orders = synth.objects["orders"]
    policy = _props(synth, orders.node.find_child("ResumedByPartner"))

    assert policy["Roles"] == ["partner-relay"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _versions(synth, orders.function)}
    ]
    invokes = _by_actions(_props(synth, orders.node.find_child("InvokesPartner"))["PolicyDocument"]["Statement"])
    assert invokes[("s3:GetObject",)]["Resource"] == "arn:aws:s3:::partner-payloads/payloads/partner/*"


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"function_arn": f"{PARTNER_ARN}:live"}, r"function_arn is .*partner:live'.*no version or alias"),
        ({"journal_table_arn": "partner-journal"}, r"journal_table_arn is 'partner-journal'.*table/<name>"),
        ({"payload_bucket_arn": "partner-payloads"}, r"payload_bucket_arn is 'partner-payloads'.*s3:::<name>"),
    ],
)
def test_import_refuses_malformed_arns(attributes: dict[str, str], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Imports")
    valid = {
        "function_arn": PARTNER_ARN,
        "journal_table_arn": "arn:aws:dynamodb:eu-west-1:111122223333:table/partner-journal",
        "payload_bucket_arn": "arn:aws:s3:::partner-payloads",
    }

    with pytest.raises(DurableValidationError, match=message):
        DurableFunction.from_function_attributes(stack, "Partner", **{**valid, **attributes})


def test_invoking_an_import_without_its_relay_role_fails_with_the_fix() -> None:
    stack = cdk.Stack(cdk.App(), "Imports")
    caller = DurableFunction(stack, "Caller", handler="index.handler", code=CODE)
    partner = DurableFunction.from_function_attributes(
        stack,
        "Partner",
        function_arn=PARTNER_ARN,
        journal_table_arn="arn:aws:dynamodb:eu-west-1:111122223333:table/partner-journal",
        payload_bucket_arn="arn:aws:s3:::partner-payloads",
    )

    with pytest.raises(DurableValidationError, match=r"without outbox_relay_role_arn.*engine\.outbox_relay\.role"):
        partner.grant_invoke(caller)


# endregion
