"""Handlers for the callback specs (shared/conformance/callback), each written from its spec's `handler` prose.

Every callback is named after the input (or an input item), as the specs say. Without a serdes a callback's
result is the payload text exactly as it was sent: for `json.dumps("abc")` that is `'"abc"'`.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from durable_runtime.config import CallbackConfig, Duration
from durable_runtime.context import DurableContext
from durable_runtime.exceptions import CallbackError, CallbackTimeoutError
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import SerDes, SerDesContext

runs: Counter[str] = Counter()

WAIT = Duration.from_seconds(2)


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


@durable_execution
def callback_basic(event: Any, context: DurableContext) -> Any:
    """4-1: create a callback named after the input and return its result."""
    return context.create_callback(event).result()


@durable_execution
def callback_timeout(event: Any, context: DurableContext) -> Any:
    """4-3: a callback with a 5-second timeout that nobody completes: the execution fails."""
    return context.create_callback(event, CallbackConfig(timeout=Duration.from_seconds(5))).result()


@durable_execution
def callback_heartbeat(event: Any, context: DurableContext) -> Any:
    """4-5: a callback with a 10-second heartbeat timeout, kept alive by a heartbeat, then completed."""
    return context.create_callback(event, CallbackConfig(heartbeat_timeout=Duration.from_seconds(10))).result()


@durable_execution
def callback_step_failure(event: Any, context: DurableContext) -> Any:
    """4-7: create a callback, run a step, then block on the result; the external failure is not caught."""
    callback = context.create_callback(event)

    def work(_: Any) -> str:
        runs["work"] += 1
        return "work done"

    context.step(work)
    return callback.result()


@durable_execution
def callback_times_out_during_wait(event: Any, context: DurableContext) -> Any:
    """4-11: a callback with a 3-second timeout, a 6-second wait, then the result: CallbackTimeoutError."""
    callback = context.create_callback(event, CallbackConfig(timeout=Duration.from_seconds(3)))
    context.wait(Duration.from_seconds(6))
    return callback.result()


@durable_execution
def callback_then_wait(event: Any, context: DurableContext) -> Any:
    """4-12: block on a callback, then wait 2 seconds, then return the callback's result."""
    value = context.create_callback(event).result()
    context.wait(WAIT)
    return value


@durable_execution
def callback_failure_caught(event: Any, context: DurableContext) -> Any:
    """4-13: the callback fails; the handler keeps an error message, waits 2 seconds and returns it."""
    try:
        outcome = context.create_callback(event).result()
    except CallbackError as error:
        outcome = f"callback failed: {error.message}"
    context.wait(WAIT)
    return outcome


@durable_execution
def callback_timeout_caught(event: Any, context: DurableContext) -> Any:
    """4-14: a 3-second callback times out; the handler keeps an error message, waits 2 seconds, returns."""
    try:
        outcome = context.create_callback(event, CallbackConfig(timeout=Duration.from_seconds(3))).result()
    except CallbackTimeoutError as error:
        outcome = f"callback timed out: {error.message}"
    context.wait(WAIT)
    return outcome


@dataclass(frozen=True)
class Received:
    """The typed object 4-15's serdes makes of the callback's JSON."""

    id: str
    message: str
    timestamp: datetime.datetime


class ReceivedSerDes(SerDes[Received]):
    """The JSON text `{id, message, timestamp}` as a Received, its ISO timestamp parsed into a datetime."""

    def serialize(self, value: Received, serdes_context: SerDesContext) -> str:
        timestamp = value.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return json.dumps({"id": value.id, "message": value.message, "timestamp": timestamp})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Received:
        raw = json.loads(data)
        timestamp = datetime.datetime.fromisoformat(raw["timestamp"].replace("Z", "+00:00"))
        return Received(raw["id"], raw["message"], timestamp)


@durable_execution
def callback_typed_serdes(event: Any, context: DurableContext) -> dict[str, Any]:
    """4-15: a serdes turns the callback's JSON into a Received; the handler returns it with epoch seconds."""
    received = context.create_callback(event, CallbackConfig(serdes=ReceivedSerDes())).result()
    assert isinstance(received, Received), f"the serdes was not applied: {received!r}"
    return {
        "received": {
            "id": received.id,
            "message": received.message,
            "timestamp": int(received.timestamp.timestamp()),
        }
    }


class NumberSerDes(SerDes[int]):
    """A number as its decimal text."""

    def serialize(self, value: int, serdes_context: SerDesContext) -> str:
        return str(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> int:
        return int(data)


@durable_execution
def callback_numeric_serdes(event: Any, context: DurableContext) -> dict[str, int]:
    """4-16: a serdes turns the callback's payload into a number; the handler returns it and its double."""
    count = context.create_callback(event, CallbackConfig(serdes=NumberSerDes())).result()
    return {"count": count, "doubled": count * 2}


@durable_execution
def two_callbacks_sequential(event: Any, context: DurableContext) -> list[Any]:
    """4-17: create callback A and wait for it, then create callback B and wait for it."""
    first = context.create_callback(event[0]).result()
    second = context.create_callback(event[1]).result()
    return [first, second]


@durable_execution
def two_callbacks_in_order(event: Any, context: DurableContext) -> list[Any]:
    """4-18: create callbacks A and B, then wait for A, then for B."""
    first, second = context.create_callback(event[0]), context.create_callback(event[1])
    return [first.result(), second.result()]


@durable_execution
def two_callbacks_reverse_order(event: Any, context: DurableContext) -> list[Any]:
    """4-19: create callbacks A and B, then wait for B first, then for A."""
    first, second = context.create_callback(event[0]), context.create_callback(event[1])
    second_result = second.result()
    return [first.result(), second_result]


HANDLERS = {
    "4-1": callback_basic,
    "4-3": callback_timeout,
    "4-5": callback_heartbeat,
    "4-7": callback_step_failure,
    "4-11": callback_times_out_during_wait,
    "4-12": callback_then_wait,
    "4-13": callback_failure_caught,
    "4-14": callback_timeout_caught,
    "4-15": callback_typed_serdes,
    "4-16": callback_numeric_serdes,
    "4-17": two_callbacks_sequential,
    "4-18": two_callbacks_in_order,
    "4-19": two_callbacks_reverse_order,
}

# How often bodies must have run: the step before the callback's failure is not re-run by the replay.
EXPECTED_RUNS = {
    "4-7": {"work": 1},
}
