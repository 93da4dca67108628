"""Pinned versions, Lambda's time limit, execution timeouts and large results."""

from __future__ import annotations

import json

from durable_runtime.config import Duration
from durable_runtime.engine.services import EngineSettings
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


def _versioned(label: str):
    @durable_execution
    def handler(event: dict, ctx) -> list[str]:
        first = ctx.step(lambda _: f"{label}-first", name="first")
        ctx.wait(Duration.from_hours(2), name="pause")
        second = ctx.step(lambda _: f"{label}-second", name="second")
        return [first, second]

    return handler


def test_replay_after_deploy_uses_the_pinned_version() -> None:
    with DurableFunctionTestRunner(_versioned("v1"), execution_timeout=86_400) as runner:
        old = runner.run_async(input="{}")
        runner.local_lambda.run(runner.local_lambda.pop_ready())  # suspends on the two-hour wait
        runner.deploy("test-function", _versioned("v2"))
        new = runner.run_async(input="{}")
        old_result = runner.wait_for_result(old)
        new_result = runner.wait_for_result(new)

    assert json.loads(old_result.result or "") == ["v1-first", "v1-second"]
    assert json.loads(new_result.result or "") == ["v2-first", "v2-second"]
    assert ":1/durable-execution/" in old and ":2/durable-execution/" in new


def test_long_work_suspends_before_the_lambda_time_limit_and_continues() -> None:
    clock_holder: dict[str, DurableFunctionTestRunner] = {}

    @durable_execution
    def handler(event: dict, ctx) -> list[int]:
        def work(_, n: int) -> int:
            clock_holder["runner"].clock.advance(40)  # each step takes 40 virtual seconds
            return n

        return [ctx.step(lambda sc, n=n: work(sc, n), name=f"work-{n}") for n in range(5)]

    with DurableFunctionTestRunner(handler, invocation_timeout=100) as runner:
        clock_holder["runner"] = runner
        result = runner.run(input="{}")
        events = runner.get_execution_history(result.execution_arn)["Events"]

    assert json.loads(result.result or "") == [0, 1, 2, 3, 4]
    invocations = [event for event in events if event["EventType"] == "InvocationCompleted"]
    assert len(invocations) >= 3
    assert all("Error" not in event["InvocationCompletedDetails"] for event in invocations)


def test_execution_times_out_while_waiting() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_days(2), name="too-long")
        return "never"

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        result = runner.run(input="{}")
        execution = runner.client.get_durable_execution(DurableExecutionArn=result.execution_arn)
        events = runner.get_execution_history(result.execution_arn)["Events"]

    assert result.status == InvocationStatus.FAILED
    assert execution["Status"] == "TIMED_OUT"
    assert events[-1]["EventType"] == "ExecutionTimedOut"


def test_step_result_over_256_kb_is_offloaded_and_replayed_whole() -> None:
    big = "x" * 300_000

    @durable_execution
    def handler(event: dict, ctx) -> int:
        value = ctx.step(lambda _: big, name="big")
        ctx.wait(Duration.from_seconds(1), name="pause")
        again = ctx.step(lambda _: len(value), name="measure")
        return again

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
        items = runner.scan_table()
        history = runner.get_execution_history(result.execution_arn, include_execution_data=True)["Events"]

    assert json.loads(result.result or "") == 300_000
    big_item = next(item for item in items if json.loads(item.get("d", {}).get("S", "{}")).get("name") == "big")
    assert "res_ref" in big_item and "res" not in big_item
    succeeded = next(e for e in history if e["EventType"] == "StepSucceeded" and e.get("Name") == "big")
    assert json.loads(succeeded["StepSucceededDetails"]["Result"]["Payload"]) == big


def test_settings_come_from_the_environment() -> None:
    settings = EngineSettings.from_environment(
        {"DURABLE_EXECUTION_TIMEOUT_SECONDS": "600", "DURABLE_RETENTION_DAYS": "3"}
    )
    assert (settings.execution_timeout_seconds, settings.retention_days) == (600, 3)


def test_execution_started_with_legacy_operation_ids_replays_without_running_steps_again(monkeypatch) -> None:
    """Executions in flight across the upgrade that changed operation ids keep the ids they were started with."""
    from durable_runtime.engine import ids

    calls: list[str] = []

    @durable_execution
    def handler(event: dict, ctx) -> list[str]:
        items = ctx.map(["a", "b"], lambda c, item, i, _: c.step(lambda _: calls.append(item) or item.upper()))
        ctx.wait(Duration.from_minutes(1), name="pause")
        return items.get_results()

    real_scheme_of = ids.scheme_of
    # The first invocation runs as the earlier version did: it records operations under the legacy ids.
    monkeypatch.setattr(
        ids, "scheme_of", lambda operations: ids.LEGACY_IDS if not operations else real_scheme_of(operations)
    )
    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
        items = runner.scan_table()

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result or "") == ["A", "B"]
    assert sorted(calls) == ["a", "b"]  # each step ran once, not again on the replay after the wait
    recorded = {json.loads(item["d"]["S"]).get("name") for item in items if "d" in item}
    assert "pause" in recorded
    assert any(ids.LEGACY_IDS.operation_id(1, None) in json.dumps(item) for item in items)
