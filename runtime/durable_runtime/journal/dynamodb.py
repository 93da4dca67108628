"""The journal on one DynamoDB table: partition = execution, sort key = record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import contract as c
from .records import (
    ErrorObject,
    ExecutionRecord,
    ExecutionStatus,
    InvocationRecord,
    JournalEvent,
    JournalSnapshot,
    OperationRecord,
    OperationStatus,
    OperationType,
)
from .store import ExecutionPage, ExpectedState, JournalConflictError, JournalStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_INPUT_RECORD = "INPUT"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _ms(seconds: float | None) -> dict[str, str] | None:
    return None if seconds is None else {"N": str(round(seconds * 1000))}


def _seconds(attr: dict[str, str] | None) -> float | None:
    return None if attr is None else int(attr["N"]) / 1000


def _text(attr: dict[str, Any] | None) -> str | None:
    return None if attr is None else attr["S"]


def _error_attr(error: ErrorObject | None) -> dict[str, str] | None:
    return None if error is None else {"S": json.dumps(error.to_dict(), separators=(",", ":"))}


def _error_value(attr: dict[str, str] | None) -> ErrorObject | None:
    return None if attr is None else ErrorObject.from_dict(json.loads(attr["S"]))


def _events_value(attr: dict[str, Any] | None) -> tuple[JournalEvent, ...]:
    return () if attr is None else tuple(JournalEvent.decode(item["S"]) for item in attr["L"])


def _events_attr(events: list[JournalEvent]) -> dict[str, Any]:
    return {"L": [{"S": event.encode()} for event in events]}


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


def _is_conflict(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == _CONDITION_FAILED)


class DynamoDBJournalStore(JournalStore):
    """JournalStore on a DynamoDB table with the key schema named in `contract`."""

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
            page = self._client.query(**request)
            for item in page.get("Items", []):
                sort_key = item[c.SORT_KEY]["S"]
                if sort_key == c.RECORD_EXECUTION:
                    execution = self._execution_from_item(item)
                elif sort_key == _INPUT_RECORD:
                    input_payload = _text(item.get("payload"))
                elif sort_key.startswith(c.RECORD_OPERATION_PREFIX):
                    record = self._operation_from_item(item)
                    operations[record.operation_id] = record
                elif sort_key.startswith(c.RECORD_INVOCATION_PREFIX):
                    seq = int(sort_key[len(c.RECORD_INVOCATION_PREFIX) :])
                    invocations[seq] = InvocationRecord(seq, _events_value(item.get("ev")))
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
        return None if item is None else self._execution_from_item(item)

    def get_input(self, key: str) -> str | None:
        """Read the execution's input alone."""
        item = self._client.get_item(
            TableName=self._table,
            Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": _INPUT_RECORD}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else _text(item.get("payload"))

    def get_operation(self, key: str, operation_id: str) -> OperationRecord | None:
        """Read one operation record, strongly consistent."""
        item = self._client.get_item(
            TableName=self._table,
            Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_OPERATION_PREFIX + operation_id}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else self._operation_from_item(item)

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
        self, function_arn: str, *, limit: int, marker: str | None, newest_first: bool
    ) -> ExecutionPage:
        """Page through the sparse by-function index."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": c.LIST_INDEX_NAME,
            "KeyConditionExpression": "#fn = :fn",
            "ExpressionAttributeNames": {"#fn": c.LIST_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":fn": {"S": function_arn}},
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if marker:
            request["ExclusiveStartKey"] = json.loads(marker)
        page = self._client.query(**request)
        records = [self._execution_from_item(item) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return ExecutionPage(records, json.dumps(last, sort_keys=True) if last else None)

    # endregion

    # region writes
    def create_execution(
        self, record: ExecutionRecord, input_payload: str | None, expires_at: int, *, wake: str | None = None
    ) -> bool:
        """Claim the name with the input record, then create the execution record (carrying `wake`, if given).

        The input record is written first and only if absent or holding the same input, so two starts racing
        with different inputs can never leave an execution whose record and input disagree.
        """
        key = {"S": _journal_key(record)}
        input_item: dict[str, Any] = {
            c.PARTITION_KEY: key,
            c.SORT_KEY: {"S": _INPUT_RECORD},
            "ih": {"S": record.input_hash},
            c.TTL_ATTRIBUTE: {"N": str(expires_at)},
        }
        if input_payload is not None:
            input_item["payload"] = {"S": input_payload}
        item = self._execution_item(record)
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
                    ":until": _ms(until),
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
                    ":until": _ms(until),
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
            ("lu", _ms(previous.lease_until)),
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
        fields = self._operation_fields(record)
        fields[c.TTL_ATTRIBUTE] = {"N": str(expires_at)}
        fields[c.WAKE_ATTRIBUTE] = None if wake is None else {"S": wake}
        item_key = {c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_OPERATION_PREFIX + record.operation_id}}
        try:
            if expected is None:
                item = {
                    **item_key,
                    **{k: v for k, v in fields.items() if v is not None},
                    "ev": _events_attr(new_events),
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
            ":new_events": _events_attr(new_events),
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
                    "ev": _events_attr(events),
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
        """Close a RUNNING execution, set its retention, release the lease, and carry `wake` if given."""
        sets = ["st = :st", "ended = :ended", "#ttl = :ttl", "ev = list_append(ev, :events)"]
        removes = ["lo", "lu"]
        values: dict[str, Any] = {
            ":st": {"S": status.value},
            ":ended": _ms(ended_at),
            ":ttl": {"N": str(expires_at)},
            ":events": _events_attr(events),
            ":running": {"S": ExecutionStatus.RUNNING.value},
        }
        for attr, value in (("res", result), ("res_ref", result_ref), ("err_ref", error_ref), ("#wake", wake)):
            if value is not None:
                sets.append(f"{attr} = :{attr.lstrip('#')}")
                values[f":{attr.lstrip('#')}"] = {"S": value}
        if wake is None:
            removes.append("#wake")
        if error is not None:
            sets.append("err = :err")
            values[":err"] = _error_attr(error)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={c.PARTITION_KEY: {"S": key}, c.SORT_KEY: {"S": c.RECORD_EXECUTION}},
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                ConditionExpression="st = :running",
                ExpressionAttributeNames={"#ttl": c.TTL_ATTRIBUTE, "#wake": c.WAKE_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except Exception as failure:
            if _is_conflict(failure):
                return False
            raise
        return True

    # endregion

    # region item mapping
    @staticmethod
    def _execution_item(record: ExecutionRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            c.PARTITION_KEY: {"S": _journal_key(record)},
            c.SORT_KEY: {"S": c.RECORD_EXECUTION},
            "arn": {"S": record.arn},
            c.LIST_INDEX_PARTITION_KEY: {"S": record.function_arn},
            c.LIST_INDEX_SORT_KEY: _ms(record.started_at),
            "ver": {"S": record.version},
            "name": {"S": record.execution_name},
            "st": {"S": record.status.value},
            "timeout_at": _ms(record.timeout_at),
            "ret": {"N": str(record.retention_days)},
            "ih": {"S": record.input_hash},
            "inv": {"N": str(record.invocation_seq)},
            "ev": _events_attr(list(record.events)),
        }
        if record.parent_arn and record.parent_operation_id:
            item["parent"] = {"S": record.parent_arn}
            item["parent_op"] = {"S": record.parent_operation_id}
        return item

    @staticmethod
    def _execution_from_item(item: dict[str, Any]) -> ExecutionRecord:
        return ExecutionRecord(
            arn=item["arn"]["S"],
            function_arn=item[c.LIST_INDEX_PARTITION_KEY]["S"],
            version=item["ver"]["S"],
            execution_name=item["name"]["S"],
            status=ExecutionStatus(item["st"]["S"]),
            started_at=_seconds(item[c.LIST_INDEX_SORT_KEY]) or 0.0,
            timeout_at=_seconds(item["timeout_at"]) or 0.0,
            retention_days=int(item["ret"]["N"]),
            input_hash=item["ih"]["S"],
            invocation_seq=int(item["inv"]["N"]),
            lease_owner=_text(item.get("lo")),
            lease_until=_seconds(item.get("lu")),
            ended_at=_seconds(item.get("ended")),
            result=_text(item.get("res")),
            result_ref=_text(item.get("res_ref")),
            error=_error_value(item.get("err")),
            error_ref=_text(item.get("err_ref")),
            events=_events_value(item.get("ev")),
            parent_arn=_text(item.get("parent")),
            parent_operation_id=_text(item.get("parent_op")),
        )

    @staticmethod
    def _operation_fields(record: OperationRecord) -> dict[str, Any]:
        # Status and attempt stay top-level (conditions read them), the result too (it can be large); the rest
        # travels as one compact JSON attribute, which keeps items and update expressions short.
        described = {
            "typ": record.operation_type.value,
            "sub": record.sub_type,
            "name": record.name,
            "par": record.parent_id,
            "err": record.error.to_dict() if record.error else None,
            "eref": record.error_ref,
            "nxt": record.next_attempt_at,
            "wu": record.wait_until,
            "rc": record.replay_children or None,
            "sa": record.started_at,
            "ea": record.ended_at,
            "x": record.extra or None,
        }
        compact = {key: value for key, value in described.items() if value is not None}
        return {
            "st": {"S": record.status.value},
            "att": {"N": str(record.attempt)},
            "res": None if record.result is None else {"S": record.result},
            "res_ref": None if record.result_ref is None else {"S": record.result_ref},
            "d": {"S": json.dumps(compact, separators=(",", ":"))},
        }

    @staticmethod
    def _operation_from_item(item: dict[str, Any]) -> OperationRecord:
        described = json.loads(item["d"]["S"])
        error = described.get("err")
        return OperationRecord(
            operation_id=item[c.SORT_KEY]["S"][len(c.RECORD_OPERATION_PREFIX) :],
            operation_type=OperationType(described["typ"]),
            sub_type=described.get("sub"),
            name=described.get("name"),
            parent_id=described.get("par"),
            status=OperationStatus(item["st"]["S"]),
            attempt=int(item["att"]["N"]),
            result=_text(item.get("res")),
            result_ref=_text(item.get("res_ref")),
            error=ErrorObject.from_dict(error) if error else None,
            error_ref=described.get("eref"),
            next_attempt_at=described.get("nxt"),
            wait_until=described.get("wu"),
            replay_children=bool(described.get("rc", False)),
            started_at=described.get("sa"),
            ended_at=described.get("ea"),
            extra=described.get("x") or {},
            events=_events_value(item.get("ev")),
        )

    # endregion


def _journal_key(record: ExecutionRecord) -> str:
    """The journal key of an execution record (its ARN without the version)."""
    from ..engine.ids import ExecutionArn

    return ExecutionArn.parse(record.arn).journal_key
