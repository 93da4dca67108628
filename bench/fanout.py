"""Fan-out: what each map item costs in journal writes, and how long a 1,000-item map takes locally."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from journal_costs import WRITES, CallCounter

from durable_runtime.config import MapConfig, NestingType
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


def _map(
    count: int, nesting: NestingType = NestingType.NESTED, max_concurrency: int | None = 10
) -> Callable[[Any, Any], Any]:
    @durable_execution
    def handler(event: Any, ctx: Any) -> int:
        config = MapConfig(max_concurrency=max_concurrency, nesting_type=nesting)
        result = ctx.map(
            list(range(count)), lambda c, x, i, items: c.step(lambda _: x, name="item"), name="fan", config=config
        )
        return len(result.get_results())

    return handler


def _writes(handler: Callable[[Any, Any], Any]) -> int:
    with DurableFunctionTestRunner(handler) as runner:
        counter = CallCounter(runner, include_workers=True)
        runner.run(input="{}", timeout=600)
        return counter.total(WRITES)


def writes_per_item(nesting: NestingType, base: int = 50, max_concurrency: int | None = 10) -> float:
    """Marginal DynamoDB writes per map item whose body runs one step."""
    more, fewer = _map(2 * base, nesting, max_concurrency), _map(base, nesting, max_concurrency)
    return (_writes(more) - _writes(fewer)) / base


def map_1000_wall_seconds() -> float:
    """Wall time of a 1,000-item map (max_concurrency 10, one step per item) on the local runner."""
    with DurableFunctionTestRunner(_map(1000)) as runner:
        started = time.perf_counter()
        runner.run(input="{}", timeout=600)
        return time.perf_counter() - started


def measure() -> dict[str, float]:
    """All fan-out figures."""
    return {
        "map_writes_per_item": writes_per_item(NestingType.NESTED),
        "map_flat_writes_per_item": writes_per_item(NestingType.FLAT),
        # Every item at once (the default config): each start still merges with its end within the linger.
        "map_unbounded_writes_per_item": writes_per_item(NestingType.NESTED, base=250, max_concurrency=None),
        "map_1000_wall_s": map_1000_wall_seconds(),
    }
