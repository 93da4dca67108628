"""Request counts, from real boto3 calls on moto: what a step, a wait and a replay cost in DynamoDB and timers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from durable_runtime.config import Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
TIMERS = {"SendMessage", "CreateSchedule"}


class CallCounter:
    """Counts the AWS calls made from Lambda invocations (not the runner's own bookkeeping)."""

    def __init__(self, runner: DurableFunctionTestRunner, *, include_workers: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        # Map and parallel branches call AWS from the branch threads, and held starts from the linger timer.
        self._prefixes = ("lambda-", "durable-branch", "durable-linger") if include_workers else ("lambda-",)
        self._lock = threading.Lock()
        for client in (runner.dynamodb, runner.sqs, runner.scheduler, runner.s3):
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        if threading.current_thread().name.startswith(self._prefixes):
            with self._lock:
                self.calls[model.name] += 1

    def total(self, names: set[str]) -> int:
        """Calls of any of `names`."""
        return sum(count for name, count in self.calls.items() if name in names)


def _run(handler: Callable[[Any, Any], Any]) -> Counter[str]:
    with DurableFunctionTestRunner(handler, execution_timeout=86_400) as runner:
        counter = CallCounter(runner)
        runner.run(input="{}")
        return counter.calls


def _steps(count: int) -> Callable[[Any, Any], Any]:
    @durable_execution
    def handler(event: Any, ctx: Any) -> int:
        for index in range(count):
            ctx.step(lambda _, i=index: i, name=f"step-{index}")
        return count

    return handler


def _waits(count: int) -> Callable[[Any, Any], Any]:
    @durable_execution
    def handler(event: Any, ctx: Any) -> int:
        for index in range(count):
            ctx.wait(Duration.from_seconds(10), name=f"wait-{index}")
        return count

    return handler


def _marginal(factory: Callable[[int], Callable[[Any, Any], Any]], names: set[str], base: int = 20) -> float:
    """Requests per operation: the difference between runs with `base` and `2 * base` operations."""
    small = sum(v for k, v in _run(factory(base)).items() if k in names)
    large = sum(v for k, v in _run(factory(2 * base)).items() if k in names)
    return (large - small) / base


def replay_queries(operations: int = 3000) -> int:
    """Query calls made by the invocation that resumes after `operations` recorded steps."""

    @durable_execution
    def handler(event: Any, ctx: Any) -> int:
        for index in range(operations):
            ctx.step(lambda _, i=index: i, name=f"step-{index}")
        ctx.wait(Duration.from_seconds(5), name="pause")
        return operations

    with DurableFunctionTestRunner(handler, execution_timeout=86_400) as runner:
        counter = CallCounter(runner)
        arn = runner.run_async(input="{}")
        runner.local_lambda.run(runner.local_lambda.pop_ready())  # records the steps, suspends on the wait
        counter.calls.clear()
        runner.wait_for_result(arn)
        return counter.calls["Query"]


def measure() -> dict[str, float]:
    """All request-count figures."""
    return {
        "step_writes": _marginal(_steps, WRITES),
        "step_reads": _marginal(_steps, READS),
        "wait_writes": _marginal(_waits, WRITES, base=10),
        "wait_timer_calls": _marginal(_waits, TIMERS, base=10),
        "wait_reads": _marginal(_waits, READS, base=10),
        "replay_queries_3000": replay_queries(3000),
    }
