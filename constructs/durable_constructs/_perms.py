"""IAM action lists and conditions, written once: each names what one caller does with one service.

The runtime's calls (DESIGN §10) decide these lists; a grant method picks the lists for its intent and scopes
them to resources and, for the journal, to partition keys.
"""

from __future__ import annotations

from durable_runtime import contract

# region journal (DynamoDB)
# What a durable function does with its own executions' records: one Query per invocation, conditional writes.
JOURNAL_RUN = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
# DurableClient.start_execution: create the execution record (idempotent by name) and read it back.
JOURNAL_START = ("dynamodb:GetItem", "dynamodb:PutItem")
# DurableClient reads: get_durable_execution(_state/_history); `context.invoke` reads its child's execution record.
JOURNAL_READ = ("dynamodb:GetItem", "dynamodb:Query")
# DurableClient.list_durable_executions_by_function: a Query on the listing index.
JOURNAL_LIST = ("dynamodb:Query",)
# DurableClient.stop_durable_execution: read the execution record, then close it with one conditional update.
JOURNAL_STOP = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# DurableClient's pause/resume/redrive/delete_durable_execution: read the execution (and, for a redrive or a
# PAUSING check, its journal), update records (the execution; a redrive reopens failed operations and extends their
# TTL), and for a delete remove every record of the execution in batches, its execution record last.
JOURNAL_OPERATE = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# The callback handler (and DurableClient's send_durable_execution_callback_*) finds a callback's operation record
# and reads its execution (and the journal, to place the completion's history event after the last invocation).
JOURNAL_CALLBACK = ("dynamodb:GetItem", "dynamodb:Query")
# ... and completes it with one conditional update of that record; it never creates an item, so no PutItem.
JOURNAL_CALLBACK_COMPLETE = ("dynamodb:UpdateItem",)
# A callback completion is an UpdateItem of one operation record, so the handler's UpdateItem is limited to the
# attributes an operation record has (`only_attributes`).
OPERATION_RECORD_ATTRIBUTES = contract.OPERATION_RECORD_ATTRIBUTES
# The outbox relay's event source reads the journal's stream: the four actions AWS documents for a Lambda reading a
# DynamoDB stream, on that table's streams only (`<table ARN>/stream/*`, as in AWS's own example policy).
JOURNAL_STREAM_READ = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# endregion

# region payloads (S3): results too large for a journal item, under one key prefix
PAYLOAD_KEY_PATTERN = f"{contract.PAYLOAD_PREFIX}*"


def payload_keys_of(function_name: str) -> str:
    """The object keys of one function's payloads (the runtime puts each under `payloads/<function name>/`)."""
    return f"{contract.PAYLOAD_PREFIX}{function_name}/*"


PAYLOAD_READ_WRITE = ("s3:GetObject", "s3:PutObject")
PAYLOAD_READ = ("s3:GetObject",)
# The callback handler stores the event copy of a large callback result; readers are the function and its clients.
# DurableClient writes the same when it completes a callback, and a large error when it stops an execution.
PAYLOAD_WRITE = ("s3:PutObject",)
# DurableClient.delete_durable_execution removes the execution's payloads with its records.
PAYLOAD_DELETE = ("s3:DeleteObject",)
# endregion

# region timers
TIMER_SEND = ("sqs:SendMessage",)
SCHEDULE_CREATE = ("scheduler:CreateSchedule",)
PASS_ROLE = ("iam:PassRole",)
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
# endregion

# region Lambda and API Gateway
INVOKE = ("lambda:InvokeFunction",)
# Starting, listing and `context.invoke` describe a function first: the version a name or alias points to, and (for
# a durable target) its engine's table and bucket and its execution limits, from its environment.
RESOLVE_VERSION = ("lambda:GetFunction",)
SEND_CALLBACK = ("execute-api:Invoke",)
# A function in a VPC: what AWS's AWSLambdaVPCAccessExecutionRole allows (without its log wildcards), so Lambda can
# manage the function's network interfaces. Describe actions have no resource-level permissions.
VPC_NETWORK_INTERFACES = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
# endregion

# Using data encrypted with a customer managed key (journal, payloads, queues): no wildcard actions.
KMS_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
# Reading what a customer managed key protects, and nothing more (the journal's stream, for the outbox relay).
KMS_DECRYPT = ("kms:Decrypt", "kms:DescribeKey")
# What the CDK's own SQS grants (event source, on-failure destination) add for a queue with a customer key.
CDK_QUEUE_KMS_WILDCARDS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def leading_keys(*patterns: str) -> dict[str, dict[str, list[str]]]:
    """A condition allowing only items (or index entries) whose partition key matches one of `patterns`.

    `ForAllValues` also holds for requests with no partition key at all (Scan); no grant here includes Scan.
    """
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}}


def only_attributes(names: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """A condition allowing only requests whose every named attribute is one of `names`.

    For UpdateItem, `dynamodb:Attributes` holds the top-level attribute names the request touches: its key and the
    names its update and condition expressions use (directly or through `ExpressionAttributeNames`), so `names` must
    include the key attributes. It limits what a request names, not what it reads back (ReturnValues,
    ReturnValuesOnConditionCheckFailure): a `dynamodb:ReturnValues` condition adds something only for a grantee
    that may not read the whole item anyway.
    """
    return {"ForAllValues:StringEquals": {"dynamodb:Attributes": list(names)}}


def passed_to(service: str) -> dict[str, dict[str, str]]:
    """A condition allowing iam:PassRole only to `service`."""
    return {"StringEquals": {"iam:PassedToService": service}}
