"""The journal on one DynamoDB table: partition = execution, sort key = record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ValidationError
from .dynamodb_items import (
    business_key_partition,
    error_attr,
    events_attr,
    events_value,
    execution_from_item,
    execution_item,
    journal_key,
    ms,
    operation_fields,
    operation_from_item,
    summary_from_item,
    text,
)
from .dynamodb_lifecycle import change_execution, delete_execution, extend_expiry
from .listing import merged_page
from .records import (
    ErrorObject,
    ExecutionRecord,
    ExecutionStatus,
    InvocationRecord,
    JournalEvent,
    JournalSnapshot,
    OperationRecord,
)
from .store import ExecutionChange, ExecutionPage, ExpectedState, JournalConflictError, JournalStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_INPUT_RECORD = "INPUT"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _old_item(error: Exception) -> dict[str, Any]:
    return dict((getattr(error, "response", None) or {}).get("Item", {}))


def _already_written(old: dict[str, Any], fields: dict[str, Any], new_events: list[JournalEvent]) -> bool:
    """True when the item already holds exactly this write (an earlier attempt of the same request landed).

    Every field is compared, not only status and attempt: two invocations can make writes that differ only in
    what they carry (a callback's secret hash), and the one whose write did not land must know it.
    """
    recorded = [item["S"] for item in old.get("ev", {}).get("L", [])]
    mine = [event.encode() for event in new_events]
    same_fields = all(old.get(name) == value for name, value in fields.items() if name != c.TTL_ATTRIBUTE)
    return same_fields and len(recorded) >= len(mine) and recorded[len(recorded) - len(mine) :] == mine


def _explained(error: Exception, table: str) -> Exception:
    """A missing journal table says which table and how to get one; other errors stay as they are."""
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    if code != "ResourceNotFoundException":
        return error
    return ValidationError(
        f"the journal table {table!r} does not exist in this account and region: deploy the function with "
        "DurableFunction (durable_constructs), which creates its engine's table, or create one with "
        "durable_runtime.testing.resources.create_journal_table and set DURABLE_JOURNAL_TABLE to its name"
    )


def _is_conflict(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == _CONDITION_FAILED)


class DynamoDBJournalStore(JournalStore):
    """JournalStore on a DynamoDB table with the key schema named in `contract`."""

    def for_table(self, table: str) -> JournalStore:
        """This store's client on another engine's journal table."""
        return self if table == self._table else DynamoDBJournalStore(self._client, table)

    def __init__(self, client: DynamoDBClient | Any, table_name: str) -> None:
        # Typed loosely: items are plain attribute-value dicts built and read right here.
        self._client: Any = client
        self._table = table_name

    # region reads
    def load(self, key: str) -> JournalSnapshot:
        """Read all records with one strongly consistent Query, following pages."""
        execution: ExecutionRecord | None = None
        input_payload: str | None = None
        operations: dict[str, OperationRecord] = {}
        invocations: dict[int, InvocationRecord] = {}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": c.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": key}},
            "ConsistentRead": True,
        }
        while True:
            try:
                page = self._client.query(**request)
            except Exception as error:
                raise _explained(error, self._table) from error
            for item in page.get("Items", []):
                sort_key = item[c.SORT_KEY]["S"]
                if sort_key == c.RECORD_EXECUTION:
                    execution = execution_from_item(item)
                elif sort_key == _INPUT_RECORD:
                    input_payload = text(item.get("payload"))
                elif sort_key.startswith(c.RECORD_OPERATION_PREFIX):
                    record = operation_from_item(item)
                    operations[record.operation_id] = record
                elif sort_key.startswith(c.RECORD_INVOCATION_PREFIX):
                    seq = int(sort_key[len(c.RECORD_INVOCATION_PREFIX) :])
                    invocations[seq] = InvocationRecord(seq, events_value(item.get("ev")))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return JournalSnapshot(execution, input_payload, operations, invocations)

    def get_execution(self, key: str) -> ExecutionRecord | None:
        """Read the execution record alone."""
        item = self._client.get_item(
            TableName=self._table,
            Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else execution_from_item(item)

    def get_input(self, key: str) -> str | None:
        """Read the execution's input alone."""
        item = self._client.get_item(
            TableName=self._table,
            Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": _INPUT_RECORD}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else text(item.get("payload"))

    def get_operation(self, key: str, operation_id: str) -> OperationRecord | None:
        """Read one operation record, strongly consistent."""
        item = self._client.get_item(
            TableName=self._table,
            Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_OPERATION_PREFIX + operation_id}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else operation_from_item(item)

    def last_invocation_seq(self, key: str) -> int:
        """One Query for the newest invocation record's key (sort keys hold zero-padded sequence numbers)."""
        page = self._client.query(
            TableName=self._table,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :inv)",
            ExpressionAttributeNames={"#pk": c.PARTITION_KEY, "#sk": c.SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": key}, ":inv": {"S": c.RECORD_INVOCATION_PREFIX}},
            ProjectionExpression="#sk",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = page.get("Items", [])
        return int(items[0][c.SORT_KEY]["S"][len(c.RECORD_INVOCATION_PREFIX) :]) if items else 0

    def list_executions(
        self,
        function_arn: str,
        *,
        limit: int,
        marker: str | None,
        newest_first: bool,
        business_key: str | None = None,
    ) -> ExecutionPage:
        """Page through the sparse by-function index, one Query per shard, merged in start order; or, given a
        business key, through its one partition of the business-key index."""
        if business_key is not None:
            return self._list_by_business_key(function_arn, business_key, limit, marker, newest_first)

        def query_shard(shard: str, start: dict[str, Any] | None, count: int) -> tuple[list[dict[str, Any]], bool]:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": c.LIST_INDEX_NAME,
                "KeyConditionExpression": "#fn = :fn",
                "ExpressionAttributeNames": {"#fn": c.LIST_INDEX_PARTITION_KEY},
                "ExpressionAttributeValues": {":fn": {"S": shard}},
                "ScanIndexForward": not newest_first,
                "Limit": count,
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self._client.query(**request)
            return page.get("Items", []), "LastEvaluatedKey" in page

        return merged_page(query_shard, function_arn, limit=limit, marker=marker, newest_first=newest_first)

    def _list_by_business_key(
        self, function_arn: str, business_key: str, limit: int, marker: str | None, newest_first: bool
    ) -> ExecutionPage:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": c.BUSINESS_KEY_INDEX_NAME,
            "KeyConditionExpression": "#bkey = :bkey",
            "ExpressionAttributeNames": {"#bkey": c.BUSINESS_KEY_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":bkey": {"S": business_key_partition(function_arn, business_key)}},
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if marker:
            request["ExclusiveStartKey"] = json.loads(marker)
        page = self._client.query(**request)
        following = page.get("LastEvaluatedKey")
        return ExecutionPage(
            [summary_from_item(item) for item in page.get("Items", [])],
            json.dumps(following, sort_keys=True) if following else None,
        )

    # endregion

    # region writes
    def create_execution(
        self, record: ExecutionRecord, input_payload: str | None, expires_at: int, *, wake: str | None = None
    ) -> bool:
        """Claim the name with the input record, then create the execution record (carrying `wake`, if given).

        The input record is written first and only if absent or holding the same input, so two starts racing
        with different inputs can never leave an execution whose record and input disagree.
        """
        key = {"S": journal_key(record)}
        input_item: dict[str, Any] = {
            c.PARTITION_KEY: key,
            c.SORT_KEY: {"S": _INPUT_RECORD},
            "ih": {"S": record.input_hash},
            c.TTL_ATTRIBUTE: {"N": str(expires_at)},
        }
        if input_payload is not None:
            input_item["payload"] = {"S": input_payload}
        item = execution_item(record)
        item[c.TTL_ATTRIBUTE] = {"N": str(expires_at)}
        if wake is not None:
            item[c.WAKE_ATTRIBUTE] = {"S": wake}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=input_item,
                ConditionExpression="attribute_not_exists(#pk) OR ih = :ih",
                ExpressionAttributeNames={"#pk": c.PARTITION_KEY},
                ExpressionAttributeValues={":ih": {"S": record.input_hash}},
            )
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": c.PARTITION_KEY},
            )
        except Exception as error:
            if _is_conflict(error):
                return False
            raise
        return True

    def acquire_lease(self, key: str, seen_seq: int, new_seq: int, owner: str, until: float) -> bool:
        """Advance the invocation counter from `seen_seq`; the counter is the execution's fencing token."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
                # The start this execution's outbox entry asked for has happened: the entry is consumed.
                UpdateExpression="SET inv = :next, lo = :owner, lu = :until REMOVE #wake",
                ConditionExpression="inv = :seen AND st = :running",
                ExpressionAttributeNames={"#wake": c.WAKE_ATTRIBUTE},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ExpressionAttributeValues={
                    ":next": {"N": str(new_seq)},
                    ":seen": {"N": str(seen_seq)},
                    ":owner": {"S": owner},
                    ":until": ms(until),
                    ":running": {"S": ExecutionStatus.RUNNING.value},
                },
            )
        except Exception as error:
            if _is_conflict(error):
                # botocore may have retried a request whose first attempt landed: then the lease is ours.
                old = _old_item(error)
                return old.get("inv", {}).get("N") == str(seen_seq + 1) and old.get("lo", {}).get("S") == owner
            raise
        return True

    def renew_lease(self, key: str, seq: int, owner: str, until: float) -> bool:
        """Move the lease's end out, only while this owner still holds it and the execution runs."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
                UpdateExpression="SET lu = :until",
                ConditionExpression="inv = :seq AND lo = :owner AND st = :running",
                ExpressionAttributeValues={
                    ":until": ms(until),
                    ":seq": {"N": str(seq)},
                    ":owner": {"S": owner},
                    ":running": {"S": ExecutionStatus.RUNNING.value},
                },
            )
        except Exception as error:
            if _is_conflict(error):
                return False
            raise
        return True

    def restore_lease(self, key: str, taken_seq: int, owner: str, previous: ExecutionRecord) -> bool:
        """Put the counter and lease fields back exactly as they were, if this invocation still holds them."""
        values: dict[str, Any] = {
            ":prev": {"N": str(previous.invocation_seq)},
            ":taken": {"N": str(taken_seq)},
            ":owner": {"S": owner},
        }
        # The outbox entry stays consumed: putting it back would start the execution again.
        sets, removes = ["inv = :prev"], [c.WAKE_ATTRIBUTE]
        for attr, value in (
            ("lo", None if previous.lease_owner is None else {"S": previous.lease_owner}),
            ("lu", ms(previous.lease_until)),
        ):
            if value is None:
                removes.append(attr)
            else:
                sets.append(f"{attr} = :old_{attr}")
                values[f":old_{attr}"] = value
        try:
            self._client.update_item(
                TableName=self._table,
                Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression="inv = :taken AND lo = :owner",
                ExpressionAttributeValues=values,
            )
        except Exception as error:
            if _is_conflict(error):
                return False
            raise
        return True

    def write_operation(
        self,
        key: str,
        record: OperationRecord,
        new_events: list[JournalEvent],
        expected: ExpectedState | None,
        expires_at: int,
        *,
        wake: str | None = None,
    ) -> None:
        """One conditional write: a PutItem for a new record, an UpdateItem appending events to an existing one.

        The write carries `wake` (an outbox entry) if given, and removes an earlier one otherwise.
        """
        fields = operation_fields(record)
        fields[c.TTL_ATTRIBUTE] = {"N": str(expires_at)}
        fields[c.WAKE_ATTRIBUTE] = None if wake is None else {"S": wake}
        item_key = {c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_OPERATION_PREFIX + record.operation_id}}
        try:
            if expected is None:
                item = {
                    **item_key,
                    **{k: v for k, v in fields.items() if v is not None},
                    "ev": events_attr(new_events),
                }
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#pk)",
                    ExpressionAttributeNames={"#pk": c.PARTITION_KEY},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            else:
                self._update_operation(item_key, fields, new_events, expected)
        except Exception as error:
            if _is_conflict(error):
                if _already_written(_old_item(error), fields, new_events):
                    return
                raise JournalConflictError(
                    f"operation {record.operation_id} ({record.name or record.operation_type.value}) was changed "
                    "by another invocation; this invocation stops and leaves it to the other one"
                ) from error
            raise

    def _update_operation(
        self, item_key: dict[str, Any], fields: dict[str, Any], new_events: list[JournalEvent], expected: ExpectedState
    ) -> None:
        names: dict[str, str] = {"#ev": "ev", "#st_old": "st", "#att_old": "att"}
        values: dict[str, Any] = {
            ":new_events": events_attr(new_events),
            ":st_old": {"S": expected.status},
            ":att_old": {"N": str(expected.attempt)},
        }
        sets, removes = ["#ev = list_append(#ev, :new_events)"], []
        for index, (attr, value) in enumerate(fields.items()):
            names[f"#a{index}"] = attr
            if value is None:
                removes.append(f"#a{index}")
            else:
                sets.append(f"#a{index} = :v{index}")
                values[f":v{index}"] = value
        self._client.update_item(
            TableName=self._table,
            Key=item_key,
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            ConditionExpression="#st_old = :st_old AND #att_old = :att_old",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def write_invocation(self, key: str, seq: int, events: list[JournalEvent], expires_at: int) -> bool:
        """Put the invocation record once."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    c.PARTITION_KEY: {"S": key},
                    c.SORT_KEY: {"S": f"{c.RECORD_INVOCATION_PREFIX}{seq:010d}"},
                    "ev": events_attr(events),
                    c.TTL_ATTRIBUTE: {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": c.PARTITION_KEY},
            )
        except Exception as error:
            if _is_conflict(error):
                return False
            raise
        return True

    def close_execution(
        self,
        key: str,
        status: ExecutionStatus,
        *,
        result: str | None,
        result_ref: str | None,
        error: ErrorObject | None,
        error_ref: str | None = None,
        events: list[JournalEvent],
        ended_at: float,
        expires_at: int,
        wake: str | None = None,
    ) -> bool:
        """Close an open execution, set its retention, release the lease, and carry `wake` if given."""
        sets = ["st = :st", "ended = :ended", "#ttl = :ttl", "ev = list_append(ev, :events)"]
        removes = ["lo", "lu", "pz"]
        values: dict[str, Any] = {
            ":st": {"S": status.value},
            ":ended": ms(ended_at),
            ":ttl": {"N": str(expires_at)},
            ":events": events_attr(events),
            ":running": {"S": ExecutionStatus.RUNNING.value},
            ":paused": {"S": ExecutionStatus.PAUSED.value},
        }
        for attr, value in (("res", result), ("res_ref", result_ref), ("err_ref", error_ref), ("#wake", wake)):
            if value is not None:
                sets.append(f"{attr} = :{attr.lstrip('#')}")
                values[f":{attr.lstrip('#')}"] = {"S": value}
        if wake is None:
            removes.append("#wake")
        if error is not None:
            sets.append("err = :err")
            values[":err"] = error_attr(error)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                # A paused execution can close too: stopped, timed out, or finished by the invocation it let end.
                ConditionExpression="st IN (:running, :paused)",
                ExpressionAttributeNames={"#ttl": c.TTL_ATTRIBUTE, "#wake": c.WAKE_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except Exception as failure:
            if _is_conflict(failure):
                return False
            raise
        return True

    def change_execution(self, key: str, change: ExecutionChange) -> bool:
        """One conditional UpdateItem of the execution record (see `ExecutionChange`)."""
        return change_execution(self._client, self._table, key, change)

    def extend_expiry(self, key: str, expires_at: int) -> None:
        """Move the TTL of every record kept for less than `expires_at` out to it."""
        extend_expiry(self._client, self._table, key, expires_at)

    def delete_execution(self, key: str) -> None:
        """Delete the execution's records in batches, its execution record last."""
        delete_execution(self._client, self._table, key)

    # endregion
