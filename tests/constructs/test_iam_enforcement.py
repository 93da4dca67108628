"""Enforcing a template's IAM on the runtime's calls: whose policies, who is acting, and what a denial looks like."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from iam_enforcement import (
    EnforcementError,
    Enforcer,
    EnforcingPlan,
    Principal,
    Principals,
    attribute_invocations,
    role_policies,
)
from iam_policy import Policy, UnsupportedPolicyError
from iam_requests import Account, KeySchema

ACCOUNT = Account("us-west-2", "123456789012", {"journal": KeySchema("pk", "sk", {})})
TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/journal"
OWN_KEYS = "arn:aws:lambda:us-west-2:123456789012:function:orders/durable-execution/*"
VERSION = "2012-10-17"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def statement(action: str, resource: Any = TABLE, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def resolve(value: Any) -> Any:
    """A stand-in for the probe's resolver: the table's GetAtt Arn, nothing else."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if isinstance(value, dict):
        if value == {"Fn::GetAtt": ["Journal", "Arn"]}:
            return TABLE
        return {key: resolve(item) for key, item in value.items()}
    return value


# region whose policies
def test_a_roles_policies_are_its_inline_managed_and_attached_policies() -> None:
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Policies": [{"PolicyName": "inline", "PolicyDocument": document(statement("dynamodb:GetItem"))}],
                "ManagedPolicyArns": [{"Ref": "Managed"}],
            },
        },
        "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document(statement("a:B"))}},
        "Attached": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": document(statement("dynamodb:Query", {"Fn::GetAtt": ["Journal", "Arn"]})),
            },
        },
        "Elsewhere": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"Roles": [{"Ref": "Other"}], "PolicyDocument": document(statement("s3:*", "*"))},
        },
    }

    policies = role_policies(resources, "Role", resolve)

    actions = sorted(s.actions[0] for policy in policies for s in policy.statements)
    assert actions == ["a:B", "dynamodb:GetItem", "dynamodb:Query"]
    assert policies[-1].statements[0].resources == (TABLE,)


@pytest.mark.parametrize(
    ("resources", "complaint"),
    [
        (
            {"Role": {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/X"]}}},
            "not defined in the template",
        ),
        (
            {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                "P": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": ["role-name"], "PolicyDocument": {}}},
            },
            "other than by Ref",
        ),
        (
            {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                "P": {
                    "Type": "AWS::IAM::Policy",
                    "Properties": {
                        "Roles": [{"Ref": "Role"}],
                        "PolicyDocument": document(statement("s3:GetObject", {"Fn::ImportValue": "Bucket"})),
                    },
                },
            },
            "unresolved Fn::ImportValue",
        ),
    ],
)
def test_policies_it_cannot_read_exactly_are_refused(resources: dict[str, Any], complaint: str) -> None:
    with pytest.raises(UnsupportedPolicyError, match=complaint):
        role_policies(resources, "Role", resolve)


# endregion


# region who is acting
def principal(*statements: dict[str, Any], name: str = "Orders") -> Principal:
    return Principal(name, f"arn:aws:iam::123456789012:role/{name}", (Policy.parse(document(*statements)),))


def test_threads_act_as_the_thread_that_started_them() -> None:
    orders = principal()
    seen: dict[str, Principal | None] = {}

    def look(label: str) -> None:
        seen[label] = Principals.current()

    with Principals() as principals:
        with principals.acting_as(orders):
            inside = threading.Thread(target=look, args=("thread",))
            timer = threading.Timer(0.0, look, args=("timer",))
            inside.start()
            timer.start()
        after = threading.Thread(target=look, args=("after",))
        after.start()
        for thread in (inside, timer, after):
            thread.join()

    assert seen == {"thread": orders, "timer": orders, "after": None}


def test_each_local_invocation_acts_as_its_functions_role() -> None:
    orders, relay = principal(), principal(name="Relay")

    class FakeLambda:
        def invoke_on_worker(self, function: str, version: str, event: Any, request_id: str) -> tuple[bool, Any]:
            return False, Principals.current()

    local: Any = FakeLambda()
    with Principals() as principals:
        attribute_invocations(local, principals, {"orders": orders, "durable-outbox": relay})

        assert local.invoke_on_worker("orders", "1", {}, "r") == (False, orders)
        assert local.invoke_on_worker("durable-outbox", "1", {}, "r") == (False, relay)
        with pytest.raises(EnforcementError, match="refunds"):
            local.invoke_on_worker("refunds", "1", {}, "r")


# endregion


# region what a denial looks like
GET_ITEM: dict[str, Any] = {
    "TableName": "journal",
    "Key": {"pk": {"S": OWN_KEYS.replace("*", "run-1")}, "sk": {"S": "EXECUTION"}},
}


def enforcer_acting_as(acting: Principal | None) -> tuple[Enforcer, Any]:
    principals = Principals()
    enforcer = Enforcer(ACCOUNT, principals)
    return enforcer, principals.acting_as(acting)


def test_an_allowed_call_is_recorded_as_allowed() -> None:
    orders = principal(
        statement("dynamodb:GetItem", Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [OWN_KEYS]}})
    )
    enforcer, acting = enforcer_acting_as(orders)

    with acting:
        enforcer.check("dynamodb", "GetItem", GET_ITEM)

    assert enforcer.allowed == {"Orders": {f"dynamodb:GetItem {TABLE}"}}
    assert enforcer.denials == []


def test_a_denied_call_raises_what_aws_answers_and_is_recorded() -> None:
    from botocore.exceptions import ClientError

    enforcer, acting = enforcer_acting_as(principal(statement("dynamodb:Query")))

    with acting, pytest.raises(ClientError) as raised:
        enforcer.check("dynamodb", "GetItem", GET_ITEM)

    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem" in str(raised.value)
    ((denial),) = enforcer.denials
    assert (denial["principal"], denial["action"], denial["decision"]) == (
        "Orders",
        "dynamodb:GetItem",
        "implicit deny",
    )


def test_s3_answers_a_denial_with_its_own_code() -> None:
    from botocore.exceptions import ClientError

    enforcer, acting = enforcer_acting_as(principal(statement("dynamodb:Query")))

    with acting, pytest.raises(ClientError) as raised:
        enforcer.check("s3", "GetObject", {"Bucket": "payloads", "Key": "payloads/refunds/x"})

    assert raised.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("acting", "service", "operation", "complaint"),
    [
        (None, "dynamodb", "GetItem", "no principal"),
        (principal(statement("*", "*")), "dynamodb", "Scan", "no IAM mapping"),
    ],
)
def test_a_call_it_cannot_judge_fails_and_is_recorded(
    acting: Principal | None, service: str, operation: str, complaint: str
) -> None:
    enforcer, acting_block = enforcer_acting_as(acting)

    with acting_block, pytest.raises(EnforcementError, match=complaint):
        enforcer.check(service, operation, GET_ITEM)

    assert len(enforcer.failures) == 1


def test_the_plan_stops_a_denied_boto3_call_before_it_reaches_the_service() -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    with mock_aws(), Principals() as principals:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-west-2")
        setup = session.client("dynamodb")
        setup.create_table(
            TableName="journal",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        runtime = session.client("dynamodb")
        EnforcingPlan(enforcer=Enforcer(ACCOUNT, principals)).install(runtime, "dynamodb")

        with principals.acting_as(principal(statement("dynamodb:GetItem"))), pytest.raises(ClientError):
            runtime.put_item(TableName="journal", Item=GET_ITEM["Key"])

        assert setup.scan(TableName="journal")["Count"] == 0


# endregion
