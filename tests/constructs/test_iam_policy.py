"""The IAM evaluator the agreement probe enforces templates with: IAM's rules, on the subset Durable Kit uses."""

from __future__ import annotations

from typing import Any

import pytest
from iam_policy import Decision, Policy, Request, UnsupportedPolicyError, arn_like, evaluate

TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/journal"
KEYS = "arn:aws:lambda:us-west-2:123456789012:function:orders/durable-execution/*"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any = "dynamodb:GetItem", resource: Any = TABLE, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def decide(statements: list[dict[str, Any]], action: str, resource: str = TABLE, /, **context: Any) -> Decision:
    return evaluate([policy(*statements)], Request(action, resource, context))


# region actions, resources, effects
def test_allows_a_listed_action_on_a_listed_resource() -> None:
    assert decide([allow()], "dynamodb:GetItem") is Decision.ALLOW


def test_nothing_allowed_is_an_implicit_deny() -> None:
    assert decide([allow()], "dynamodb:PutItem") is Decision.IMPLICIT_DENY
    assert evaluate([], Request("dynamodb:GetItem", TABLE)) is Decision.IMPLICIT_DENY


def test_action_names_match_case_insensitively_and_with_wildcards() -> None:
    assert decide([allow("DynamoDB:getitem")], "dynamodb:GetItem") is Decision.ALLOW
    assert decide([allow("dynamodb:Get*")], "dynamodb:GetItem") is Decision.ALLOW
    assert decide([allow("dynamodb:?etItem")], "dynamodb:GetItem") is Decision.ALLOW
    assert decide([allow("dynamodb:Get*")], "dynamodb:PutItem") is Decision.IMPLICIT_DENY


def test_not_action_applies_to_every_other_action() -> None:
    statement = {"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE}

    assert decide([statement], "dynamodb:PutItem") is Decision.ALLOW
    assert decide([statement], "dynamodb:DeleteItem") is Decision.IMPLICIT_DENY


def test_an_applicable_deny_wins_over_any_allow() -> None:
    deny = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}

    assert decide([allow(), deny], "dynamodb:GetItem") is Decision.EXPLICIT_DENY
    assert decide([deny, allow()], "dynamodb:GetItem") is Decision.EXPLICIT_DENY


def test_a_deny_whose_condition_fails_does_not_apply() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    statements = [allow("s3:GetObject", "arn:aws:s3:::bucket/*"), deny]

    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::bucket/k", **{"aws:SecureTransport": True}) is Decision.ALLOW
    )
    denied = decide(statements, "s3:GetObject", "arn:aws:s3:::bucket/k", **{"aws:SecureTransport": False})
    assert denied is Decision.EXPLICIT_DENY


def test_resource_wildcards_stay_within_their_arn_part() -> None:
    versions = "arn:aws:lambda:us-west-2:123456789012:function:orders:*"

    assert arn_like(versions, "arn:aws:lambda:us-west-2:123456789012:function:orders:7")
    assert not arn_like(versions, "arn:aws:lambda:us-west-2:123456789012:function:orders")
    assert not arn_like(versions, "arn:aws:lambda:us-west-2:123456789012:function:orders-two:7")
    assert arn_like("arn:aws:s3:::bucket/payloads/orders/*", "arn:aws:s3:::bucket/payloads/orders/a/b/result")
    assert not arn_like("arn:aws:s3:::bucket/payloads/orders/*", "arn:aws:s3:::bucket/payloads/refunds/a")
    # A `*` in the region part cannot swallow the account part too.
    assert not arn_like("arn:aws:dynamodb:*:table/journal", TABLE)
    assert arn_like("arn:aws:dynamodb:*:*:table/journal", TABLE)
    assert arn_like("arn:aws:dynamodb:us-west-?:123456789012:table/journal", TABLE)
    assert arn_like("*", TABLE)


def test_an_index_is_not_its_table() -> None:
    index = f"{TABLE}/index/by-function"

    assert decide([allow("dynamodb:Query")], "dynamodb:Query", index) is Decision.IMPLICIT_DENY
    assert decide([allow("dynamodb:Query", f"{TABLE}/index/*")], "dynamodb:Query", index) is Decision.ALLOW


def test_not_resource_applies_to_every_other_resource() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}

    assert decide([statement], "s3:GetObject", "arn:aws:s3:::bucket/a") is Decision.ALLOW
    assert decide([statement], "s3:GetObject", "arn:aws:s3:::secret/a") is Decision.IMPLICIT_DENY


# endregion


# region conditions
LEADING = allow(
    ["dynamodb:GetItem", "dynamodb:Query"], Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [KEYS]}}
)


def test_for_all_values_needs_every_request_value_to_match() -> None:
    own = KEYS.replace("*", "run-1")
    other = own.replace("orders", "refunds")

    assert decide([LEADING], "dynamodb:GetItem", **{"dynamodb:LeadingKeys": [own]}) is Decision.ALLOW
    assert decide([LEADING], "dynamodb:GetItem", **{"dynamodb:LeadingKeys": [other]}) is Decision.IMPLICIT_DENY
    assert decide([LEADING], "dynamodb:GetItem", **{"dynamodb:LeadingKeys": [own, other]}) is Decision.IMPLICIT_DENY


def test_for_all_values_holds_over_a_missing_or_empty_key() -> None:
    # IAM's rule, and why a LeadingKeys grant must never include Scan: a Scan has no partition key to check.
    assert decide([LEADING], "dynamodb:Query") is Decision.ALLOW
    assert decide([LEADING], "dynamodb:Query", **{"dynamodb:LeadingKeys": []}) is Decision.ALLOW


def test_for_any_value_needs_one_match_and_fails_over_a_missing_key() -> None:
    statement = allow(Condition={"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["pk"]}})

    assert decide([statement], "dynamodb:GetItem", **{"dynamodb:Attributes": ["pk", "x"]}) is Decision.ALLOW
    assert decide([statement], "dynamodb:GetItem", **{"dynamodb:Attributes": ["x"]}) is Decision.IMPLICIT_DENY
    assert decide([statement], "dynamodb:GetItem") is Decision.IMPLICIT_DENY


def test_only_attributes_refuses_a_request_naming_another_attribute() -> None:
    statement = allow(
        "dynamodb:UpdateItem", Condition={"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "st"]}}
    )

    assert decide([statement], "dynamodb:UpdateItem", **{"dynamodb:Attributes": ["pk", "sk", "st"]}) is Decision.ALLOW
    denied = decide([statement], "dynamodb:UpdateItem", **{"dynamodb:Attributes": ["pk", "sk", "lease"]})
    assert denied is Decision.IMPLICIT_DENY


def test_a_plain_operator_is_false_when_the_key_is_missing_unless_if_exists() -> None:
    strict = allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}})
    lenient = allow("iam:PassRole", "*", Condition={"StringEqualsIfExists": {"iam:PassedToService": "x"}})

    assert decide([strict], "iam:PassRole", "arn:aws:iam::1:role/r") is Decision.IMPLICIT_DENY
    assert decide([lenient], "iam:PassRole", "arn:aws:iam::1:role/r") is Decision.ALLOW
    assert decide([lenient], "iam:PassRole", "arn:aws:iam::1:role/r", **{"iam:PassedToService": "y"}) is (
        Decision.IMPLICIT_DENY
    )


def test_string_equals_is_exact_and_values_are_alternatives() -> None:
    statement = allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": ["a.com", "b.com"]}})

    assert decide([statement], "iam:PassRole", "*", **{"iam:PassedToService": "b.com"}) is Decision.ALLOW
    assert decide([statement], "iam:PassRole", "*", **{"iam:PassedToService": "B.com"}) is Decision.IMPLICIT_DENY
    assert decide([statement], "iam:PassRole", "*", **{"iam:PassedToService": "*.com"}) is Decision.IMPLICIT_DENY


def test_condition_key_names_are_case_insensitive() -> None:
    statement = allow("iam:PassRole", "*", Condition={"StringEquals": {"IAM:passedToService": "a.com"}})

    assert decide([statement], "iam:PassRole", "*", **{"iam:PassedToService": "a.com"}) is Decision.ALLOW


def test_every_operator_and_every_key_must_hold() -> None:
    statement = allow(
        "dynamodb:UpdateItem",
        Condition={
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [KEYS]},
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "st"]},
        },
    )
    own = [KEYS.replace("*", "run-1")]

    context = {"dynamodb:LeadingKeys": own, "dynamodb:Attributes": ["pk", "st"]}
    assert decide([statement], "dynamodb:UpdateItem", **context) is Decision.ALLOW
    context = {"dynamodb:LeadingKeys": own, "dynamodb:Attributes": ["pk", "lo"]}
    assert decide([statement], "dynamodb:UpdateItem", **context) is Decision.IMPLICIT_DENY


def test_arn_like_condition_matches_part_by_part() -> None:
    statement = allow(
        "sqs:SendMessage", "*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:o*"}}
    )

    context = {"aws:SourceArn": "arn:aws:lambda:us-west-2:1:function:orders"}
    assert decide([statement], "sqs:SendMessage", "*", **context) is Decision.ALLOW
    context = {"aws:SourceArn": "arn:aws:sqs:us-west-2:1:orders"}
    assert decide([statement], "sqs:SendMessage", "*", **context) is Decision.IMPLICIT_DENY


# endregion


# region what the evaluator refuses to guess
@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"Version": "2008-10-17", "Statement": []}, "Version"),
        ({"Version": "2012-10-17", "Statement": [{**allow(), "Principal": "*"}]}, "Principal"),
        ({"Version": "2012-10-17", "Statement": [allow(Condition={"NumericLessThan": {"k": "1"}})]}, "operator"),
        ({"Version": "2012-10-17", "Statement": [allow(Condition={"StringNotEquals": {"k": "1"}})]}, "operator"),
        ({"Version": "2012-10-17", "Statement": [allow(Condition={"ForSome:StringLike": {"k": "1"}})]}, "set"),
        ({"Version": "2012-10-17", "Statement": [allow(resource="arn:aws:s3:::b/${aws:username}")]}, "variable"),
        ({"Version": "2012-10-17", "Statement": [allow(resource={"Fn::GetAtt": ["T", "Arn"]})]}, "strings"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, "Resource"),
    ],
)
def test_refuses_what_it_cannot_evaluate_exactly(document: dict[str, Any], complaint: str) -> None:
    with pytest.raises(UnsupportedPolicyError, match=complaint):
        Policy.parse(document)


def test_refuses_a_plain_operator_on_a_multi_valued_key() -> None:
    statement = allow(Condition={"StringLike": {"dynamodb:LeadingKeys": KEYS}})

    with pytest.raises(UnsupportedPolicyError, match="ForAllValues"):
        decide([statement], "dynamodb:GetItem", **{"dynamodb:LeadingKeys": ["a"]})


# endregion
