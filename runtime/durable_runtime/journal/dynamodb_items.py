"""How journal records map to DynamoDB items: attribute names and encodings, in one place."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import contract as c
from .records import (
    ErrorObject,
    ExecutionRecord,
    ExecutionStatus,
    ExecutionSummary,
    JournalEvent,
    OperationRecord,
    OperationStatus,
    OperationType,
    PauseInfo,
)


def ms(seconds: float | None) -> dict[str, str] | None:
    return None if seconds is None else {"N": str(round(seconds * 1000))}


def seconds(attr: dict[str, str] | None) -> float | None:
    return None if attr is None else int(attr["N"]) / 1000


def text(attr: dict[str, Any] | None) -> str | None:
    return None if attr is None else attr["S"]


def error_attr(error: ErrorObject | None) -> dict[str, str] | None:
    return None if error is None else {"S": json.dumps(error.to_dict(), separators=(",", ":"))}


def error_value(attr: dict[str, str] | None) -> ErrorObject | None:
    return None if attr is None else ErrorObject.from_dict(json.loads(attr["S"]))


def events_value(attr: dict[str, Any] | None) -> tuple[JournalEvent, ...]:
    return () if attr is None else tuple(JournalEvent.decode(item["S"]) for item in attr["L"])


def events_attr(events: list[JournalEvent]) -> dict[str, Any]:
    return {"L": [{"S": event.encode()} for event in events]}


def listing_key(function_arn: str, execution_name: str) -> str:
    """The listing index's partition key of an execution: its function's ARN and a shard from its name."""
    shard = (
        int.from_bytes(hashlib.blake2b(execution_name.encode(), digest_size=2).digest(), "big") % c.LIST_INDEX_SHARDS
    )
    return f"{function_arn}{c.LIST_INDEX_SHARD_SEPARATOR}{shard}"


def listing_keys(function_arn: str) -> list[str]:
    """Every listing-index partition key of a function's executions."""
    return [f"{function_arn}{c.LIST_INDEX_SHARD_SEPARATOR}{shard}" for shard in range(c.LIST_INDEX_SHARDS)]


def function_of(listing_partition: str) -> str:
    """The function ARN a listing-index partition key names."""
    return listing_partition.rsplit(c.LIST_INDEX_SHARD_SEPARATOR, 1)[0]


def summary_from_item(item: dict[str, Any]) -> ExecutionSummary:
    """An execution as the listing index projects it (contract.LIST_INDEX_PROJECTED_ATTRIBUTES and the keys)."""
    return ExecutionSummary(
        arn=item["arn"]["S"],
        execution_name=item["name"]["S"],
        function_arn=function_of(item[c.LIST_INDEX_PARTITION_KEY]["S"]),
        version=item["ver"]["S"],
        status=ExecutionStatus(item["st"]["S"]),
        started_at=seconds(item[c.LIST_INDEX_SORT_KEY]) or 0.0,
        ended_at=seconds(item.get("ended")),
    )


def execution_item(record: ExecutionRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        c.PARTITION_KEY: {"S": journal_key(record)},
        c.SORT_KEY: {"S": c.RECORD_EXECUTION},
        "arn": {"S": record.arn},
        c.LIST_INDEX_PARTITION_KEY: {"S": listing_key(record.function_arn, record.execution_name)},
        c.LIST_INDEX_SORT_KEY: ms(record.started_at),
        "ver": {"S": record.version},
        "name": {"S": record.execution_name},
        "st": {"S": record.status.value},
        "timeout_at": ms(record.timeout_at),
        "ret": {"N": str(record.retention_days)},
        "ih": {"S": record.input_hash},
        "inv": {"N": str(record.invocation_seq)},
        "ev": events_attr(list(record.events)),
    }
    if record.pause is not None:
        item["pz"] = {"S": record.pause.encode()}
    if record.business_key is not None:
        item[c.BUSINESS_KEY_INDEX_PARTITION_KEY] = {
            "S": business_key_partition(record.function_arn, record.business_key)
        }
    if record.parent_arn and record.parent_operation_id:
        item["parent"] = {"S": record.parent_arn}
        item["parent_op"] = {"S": record.parent_operation_id}
    return item


def execution_from_item(item: dict[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        arn=item["arn"]["S"],
        function_arn=function_of(item[c.LIST_INDEX_PARTITION_KEY]["S"]),
        version=item["ver"]["S"],
        execution_name=item["name"]["S"],
        status=ExecutionStatus(item["st"]["S"]),
        started_at=seconds(item[c.LIST_INDEX_SORT_KEY]) or 0.0,
        timeout_at=seconds(item["timeout_at"]) or 0.0,
        retention_days=int(item["ret"]["N"]),
        input_hash=item["ih"]["S"],
        invocation_seq=int(item["inv"]["N"]),
        lease_owner=text(item.get("lo")),
        lease_until=seconds(item.get("lu")),
        ended_at=seconds(item.get("ended")),
        result=text(item.get("res")),
        result_ref=text(item.get("res_ref")),
        error=error_value(item.get("err")),
        error_ref=text(item.get("err_ref")),
        events=events_value(item.get("ev")),
        parent_arn=text(item.get("parent")),
        parent_operation_id=text(item.get("parent_op")),
        pause=PauseInfo.decode(item["pz"]["S"]) if "pz" in item else None,
        business_key=_business_key(item),
    )


def business_key_partition(function_arn: str, business_key: str) -> str:
    """The business-key index's partition key of a function's executions with `business_key`."""
    return f"{function_arn}{c.BUSINESS_KEY_SEPARATOR}{business_key}"


def _business_key(item: dict[str, Any]) -> str | None:
    partition = text(item.get(c.BUSINESS_KEY_INDEX_PARTITION_KEY))
    return None if partition is None else partition.split(c.BUSINESS_KEY_SEPARATOR, 1)[1]


def operation_fields(record: OperationRecord) -> dict[str, Any]:
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


def operation_from_item(item: dict[str, Any]) -> OperationRecord:
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
        result=text(item.get("res")),
        result_ref=text(item.get("res_ref")),
        error=ErrorObject.from_dict(error) if error else None,
        error_ref=described.get("eref"),
        next_attempt_at=described.get("nxt"),
        wait_until=described.get("wu"),
        replay_children=bool(described.get("rc", False)),
        started_at=described.get("sa"),
        ended_at=described.get("ea"),
        extra=described.get("x") or {},
        events=events_value(item.get("ev")),
    )


def journal_key(record: ExecutionRecord) -> str:
    """The journal key of an execution record (its ARN without the version)."""
    from ..engine.ids import ExecutionArn

    return ExecutionArn.parse(record.arn).journal_key
