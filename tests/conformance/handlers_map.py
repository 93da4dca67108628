"""Handlers for the map specs (shared/conformance/map), each written from its spec's `handler` prose.

Every spec but the concurrent one (9-11) sets max-concurrency 1, so items run one after the other in index
order and the history is deterministic. `runs` counts how often each item body (and step body) ran: an item
the completion policy must never start shows up in `EXPECTED_RUNS` with 0 runs, and an item that finished
before a wait is not run again by the replay after it. Handlers returning a projection of the BatchResult
return JSON values (enum `.value`s, counts).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from durable_runtime.concurrency.models import BatchItem, BatchResult, CompletionReason
from durable_runtime.config import BatchItemStatus, CompletionConfig, Duration, MapConfig, NestingType
from durable_runtime.context import DurableContext
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import ExtendedTypeSerDes, SerDes, SerDesContext

from .spec import ALL_COUNTS
from .spec import batch_projection as _projection

runs: Counter[str] = Counter()

MapFunc = Callable[[DurableContext, Any, int, Sequence[Any]], Any]
WAIT = Duration.from_seconds(1)
# Each item's result stays well under the 256 KB a checkpoint holds; four of them together do not.
LARGE_ITEM_BYTES = 70 * 1024
# How long (real time) item 0 of 9-11 waits for item 2 to finish first; only a runtime that does not run items
# concurrently ever waits this long.
CONCURRENCY_TIMEOUT_SECONDS = 5.0


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


def _sequential(completion_config: CompletionConfig | None = None, **options: Any) -> MapConfig[Any]:
    """Max-concurrency 1 (items in index order), with the spec's completion config when it gives one."""
    if completion_config is not None:
        options["completion_config"] = completion_config
    return MapConfig(max_concurrency=1, **options)


def _failing_at(*failing: int) -> MapFunc:
    """An item function that raises for the given indexes and returns the item otherwise; counts `item-<i>`."""

    def func(_: DurableContext, item: Any, index: int, items: Sequence[Any]) -> Any:
        runs[f"item-{index}"] += 1
        if index in failing:
            raise RuntimeError(f"item {index} ({item!r}) failed")
        return item

    return func


def _not_started(*indexes: int) -> dict[str, int]:
    return {f"item-{index}": 0 for index in indexes}


def _ran_once(*indexes: int) -> dict[str, int]:
    return {f"item-{index}": 1 for index in indexes}


@durable_execution
def map_basic(event: Any, context: DurableContext) -> list[str]:
    """9-1: each item runs a single step returning a greeting."""

    def greet(item_context: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        def step(_: Any) -> str:
            runs[f"step-{index}"] += 1
            return f"Hello, {item}!"

        return item_context.step(step)

    return context.map(event, greet, name="map", config=_sequential()).get_results()


@durable_execution
def map_item_and_index(event: Any, context: DurableContext) -> list[int]:
    """9-3: the function returns item + index, directly (no step)."""

    def add_index(_: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
        runs[f"item-{index}"] += 1
        return item + index

    return context.map(event, add_index, name="indexed", config=_sequential()).get_results()


@durable_execution
def map_empty(event: Any, context: DurableContext) -> list[Any]:
    """9-4: no items at all; the batch completes at once, ALL_COMPLETED with nothing in it."""
    result = context.map(event, _failing_at(), name="empty")
    assert result.completion_reason is CompletionReason.ALL_COMPLETED, result.completion_reason
    assert result.total_count == 0, result.total_count
    return result.get_results()


@durable_execution
def map_throw_if_error(event: Any, context: DurableContext) -> None:
    """9-6: tolerated-failure-count 0: item 0 fails, item 1 never starts; throw_if_error fails the execution."""
    config = _sequential(CompletionConfig(tolerated_failure_count=0))
    context.map(["i0", "i1"], _failing_at(0), name="throwing", config=config).throw_if_error()


@durable_execution
def map_min_successful(event: Any, context: DurableContext) -> dict[str, Any]:
    """9-7: min-successful 2 over four items: items 2 and 3 never start."""
    config = _sequential(CompletionConfig(min_successful=2))
    result = context.map(["i0", "i1", "i2", "i3"], _failing_at(), name="min-successful", config=config)
    return _projection(result, "completionReason", "successCount", "totalCount")


@durable_execution
def map_tolerated_failure(event: Any, context: DurableContext) -> dict[str, Any]:
    """9-8: tolerated-failure-count 1: item 1 fails within tolerance, all three items run."""
    config = _sequential(CompletionConfig(tolerated_failure_count=1))
    result = context.map(["i0", "i1", "i2"], _failing_at(1), name="tolerated", config=config)
    return _projection(result, *ALL_COUNTS)


@durable_execution
def map_tolerated_percentage(event: Any, context: DurableContext) -> dict[str, Any]:
    """9-10: tolerated-failure-percentage 25 of 4 items: items 0 and 1 fail (50%), items 2 and 3 never start."""
    config = _sequential(CompletionConfig(tolerated_failure_percentage=25))
    result = context.map(["i0", "i1", "i2", "i3"], _failing_at(0, 1), name="tolerated-pct", config=config)
    return _projection(result, "completionReason", "successCount", "failureCount", "totalCount")


@durable_execution
def map_concurrent(event: Any, context: DurableContext) -> list[str]:
    """9-11: max-concurrency 2 over three items; results come in index order whatever the completion order.

    Item 0 holds on until item 2 has finished (items 0 and 1 start together, item 2 takes item 1's slot), so
    the completion order is 1, 2, 0; `item-0 finished last` counts that the inversion happened.
    """
    item_2_done = threading.Event()

    def constant(_: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        runs[f"item-{index}"] += 1
        if index == 0 and item_2_done.wait(CONCURRENCY_TIMEOUT_SECONDS):
            runs["item-0 finished last"] += 1
        if index == 2:
            item_2_done.set()
        return item

    config = MapConfig(max_concurrency=2)
    return context.map(["r0", "r1", "r2"], constant, name="concurrent", config=config).get_results()


@durable_execution
def map_flat(event: Any, context: DurableContext) -> list[str]:
    """9-12: FLAT nesting: each item's single step is recorded directly under the Map context."""

    def echo(item_context: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        def step(_: Any) -> str:
            runs[f"step-{index}"] += 1
            return item

        return item_context.step(step)

    config = _sequential(nesting_type=NestingType.FLAT)
    return context.map(["fa", "fb"], echo, name="flat", config=config).get_results()


@durable_execution
def map_wait_in_item(event: Any, context: DurableContext) -> list[str]:
    """9-15: item 0 runs a step; item 1 waits 1 s (suspending the execution), then runs a step.

    The replay returns item 0 from the journal without running it, and re-runs item 1 past its wait.
    """

    def body(item_context: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        runs[f"item-{index}"] += 1
        if index == 1:
            item_context.wait(WAIT)

        def step(_: Any) -> str:
            runs[f"step-{index}"] += 1
            return item

        return item_context.step(step)

    return context.map(["r0", "r1"], body, name="suspend", config=_sequential()).get_results()


@durable_execution
def map_large_result(event: Any, context: DurableContext) -> dict[str, Any]:
    """9-16: four items of ~70 KB each: the Map result is too large to record inline (ReplayChildren)."""

    def large(_: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        runs[f"item-{index}"] += 1
        return item * LARGE_ITEM_BYTES

    result = context.map(["a", "b", "c", "d"], large, name="large", config=_sequential())
    assert all(len(value) == LARGE_ITEM_BYTES for value in result.get_results())
    return _projection(result, "successCount", "totalCount")


@durable_execution
def map_then_wait(event: Any, context: DurableContext) -> list[str]:
    """9-17: both items return the item upper-cased; then a 1 s wait; the replay skips the finished map."""

    def upper(_: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        runs[f"item-{index}"] += 1
        return item.upper()

    result = context.map(["a", "b"], upper, name="then-wait", config=_sequential())
    context.wait(WAIT)
    return result.get_results()


@durable_execution
def map_failure_then_wait(event: Any, context: DurableContext) -> dict[str, Any]:
    """9-18: tolerated-failure-count 1: item 1 fails, not rethrown; then a 1 s wait; the replay skips the map."""
    config = _sequential(CompletionConfig(tolerated_failure_count=1))
    result = context.map(["ok", "fail"], _failing_at(1), name="fail-then-wait", config=config)
    context.wait(WAIT)
    return _projection(result, *ALL_COUNTS)


class OperationSerDes(SerDes[BatchResult[str]]):
    """The map's whole result as "OPSERDE:" and its results joined by commas; read back as all succeeded."""

    PREFIX = "OPSERDE:"

    def serialize(self, value: BatchResult[str], serdes_context: SerDesContext) -> str:
        runs["serialize"] += 1
        return self.PREFIX + ",".join(value.get_results())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> BatchResult[str]:
        assert data.startswith(self.PREFIX), data
        values = data.removeprefix(self.PREFIX).split(",")
        items = [BatchItem(index, BatchItemStatus.SUCCEEDED, value) for index, value in enumerate(values)]
        return BatchResult(items, CompletionReason.ALL_COMPLETED)


@durable_execution
def map_operation_serdes_replay(event: Any, context: DurableContext) -> list[str]:
    """9-20: an operation-level serdes records the map as "OPSERDE:X,Y"; a wait forces the replay to decode it.

    MapConfig.serdes also applies to each item unless item_serdes is given: the items keep the default
    serdes, so the operation-level one only ever sees the whole result.
    """

    def upper(_: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        runs[f"item-{index}"] += 1
        return item.upper()

    config = _sequential(serdes=OperationSerDes(), item_serdes=ExtendedTypeSerDes())
    result = context.map(["x", "y"], upper, name="op-serde-replay", config=config)
    context.wait(WAIT)
    return result.get_results()


HANDLERS = {
    "9-1": map_basic,
    "9-3": map_item_and_index,
    "9-4": map_empty,
    "9-6": map_throw_if_error,
    "9-7": map_min_successful,
    "9-8": map_tolerated_failure,
    "9-10": map_tolerated_percentage,
    "9-11": map_concurrent,
    "9-12": map_flat,
    "9-15": map_wait_in_item,
    "9-16": map_large_result,
    "9-17": map_then_wait,
    "9-18": map_failure_then_wait,
    "9-20": map_operation_serdes_replay,
}

# How often item (and step) bodies ran: once for every item the prose runs, 0 for one it says never starts;
# a replay after a wait runs no finished item again (9-15 re-runs only the item that was waiting).
EXPECTED_RUNS = {
    "9-1": {"step-0": 1, "step-1": 1},
    "9-3": _ran_once(0, 1, 2),
    "9-6": {**_ran_once(0), **_not_started(1)},
    "9-7": {**_ran_once(0, 1), **_not_started(2, 3)},
    "9-8": _ran_once(0, 1, 2),
    "9-10": {**_ran_once(0, 1), **_not_started(2, 3)},
    "9-11": {**_ran_once(0, 1, 2), "item-0 finished last": 1},
    "9-12": {"step-0": 1, "step-1": 1},
    "9-15": {"item-0": 1, "step-0": 1, "item-1": 2, "step-1": 1},
    "9-16": _ran_once(0, 1, 2, 3),
    "9-17": _ran_once(0, 1),
    "9-18": _ran_once(0, 1),
    "9-20": {**_ran_once(0, 1), "serialize": 1},
}
