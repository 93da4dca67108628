"""Lambda event filtering as the local event source mappings apply it: every operator and documented edge."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from durable_runtime import contract
from durable_runtime.testing.filters import (
    matches,
    matches_any,
    sqs_filter_view,
    validate_dynamodb_pattern,
    validate_pattern,
)

WAKE_EXISTS = {"dynamodb": {"NewImage": {"wake": {"S": [{"exists": True}]}}}}


def _stream_record(new_image: dict[str, Any] | None, event_name: str = "MODIFY") -> dict[str, Any]:
    """A DynamoDB stream record (NEW_IMAGE view); a REMOVE record has no new image."""
    dynamodb: dict[str, Any] = {
        "Keys": {"pk": {"S": "EXEC#1"}, "sk": {"S": "EXEC"}},
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    return {"eventID": "1", "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


WITH_WAKE = _stream_record({"pk": {"S": "EXEC#1"}, "wake": {"S": '{"DurableKit": {}}'}})
WITHOUT_WAKE = _stream_record({"pk": {"S": "EXEC#1"}, "status": {"S": "RUNNING"}})

# (pattern, event, expected): each id names the rule it pins down.
MATCH_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    # Structure: nested keys AND, leaf values OR, unnamed fields ignored, named fields required.
    "string equal": ({"a": ["x"]}, {"a": "x"}, True),
    "string differs": ({"a": ["x"]}, {"a": "y"}, False),
    "string is case sensitive": ({"a": ["X"]}, {"a": "x"}, False),
    "leaf values are ORed": ({"a": ["x", "y"]}, {"a": "y"}, True),
    "keys are ANDed, one fails": ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),
    "keys are ANDed, all hold": ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "y"}, True),
    "fields outside the pattern are ignored": ({"a": ["x"]}, {"a": "x", "b": 1, "c": {"d": 2}}, True),
    "named field absent": ({"a": ["x"]}, {"b": "x"}, False),
    "nested field": ({"a": {"b": ["x"]}}, {"a": {"b": "x", "c": "y"}}, True),
    "nested field absent": ({"a": {"b": ["x"]}}, {"a": {"c": "x"}}, False),
    "nested parent absent": ({"a": {"b": ["x"]}}, {}, False),
    "nested parent is a scalar": ({"a": {"b": ["x"]}}, {"a": "x"}, False),
    "leaf rule on an object value": ({"a": ["x"]}, {"a": {"x": "x"}}, False),
    # Types: exact JSON match, numbers by their text (300 is not 300.0), null is not "".
    "int equal": ({"n": [1]}, {"n": 1}, True),
    "int is not float": ({"n": [300]}, {"n": 300.0}, False),
    "float equal": ({"n": [2.5]}, {"n": 2.5}, True),
    "string pattern, number value": ({"n": ["1"]}, {"n": 1}, False),
    "number pattern, string value": ({"n": [1]}, {"n": "1"}, False),
    "true equal": ({"b": [True]}, {"b": True}, True),
    "true is not 1": ({"b": [True]}, {"b": 1}, False),
    "1 is not true": ({"b": [1]}, {"b": True}, False),
    "false is not 0": ({"b": [False]}, {"b": 0}, False),
    "null equal": ({"a": [None]}, {"a": None}, True),
    "null is not empty string": ({"a": [None]}, {"a": ""}, False),
    "empty string is not null": ({"a": [""]}, {"a": None}, False),
    "empty string equal": ({"a": [""]}, {"a": ""}, True),
    "absent is not null": ({"a": [None]}, {}, False),
    # Arrays in the record: any element may match.
    "array, one element matches": ({"a": ["x"]}, {"a": ["y", "x"]}, True),
    "array, no element matches": ({"a": ["x"]}, {"a": ["y", "z"]}, False),
    "empty array": ({"a": ["x"]}, {"a": []}, False),
    "array of objects": ({"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"b": "x"}]}, True),
    "array of objects, one element must hold all": (
        {"a": {"b": ["1"], "c": ["2"]}},
        {"a": [{"b": "1"}, {"c": "2"}]},
        False,
    ),
    "array of objects, same element": ({"a": {"b": ["1"], "c": ["2"]}}, {"a": [{"b": "1", "c": "2"}]}, True),
    # prefix / suffix / equals-ignore-case: strings only.
    "prefix": ({"r": [{"prefix": "us-"}]}, {"r": "us-east-1"}, True),
    "prefix differs": ({"r": [{"prefix": "us-"}]}, {"r": "eu-west-1"}, False),
    "prefix is case sensitive": ({"r": [{"prefix": "us-"}]}, {"r": "US-EAST-1"}, False),
    "prefix on a number": ({"r": [{"prefix": "1"}]}, {"r": 12}, False),
    "prefix in an array": ({"r": [{"prefix": "us-"}]}, {"r": ["eu-west-1", "us-west-2"]}, True),
    "prefix absent": ({"r": [{"prefix": "us-"}]}, {}, False),
    "prefix ignoring case": ({"r": [{"prefix": {"equals-ignore-case": "US-"}}]}, {"r": "us-east-1"}, True),
    "suffix": ({"f": [{"suffix": ".png"}]}, {"f": "a.png"}, True),
    "suffix differs": ({"f": [{"suffix": ".png"}]}, {"f": "a.jpg"}, False),
    "suffix is case sensitive": ({"f": [{"suffix": ".png"}]}, {"f": "a.PNG"}, False),
    "suffix ignoring case": ({"f": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"f": "a.PNG"}, True),
    "equals-ignore-case": ({"n": [{"equals-ignore-case": "alice"}]}, {"n": "ALICE"}, True),
    "equals-ignore-case differs": ({"n": [{"equals-ignore-case": "alice"}]}, {"n": "alicia"}, False),
    "equals-ignore-case on a number": ({"n": [{"equals-ignore-case": "1"}]}, {"n": 1}, False),
    # anything-but: a value must be present; it matches any leaf the exclusion does not.
    "anything-but string, other value": ({"s": [{"anything-but": "init"}]}, {"s": "running"}, True),
    "anything-but string, excluded value": ({"s": [{"anything-but": "init"}]}, {"s": "init"}, False),
    "anything-but, field absent": ({"s": [{"anything-but": "init"}]}, {}, False),
    "anything-but, value of another type": ({"s": [{"anything-but": "1"}]}, {"s": 1}, True),
    "anything-but list, other value": ({"s": [{"anything-but": ["a", "b"]}]}, {"s": "c"}, True),
    "anything-but list, excluded value": ({"s": [{"anything-but": ["a", "b"]}]}, {"s": "b"}, False),
    "anything-but number, excluded value": ({"x": [{"anything-but": [100, 200]}]}, {"x": 200}, False),
    "anything-but number, other value": ({"x": [{"anything-but": 100}]}, {"x": 101}, True),
    "anything-but, array with another value": ({"s": [{"anything-but": "a"}]}, {"s": ["a", "b"]}, True),
    "anything-but, array of excluded values": ({"s": [{"anything-but": "a"}]}, {"s": ["a", "a"]}, False),
    "anything-but prefix, excluded": ({"s": [{"anything-but": {"prefix": "init"}}]}, {"s": "initializing"}, False),
    "anything-but prefix, other": ({"s": [{"anything-but": {"prefix": "init"}}]}, {"s": "running"}, True),
    "anything-but suffix, excluded": ({"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.png"}, False),
    "anything-but suffix, other": ({"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.jpg"}, True),
    "anything-but ignoring case, excluded": (
        {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]},
        {"s": "B"},
        False,
    ),
    "anything-but ignoring case, other": ({"s": [{"anything-but": {"equals-ignore-case": "a"}}]}, {"s": "c"}, True),
    # numeric: JSON numbers only, compared as values.
    "numeric range, inside": ({"p": [{"numeric": [">", 0, "<=", 5]}]}, {"p": 5}, True),
    "numeric range, lower bound excluded": ({"p": [{"numeric": [">", 0, "<=", 5]}]}, {"p": 0}, False),
    "numeric range, above": ({"p": [{"numeric": [">", 0, "<=", 5]}]}, {"p": 5.5}, False),
    "numeric >=": ({"p": [{"numeric": [">=", 10]}]}, {"p": 10}, True),
    "numeric <": ({"p": [{"numeric": ["<", 10]}]}, {"p": 9.99}, True),
    "numeric < at the bound": ({"p": [{"numeric": ["<", 10]}]}, {"p": 10}, False),
    "numeric = compares values": ({"p": [{"numeric": ["=", 300]}]}, {"p": 300.0}, True),
    "numeric on a numeric string": ({"p": [{"numeric": [">", 1]}]}, {"p": "5"}, False),
    "numeric on a boolean": ({"p": [{"numeric": ["=", 1]}]}, {"p": True}, False),
    "numeric in an array": ({"p": [{"numeric": [">", 10]}]}, {"p": [1, 20]}, True),
    # exists: leaves only; an object, an empty array or an absent parent is no leaf.
    "exists true, present": ({"a": [{"exists": True}]}, {"a": "x"}, True),
    "exists true, present empty string": ({"a": [{"exists": True}]}, {"a": ""}, True),
    "exists true, present null": ({"a": [{"exists": True}]}, {"a": None}, True),
    "exists true, absent": ({"a": [{"exists": True}]}, {"b": "x"}, False),
    "exists true, object value": ({"a": [{"exists": True}]}, {"a": {"b": 1}}, False),
    "exists true, empty array": ({"a": [{"exists": True}]}, {"a": []}, False),
    "exists false, absent": ({"a": [{"exists": False}]}, {"b": "x"}, True),
    "exists false, present": ({"a": [{"exists": False}]}, {"a": "x"}, False),
    "exists false, present null": ({"a": [{"exists": False}]}, {"a": None}, False),
    "exists false, object value": ({"d": {"c": [{"exists": False}]}}, {"d": {"c": {"c1": 100}}}, True),
    "exists false, parent absent": ({"d": {"c": [{"exists": False}]}}, {"e": 1}, True),
    "exists false, parent scalar": ({"d": {"c": [{"exists": False}]}}, {"d": "x"}, True),
    "exists false, empty array": ({"a": [{"exists": False}]}, {"a": []}, True),
    "value or operator in one leaf": ({"a": ["x", {"prefix": "y"}]}, {"a": "yz"}, True),
    # $or across fields, at the top and nested.
    "$or, second branch": ({"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}, True),
    "$or, no branch": ({"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "2", "b": "1"}, False),
    "$or with a sibling key": ({"c": ["3"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "1", "c": "4"}, False),
    "$or nested": (
        {"d": {"$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]}},
        {"d": {"b": 6}},
        True,
    ),
    # DynamoDB stream records: attribute values are typed objects, so rules sit under the type key.
    "ddb exists on the type key, attribute set": (WAKE_EXISTS, WITH_WAKE, True),
    "ddb exists on the type key, attribute absent": (WAKE_EXISTS, WITHOUT_WAKE, False),
    "ddb exists, attribute set to an empty string": (WAKE_EXISTS, _stream_record({"wake": {"S": ""}}), True),
    "ddb exists, attribute of another type": (WAKE_EXISTS, _stream_record({"wake": {"N": "1"}}), False),
    "ddb exists, no new image (REMOVE)": (WAKE_EXISTS, _stream_record(None, "REMOVE"), False),
    "ddb exists on the attribute name is no leaf": (
        {"dynamodb": {"NewImage": {"wake": [{"exists": True}]}}},
        WITH_WAKE,
        False,
    ),
    "ddb exists false on the type key": (
        {"dynamodb": {"NewImage": {"wake": {"S": [{"exists": False}]}}}},
        WITHOUT_WAKE,
        True,
    ),
    "ddb key equals": ({"dynamodb": {"Keys": {"pk": {"S": ["EXEC#1"]}}}}, WITH_WAKE, True),
    "ddb key prefix": ({"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OP#"}]}}}}, WITH_WAKE, False),
    "ddb N is a string, numeric never matches it": (
        {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}]}}}},
        _stream_record({"n": {"N": "5"}}),
        False,
    ),
    "ddb N matched as its string": (
        {"dynamodb": {"NewImage": {"n": {"N": ["5"]}}}},
        _stream_record({"n": {"N": "5"}}),
        True,
    ),
}


@pytest.mark.parametrize(("pattern", "event", "expected"), MATCH_CASES.values(), ids=MATCH_CASES.keys())
def test_matches(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    validate_pattern(pattern)
    assert matches(pattern, event) is expected


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ([], True),
        ([{"a": ["nope"]}], False),
        ([{"a": ["nope"]}, {"a": ["x"]}], True),
        ([{"a": ["x"]}, {"b": [{"exists": True}]}], True),
        ([{"a": ["nope"]}, {"b": [{"exists": True}]}], False),
    ],
    ids=["no filters pass all", "one filter fails", "second filter matches", "both match", "none match"],
)
def test_matches_any_ors_filters(patterns: list[dict[str, Any]], expected: bool) -> None:
    assert matches_any(patterns, {"a": "x"}) is expected


def test_matches_any_on_stream_records() -> None:
    patterns = [WAKE_EXISTS, {"dynamodb": {"NewImage": {"status": {"S": ["FAILED"]}}}}]
    failed = _stream_record({"status": {"S": "FAILED"}})
    assert [matches_any(patterns, r) for r in (WITH_WAKE, WITHOUT_WAKE, failed)] == [True, False, True]


SQS_CASES: dict[str, tuple[dict[str, Any], str, bool]] = {
    "JSON body, object pattern": ({"body": {"kind": ["order"]}}, json.dumps({"kind": "order"}), True),
    "JSON body, object pattern differs": ({"body": {"kind": ["order"]}}, json.dumps({"kind": "refund"}), False),
    "plain body, object pattern": ({"body": {"kind": ["order"]}}, "kind=order", False),
    "JSON body, plain pattern": ({"body": ['{"kind": "order"}']}, '{"kind": "order"}', False),
    "JSON body, plain prefix pattern": ({"body": [{"prefix": "{"}]}, '{"kind": "order"}', False),
    "plain body, plain pattern": ({"body": ["kind=order"]}, "kind=order", True),
    "plain body, prefix pattern": ({"body": [{"prefix": "kind="}]}, "kind=order", True),
    "no body rule": ({"attributes": {"ApproximateReceiveCount": ["1"]}}, "kind=order", True),
}


@pytest.mark.parametrize(("pattern", "body", "expected"), SQS_CASES.values(), ids=SQS_CASES.keys())
def test_sqs_body_format_must_agree(pattern: dict[str, Any], body: str, expected: bool) -> None:
    message = {"messageId": "m1", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}
    validate_pattern(pattern)
    assert matches(pattern, sqs_filter_view(message)) is expected
    assert message["body"] == body  # the view is a copy: the function still receives the body as sent


INVALID_PATTERNS: dict[str, tuple[Any, str]] = {
    "not an object": ([{"a": ["x"]}], "non-empty JSON object"),
    "empty pattern": ({}, "non-empty JSON object"),
    "empty nested object": ({"a": {}}, "pattern.a: must be a non-empty JSON object"),
    "leaf is a bare string": ({"a": "x"}, "pattern.a: a leaf must be a non-empty list"),
    "leaf is a bare number": ({"a": {"b": 5}}, "pattern.a.b: a leaf must be a non-empty list"),
    "leaf is an empty list": ({"a": []}, "a leaf must be a non-empty list"),
    "nested list in a leaf": ({"a": [["x"]]}, "neither a JSON scalar nor a one-operator object"),
    "two operators in one object": ({"a": [{"prefix": "x", "suffix": "y"}]}, "one-operator object"),
    "unknown operator": ({"a": [{"contains": "x"}]}, "unknown or unsupported operator 'contains'"),
    "unsupported wildcard": ({"a": [{"wildcard": "*.png"}]}, "unsupported operator 'wildcard'"),
    "not a finite number": ({"a": [float("nan")]}, "neither a JSON scalar"),
    "prefix of a number": ({"a": [{"prefix": 5}]}, "invalid argument for 'prefix'"),
    "prefix ignoring case of a list": ({"a": [{"prefix": {"equals-ignore-case": ["x"]}}]}, "'prefix'"),
    "suffix with another nested operator": ({"a": [{"suffix": {"prefix": "x"}}]}, "'suffix'"),
    "equals-ignore-case of a list": ({"a": [{"equals-ignore-case": ["x"]}]}, "'equals-ignore-case'"),
    "exists of a string": ({"a": [{"exists": "true"}]}, "invalid argument for 'exists'"),
    "numeric bound is a string": ({"a": [{"numeric": [">", "5"]}]}, "invalid argument for 'numeric'"),
    "numeric unknown comparison": ({"a": [{"numeric": ["!=", 5]}]}, "'numeric'"),
    "numeric odd length": ({"a": [{"numeric": [">", 5, "<"]}]}, "'numeric'"),
    "numeric upper bound first": ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "'numeric'"),
    "numeric empty range": ({"a": [{"numeric": [">", 5, "<", 1]}]}, "'numeric'"),
    "numeric equals in a range": ({"a": [{"numeric": ["=", 5, "<", 9]}]}, "'numeric'"),
    "numeric not a list": ({"a": [{"numeric": 5}]}, "'numeric'"),
    "anything-but mixed list": ({"a": [{"anything-but": ["x", 1]}]}, "invalid argument for 'anything-but'"),
    "anything-but empty list": ({"a": [{"anything-but": []}]}, "'anything-but'"),
    "anything-but null": ({"a": [{"anything-but": None}]}, "'anything-but'"),
    "anything-but boolean": ({"a": [{"anything-but": True}]}, "'anything-but'"),
    "anything-but numeric": ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "'anything-but'"),
    "anything-but prefix of a number": ({"a": [{"anything-but": {"prefix": 1}}]}, "'anything-but'"),
    "$or with one branch": ({"$or": [{"a": ["x"]}]}, "pattern.$or: must be a list of at least two patterns"),
    "$or not a list": ({"$or": {"a": ["x"]}}, "at least two patterns"),
    "$or branch malformed": ({"$or": [{"a": ["x"]}, {"b": "y"}]}, "pattern.$or[1].b: a leaf"),
}


@pytest.mark.parametrize(("pattern", "message"), INVALID_PATTERNS.values(), ids=INVALID_PATTERNS.keys())
def test_validate_pattern_rejects(pattern: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        WAKE_EXISTS,
        {"dynamodb": {"Keys": {"pk": {"S": ["EXEC#1"]}}, "NewImage": {"n": {"N": [{"prefix": "1"}]}}}},
        {"$or": [{"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}, {"dynamodb": {"NewImage": {"b": {"S": ["b"]}}}}]},
    ],
)
def test_validate_dynamodb_pattern_accepts(pattern: dict[str, Any]) -> None:
    validate_dynamodb_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"eventName": ["INSERT"]}, "pattern.eventName: a DynamoDB event source filters only on the 'dynamodb'"),
        ({"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}, "eventName": ["INSERT"]}, "pattern.eventName"),
        ({"$or": [{"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}, {"eventSource": ["aws:dynamodb"]}]}, "eventSource"),
        ({"dynamodb": [{"exists": True}]}, "pattern.dynamodb: a DynamoDB event source filters only"),
        ({"dynamodb": {"NewImage": {"wake": {"S": [{"exist": True}]}}}}, "unknown or unsupported operator 'exist'"),
    ],
    ids=["metadata key", "metadata key beside dynamodb", "metadata key in an $or branch", "leaf", "malformed"],
)
def test_validate_dynamodb_pattern_rejects(pattern: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_dynamodb_pattern(pattern)


def test_outbox_filter_pattern_passes_only_records_with_a_wake() -> None:
    pattern = contract.OUTBOX_FILTER_PATTERN
    validate_dynamodb_pattern(pattern)
    wake = contract.WAKE_ATTRIBUTE
    woken = _stream_record({"pk": {"S": "EXEC#1"}, wake: {"S": json.dumps({"DurableKit": {"action": "resume"}})}})
    assert matches_any([pattern], woken)
    assert not matches_any([pattern], _stream_record({"pk": {"S": "EXEC#1"}, "status": {"S": "SUCCEEDED"}}))
    assert not matches_any([pattern], _stream_record(None, "REMOVE"))
