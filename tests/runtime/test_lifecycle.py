"""Operating executions through DurableClient: pause, resume, delete and redrive, on the local runner."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from durable_runtime.client import ResourceConflictException, ResourceNotFoundException
from durable_runtime.config import Duration, StepConfig
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryStrategyConfig, create_retry_strategy
from durable_runtime.testing import DurableFunctionTestRunner

_NO_RETRIES = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=1)))


def _settle(runner: DurableFunctionTestRunner) -> None:
    """Do everything due at the current virtual time (no time passes)."""
    while runner.pump_once(advance_time=False):
        pass


def _start(runner: DurableFunctionTestRunner, name: str, timeout: int = 3600) -> str:
    return runner.client.start_execution("test-function", "{}", name, execution_timeout=timeout)["DurableExecutionArn"]


def _event_types(runner: DurableFunctionTestRunner, arn: str) -> list[str]:
    return [event["EventType"] for event in runner.get_execution_history(arn)["Events"]]


def _waiting_workflow(calls: list[str]) -> Any:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: calls.append("before"), name="before")
        ctx.wait(Duration.from_minutes(10), name="nap")
        ctx.step(lambda _: calls.append("after"), name="after")
        return "done"

    return handler


def test_a_timer_that_fires_while_paused_is_held_and_acted_on_after_resume() -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=3600) as runner:
        arn = _start(runner, "pause-1")
        _settle(runner)
        before = runner.client.get_durable_execution(DurableExecutionArn=arn)
        runner.client.pause_durable_execution(DurableExecutionArn=arn, Reason="investigating a refund")
        paused = runner.client.get_durable_execution(DurableExecutionArn=arn)
        runner.clock.advance(15 * 60)  # the wait's timer fires while paused
        _settle(runner)
        still_paused = runner.client.get_durable_execution(DurableExecutionArn=arn)
        calls_while_paused = list(calls)
        runner.clock.advance(5 * 60)
        runner.client.resume_durable_execution(DurableExecutionArn=arn, Reason="refund checked")
        resumed = runner.client.get_durable_execution(DurableExecutionArn=arn)
        _settle(runner)
        done = runner.client.get_durable_execution(DurableExecutionArn=arn)
        types = _event_types(runner, arn)
        with_data = runner.client.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)
        without_data = runner.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]

    assert paused["Status"] == "PAUSED" and still_paused["Status"] == "PAUSED"
    assert paused["PauseDetails"]["Reason"] == "investigating a refund"
    assert paused["PauseDetails"]["ExecutionTimeoutPaused"] is True
    # While the timeout stands still, an execution may live at most 366 days from its start.
    assert paused["ExpectedExecutionTimeoutTimestamp"] == before["StartTimestamp"] + datetime.timedelta(days=366)
    assert calls_while_paused == ["before"]
    # Twenty minutes paused are added to the hour the execution had.
    extension = resumed["ExpectedExecutionTimeoutTimestamp"] - before["ExpectedExecutionTimeoutTimestamp"]
    assert abs(extension - datetime.timedelta(minutes=20)) < datetime.timedelta(seconds=1)
    assert resumed["Status"] == "RUNNING" and "PauseDetails" not in resumed
    assert done["Status"] == "SUCCEEDED" and calls == ["before", "after"]
    assert types.index("ExecutionPaused") < types.index("ExecutionResumed") < len(types) - 1
    assert types[-1] == "ExecutionSucceeded" and types.count("WaitSucceeded") == 1
    paused_event = next(e for e in with_data["Events"] if e["EventType"] == "ExecutionPaused")
    assert paused_event["ExecutionPausedDetails"]["Reason"] == {"Payload": "investigating a refund"}
    assert paused_event["ExecutionPausedDetails"]["ExecutionTimeoutPaused"] is True
    resumed_event = next(e for e in without_data if e["EventType"] == "ExecutionResumed")
    assert resumed_event["ExecutionResumedDetails"]["Reason"] == {"Truncated": True}


def test_without_a_paused_timeout_a_paused_execution_times_out_on_time() -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=300) as runner:
        arn = _start(runner, "pause-2", timeout=300)
        _settle(runner)
        runner.client.pause_durable_execution(DurableExecutionArn=arn, ExecutionTimeoutPaused=False)
        runner.clock.advance(301)
        _settle(runner)
        status = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]

    assert status == "TIMED_OUT" and calls == ["before"]


def test_a_paused_execution_never_resumed_times_out_366_days_after_it_started() -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=300) as runner:
        arn = _start(runner, "pause-3", timeout=300)
        _settle(runner)
        runner.client.pause_durable_execution(DurableExecutionArn=arn)
        runner.clock.advance(600)  # the watchdog at the 5-minute timeout fires, and is held
        _settle(runner)
        runner.clock.advance(365 * 86_400)
        _settle(runner)
        after_a_year = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        runner.clock.advance(2 * 86_400)
        _settle(runner)
        final = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]

    assert after_a_year == "PAUSED" and final == "TIMED_OUT" and calls == ["before"]


def test_a_callback_answered_while_paused_completes_and_waits_for_the_resume() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        return "approved by " + ctx.wait_for_callback(lambda callback_id, _: None, name="approval")

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        arn = _start(runner, "pause-4")
        _settle(runner)
        callback_id = runner.wait_for_callback(arn)
        runner.client.pause_durable_execution(DurableExecutionArn=arn)
        runner.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"ops")
        _settle(runner)
        while_paused = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        runner.client.resume_durable_execution(DurableExecutionArn=arn)
        _settle(runner)
        done = runner.client.get_durable_execution(DurableExecutionArn=arn)

    assert while_paused == "PAUSED"
    assert done["Status"] == "SUCCEEDED" and json.loads(done["Result"]) == "approved by ops"


def test_a_pause_during_an_invocation_reads_pausing_until_the_invocation_ends() -> None:
    seen: list[str] = []
    holder: dict[str, Any] = {}

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def pause_me(_: Any) -> None:
            client, arn = holder["client"], holder["arn"]
            client.pause_durable_execution(DurableExecutionArn=arn)
            seen.append(client.get_durable_execution(DurableExecutionArn=arn)["Status"])

        ctx.step(pause_me, name="pause-me")
        ctx.wait(Duration.from_seconds(30), name="nap")
        return "done"

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        holder["client"] = runner.client
        holder["arn"] = _start(runner, "pause-5")
        _settle(runner)
        after_invocation = runner.client.get_durable_execution(DurableExecutionArn=holder["arn"])["Status"]
        runner.client.resume_durable_execution(DurableExecutionArn=holder["arn"])
        result = runner.wait_for_result(holder["arn"])

    assert seen == ["PAUSING"] and after_invocation == "PAUSED"
    assert result.status.value == "SUCCEEDED"


def test_operator_changes_that_do_not_apply_are_conflicts() -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=3600) as runner:
        arn = _start(runner, "conflicts")
        _settle(runner)
        with pytest.raises(ResourceConflictException, match="only a PAUSED one"):
            runner.client.resume_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceConflictException, match="stop it first"):
            runner.client.delete_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceConflictException, match="only a FAILED or TIMED_OUT one"):
            runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        runner.client.pause_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceConflictException, match="only a RUNNING one"):
            runner.client.pause_durable_execution(DurableExecutionArn=arn)
        runner.client.stop_durable_execution(DurableExecutionArn=arn)  # a paused execution can be stopped
        stopped = runner.client.get_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceConflictException, match="it is STOPPED"):
            runner.client.pause_durable_execution(DurableExecutionArn=arn)

    assert stopped["Status"] == "STOPPED" and "PauseDetails" not in stopped


def test_delete_removes_every_record_and_payload_of_a_closed_execution() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> int:
        big = ctx.step(lambda _: "x" * 300_000, name="big")  # too large for an item: kept in the bucket
        return len(big)

    with DurableFunctionTestRunner(handler) as runner:
        arn = _start(runner, "to-delete")
        other = _start(runner, "to-keep")
        runner.wait_for_result(arn)
        runner.wait_for_result(other)
        bucket = runner.environment["DURABLE_PAYLOAD_BUCKET"]
        objects_before = runner._aws["s3"].list_objects_v2(Bucket=bucket).get("KeyCount", 0)
        deleted = runner.client.delete_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceNotFoundException):
            runner.client.get_durable_execution(DurableExecutionArn=arn)
        objects_after = runner._aws["s3"].list_objects_v2(Bucket=bucket).get("KeyCount", 0)
        remaining = {item["pk"]["S"] for item in runner.scan_table()}
        kept = runner.client.get_durable_execution(DurableExecutionArn=other)["Status"]

    assert isinstance(deleted["DeletionRequestTimestamp"], datetime.datetime)
    assert objects_before >= 2 and objects_after == objects_before // 2
    assert all("to-delete" not in key for key in remaining) and any("to-keep" in key for key in remaining)
    assert kept == "SUCCEEDED"


def _shop(charged: list[str], shipped: list[str], broken: bool) -> Any:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: charged.append("charge"), name="charge")

        def ship(_: Any) -> str:
            shipped.append("ship")
            if broken:
                raise RuntimeError("carrier API rejected the address")
            return "shipped"

        return ctx.step(ship, name="ship", config=_NO_RETRIES)

    return handler


def test_redrive_retries_the_failed_step_and_keeps_the_completed_ones() -> None:
    charged: list[str] = []
    shipped: list[str] = []
    with DurableFunctionTestRunner(_shop(charged, shipped, broken=True), execution_timeout=3600) as runner:
        arn = _start(runner, "order-7")
        failed = runner.wait_for_result(arn)
        version = runner.deploy("test-function", _shop(charged, shipped, broken=False))
        redriven = runner.client.redrive_durable_execution(DurableExecutionArn=arn, Qualifier=version)
        new_arn = redriven["DurableExecutionArn"]
        result = runner.wait_for_result(new_arn)
        by_old_arn = runner.client.get_durable_execution(DurableExecutionArn=arn)
        types = _event_types(runner, new_arn)
        listed = runner.client.list_durable_executions_by_function(FunctionName="test-function")

    assert failed.status.value == "FAILED"
    assert f":{version}/durable-execution/" in new_arn and new_arn != arn
    assert result.status.value == "SUCCEEDED" and json.loads(result.result or "") == "shipped"
    assert charged == ["charge"] and shipped == ["ship", "ship"]
    assert by_old_arn["DurableExecutionArn"] == new_arn and by_old_arn["Status"] == "SUCCEEDED"
    assert types.index("ExecutionFailed") < types.index("ExecutionRedriven") < types.index("ExecutionSucceeded")
    ship = result.get_step("ship")
    assert ship.attempt == 2
    assert [e["Status"] for e in listed["DurableExecutions"]] == ["SUCCEEDED"]


def test_redrive_reruns_only_the_failed_branch_of_a_map() -> None:
    runs: list[int] = []
    state = {"broken": True}

    @durable_execution
    def handler(event: dict, ctx) -> list[int]:
        def item(c: Any, value: int, index: int, items: list[int]) -> int:
            def work(_: Any) -> int:
                runs.append(value)
                if value == 2 and state["broken"]:
                    raise ValueError("item 2 is bad")
                return value * 10

            return c.step(work, name=f"work-{value}", config=_NO_RETRIES)

        outcome = ctx.map([1, 2, 3], item, name="items")
        outcome.throw_if_error()
        return outcome.get_results()

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        arn = _start(runner, "map-redrive")
        failed = runner.wait_for_result(arn)
        runs_before = sorted(runs)
        state["broken"] = False
        runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        result = runner.wait_for_result(arn)

    assert failed.status.value == "FAILED" and runs_before == [1, 2, 3]
    assert result.status.value == "SUCCEEDED" and json.loads(result.result or "") == [10, 20, 30]
    assert sorted(runs) == [1, 2, 2, 3]


def test_a_redriven_map_whose_large_result_was_offloaded_is_decided_again_not_read_back() -> None:
    from durable_runtime.config import CompletionConfig, MapConfig

    state = {"broken": True}

    @durable_execution
    def handler(event: dict, ctx) -> dict:
        def item(c: Any, value: int, index: int, items: list[int]) -> str:
            def work(_: Any) -> str:
                if value == 7 and state["broken"]:
                    raise ValueError("item 7 is bad")
                return str(value % 10) * 1000

            return c.step(work, name="work", config=_NO_RETRIES)

        # 300 results of 1 KB: over 256 KB, so the map's result goes to the payload bucket.
        config = MapConfig(completion_config=CompletionConfig(tolerated_failure_count=1))
        outcome = ctx.map(list(range(300)), item, name="items", config=config)
        ctx.wait(Duration.from_seconds(10), name="later")  # the map is replayed after this
        outcome.throw_if_error()
        return {"failed": outcome.failure_count, "seventh": outcome.get_results()[7][:3]}

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        arn = _start(runner, "big-map-redrive")
        failed = runner.wait_for_result(arn)
        state["broken"] = False
        runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        result = runner.wait_for_result(arn)
        kinds = _event_types(runner, arn)

    assert failed.status.value == "FAILED"
    assert result.status.value == "SUCCEEDED" and json.loads(result.result or "") == {"failed": 0, "seventh": "777"}
    # The invocation that failed it only replayed (it never took the lease): the redrive still comes after it.
    assert kinds.index("ExecutionFailed") < kinds.index("ExecutionRedriven") < kinds.index("ExecutionSucceeded")


def test_a_timed_out_execution_redriven_gets_its_timeout_again_and_can_still_be_answered() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        return ctx.wait_for_callback(lambda callback_id, _: None, name="approval")

    with DurableFunctionTestRunner(handler, execution_timeout=120) as runner:
        arn = _start(runner, "late", timeout=120)
        _settle(runner)
        callback_id = runner.wait_for_callback(arn)
        runner.clock.advance(121)
        _settle(runner)
        timed_out = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        _settle(runner)
        reopened = runner.client.get_durable_execution(DurableExecutionArn=arn)
        runner.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"yes")
        _settle(runner)
        answered = runner.client.get_durable_execution(DurableExecutionArn=arn)
        again = _start(runner, "late-2", timeout=120)
        _settle(runner)
        runner.clock.advance(121)
        _settle(runner)
        runner.client.redrive_durable_execution(DurableExecutionArn=again)
        _settle(runner)
        runner.clock.advance(121)  # nobody answers: the redriven execution times out again, on time
        _settle(runner)
        second_timeout = runner.client.get_durable_execution(DurableExecutionArn=again)["Status"]

    assert timed_out == "TIMED_OUT" and reopened["Status"] == "RUNNING" and "EndTimestamp" not in reopened
    assert answered["Status"] == "SUCCEEDED" and json.loads(answered["Result"]) == "yes"
    assert second_timeout == "TIMED_OUT"


class _DiesOnce:
    """Wraps a store method: the first call raises as a process dying there would (nothing after it runs)."""

    def __init__(self, method: Any) -> None:
        self.method = method
        self.died = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.died:
            self.died = True
            raise SystemExit("the process died here")
        return self.method(*args, **kwargs)


def test_a_redrive_that_dies_before_reopening_the_execution_is_finished_by_asking_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    charged: list[str] = []
    shipped: list[str] = []
    state = {"broken": True}

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: charged.append("charge"), name="charge")

        def ship(_: Any) -> str:
            shipped.append("ship")
            if state["broken"]:
                raise RuntimeError("carrier down")
            return "shipped"

        return ctx.step(ship, name="ship", config=_NO_RETRIES)

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        arn = _start(runner, "dies-once")
        runner.wait_for_result(arn)
        state["broken"] = False
        store = runner.client.services.store
        dying = _DiesOnce(store.change_execution)
        monkeypatch.setattr(store, "change_execution", dying)
        with pytest.raises(SystemExit):
            runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        after_crash = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        result = runner.wait_for_result(arn)

    # The operations it reopened before dying stay reopened; the execution stays closed until asked again.
    assert after_crash == "FAILED"
    assert result.status.value == "SUCCEEDED" and charged == ["charge"] and shipped == ["ship", "ship"]


def test_a_delete_that_dies_half_way_reads_deleting_and_finishes_when_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=3600) as runner:
        arn = _start(runner, "half-deleted")
        runner.wait_for_result(arn)
        store = runner.client.services.store
        monkeypatch.setattr(store, "delete_execution", _DiesOnce(store.delete_execution))
        with pytest.raises(SystemExit):
            runner.client.delete_durable_execution(DurableExecutionArn=arn)
        half = runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"]
        with pytest.raises(ResourceConflictException, match="it is DELETING"):
            runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        runner.client.delete_durable_execution(DurableExecutionArn=arn)
        with pytest.raises(ResourceNotFoundException):
            runner.client.get_durable_execution(DurableExecutionArn=arn)

    assert half == "DELETING"


def test_a_resume_delivered_twice_runs_nothing_twice() -> None:
    calls: list[str] = []
    with DurableFunctionTestRunner(_waiting_workflow(calls), execution_timeout=3600) as runner:
        arn = _start(runner, "twice")
        _settle(runner)
        runner.client.pause_durable_execution(DurableExecutionArn=arn)
        runner.clock.advance(11 * 60)
        _settle(runner)
        runner.client.resume_durable_execution(DurableExecutionArn=arn)
        # The outbox relay delivers the resume a second time (a stream retry), at once.
        duplicate = {"DurableKit": {"action": "resume", "executionArn": arn, "reason": "resumed"}}
        runner.local_lambda.invoke_async(arn.split("/durable-execution/")[0], duplicate)
        result = runner.wait_for_result(arn)

    assert result.status.value == "SUCCEEDED" and calls == ["before", "after"]


def test_two_redrives_at_once_reopen_the_execution_once(monkeypatch: pytest.MonkeyPatch) -> None:
    charged: list[str] = []
    shipped: list[str] = []
    with DurableFunctionTestRunner(_shop(charged, shipped, broken=True), execution_timeout=3600) as runner:
        arn = _start(runner, "twice-redriven")
        runner.wait_for_result(arn)
        store = runner.client.services.store
        load = store.load
        # The second redrive read the journal before the first changed it: both see the same failed step.
        stale = load(_key(arn))
        runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        runner.clock.advance(1)  # at the same instant the two reopenings would be the same write (idempotent)
        monkeypatch.setattr(store, "load", lambda key: stale)
        with pytest.raises(ResourceConflictException, match="changed while it was being redriven"):
            runner.client.redrive_durable_execution(DurableExecutionArn=arn)
        monkeypatch.setattr(store, "load", load)
        result = runner.wait_for_result(arn)

    assert result.status.value == "FAILED" and shipped == ["ship", "ship"]  # one more attempt, not two


def _key(arn: str) -> str:
    from durable_runtime.engine.ids import ExecutionArn

    return ExecutionArn.parse(arn).journal_key
