"""What IAM authorizes for each call the runtime makes: taken from the journal store's real requests where it can.

The DynamoDB requests come from the runtime's own DynamoDBJournalStore, run against a client that records them,
so the mapping is checked on exactly what the runtime sends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from iam_policy import Request
from iam_requests import (
    Account,
    KeySchema,
    UnmappedCallError,
    authorizations,
    expression_attributes,
    function_arn,
)

from durable_runtime import contract
from durable_runtime.journal.dynamodb import DynamoDBJournalStore
from durable_runtime.journal.records import JournalEvent, OperationRecord, OperationStatus, OperationType
from durable_runtime.journal.store import ExpectedState

ACCOUNT = Account(
    region="us-west-2",
    account="123456789012",
    tables={
        "journal": KeySchema(
            partition_key=contract.PARTITION_KEY,
            sort_key=contract.SORT_KEY,
            index_partition_keys={contract.LIST_INDEX_NAME: contract.LIST_INDEX_PARTITION_KEY},
        )
    },
)
TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/journal"
FUNCTION = "arn:aws:lambda:us-west-2:123456789012:function:orders"
KEY = f"{FUNCTION}/durable-execution/run-1/4f9c"


class RecordingClient:
    """A DynamoDB client that records each request (operation name, parameters) and answers emptily."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        operation = "".join(part.capitalize() for part in method.split("_"))

        def call(**params: Any) -> dict[str, Any]:
            self.requests.append((operation, params))
            return {}

        return call


def values(request: Request, key: str) -> list[str]:
    """A multi-valued condition key of the request, as a list."""
    found = request.context[key]
    assert isinstance(found, list), found
    return found


def the_request(run: Any) -> Request:
    """Run `run(store)` on a recording client; return what IAM authorizes for its one request."""
    client = RecordingClient()
    run(DynamoDBJournalStore(client, "journal"))
    ((operation, params),) = client.requests
    (request,) = authorizations(ACCOUNT, "dynamodb", operation, params)
    return request


# region DynamoDB
def test_get_item_is_on_the_table_with_its_partition_key_as_leading_key() -> None:
    request = the_request(lambda store: store.get_execution(KEY))

    assert request.action == "dynamodb:GetItem"
    assert request.resource == TABLE
    assert values(request, "dynamodb:LeadingKeys") == [KEY]
    assert values(request, "dynamodb:Attributes") == ["pk", "sk"]


def test_query_takes_its_leading_key_from_the_key_condition() -> None:
    request = the_request(lambda store: store.last_invocation_seq(KEY))

    assert request.action == "dynamodb:Query"
    assert values(request, "dynamodb:LeadingKeys") == [KEY]
    # The key condition's and the projection's names: the sort key appears in both.
    assert values(request, "dynamodb:Attributes") == ["pk", "sk"]


def test_a_query_on_the_listing_index_is_on_the_index_with_the_index_key_as_leading_key() -> None:
    client = RecordingClient()
    store = DynamoDBJournalStore(client, "journal")
    store.list_executions(FUNCTION, limit=10, marker=None, newest_first=True)

    requests = [authorizations(ACCOUNT, "dynamodb", op, params)[0] for op, params in client.requests]
    assert len(requests) == contract.LIST_INDEX_SHARDS
    assert {r.resource for r in requests} == {f"{TABLE}/index/{contract.LIST_INDEX_NAME}"}
    shards = sorted(key for r in requests for key in values(r, "dynamodb:LeadingKeys"))
    assert all(shard.startswith(FUNCTION + contract.LIST_INDEX_SHARD_SEPARATOR) for shard in shards)
    assert {tuple(values(r, "dynamodb:Attributes")) for r in requests} == {(contract.LIST_INDEX_PARTITION_KEY,)}


def test_a_lease_update_names_the_lease_attributes_and_the_wake() -> None:
    request = the_request(lambda store: store.acquire_lease(KEY, 1, 2, "owner", 60.0))

    assert request.action == "dynamodb:UpdateItem"
    assert values(request, "dynamodb:LeadingKeys") == [KEY]
    assert values(request, "dynamodb:Attributes") == sorted(
        ["pk", "sk", "inv", "lo", "lu", "st", contract.WAKE_ATTRIBUTE]
    )


def test_an_operation_update_names_only_operation_record_attributes() -> None:
    # What a callback completion writes: the callback handler's UpdateItem is limited to these attributes.
    record = OperationRecord("op-1", OperationType.CALLBACK, None, "review", None, OperationStatus.SUCCEEDED, 2)
    event = JournalEvent("CallbackSucceeded", 1.0, (3, 0))

    request = the_request(
        lambda store: store.write_operation(KEY, record, [event], ExpectedState("STARTED", 1), 99, wake="{}")
    )

    assert request.action == "dynamodb:UpdateItem"
    assert set(values(request, "dynamodb:Attributes")) <= set(contract.OPERATION_RECORD_ATTRIBUTES)


def test_a_new_operation_record_is_a_put_item_naming_its_item_and_condition() -> None:
    record = OperationRecord("op-1", OperationType.STEP, None, "charge", None, OperationStatus.STARTED)

    request = the_request(lambda store: store.write_operation(KEY, record, [], None, 99))

    assert request.action == "dynamodb:PutItem"
    assert values(request, "dynamodb:LeadingKeys") == [KEY]
    assert {"pk", "sk", "st", "att", "d", "ev", "ttl"} <= set(values(request, "dynamodb:Attributes"))


def test_expression_attributes_are_the_top_level_names_of_each_path() -> None:
    names = {"#a": "alpha", "#w": "wake"}
    expression = "SET #a.b[0].c = :v, total = if_not_exists(total, :zero) + :one REMOVE #w, lo"

    assert expression_attributes(expression, names) == {"alpha", "total", "wake", "lo"}
    condition = "attribute_not_exists(pk) OR (st = :s AND begins_with(#a, :p)) AND size(ev) BETWEEN :x AND :y"
    assert expression_attributes(condition, names) == {"pk", "st", "alpha", "ev"}


def test_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(UnmappedCallError, match="#missing"):
        expression_attributes("SET #missing = :v", {})


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("Scan", {"TableName": "journal"}),
        ("BatchWriteItem", {"RequestItems": {"other": [{"DeleteRequest": {"Key": {"pk": {"S": KEY}}}}]}}),
        ("GetItem", {"TableName": "journal", "Key": {"pk": {"S": KEY}}, "AttributesToGet": ["st"]}),
        ("GetItem", {"TableName": "other", "Key": {"pk": {"S": KEY}}}),
        ("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": KEY}}}),
    ],
)
def test_dynamodb_calls_it_cannot_judge_exactly_are_refused(operation: str, params: dict[str, Any]) -> None:
    with pytest.raises(UnmappedCallError):
        authorizations(ACCOUNT, "dynamodb", operation, params)


def test_a_batch_write_is_authorized_per_table_with_every_partition_key_it_addresses() -> None:
    other = f"{FUNCTION}/durable-execution/run-2/77aa"
    deletes = [{"DeleteRequest": {"Key": {"pk": {"S": key}, "sk": {"S": "OP#1"}}}} for key in (KEY, other, KEY)]
    (request,) = authorizations(ACCOUNT, "dynamodb", "BatchWriteItem", {"RequestItems": {"journal": deletes}})

    assert request.action == "dynamodb:BatchWriteItem" and request.resource == TABLE
    assert values(request, "dynamodb:LeadingKeys") == sorted({KEY, other})


# endregion


# region other services
def test_payload_objects_are_authorized_by_bucket_and_key() -> None:
    (get,) = authorizations(ACCOUNT, "s3", "GetObject", {"Bucket": "payloads", "Key": "payloads/orders/ab/result"})
    (put,) = authorizations(ACCOUNT, "s3", "PutObject", {"Bucket": "payloads", "Key": "payloads/orders/ab/x"})

    assert (get.action, get.resource) == ("s3:GetObject", "arn:aws:s3:::payloads/payloads/orders/ab/result")
    assert (put.action, put.resource) == ("s3:PutObject", "arn:aws:s3:::payloads/payloads/orders/ab/x")


def test_a_batch_visibility_change_is_authorized_as_change_message_visibility_on_the_queue() -> None:
    url = "https://sqs.us-west-2.amazonaws.com/123456789012/timers"

    (request,) = authorizations(ACCOUNT, "sqs", "ChangeMessageVisibilityBatch", {"QueueUrl": url, "Entries": []})

    assert request.action == "sqs:ChangeMessageVisibility"
    assert request.resource == "arn:aws:sqs:us-west-2:123456789012:timers"


def test_creating_a_schedule_also_passes_its_target_role_to_scheduler() -> None:
    params = {
        "Name": "dk-1",
        "GroupName": "timers",
        "Target": {"Arn": "arn:aws:sqs:us-west-2:123456789012:timers", "RoleArn": "arn:aws:iam::123456789012:role/s"},
    }

    schedule, pass_role = authorizations(ACCOUNT, "scheduler", "CreateSchedule", params)

    assert schedule == Request(
        "scheduler:CreateSchedule", "arn:aws:scheduler:us-west-2:123456789012:schedule/timers/dk-1"
    )
    assert pass_role == Request(
        "iam:PassRole", "arn:aws:iam::123456789012:role/s", {"iam:PassedToService": "scheduler.amazonaws.com"}
    )


@pytest.mark.parametrize(
    ("name", "params", "arn"),
    [
        ("orders", {}, FUNCTION),
        ("orders:live", {}, f"{FUNCTION}:live"),
        ("orders", {"Qualifier": "3"}, f"{FUNCTION}:3"),
        (FUNCTION, {}, FUNCTION),
        (f"{FUNCTION}:7", {}, f"{FUNCTION}:7"),
        (
            "arn:aws:lambda:eu-west-1:999999999999:function:x:1",
            {},
            "arn:aws:lambda:eu-west-1:999999999999:function:x:1",
        ),
    ],
)
def test_functions_are_authorized_on_the_arn_they_were_named_by(name: str, params: dict[str, Any], arn: str) -> None:
    assert function_arn(ACCOUNT, name, params) == arn
    (describe,) = authorizations(ACCOUNT, "lambda", "GetFunction", {"FunctionName": name, **params})
    (invoke,) = authorizations(ACCOUNT, "lambda", "Invoke", {"FunctionName": name, **params})
    assert (describe.action, describe.resource) == ("lambda:GetFunction", arn)
    assert (invoke.action, invoke.resource) == ("lambda:InvokeFunction", arn)


@pytest.mark.parametrize(
    ("service", "operation"),
    [("s3", "DeleteBucket"), ("sqs", "PurgeQueue"), ("scheduler", "DeleteSchedule"), ("lambda", "ListFunctions")],
)
def test_calls_without_a_mapping_are_refused(service: str, operation: str) -> None:
    with pytest.raises(UnmappedCallError, match=re.escape(f"{service}.{operation}")):
        authorizations(ACCOUNT, service, operation, {})


# endregion
