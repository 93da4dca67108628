"""Maps and parallels of any size under Lambda's thread limit: a resource limit is never a user failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.threading import BRANCH_THREAD_BUDGET

LAMBDA_THREAD_LIMIT = 1024


def _capped_threads(monkeypatch: pytest.MonkeyPatch, cap: int) -> dict[str, int]:
    """Make Thread.start fail as Linux does at a process's thread limit; record the most threads alive."""
    seen = {"peak": threading.active_count()}
    start = threading.Thread.start

    def capped_start(thread: threading.Thread) -> None:
        if threading.active_count() >= cap:
            raise RuntimeError("can't start new thread")
        start(thread)
        seen["peak"] = max(seen["peak"], threading.active_count())

    monkeypatch.setattr(threading.Thread, "start", capped_start)
    return seen


@durable_execution
def _big_map(event: dict, ctx: Any) -> int:
    def item(child: Any, value: int, index: int, items: list[int]) -> int:
        return int(child.step(lambda _: value * 2, name="double"))

    return sum(ctx.map(list(range(event["items"])), item, name="items").get_results())


@durable_execution
def _nested(event: dict, ctx: Any) -> int:
    def outer(child: Any, value: int, index: int, items: list[int]) -> int:
        def inner(grandchild: Any, v: int, i: int, vs: list[int]) -> int:
            return v

        return sum(child.map(list(range(40)), inner, name="inner").get_results())

    return sum(ctx.map(list(range(40)), outer, name="outer").get_results())


def test_a_2000_item_map_with_the_default_config_completes_under_lambdas_thread_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _capped_threads(monkeypatch, LAMBDA_THREAD_LIMIT)
    with DurableFunctionTestRunner(_big_map, backend="memory") as runner:
        result = runner.run(input={"items": 2000}, timeout=300)

    assert result.status.value == "SUCCEEDED" and int(result.result or 0) == 2 * sum(range(2000))
    assert seen["peak"] < LAMBDA_THREAD_LIMIT
    assert seen["peak"] <= BRANCH_THREAD_BUDGET + 64  # the budget, plus the runner's and the engine's own threads


def test_nested_maps_share_the_budget_and_finish_even_when_no_thread_can_be_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with DurableFunctionTestRunner(_nested, backend="memory") as runner:
        # From here on the process is at its limit: every branch runs in the thread coordinating its batch.
        _capped_threads(monkeypatch, threading.active_count() + 3)
        result = runner.run(input={}, timeout=300)

    assert result.status.value == "SUCCEEDED" and int(result.result or 0) == 40 * sum(range(40))


def test_a_1500_branch_parallel_completes_under_lambdas_thread_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    @durable_execution
    def wide(event: dict, ctx: Any) -> int:
        def branch(number: int) -> Any:
            return lambda child: child.step(lambda _: number, name="value")

        return sum(ctx.parallel([branch(n) for n in range(1500)], name="wide").get_results())

    seen = _capped_threads(monkeypatch, LAMBDA_THREAD_LIMIT)
    with DurableFunctionTestRunner(wide, backend="memory") as runner:
        result = runner.run(input={}, timeout=300)

    assert result.status.value == "SUCCEEDED" and int(result.result or 0) == sum(range(1500))
    assert seen["peak"] <= BRANCH_THREAD_BUDGET + 64
