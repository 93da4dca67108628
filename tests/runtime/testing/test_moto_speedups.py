"""The lean moto paths answer exactly as moto's own serializer does, as botocore parses the answers."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from durable_runtime.testing import moto_speedups

TABLE = "journal"


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    moto_speedups.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield dynamodb, boto3.client("dynamodbstreams", region_name="us-east-1")


def _item(index: int) -> dict[str, Any]:
    return {
        "pk": {"S": "exec-1"},
        "sk": {"S": f"op#{index:04d}"},
        "payload": {"B": bytes([index % 256, 0, 255])},
        "count": {"N": str(index)},
        "flags": {"SS": ["a", "b"]},
        "nested": {"M": {"list": {"L": [{"BOOL": True}, {"NULL": True}, {"NS": ["1", "2.5"]}]}}},
    }


def _both_ways(call: Any) -> tuple[Any, Any]:
    """The parsed response with moto's serializer, then with the lean encoding (ResponseMetadata dropped)."""
    answers = []
    for lean in (False, True):
        moto_speedups.lean_encoding = lean
        try:
            response = call()
        finally:
            moto_speedups.lean_encoding = True
        response.pop("ResponseMetadata", None)
        answers.append(response)
    return answers[0], answers[1]


def test_item_operations_parse_the_same_with_the_lean_encoding(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    for index in range(30):
        dynamodb.put_item(TableName=TABLE, Item=_item(index))
    key = {"pk": {"S": "exec-1"}, "sk": {"S": "op#0003"}}
    calls = {
        "query": lambda: dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "exec-1"}},
            Limit=10,
            ReturnConsumedCapacity="TOTAL",
        ),
        "get": lambda: dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True),
        "put": lambda: dynamodb.put_item(TableName=TABLE, Item=_item(3), ReturnValues="ALL_OLD"),
        "update": lambda: dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET #c = :one",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        "batch get": lambda: dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": [key]}}),
        "transact get": lambda: dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}]),
    }
    for name, call in calls.items():
        model, lean = _both_ways(call)
        assert lean == model, name
    assert model["Responses"][0]["Item"]["payload"] == {"B": bytes([3, 0, 255])}


def test_a_refused_write_is_reported_the_same_way(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    dynamodb.put_item(TableName=TABLE, Item=_item(1))
    errors = []
    for lean in (False, True):
        moto_speedups.lean_encoding = lean
        try:
            with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException) as refused:
                dynamodb.put_item(
                    TableName=TABLE,
                    Item=_item(1),
                    ConditionExpression="attribute_not_exists(sk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        finally:
            moto_speedups.lean_encoding = True
        errors.append((refused.value.response["Error"], refused.value.response.get("Item")))
    assert errors[0] == errors[1]


def test_stream_records_parse_the_same_with_the_lean_encoding(clients: tuple[Any, Any]) -> None:
    dynamodb, streams = clients
    for index in range(5):
        dynamodb.put_item(TableName=TABLE, Item=_item(index))
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def read() -> Any:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        return streams.get_records(ShardIterator=iterator["ShardIterator"])

    model, lean = _both_ways(read)
    model.pop("NextShardIterator"), lean.pop("NextShardIterator")
    assert lean == model
    assert len(lean["Records"]) == 5
    assert isinstance(lean["Records"][0]["dynamodb"]["ApproximateCreationDateTime"], datetime.datetime)


def test_install_is_idempotent() -> None:
    from moto.dynamodb.responses import DynamoResult

    moto_speedups.install()
    installed = DynamoResult.execute_result
    moto_speedups.install()
    assert DynamoResult.execute_result is installed


def test_a_table_query_pages_through_its_partition_as_moto_does(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    for index in range(40):
        dynamodb.put_item(TableName=TABLE, Item=_item(index))
        dynamodb.put_item(TableName=TABLE, Item={**_item(index), "pk": {"S": "exec-2"}})  # another partition
    dynamodb.put_item(TableName=TABLE, Item={**_item(5), "sk": {"S": "inv#0001"}})
    big = "x" * 300_000  # three of these pass a page's 1 MB
    for index in range(5):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "exec-3"}, "sk": {"S": f"b#{index}"}, "v": {"S": big}})

    def pages(**query: Any) -> Any:
        def call() -> dict[str, list[Any]]:
            found, start = [], None
            while True:
                page = dynamodb.query(TableName=TABLE, **query, **({"ExclusiveStartKey": start} if start else {}))
                page.pop("ResponseMetadata", None)
                found.append(page)
                start = page.get("LastEvaluatedKey")
                if not start:
                    return {"Pages": found}

        return call

    one = {"ExpressionAttributeValues": {":p": {"S": "exec-1"}}, "KeyConditionExpression": "pk = :p"}
    queries = {
        "pages of 7": pages(**one, Limit=7),
        "backwards": pages(**one, Limit=9, ScanIndexForward=False),
        "begins_with": pages(
            KeyConditionExpression="pk = :p AND begins_with(sk, :i)",
            ExpressionAttributeValues={":p": {"S": "exec-1"}, ":i": {"S": "op#001"}},
            Limit=4,
        ),
        "filtered and projected": pages(
            **{**one, "ExpressionAttributeValues": {":p": {"S": "exec-1"}, ":n": {"N": "20"}}},
            FilterExpression="#c > :n",
            ProjectionExpression="sk, #c",
            ExpressionAttributeNames={"#c": "count"},
            Limit=11,
        ),
        "1 MB pages": pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "exec-3"}}),
        "no such partition": pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}}),
    }
    for name, call in queries.items():
        model, lean = _both_ways(call)
        assert lean == model, name
    model, _ = _both_ways(queries["1 MB pages"])
    assert [len(page["Items"]) for page in model["Pages"]] == [3, 2]
