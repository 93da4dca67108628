"""An operator's changes to a whole execution on DynamoDB: pause, resume, redrive, delete."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import contract as c
from .dynamodb_items import events_attr

if TYPE_CHECKING:
    from .store import ExecutionChange

# BatchWriteItem's limit on requests per call.
_BATCH_SIZE = 25
# Outcome fields a redrive clears from a closed execution's record.
_OUTCOME_ATTRIBUTES = ("ended", "res", "res_ref", "err", "err_ref", "lo", "lu")


def _execution_key(key: str) -> dict[str, Any]:
    return {c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}}


def change_execution(client: Any, table: str, key: str, change: ExecutionChange) -> bool:
    """Apply `change` with one UpdateItem conditioned on the record's status; False when the condition fails."""
    names = {"#wake": c.WAKE_ATTRIBUTE}
    values: dict[str, Any] = {":st": {"S": change.status.value}}
    sets: list[str] = ["st = :st"]
    removes: list[str] = []
    for index, status in enumerate(change.from_statuses):
        values[f":from{index}"] = {"S": status.value}
    condition = "st IN (" + ", ".join(f":from{index}" for index in range(len(change.from_statuses))) + ")"
    optional: list[tuple[str, dict[str, Any] | None]] = [
        ("pz", None if change.pause is None else {"S": change.pause.encode()}),
        # Other changes clear the outbox entry: the stream would otherwise deliver it again with this change.
        ("#wake", None if change.wake is None else {"S": change.wake}),
    ]
    if change.timeout_at is not None:
        optional.append(("timeout_at", {"N": str(round(change.timeout_at * 1000))}))
    if change.expires_at is not None:
        # DynamoDB refuses attribute names an expression does not use: this one is named only when set.
        names["#ttl"] = c.TTL_ATTRIBUTE
        optional.append(("#ttl", {"N": str(change.expires_at)}))
    if change.reopen_as is not None:
        arn, version = change.reopen_as
        optional += [("arn", {"S": arn}), ("ver", {"S": version})]
        removes.extend(_OUTCOME_ATTRIBUTES)
    for attr, value in optional:
        if value is None:
            removes.append(attr)
        else:
            placeholder = ":" + attr.lstrip("#")
            sets.append(f"{attr} = {placeholder}")
            values[placeholder] = value
    if change.events:
        sets.append("ev = list_append(ev, :events)")
        values[":events"] = events_attr(list(change.events))
    try:
        client.update_item(
            TableName=table,
            Key=_execution_key(key),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except Exception as error:
        if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _record_keys(client: Any, table: str, key: str) -> list[dict[str, Any]]:
    """Every record of the execution: its key and TTL (paginated Query, keys and TTL only)."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": c.PARTITION_KEY, "#sk": c.SORT_KEY, "#ttl": c.TTL_ATTRIBUTE},
        "ExpressionAttributeValues": {":pk": {"S": key}},
        "ProjectionExpression": "#pk, #sk, #ttl",
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = client.query(**request)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def extend_expiry(client: Any, table: str, key: str, expires_at: int) -> None:
    """Move every record's TTL out to at least `expires_at` (only records that would expire sooner are written)."""
    for item in _record_keys(client, table, key):
        ttl = item.get(c.TTL_ATTRIBUTE)
        if ttl is not None and int(ttl["N"]) >= expires_at:
            continue
        client.update_item(
            TableName=table,
            Key={c.PARTITION_KEY: item[c.PARTITION_KEY], c.SORT_KEY: item[c.SORT_KEY]},
            UpdateExpression="SET #ttl = :ttl",
            # Only while the record exists: an update would otherwise create a key-only item.
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={"#ttl": c.TTL_ATTRIBUTE, "#pk": c.PARTITION_KEY},
            ExpressionAttributeValues={":ttl": {"N": str(expires_at)}},
        )


def delete_execution(client: Any, table: str, key: str) -> None:
    """Delete the records in batches of 25, the execution record in the last request of all."""
    keys = [
        {c.PARTITION_KEY: item[c.PARTITION_KEY], c.SORT_KEY: item[c.SORT_KEY]}
        for item in _record_keys(client, table, key)
        if item[c.SORT_KEY]["S"] != c.RECORD_EXECUTION
    ]
    for start in range(0, len(keys), _BATCH_SIZE):
        _delete_batch(client, table, keys[start : start + _BATCH_SIZE])
    client.delete_item(TableName=table, Key=_execution_key(key))


def _delete_batch(client: Any, table: str, keys: list[dict[str, Any]]) -> None:
    requests: list[dict[str, Any]] = [{"DeleteRequest": {"Key": item_key}} for item_key in keys]
    pause = 0.05
    # Requests DynamoDB left unprocessed (throttling) are sent again, after a pause that grows each time.
    while requests:
        response = client.batch_write_item(RequestItems={table: requests})
        requests = response.get("UnprocessedItems", {}).get(table, [])
        if requests:
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
