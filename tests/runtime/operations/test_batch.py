"""parallel and map: concurrency limits, slots, early completion, in-invocation resumption, scale."""

from __future__ import annotations

import json
import threading
from collections import Counter

from durable_runtime.config import CompletionConfig, Duration, MapConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


def test_early_completion_stops_scheduling_new_items() -> None:
    started: Counter[int] = Counter()
    lock = threading.Lock()

    def item(ctx, value: int, index: int, items: list[int]) -> int:
        with lock:
            started[index] += 1
        return ctx.step(lambda _: value, name="value")

    @durable_execution
    def handler(event: dict, ctx) -> dict:
        config = MapConfig(max_concurrency=2, completion_config=CompletionConfig(min_successful=3))
        result = ctx.map(list(range(10)), item, name="first-three", config=config)
        return {"reason": result.completion_reason.value, "succeeded": result.success_count}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    outcome = json.loads(result.result or "")
    assert outcome["reason"] == "MIN_SUCCESSFUL_REACHED" and outcome["succeeded"] >= 3
    assert sum(started.values()) <= 4  # three successes, and at most one more that was already in flight
    assert all(count == 1 for count in started.values())


def test_suspended_items_keep_their_slots() -> None:
    started: list[int] = []

    def item(ctx, value: int, index: int, items: list[int]) -> int:
        started.append(index)
        if index < 2:
            ctx.wait(Duration.from_seconds(10), name="pause")
        return value

    @durable_execution
    def handler(event: dict, ctx) -> list[int]:
        return ctx.map([10, 11, 12, 13], item, name="slots", config=MapConfig(max_concurrency=2)).get_results()

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.pump_once(advance_time=False)  # first invocation: items 0 and 1 suspend, holding both slots
        first_invocation = list(started)
        result = runner.wait_for_result(arn)

    assert sorted(first_invocation) == [0, 1]
    assert json.loads(result.result or "") == [10, 11, 12, 13]


def test_branch_waiting_on_a_timer_resumes_in_the_same_invocation_while_others_run() -> None:
    holder: dict[str, DurableFunctionTestRunner] = {}

    def quick_wait(ctx) -> str:
        ctx.wait(Duration.from_seconds(2), name="short")
        return "waited"

    def long_work(ctx) -> str:
        def work(_) -> str:
            holder["runner"].clock.advance(5)  # five seconds of real work, in virtual time
            return "worked"

        first = ctx.step(work, name="part-1")
        second = ctx.step(lambda _: "done", name="part-2")
        return f"{first}+{second}"

    @durable_execution
    def handler(event: dict, ctx) -> list[str]:
        return ctx.parallel([quick_wait, long_work], name="both").get_results()

    with DurableFunctionTestRunner(handler) as runner:
        holder["runner"] = runner
        result = runner.run(input="{}")
        events = [e["EventType"] for e in runner.get_execution_history(result.execution_arn)["Events"]]

    assert json.loads(result.result or "") == ["waited", "worked+done"]
    assert events.count("InvocationCompleted") == 1  # never suspended: the wait ended inside the invocation
    assert "WaitSucceeded" in events


def test_thousand_item_map_runs_each_body_once() -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def item(ctx, value: int, index: int, items: list[int]) -> int:
        with lock:
            runs[index] += 1
        return ctx.step(lambda _: value * 2, name="double")

    @durable_execution
    def handler(event: dict, ctx) -> dict:
        result = ctx.map(list(range(1000)), item, name="big", config=MapConfig(max_concurrency=10))
        return {"sum": sum(result.get_results()), "status": result.status.value}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}", timeout=300)

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == {"sum": 999_000, "status": "SUCCEEDED"}
    assert len(runs) == 1000 and set(runs.values()) == {1}


def test_a_finished_map_too_large_to_record_inline_replays_from_its_offloaded_result() -> None:
    """ReplayChildren in the history as officially; a replay reads the map's result, not every item's record."""
    from durable_runtime.serdes import SerDes, SerDesContext

    decoded: list[str] = []

    class CountingSerDes(SerDes[str]):
        def serialize(self, value: str, serdes_context: SerDesContext) -> str:
            return json.dumps(value)

        def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
            decoded.append(serdes_context.operation_id)
            return str(json.loads(data))

    def item(ctx, value: int, index: int, items: list[int]) -> str:
        return ctx.step(lambda _: str(value) * 1000, name="block")

    @durable_execution
    def handler(event: dict, ctx) -> dict:
        config = MapConfig(item_serdes=CountingSerDes())
        result = ctx.map(list(range(300)), item, name="blocks", config=config)  # 300 x ~1 KB: over 256 KB
        ctx.wait(Duration.from_seconds(10), name="later")
        return {"items": len(result.get_results()), "first": result.get_results()[7][:3], "decoded": len(decoded)}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}", timeout=120)
        history = runner.get_execution_history(result.execution_arn, include_execution_data=True)

    # 300 decodes as the items finished (a first run sees what a replay would); none when the map replays.
    assert json.loads(result.result or "") == {"items": 300, "first": "777", "decoded": 300}
    (succeeded,) = [e for e in history["Events"] if e["EventType"] == "ContextSucceeded" and e.get("SubType") == "Map"]
    assert succeeded["ContextSucceededDetails"].get("Result") is None  # as officially: no payload in the history
    assert len([e for e in history["Events"] if e["EventType"] == "InvocationCompleted"]) == 2
