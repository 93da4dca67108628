"""A throttled journal slows a fan-out down: writes wait and land, nothing fails, no branch runs twice."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from durable_runtime.engine import pacing
from durable_runtime.execution import durable_execution
from durable_runtime.journal.memory import InMemoryJournalStore
from durable_runtime.testing import DurableFunctionTestRunner


def _throttled(operation: str = "UpdateItem") -> ClientError:
    error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}
    return ClientError(error, operation)  # type: ignore[arg-type]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(pacing, "_sleep", slept.append)
    return slept


def test_a_throttled_write_waits_longer_each_time_and_lands(sleeps: list[float]) -> None:
    failures = iter([_throttled()] * 8)

    def write() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "written"

    assert pacing.write_paced(write, lambda seconds: True) == "written"
    assert len(sleeps) == 8
    assert all(later >= earlier / 2 for earlier, later in itertools.pairwise(sleeps))
    assert sleeps[0] <= pacing.FIRST_BACKOFF_SECONDS and max(sleeps) <= pacing.MAX_BACKOFF_SECONDS


def test_without_time_left_the_throttle_is_raised_and_other_errors_never_wait(sleeps: list[float]) -> None:
    def throttled() -> None:
        raise _throttled()

    with pytest.raises(ClientError):
        pacing.write_paced(throttled, lambda seconds: False)

    def broken() -> None:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "UpdateItem")

    with pytest.raises(ClientError):
        pacing.write_paced(broken, lambda seconds: True)
    assert sleeps == []


def test_a_server_error_or_a_lost_connection_is_tried_again_and_an_injected_fault_is_not(sleeps: list[float]) -> None:
    from botocore.exceptions import EndpointConnectionError

    from durable_runtime.testing.faults import InjectedFault

    server_error = ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "oops"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "PutItem",
    )
    failures = iter([server_error, EndpointConnectionError(endpoint_url="https://dynamodb")])

    def write() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "written"

    assert pacing.write_paced(write, lambda seconds: True) == "written" and len(sleeps) == 2

    def faulty() -> None:
        raise InjectedFault("injected failure of dynamodb.PutItem")

    with pytest.raises(InjectedFault):
        pacing.write_paced(faulty, lambda seconds: True)
    assert len(sleeps) == 2


def test_a_fan_out_on_a_throttling_journal_finishes_in_one_invocation_each_item_once(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    # Every operation's first two writes are throttled, as a hot partition would (past botocore's retries).
    attempts: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    write = InMemoryJournalStore.write_operation

    def throttling_write(self: InMemoryJournalStore, key: str, record: Any, *args: Any, **kwargs: Any) -> None:
        with lock:
            attempts[(record.operation_id, record.status.value)] += 1
            throttle = attempts[(record.operation_id, record.status.value)] <= 2
        if throttle:
            raise _throttled()
        write(self, key, record, *args, **kwargs)

    monkeypatch.setattr(InMemoryJournalStore, "write_operation", throttling_write)
    ran: Counter[int] = Counter()

    def item(ctx: Any, value: int, index: int, items: list[int]) -> int:
        with lock:
            ran[index] += 1
        return int(ctx.step(lambda _: value * 2, name="double"))

    @durable_execution
    def handler(event: dict, ctx: Any) -> int:
        return sum(ctx.map(list(range(100)), item, name="items").get_results())

    with DurableFunctionTestRunner(handler, backend="memory") as runner:
        result = runner.run(input="{}", timeout=120)
        history = runner.get_execution_history(result.execution_arn)

    assert result.status.value == "SUCCEEDED" and int(result.result or 0) == 2 * sum(range(100))
    assert set(ran.values()) == {1} and len(ran) == 100  # no invocation failed and re-ran the fan-out
    assert [e["EventType"] for e in history["Events"]].count("InvocationCompleted") == 1
    assert len(sleeps) >= 2 * 200  # two throttles for each item's context and step, each waited out


def test_a_throttle_in_the_middle_of_a_suspension_retries_only_the_write_that_failed(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    from durable_runtime.config import Duration

    # Three branches each start a wait: their records are written together when the invocation suspends.
    waits_written = Counter[str]()
    write = InMemoryJournalStore.write_operation

    def throttle_second_wait(self: InMemoryJournalStore, key: str, record: Any, *args: Any, **kwargs: Any) -> None:
        if record.operation_type.value == "WAIT" and record.status.value == "STARTED":
            waits_written["attempts"] += 1
            if waits_written["attempts"] == 2:
                raise _throttled()
        write(self, key, record, *args, **kwargs)

    monkeypatch.setattr(InMemoryJournalStore, "write_operation", throttle_second_wait)

    def branch(ctx: Any) -> str:
        ctx.wait(Duration.from_seconds(5), name="pause")
        return "done"

    @durable_execution
    def handler(event: dict, ctx: Any) -> list[str]:
        return ctx.parallel([branch, branch, branch], name="three").get_results()

    with DurableFunctionTestRunner(handler, backend="memory") as runner:
        result = runner.run(input="{}", timeout=120)
        history = runner.get_execution_history(result.execution_arn)

    assert result.status.value == "SUCCEEDED" and result.result == '["done", "done", "done"]'
    kinds = [e["EventType"] for e in history["Events"]]
    assert kinds.count("WaitStarted") == 3 and kinds.count("InvocationCompleted") == 2  # no invocation lost
    assert waits_written["attempts"] == 4 and len(sleeps) == 1  # three waits, one of them written twice


def test_a_write_tried_again_is_the_very_same_request_whatever_was_observed_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first attempt may have landed before its answer was lost: only an identical request is recognised."""
    from durable_runtime.engine.journal_view import JournalView
    from durable_runtime.engine.services import EngineServices, EngineSettings
    from durable_runtime.journal.records import (
        JournalEvent,
        JournalSnapshot,
        OperationRecord,
        OperationStatus,
        OperationType,
    )
    from durable_runtime.testing.clock import VirtualClock
    from durable_runtime.testing.memory_world import MemoryPayloads

    requests: list[list[JournalEvent]] = []

    class LosingStore:
        def write_operation(self, key: str, record: Any, events: list[JournalEvent], *args: Any, **kw: Any) -> None:
            requests.append(list(events))
            if len(requests) == 1:  # landed, but its answer is lost
                raise ClientError(
                    {"Error": {"Code": "InternalServerError"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "PutItem"
                )

    services = EngineServices(
        store=LosingStore(),  # type: ignore[arg-type]
        payloads=MemoryPayloads(),
        timers=None,  # type: ignore[arg-type]
        invoker=None,  # type: ignore[arg-type]
        clock=VirtualClock(),
        settings=EngineSettings(),
    )
    journal = JournalView(services, "key", JournalSnapshot(None, None, {}, {}), 0, lambda seconds: True)
    found = JournalEvent("WaitSucceeded", 1.0, (1, 1), operation_id="w1")
    journal.observe_once(("w0", "WaitSucceeded"), lambda: JournalEvent("WaitSucceeded", 1.0, (1, 0), operation_id="w0"))
    # While the write waits to be tried again, another branch observes a finished wait.
    monkeypatch.setattr(pacing, "_sleep", lambda seconds: journal.observe_once(("w1", "WaitSucceeded"), lambda: found))
    step = OperationRecord(
        operation_id="s1", operation_type=OperationType.STEP, sub_type="Step", name="s", parent_id=None,
        status=OperationStatus.SUCCEEDED,
    )  # fmt: skip

    journal.write(step, [JournalEvent("StepSucceeded", 1.0, (1, 2))])

    assert len(requests) == 2 and requests[0] == requests[1]
    assert journal.take_unwritten() == [found]  # carried by the next write instead
