"""What IAM authorizes for each AWS call the runtime makes: (action, resource ARN, condition keys) per call.

Built from the botocore operation name and the call's own parameters (what FaultPlan keeps from boto3's
before-parameter-build event), and from the local Lambda's GetFunction / Invoke parameters. A call this module
does not know raises UnmappedCallError: an unknown call is never allowed by default.

DynamoDB's fine-grained keys follow the developer guide: `dynamodb:LeadingKeys` holds the partition key value(s)
the request addresses (of the index, for a Query on one), and `dynamodb:Attributes` the top-level attribute names
it reads, writes or evaluates (key, item, update, condition, projection, key-condition and filter expressions,
resolved through ExpressionAttributeNames). A read without a projection names only its key here: AWS guards that
case with `dynamodb:Select`, which no Durable Kit policy uses on reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from iam_policy import Request

_DYNAMODB_ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
)
# Legacy parameters name attributes too; the runtime never uses them, so they are refused rather than half-read.
_LEGACY = ("AttributesToGet", "AttributeUpdates", "Expected", "KeyConditions", "QueryFilter", "ScanFilter")
_EXPRESSION_WORDS = {"and", "or", "not", "between", "in", "set", "remove", "add", "delete"}
_TOKEN = re.compile(r"#\w+|:\w+|[A-Za-z_]\w*|\d+|\S")
# One action may cover a batch operation, as SQS documents for its batch calls.
_SQS_ACTIONS = {
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
}
_S3_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
}
_LAMBDA_ACTIONS = {"GetFunction": "lambda:GetFunction", "Invoke": "lambda:InvokeFunction"}
SCHEDULER_SERVICE = "scheduler.amazonaws.com"


class UnmappedCallError(LookupError):
    """A call whose authorization this module does not know."""


@dataclass(frozen=True)
class KeySchema:
    """A table's partition key attribute, its sort key, and its indexes' partition keys."""

    partition_key: str
    sort_key: str | None
    index_partition_keys: Mapping[str, str]


@dataclass(frozen=True)
class Account:
    """Where the calls go, and the tables' key schemas (by table name)."""

    region: str
    account: str
    tables: Mapping[str, KeySchema]
    partition: str = "aws"


def authorizations(account: Account, service: str, operation: str, params: Mapping[str, Any]) -> list[Request]:
    """Every request IAM authorizes for one call (CreateSchedule is two: the schedule, and passing its role)."""
    if service == "dynamodb" and operation == "BatchWriteItem":
        return [_batch_write(account, table, requests) for table, requests in params["RequestItems"].items()]
    if service == "dynamodb":
        return [_dynamodb(account, operation, params)]
    if service == "s3" and operation in _S3_ACTIONS:
        return [Request(_S3_ACTIONS[operation], f"arn:{account.partition}:s3:::{params['Bucket']}/{params['Key']}")]
    if service == "sqs" and operation in _SQS_ACTIONS:
        return [Request(_SQS_ACTIONS[operation], _queue_arn(account, params["QueueUrl"]))]
    if service == "scheduler" and operation == "CreateSchedule":
        return _create_schedule(account, params)
    if service == "lambda" and operation in _LAMBDA_ACTIONS:
        return [Request(_LAMBDA_ACTIONS[operation], function_arn(account, params["FunctionName"], params))]
    raise UnmappedCallError(f"no IAM mapping for {service}.{operation}: add one before the runtime may call it")


# region DynamoDB
def _dynamodb(account: Account, operation: str, params: Mapping[str, Any]) -> Request:
    if operation not in _DYNAMODB_ITEM_OPERATIONS and operation != "Query":
        raise UnmappedCallError(f"no IAM mapping for dynamodb.{operation}")
    legacy = [name for name in _LEGACY if name in params]
    if legacy:
        raise UnmappedCallError(f"dynamodb.{operation} with legacy parameters {legacy}")
    table = params["TableName"]
    if table.startswith("arn:"):
        raise UnmappedCallError(f"dynamodb.{operation} names its table by ARN ({table}); the runtime uses names")
    schema = account.tables.get(table)
    if schema is None:
        raise UnmappedCallError(f"dynamodb.{operation} on {table!r}, a table the template does not define")
    resource = f"arn:{account.partition}:dynamodb:{account.region}:{account.account}:table/{table}"
    index = params.get("IndexName")
    if index is not None:
        resource += f"/index/{index}"
    context: dict[str, Any] = {
        "dynamodb:LeadingKeys": leading_keys(schema, operation, params),
        "dynamodb:Attributes": sorted(attributes(params)),
    }
    for parameter in ("ReturnValues", "Select"):
        if parameter in params:
            context[f"dynamodb:{parameter}"] = params[parameter]
    return Request(f"dynamodb:{operation}", resource, context)


def _batch_write(account: Account, table: str, requests: list[Mapping[str, Any]]) -> Request:
    """BatchWriteItem is authorized per table, with every partition key its puts and deletes address."""
    schema = account.tables.get(table)
    if schema is None:
        raise UnmappedCallError(f"dynamodb.BatchWriteItem on {table!r}, a table the template does not define")
    keys = []
    for request in requests:
        if "DeleteRequest" in request:
            keys.append(_scalar(request["DeleteRequest"]["Key"][schema.partition_key]))
        else:
            keys.append(_scalar(request["PutRequest"]["Item"][schema.partition_key]))
    resource = f"arn:{account.partition}:dynamodb:{account.region}:{account.account}:table/{table}"
    return Request("dynamodb:BatchWriteItem", resource, {"dynamodb:LeadingKeys": sorted(set(keys))})


def leading_keys(schema: KeySchema, operation: str, params: Mapping[str, Any]) -> list[str]:
    """The partition key value(s) the request addresses: of its key or item, or its key condition's."""
    if operation != "Query":
        item = params["Item"] if operation == "PutItem" else params["Key"]
        return [_scalar(item[schema.partition_key])]
    index = params.get("IndexName")
    key = schema.partition_key if index is None else schema.index_partition_keys[index]
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    # The partition key condition is always an equality: `<key or #placeholder> = :value`, either way round.
    for left, right in _equalities(params["KeyConditionExpression"]):
        for name, value in ((left, right), (right, left)):
            if value.startswith(":") and names.get(name, name) == key:
                return [_scalar(values[value])]
    raise UnmappedCallError(f"no equality on the partition key {key!r} in {params['KeyConditionExpression']!r}")


def _equalities(expression: str) -> list[tuple[str, str]]:
    tokens = _TOKEN.findall(expression)
    return [
        (tokens[i - 1], tokens[i + 1]) for i, token in enumerate(tokens) if token == "=" and 0 < i < len(tokens) - 1
    ]


def _scalar(value: Mapping[str, Any]) -> str:
    ((kind, text),) = value.items()
    if kind not in ("S", "N", "B"):
        raise UnmappedCallError(f"a key attribute of type {kind}")
    return str(text)


def attributes(params: Mapping[str, Any]) -> set[str]:
    """The top-level attribute names a request names: key, item, and every expression's attribute paths."""
    found = set(params.get("Key", {})) | set(params.get("Item", {}))
    names = params.get("ExpressionAttributeNames", {})
    for parameter in _EXPRESSIONS:
        if parameter in params:
            found |= expression_attributes(params[parameter], names)
    return found


def expression_attributes(expression: str, names: Mapping[str, str]) -> set[str]:
    """Top-level attribute names in a DynamoDB expression: the first element of each path, placeholders resolved.

    Skipped: value placeholders (`:v`), keywords (SET, AND, ...), function names (a name followed by `(`), list
    indexes, and the later elements of a path (`a.b[0].c` touches `a`).
    """
    tokens = _TOKEN.findall(expression)
    found: set[str] = set()
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else ""
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        is_name = token.startswith("#") or (token[0].isalpha() or token[0] == "_")
        if not is_name or before == "." or after == "(" or token.lower() in _EXPRESSION_WORDS:
            continue
        if token.startswith("#"):
            if token not in names:
                raise UnmappedCallError(f"placeholder {token} in {expression!r} is not in ExpressionAttributeNames")
            found.add(names[token])
        else:
            found.add(token)
    return found


# endregion


def _queue_arn(account: Account, queue_url: str) -> str:
    """`https://sqs.<region>.amazonaws.com/<account>/<name>` -> `arn:aws:sqs:<region>:<account>:<name>`."""
    parts = urlparse(queue_url).path.strip("/").split("/")
    if len(parts) != 2:
        raise UnmappedCallError(f"queue URL {queue_url!r} is not <endpoint>/<account>/<name>")
    owner, name = parts
    return f"arn:{account.partition}:sqs:{account.region}:{owner}:{name}"


def _create_schedule(account: Account, params: Mapping[str, Any]) -> list[Request]:
    group = params.get("GroupName", "default")
    schedule = f"arn:{account.partition}:scheduler:{account.region}:{account.account}:schedule/{group}/{params['Name']}"
    # Naming a role for the schedule's target passes it to Scheduler: IAM checks iam:PassRole on that role.
    pass_role = Request("iam:PassRole", params["Target"]["RoleArn"], {"iam:PassedToService": SCHEDULER_SERVICE})
    return [Request("scheduler:CreateSchedule", schedule), pass_role]


def function_arn(account: Account, function: str, params: Mapping[str, Any]) -> str:
    """The function ARN IAM authorizes: qualified when the call names a version or alias, unqualified otherwise.

    `name`, `name:qualifier`, and full ARNs (with or without a qualifier) are accepted, as Lambda accepts them; an
    explicit `Qualifier` parameter qualifies the ARN too. An unqualified name is authorized on the unqualified ARN.
    """
    if function.startswith("arn:"):
        parts = function.split(":")
        if len(parts) not in (7, 8) or parts[5] != "function":
            raise UnmappedCallError(f"function ARN {function!r}")
        name, qualifier = parts[6], parts[7] if len(parts) == 8 else None
        prefix = ":".join(parts[:5])
    else:
        if function.count(":") > 1:
            raise UnmappedCallError(f"partial function ARN {function!r}")
        name, _, qualifier_text = function.partition(":")
        qualifier = qualifier_text or None
        prefix = f"arn:{account.partition}:lambda:{account.region}:{account.account}"
    qualifier = params.get("Qualifier") or qualifier
    return f"{prefix}:function:{name}" + (f":{qualifier}" if qualifier else "")
