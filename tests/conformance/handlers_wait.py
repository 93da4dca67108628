"""Handlers for the wait specs (shared/conformance/wait), each written from its spec's `handler` prose."""

from __future__ import annotations

from collections import Counter
from typing import Any

from durable_runtime.config import Duration
from durable_runtime.context import DurableContext
from durable_runtime.execution import durable_execution

runs: Counter[str] = Counter()


def reset() -> None:
    """Forget the counts of earlier runs (these handlers count nothing yet)."""
    runs.clear()


@durable_execution
def wait_basic(event: Any, context: DurableContext) -> None:
    """2-1: one wait of 2 seconds."""
    context.wait(Duration.from_seconds(2))


@durable_execution
def wait_with_name(event: Any, context: DurableContext) -> None:
    """2-2: one named wait of 2 seconds."""
    context.wait(Duration.from_seconds(2), name="custom_wait_name")


@durable_execution
def sequential_waits(event: Any, context: DurableContext) -> dict[str, int]:
    """2-3: two named waits of 2 seconds, one after the other."""
    context.wait(Duration.from_seconds(2), name="wait-1")
    context.wait(Duration.from_seconds(2), name="wait-2")
    return {"completedWaits": 2}


HANDLERS = {
    "2-1": wait_basic,
    "2-2": wait_with_name,
    "2-3": sequential_waits,
}

EXPECTED_RUNS: dict[str, dict[str, int]] = {}
