"""The runner's in-memory backend: its queue keeps SQS's delivery rules, and it refuses what it cannot honour.

That workflows behave the same on it as on moto is checked by running every conformance spec on both backends
(tests/conformance/conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_runtime import contract as c
from durable_runtime.config import Duration
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.testing.clock import VirtualClock
from durable_runtime.testing.faults import FaultPlan
from durable_runtime.testing.memory_world import MemoryQueue, MemoryScheduler

URL = "memory://queue"


def test_a_delayed_message_is_invisible_until_its_delay_passed() -> None:
    clock = VirtualClock()
    queue = MemoryQueue(clock, visibility_timeout=60)
    queue.send_message(QueueUrl=URL, MessageBody="later", DelaySeconds=5)
    assert queue.receive_message(QueueUrl=URL, MaxNumberOfMessages=10)["Messages"] == []
    clock.advance(5)
    (message,) = queue.receive_message(QueueUrl=URL, MaxNumberOfMessages=10)["Messages"]
    assert message["Body"] == "later" and message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_a_received_message_comes_back_after_its_visibility_timeout_unless_deleted() -> None:
    clock = VirtualClock()
    queue = MemoryQueue(clock, visibility_timeout=60)
    queue.send_message(QueueUrl=URL, MessageBody="timer")
    first = queue.receive_message(QueueUrl=URL)["Messages"][0]
    clock.advance(59)
    assert queue.receive_message(QueueUrl=URL)["Messages"] == []
    clock.advance(1)
    again = queue.receive_message(QueueUrl=URL)["Messages"][0]
    assert again["MessageId"] == first["MessageId"] and again["ReceiptHandle"] != first["ReceiptHandle"]
    assert queue.peek()[0][3] is True  # a redelivery
    queue.delete_message(QueueUrl=URL, ReceiptHandle=first["ReceiptHandle"])  # stale: deletes nothing
    assert len(queue.peek()) == 1
    queue.delete_message(QueueUrl=URL, ReceiptHandle=again["ReceiptHandle"])
    assert queue.peek() == []


def test_visibility_changes_and_the_dead_letter_limit() -> None:
    clock = VirtualClock()
    queue = MemoryQueue(clock, visibility_timeout=60)
    queue.send_message(QueueUrl=URL, MessageBody="held")
    handle = queue.receive_message(QueueUrl=URL)["Messages"][0]["ReceiptHandle"]
    queue.change_message_visibility_batch(
        QueueUrl=URL, Entries=[{"Id": "0", "ReceiptHandle": handle, "VisibilityTimeout": 0}]
    )
    for _ in range(c.TIMER_QUEUE_MAX_RECEIVE_COUNT - 1):
        handle = queue.receive_message(QueueUrl=URL)["Messages"][0]["ReceiptHandle"]
        queue.change_message_visibility(QueueUrl=URL, ReceiptHandle=handle, VisibilityTimeout=0)
    assert queue.receive_message(QueueUrl=URL)["Messages"] == []
    assert queue.dead_letters == ["held"]


def test_a_schedule_delivers_its_input_to_the_queue_at_its_time_once() -> None:
    clock = VirtualClock()
    queue = MemoryQueue(clock, visibility_timeout=60)
    scheduler = MemoryScheduler(queue)
    at = "at(2030-01-01T00:00:00)"
    scheduler.create_schedule(Name="s", ScheduleExpression=at, Target={"Input": "wake"})
    with pytest.raises(scheduler.exceptions.ConflictException):
        scheduler.create_schedule(Name="s", ScheduleExpression=at, Target={"Input": "wake"})
    ((_, visible_at, body, _),) = queue.peek()
    assert (visible_at, body) == (1_893_456_000.0, "wake")


def test_the_memory_backend_refuses_faults_resources_and_unknown_backends() -> None:
    with pytest.raises(ValueError, match="cannot inject faults"):
        DurableFunctionTestRunner(backend="memory", faults=FaultPlan())
    with pytest.raises(ValueError, match="cannot inject faults or use given resources"):
        DurableFunctionTestRunner(backend="memory", environment={c.ENV_JOURNAL_TABLE: "t"})
    with pytest.raises(ValueError, match='"moto" or "memory"'):
        DurableFunctionTestRunner(backend="dynamodb")


def test_a_long_wait_a_callback_and_a_retry_run_in_memory_as_on_moto() -> None:
    attempts: list[int] = []

    @durable_execution
    def handler(event: dict, ctx: Any) -> dict:
        def flaky(_: Any) -> str:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("once")
            return "charged"

        charged = ctx.step(flaky, name="charge")
        ctx.wait(Duration.from_hours(2), name="cool-off")
        decision = ctx.create_callback("approval").result()
        return {"charged": charged, "decision": decision}

    outcomes = {}
    for backend in ("moto", "memory"):
        attempts.clear()
        with DurableFunctionTestRunner(handler, execution_timeout=86_400, backend=backend) as runner:
            arn = runner.run_async(input="{}")
            runner.send_callback_success(runner.wait_for_callback(arn, "approval"), b'"yes"')
            result = runner.wait_for_result(arn)
            # Execution events carry the run's generated name: only their type is compared.
            history = runner.get_execution_history(arn).events
            events = [(e.event_type, None if e.event_type.startswith("Execution") else e.name) for e in history]
        outcomes[backend] = (result.status, json.loads(result.result or "null"), events, len(attempts))
    assert outcomes["memory"] == outcomes["moto"]
    assert outcomes["memory"][0] is InvocationStatus.SUCCEEDED and outcomes["memory"][3] == 2
