"""What workflows cost on AWS, priced from the requests they make: every request counted from real boto3 calls
on moto, every item's size read back from the journal.

Prices are us-east-1 list prices (December 2026): DynamoDB on-demand $0.625 per million write units and $0.125 per
million read units, storage $0.25 and point-in-time recovery (on in the construct) $0.20 per GB-month; SQS $0.40 per
million requests; EventBridge Scheduler $1.00 per million schedules fired; Lambda $0.20 per million requests.
Lambda duration depends on the handler and is not priced. A record is kept for the execution's life plus its
retention (`retention_days`, 14 by default): storage is priced for that long.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

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


class _Requests:
    """The runtime's calls, by operation, with the items each write wrote (by key) for sizing."""

    def __init__(self, runner: DurableFunctionTestRunner) -> None:
        self.calls: Counter[str] = Counter()
        self.written_keys: list[tuple[str, str]] = []
        for client in (runner.dynamodb, runner.sqs, runner.scheduler, runner.s3):
            client.meta.events.register("provide-client-params", self._count)

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        for key in _written_keys(model.name, params):
            self.written_keys.append(key)


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if operation == "TransactWriteItems":
        return [key for entry in params["TransactItems"] for key in _written_keys(*_transact_entry(entry))]
    if operation == "PutItem":
        return [(params["Item"]["pk"]["S"], params["Item"]["sk"]["S"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["Key"]["pk"]["S"], params["Key"]["sk"]["S"])]
    return []


def _transact_entry(entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((kind, params),) = entry.items()
    return {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(kind, kind), params


def measure_shape(handler: Callable[[Any, Any], Any], callback: bool = False) -> dict[str, float]:
    """Requests, write units, stored bytes and invocations of one execution of `handler`."""
    with DurableFunctionTestRunner(handler, execution_timeout=3 * 86_400) as runner:
        requests = _Requests(runner)
        arn = runner.run_async(input="{}")
        if callback:
            runner.send_callback_success(runner.wait_for_callback(arn), b'"ok"')
        runner.wait_for_result(arn, timeout=120)
        table = runner.environment["DURABLE_JOURNAL_TABLE"]
        items = runner._aws["dynamodb"].scan(TableName=table)["Items"]
        invocations = runner.local_lambda.invocations
    sizes = {(item["pk"]["S"], item["sk"]["S"]): _item_bytes(item) for item in items}
    # A write costs one unit per KB of the item written (its final size here: an upper bound for growing items);
    # an execution record's write is copied to the listing index (one more unit).
    units = sum(math.ceil(sizes.get(key, 1024) / 1024) + (key[1] == "EXEC") for key in requests.written_keys)
    calls = requests.calls
    return {
        "write_requests": sum(calls[name] for name in _WRITES),
        "write_units": units,
        "read_requests": sum(calls[name] for name in _READS),
        "sqs_requests": sum(calls[name] for name in _SQS),
        "schedules": calls["CreateSchedule"],
        "lambda_invocations": invocations,
        "stored_bytes": sum(sizes.values()),
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
