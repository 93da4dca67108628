"""What workflows cost on AWS, priced from the requests they make: every request counted from real boto3 calls
on moto, every item's size read back from the journal.

Prices are us-east-1 list prices (December 2026): DynamoDB on-demand $0.625 per million write units and $0.125 per
million read units, storage $0.25 and point-in-time recovery (on in the construct) $0.20 per GB-month; SQS $0.40 per
million requests; EventBridge Scheduler $1.00 per million schedules fired; Lambda $0.20 per million requests.
Lambda duration depends on the handler and is not priced. A record is kept for the execution's life plus its
retention (`retention_days`, 14 by default): storage is priced for that long, with the 100 bytes DynamoDB adds to
every item it stores, in the table and in an index.

Index writes follow DynamoDB's rules for a global secondary index: a write that creates an item carrying the index's
partition key writes the index once; an update writes it once if it changes an attribute the index holds (its keys
and projected attributes), twice if it changes an index key; any other update costs the index nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable_runtime import contract
from durable_runtime.config import Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

WRITE_UNIT_USD = 0.625e-6
READ_UNIT_USD = 0.125e-6
STORAGE_GB_MONTH_USD = 0.25 + 0.20  # storage + point-in-time recovery
SQS_REQUEST_USD = 0.40e-6
SCHEDULE_USD = 1.00e-6
LAMBDA_REQUEST_USD = 0.20e-6
RETENTION_DAYS = 14
ITEM_OVERHEAD_BYTES = 100  # what DynamoDB adds to each stored item (table or index) for its storage billing
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
_READS = {"GetItem", "Query", "BatchGetItem"}
_SQS = {"SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "DeleteMessage"}


def _item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers counted as their digits, a close bound)."""

    def value_bytes(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind in ("S", "N"):
            return len(inner.encode()) if kind == "S" else math.ceil(len(inner) / 2) + 1
        if kind == "B":
            return len(inner)
        if kind in ("L",):
            return 3 + sum(value_bytes(element) + 1 for element in inner)
        if kind == "M":
            return 3 + sum(len(key) + value_bytes(element) + 1 for key, element in inner.items())
        if kind in ("SS", "NS"):
            return sum(len(str(element)) for element in inner)
        return 1

    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


# Each index over execution records: its partition key, and every attribute it holds (keys and projection).
_INDEXES = tuple(
    (partition, {partition, contract.LIST_INDEX_SORT_KEY}, set(projected))
    for _, partition, projected in contract.EXECUTION_INDEXES
)
_TABLE_KEYS = (contract.PARTITION_KEY, contract.SORT_KEY)


@dataclass(frozen=True)
class _Write:
    """One item written by one request: its key, what it changed, and whether a transaction wrote it."""

    key: tuple[str, str]
    operation: str
    touched: frozenset[str]  # attributes an update sets or removes (every attribute for a put)
    transactional: bool


class _Requests:
    """The runtime's calls, by operation, with the items each write wrote for sizing."""

    def __init__(self, runner: DurableFunctionTestRunner) -> None:
        self.calls: Counter[str] = Counter()
        self.writes: list[_Write] = []
        for client in (runner.dynamodb, runner.sqs, runner.scheduler, runner.s3):
            client.meta.events.register("provide-client-params", self._count)

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "TransactWriteItems":
            self.writes += [_write(*_transact_entry(entry), transactional=True) for entry in params["TransactItems"]]
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.writes.append(_write(model.name, params, transactional=False))


def _write(operation: str, params: dict[str, Any], transactional: bool) -> _Write:
    item_key = params["Item"] if operation == "PutItem" else params["Key"]
    key = (item_key[contract.PARTITION_KEY]["S"], item_key[contract.SORT_KEY]["S"])
    if operation == "PutItem":
        touched = frozenset(params["Item"])
    elif operation == "UpdateItem":
        touched = _updated_attributes(params["UpdateExpression"], params.get("ExpressionAttributeNames", {}))
    else:
        touched = frozenset()
    return _Write(key, operation, touched, transactional)


def _updated_attributes(expression: str, names: dict[str, str]) -> frozenset[str]:
    """The top-level attributes an update expression sets, removes, adds to or deletes from."""
    clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expression)
    paths: list[str] = []
    for keyword, body in zip(clauses[1::2], clauses[2::2], strict=True):
        if keyword == "SET":
            paths += re.findall(r"([#\w.\[\]]+)\s*=", body)
        else:
            paths += [part.split()[0] for part in body.split(",") if part.strip()]
    tops = (re.split(r"[.\[]", path.strip())[0] for path in paths)
    return frozenset(names.get(top, top) for top in tops)


def _transact_entry(entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((kind, params),) = entry.items()
    return {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(kind, kind), params


def _write_units(write: _Write, items: dict[tuple[str, str], dict[str, Any]]) -> int:
    """The write units of one item written: the table's (by the item's final size, an upper bound for an item
    that grew), doubled in a transaction, plus each index's by DynamoDB's rules."""
    item = items.get(write.key, {})
    units = math.ceil(max(_item_bytes(item), 1) / 1024) * (2 if write.transactional else 1)
    for partition, keys, projected in _INDEXES:
        if partition not in item and partition not in write.touched:
            continue  # the item is not in this (sparse) index
        if write.operation != "UpdateItem":
            units += 1
        elif write.touched & keys:
            units += 2  # an index key set or changed: the old entry (if any) is deleted and the new one put
        elif write.touched & projected:
            units += 1
    return units


def _stored_bytes(items: list[dict[str, Any]]) -> int:
    """What the journal keeps: every item and every index entry, each with DynamoDB's per-item overhead."""
    stored = 0
    for item in items:
        stored += _item_bytes(item) + ITEM_OVERHEAD_BYTES
        for partition, keys, projected in _INDEXES:
            if partition in item:
                held = {name: value for name, value in item.items() if name in {*keys, *projected, *_TABLE_KEYS}}
                stored += _item_bytes(held) + ITEM_OVERHEAD_BYTES
    return stored


def measure_shape(handler: Callable[[Any, Any], Any], callback: bool = False) -> dict[str, float]:
    """Requests, write units, stored bytes and invocations of one execution of `handler`."""
    with DurableFunctionTestRunner(handler, execution_timeout=3 * 86_400) as runner:
        requests = _Requests(runner)
        arn = runner.run_async(input="{}")
        if callback:
            runner.send_callback_success(runner.wait_for_callback(arn), b'"ok"')
        runner.wait_for_result(arn, timeout=120)
        table = runner.environment[contract.ENV_JOURNAL_TABLE]
        items = runner._aws["dynamodb"].scan(TableName=table)["Items"]
        invocations = runner.local_lambda.invocations
    by_key = {(item[contract.PARTITION_KEY]["S"], item[contract.SORT_KEY]["S"]): item for item in items}
    calls = requests.calls
    return {
        "write_requests": sum(calls[name] for name in _WRITES),
        "write_units": sum(_write_units(write, by_key) for write in requests.writes),
        "read_requests": sum(calls[name] for name in _READS),
        "sqs_requests": sum(calls[name] for name in _SQS),
        "schedules": calls["CreateSchedule"],
        "lambda_invocations": invocations,
        "stored_bytes": _stored_bytes(items),
    }


def usd(figures: dict[str, float], days_alive: float) -> float:
    """The execution's cost on AWS in US dollars (Lambda duration aside)."""
    months = (days_alive + RETENTION_DAYS) / 30.4
    return (
        figures["write_units"] * WRITE_UNIT_USD
        + figures["read_requests"] * READ_UNIT_USD  # strongly consistent reads of small journals: ~1 unit each
        + figures["stored_bytes"] / 1e9 * STORAGE_GB_MONTH_USD * months
        + figures["sqs_requests"] * SQS_REQUEST_USD
        + figures["schedules"] * SCHEDULE_USD
        + figures["lambda_invocations"] * LAMBDA_REQUEST_USD
    )


def _shape(steps: int, wait_seconds: int = 0, callback: bool = False) -> Callable[[Any, Any], Any]:
    @durable_execution
    def handler(event: Any, ctx: Any) -> int:
        for index in range(steps):
            ctx.step(lambda _, i=index: {"index": i, "ok": True}, name=f"step-{index}")
        if wait_seconds:
            ctx.wait(Duration.from_seconds(wait_seconds), name="pause")
        if callback:
            ctx.create_callback("approval").result()
        return steps

    return handler


def measure() -> dict[str, dict[str, float]]:
    """Per workflow shape: its request figures, its cost and its cost per million steps."""
    shapes = {
        "100 steps": (_shape(100), False, 0.0),
        "10 steps + 1-day wait": (_shape(10, wait_seconds=86_400), False, 1.0),
        "10 steps + callback": (_shape(10, callback=True), True, 0.0),
    }
    report = {}
    for name, (handler, callback, days) in shapes.items():
        figures = measure_shape(handler, callback)
        cost = usd(figures, days)
        steps = int(name.split()[0])
        report[name] = {**figures, "usd_per_execution": cost, "usd_per_million_steps": cost / steps * 1e6}
    return report


def print_report(report: dict[str, dict[str, float]]) -> None:
    """One line per shape."""
    print(f"\n{'workflow':24} {'writes':>6} {'WRU':>5} {'reads':>5} {'SQS':>4} {'sched':>5} {'invoc':>5} "
          f"{'bytes':>7} {'$/1M steps':>10}")  # fmt: skip
    for name, f in report.items():
        print(
            f"{name:24} {f['write_requests']:6.0f} {f['write_units']:5.0f} {f['read_requests']:5.0f} "
            f"{f['sqs_requests']:4.0f} {f['schedules']:5.0f} {f['lambda_invocations']:5.0f} "
            f"{f['stored_bytes']:7.0f} {f['usd_per_million_steps']:10.3f}"
        )
