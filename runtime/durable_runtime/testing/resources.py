"""The AWS resources a local run needs, created in moto exactly as the constructs define them."""

from __future__ import annotations

import json
from typing import Any

from .. import contract as c

TABLE = "durable-journal"
BUCKET = "durable-payloads"
QUEUE = "durable-timers"
DEAD_LETTER_QUEUE = "durable-dead-letters"
SCHEDULE_GROUP = "durable-timers"


def create_journal_table(client: Any, name: str) -> None:
    """Create the journal table exactly as the constructs define it (keys, listing indexes, TTL, stream)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": c.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": c.SORT_KEY, "AttributeType": "S"},
            {"AttributeName": c.LIST_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": c.LIST_INDEX_SORT_KEY, "AttributeType": "N"},
            {"AttributeName": c.BUSINESS_KEY_INDEX_PARTITION_KEY, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": c.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": c.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index_name,
                "KeySchema": [
                    {"AttributeName": partition_key, "KeyType": "HASH"},
                    {"AttributeName": c.LIST_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projected)},
            }
            for index_name, partition_key, projected in c.EXECUTION_INDEXES
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": c.JOURNAL_STREAM_VIEW_TYPE},
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": c.TTL_ATTRIBUTE}
    )


def create_resources(
    dynamodb: Any, s3: Any, sqs: Any, scheduler: Any, region: str, account_id: str, function_timeout: int
) -> dict[str, str]:
    """Create a journal, payload bucket, timer queue (with its dead-letter queue) and schedule group.

    Returns the function environment the constructs would set for them.
    """
    create_journal_table(dynamodb, TABLE)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    dead_letters = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(c.TIMER_QUEUE_MAX_RECEIVE_COUNT)}
    queue_url = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": str(function_timeout + c.TIMER_QUEUE_VISIBILITY_MARGIN_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
    return {
        c.ENV_JOURNAL_TABLE: TABLE,
        c.ENV_PAYLOAD_BUCKET: BUCKET,
        c.ENV_TIMER_QUEUE_URL: queue_url,
        c.ENV_SCHEDULE_GROUP: SCHEDULE_GROUP,
        c.ENV_SCHEDULER_ROLE_ARN: f"arn:aws:iam::{account_id}:role/durable-scheduler",
    }


def journal_stream_arn(dynamodb: Any, table: str) -> str:
    """The journal table's stream; a table without one cannot resume executions (see contract.WAKE_ATTRIBUTE)."""
    description = dynamodb.describe_table(TableName=table)["Table"]
    view = description.get("StreamSpecification", {}).get("StreamViewType")
    arn = description.get("LatestStreamArn")
    if not arn or view not in (c.JOURNAL_STREAM_VIEW_TYPE, "NEW_AND_OLD_IMAGES"):
        raise ValueError(
            f"the journal table {table!r} has no stream with new images: Durable Kit resumes executions from it. "
            f"Enable StreamSpecification={{'StreamEnabled': True, 'StreamViewType': '{c.JOURNAL_STREAM_VIEW_TYPE}'}}"
        )
    return str(arn)
