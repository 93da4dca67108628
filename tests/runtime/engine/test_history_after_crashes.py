"""A history stays in order whatever crash an execution went through: each operation starts before anything of it
or inside it, time never goes back, and an answer recorded while an invocation lay dead comes after its work."""

from __future__ import annotations

import json
from typing import Any

from durable_runtime.config import CallbackConfig, Duration, MapConfig
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


def _problems(events: list[dict[str, Any]]) -> list[str]:
    problems = []
    started: set[str] = set()
    for before, event in zip([None, *events], events, strict=False):
        if before is not None and event["EventTimestamp"] < before["EventTimestamp"]:
            problems.append(f"{event['EventType']} {event.get('Name')} is earlier than the event before it")
        operation, kind = event.get("Id"), event["EventType"]
        if operation is None or kind.startswith(("Execution", "Invocation")):
            continue
        if operation not in started and not kind.endswith("Started"):
            problems.append(f"{kind} {event.get('Name')} comes before its operation started")
        if event.get("ParentId") is not None and event["ParentId"] not in started:
            problems.append(f"{kind} {event.get('Name')} comes before its context started")
        started.add(operation)
    return problems


def _writes_item(name: str) -> Any:
    """A predicate: a journal write of the operation record called `name`."""
    return lambda params: f'\\"name\\":\\"{name}\\"' in json.dumps(params)


def _answer_as_soon_as_issued(runner: DurableFunctionTestRunner, arn: str, name: str, answer: bytes) -> None:
    """Step the runner by hand until the callback is issued, and answer it then, before anything else runs."""
    runner.take_over()
    while not runner.issued_callback_ids(arn, name):
        assert runner.pump_once(advance_time=False), f"callback {name!r} was never issued"
    runner.send_callback_success(runner.issued_callback_ids(arn, name)[-1], answer)


def _run_until(runner: DurableFunctionTestRunner, until: float) -> None:
    """Step the runner by hand through everything due before `until` (virtual time)."""
    runner.take_over()
    while True:
        while runner.pump_once(advance_time=False):
            pass
        upcoming = [moment for moment, _ in runner.upcoming()]
        if not upcoming or min(upcoming) >= until:
            return
        runner.pump_once()


def test_a_map_whose_start_was_lost_in_a_crash_still_starts_before_its_items() -> None:
    """The map's start is held until it ends; the process dies after an item was recorded. The next invocation
    starts the map again, after that item's events: the history shows the map started first, at their time."""

    @durable_execution
    def handler(event: dict, ctx) -> list[int]:
        def item(child, value: int, index: int, values: list) -> int:
            return child.step(lambda _: value * 2, name=f"double-{value}")

        return ctx.map([1, 2, 3], item, name="doubling", config=MapConfig(max_concurrency=1)).get_results()

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.crash_after("dynamodb", "PutItem", where=_writes_item("double-2"))
        result = runner.run(input="{}")
        events = runner.get_execution_history(result.execution_arn)["Events"]

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == [2, 4, 6]
    assert runner.faults.fired, "the crash never happened"
    assert _problems(events) == []
    kinds = [(event["EventType"], event.get("Name")) for event in events]
    assert kinds.index(("ContextStarted", "doubling")) < kinds.index(("StepStarted", "double-1"))


@durable_execution
def _ask_for_approval(event: dict, ctx) -> str:
    approval = ctx.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(1)))
    ctx.step(lambda _: approval.callback_id, name="notify")
    return f"decision: {approval.result()}"


def test_an_answer_to_a_callback_whose_invocation_died_comes_after_the_callback_started() -> None:
    """The invocation records the callback, then dies before it takes the lease (at the step after it); the
    answer arrives meanwhile. It used to be numbered before the callback's own start."""

    with DurableFunctionTestRunner(_ask_for_approval) as runner:
        runner.faults.crash_before("dynamodb", "UpdateItem")  # the lease, taken before the first step runs
        arn = runner.run_async(input="{}")
        _answer_as_soon_as_issued(runner, arn, "approval", b"yes")
        result = runner.wait_for_result(arn)
        events = runner.get_execution_history(arn)["Events"]

    assert result.status == InvocationStatus.SUCCEEDED and result.result == '"decision: yes"'
    assert _problems(events) == []


def test_a_lost_invocation_ends_in_the_history_before_what_came_after_it() -> None:
    """The invocation dies holding the lease; the callback is answered at once; the loss is noticed a minute later.
    The lost invocation's end is placed at its last sign of life, not at the time it was noticed."""

    with DurableFunctionTestRunner(_ask_for_approval) as runner:
        runner.faults.crash_after("dynamodb", "PutItem", where=_writes_item("notify"))
        arn = runner.run_async(input="{}")
        _answer_as_soon_as_issued(runner, arn, "approval", b"yes")
        result = runner.wait_for_result(arn)
        events = runner.get_execution_history(arn)["Events"]

    assert result.status == InvocationStatus.SUCCEEDED
    assert any("Error" in event.get("InvocationCompletedDetails", {}) for event in events), "no lost invocation"
    assert _problems(events) == []


def test_contexts_whose_starts_were_lost_twice_start_outermost_first() -> None:
    """An outer context's start lost in two crashes is started again after an inner one's: both move before the
    step inside them, outer first, at the step's time."""
    from durable_runtime.engine.history import collect_events
    from durable_runtime.journal.records import (
        JournalEvent,
        JournalSnapshot,
        OperationRecord,
        OperationStatus,
        OperationType,
    )

    def context(operation: str, parent: str | None, order: tuple[int, int], at: float) -> OperationRecord:
        started = JournalEvent("ContextStarted", at, order)
        return OperationRecord(operation, OperationType.CONTEXT, "Map", operation, parent, OperationStatus.STARTED,
                               events=(started,))  # fmt: skip

    step = OperationRecord(
        "step", OperationType.STEP, "Step", "step", "inner", OperationStatus.SUCCEEDED,
        events=(JournalEvent("StepStarted", 10.0, (1, 5)), JournalEvent("StepSucceeded", 10.0, (1, 6))),
    )  # fmt: skip
    operations = {
        "outer": context("outer", None, (3, 1), 70.0),
        "inner": context("inner", "outer", (2, 10), 40.0),
        "step": step,
    }
    snapshot = JournalSnapshot(execution=None, input_payload=None, operations=operations, invocations={})

    ordered = [(event.event_type, identity["Id"], event.timestamp) for event, identity in collect_events(snapshot)]

    assert ordered == [
        ("ContextStarted", "outer", 10.0),
        ("ContextStarted", "inner", 10.0),
        ("StepStarted", "step", 10.0),
        ("StepSucceeded", "step", 10.0),
    ]


def test_a_stop_comes_after_what_invocations_that_never_took_the_lease_recorded() -> None:
    """Invocations that only start waits never take the lease; their events carry the numbers after it. A stop
    numbered from the lease alone sorted before them, so the history did not end with the stop."""

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: "begun", name="begin")  # the only invocation that takes the lease
        for minute in range(3):
            ctx.wait(Duration.from_minutes(1), name=f"pause-{minute}")
        ctx.wait(Duration.from_hours(2), name="long")
        return "never"

    with DurableFunctionTestRunner(handler, execution_timeout=86_400) as runner:
        arn = runner.run_async(input="{}")
        _run_until(runner, runner.clock.now() + 600)  # the short waits are over; the long one has begun
        runner.client.stop_durable_execution(DurableExecutionArn=arn)
        events = runner.get_execution_history(arn)["Events"]

    assert events[-1]["EventType"] == "ExecutionStopped"
    assert _problems(events) == []
