"""Handlers for the wait_for_callback specs (shared/conformance/wait_for_callback), each from its `handler` prose.

The submitters only record that they ran and which callback id they were given: the external system the specs
imagine is the test, which gets the id from the runner. Without a serdes the result is the payload text as sent.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from durable_runtime.config import Duration, JitterStrategy, WaitForCallbackConfig
from durable_runtime.context import DurableContext, WaitForCallbackContext, durable_wait_for_callback
from durable_runtime.exceptions import CallbackError
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryStrategyConfig, create_retry_strategy
from durable_runtime.serdes import JsonSerDes

runs: Counter[str] = Counter()


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    """A submitter doing nothing durable: it would hand `callback_id` to the external system."""
    assert callback_id, "the submitter needs the callback id"
    runs["submit"] += 1


@durable_execution
def wait_for_callback_basic(event: Any, context: DurableContext) -> Any:
    """7-1: one wait_for_callback named after the input; returns the callback's result."""
    return context.wait_for_callback(submit, name=event)


@durable_execution
def wait_for_callback_static_name(event: Any, context: DurableContext) -> Any:
    """7-2: one wait_for_callback named "approval"."""
    return context.wait_for_callback(submit, name="approval")


@durable_execution
def wait_for_callback_anonymous(event: Any, context: DurableContext) -> Any:
    """7-3: an inline submitter and no name: the operation has no Name."""

    def inline(callback_id: str, _: WaitForCallbackContext) -> None:
        runs["submit"] += 1

    return context.wait_for_callback(inline)


@durable_execution
def wait_for_callback_timeout(event: Any, context: DurableContext) -> Any:
    """7-5: a 3-second timeout that nobody beats: the operation fails and so does the execution."""
    return context.wait_for_callback(submit, name=event, config=WaitForCallbackConfig(timeout=Duration.from_seconds(3)))


@durable_execution
def wait_for_callback_failure_caught(event: Any, context: DurableContext) -> str:
    """7-6: the external system fails the callback; the handler catches the error and returns "recovered"."""
    try:
        return context.wait_for_callback(submit, name=event)
    except CallbackError:
        return "recovered"


@durable_wait_for_callback
def always_failing_submitter(callback_id: str, context: WaitForCallbackContext) -> None:
    runs["always_failing_submitter"] += 1
    raise RuntimeError("the external system is unreachable")


@durable_execution
def wait_for_callback_submitter_exhausted(event: Any, context: DurableContext) -> Any:
    """7-7: the submitter always raises; 2 attempts 1 second apart, then the operation and execution fail."""
    two_attempts = create_retry_strategy(
        RetryStrategyConfig(max_attempts=2, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE)
    )
    config = WaitForCallbackConfig(retry_strategy=two_attempts)
    return context.wait_for_callback(always_failing_submitter(), name=event, config=config)


@durable_execution
def two_wait_for_callbacks(event: Any, context: DurableContext) -> Any:
    """7-9: wait_for_callback "first", then "second"; returns the second result."""
    context.wait_for_callback(submit, name="first")
    return context.wait_for_callback(submit, name="second")


@durable_execution
def wait_step_then_wait_for_callback(event: Any, context: DurableContext) -> Any:
    """7-10: a 1-second wait, a top-level step returning fixed data, then a wait_for_callback named by the input."""
    context.wait(Duration.from_seconds(1))
    context.step(lambda _: {"prepared": True})
    return context.wait_for_callback(submit, name=event)


@durable_execution
def wait_for_callback_json_result(event: Any, context: DurableContext) -> Any:
    """7-11: the payload is deserialized as JSON (not the raw text); returns its "status" field."""
    result = context.wait_for_callback(submit, name=event, config=WaitForCallbackConfig(serdes=JsonSerDes()))
    return result["status"]


@durable_execution
def wait_for_callback_heartbeat(event: Any, context: DurableContext) -> Any:
    """7-13: a 10-second heartbeat timeout; a heartbeat arrives, then the success."""
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return context.wait_for_callback(submit, name=event, config=config)


@durable_execution
def wait_for_callback_empty_success(event: Any, context: DurableContext) -> Any:
    """7-15: the callback succeeds with no payload; the handler returns the empty result."""
    return context.wait_for_callback(submit, name=event)


HANDLERS = {
    "7-1": wait_for_callback_basic,
    "7-2": wait_for_callback_static_name,
    "7-3": wait_for_callback_anonymous,
    "7-5": wait_for_callback_timeout,
    "7-6": wait_for_callback_failure_caught,
    "7-7": wait_for_callback_submitter_exhausted,
    "7-9": two_wait_for_callbacks,
    "7-10": wait_step_then_wait_for_callback,
    "7-11": wait_for_callback_json_result,
    "7-13": wait_for_callback_heartbeat,
    "7-15": wait_for_callback_empty_success,
}

# How often submitters ran: once per operation (a replay does not submit again), twice when retried.
EXPECTED_RUNS = {
    "7-1": {"submit": 1},
    "7-3": {"submit": 1},
    "7-7": {"always_failing_submitter": 2},
    "7-9": {"submit": 2},
    "7-10": {"submit": 1},
}
