"""Handlers for the child-context specs (shared/conformance/child), each written from its spec's `handler` prose.

Every child context is named (the specs expect a `Name` on its events). `runs` counts how often each body ran,
so a test can prove what a replay did or did not re-execute.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Any

from durable_runtime.config import ChildConfig, Duration, JitterStrategy, StepConfig
from durable_runtime.context import DurableContext, StepContext, durable_with_child_context
from durable_runtime.exceptions import ChildContextError
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryPresets, RetryStrategyConfig, create_retry_strategy
from durable_runtime.serdes import SerDes, SerDesContext
from durable_runtime.testing import simulate_process_exit

runs: Counter[str] = Counter()

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())
WAIT = Duration.from_seconds(1)
# Comfortably above the 256 KB a checkpoint may hold.
LARGE_RESULT_BYTES = 300 * 1024
# The runtime holds an at-least-once step's start record back for 0.25 s (real time); outlast that.
OUTLAST_START_LINGER_SECONDS = 1.0


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


def _failing_step(_: StepContext) -> None:
    raise RuntimeError("inner step failed")


@durable_with_child_context
def failing_child(child: DurableContext) -> None:
    child.step(_failing_step, config=NO_RETRY)


@durable_execution
def child_error(event: Any, context: DurableContext) -> None:
    """3-4: the child's step fails with no retry; the ChildContextError fails the execution."""
    context.run_in_child_context(failing_child())


@durable_execution
def child_error_caught(event: Any, context: DurableContext) -> str:
    """3-5: the child's step fails; the handler catches the error and recovers with another step."""
    with contextlib.suppress(ChildContextError):
        context.run_in_child_context(failing_child())
    return context.step(lambda _: event, name="recover")


@durable_execution
def child_retry_exhaustion(event: Any, context: DurableContext) -> None:
    """3-8: a step that always fails, 2 attempts, inside a child: the child fails after the last attempt."""
    two_attempts = StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=2,
                initial_delay=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )
    )

    def always_fail(step_context: StepContext) -> None:
        raise RuntimeError(f"attempt {step_context.attempt} failed")

    context.run_in_child_context(lambda child: child.step(always_fail, config=two_attempts), name="retrying_child")


@durable_execution
def child_replay(event: Any, context: DurableContext) -> str:
    """3-9: a child with one step, then a wait; the replay returns the child's recorded result."""

    def body(child: DurableContext) -> str:
        runs["child"] += 1
        return child.step(lambda _: event, name="echo")

    value = context.run_in_child_context(body, name="cached_child")
    context.wait(WAIT)
    return value


@durable_execution
def child_step_and_wait(event: Any, context: DurableContext) -> str:
    """3-10: a child running a step, then a wait, and returning the input."""

    def body(child: DurableContext) -> str:
        value = child.step(lambda _: event, name="echo")
        child.wait(WAIT)
        return value

    return context.run_in_child_context(body, name="step_and_wait")


@durable_execution
def child_large_result(event: Any, context: DurableContext) -> int:
    """3-11: a child building a result over 256 KB from a small step result (ReplayChildren), then a wait."""
    context.logger = context.logger.with_replay_logging()  # the spec runs with replay logging enabled

    def body(child: DurableContext) -> str:
        runs["child"] += 1
        child.logger.info(f"building a large result for {event}")
        small = child.step(lambda _: event, name="small")
        return small * (LARGE_RESULT_BYTES // len(small) + 1)

    large = context.run_in_child_context(body, name="large_child")
    context.wait(WAIT)
    return len(large)


@durable_execution
def child_interrupted(event: Any, context: DurableContext) -> str:
    """3-12: the process dies inside the child's step, after its start is recorded; the retry re-runs the step."""

    def crash_once(_: StepContext) -> str:
        runs["crash_once"] += 1
        if runs["crash_once"] == 1:
            time.sleep(OUTLAST_START_LINGER_SECONDS)
            simulate_process_exit()
        return event

    return context.run_in_child_context(lambda child: child.step(crash_once, name="echo"), name="interrupted")


@durable_execution
def child_wait_then_step(event: Any, context: DurableContext) -> str:
    """3-13: a child holding only a wait and returning the input, then a step outside it."""

    def body(child: DurableContext) -> str:
        child.wait(WAIT)
        return event

    context.run_in_child_context(body, name="waiting_child")
    return context.step(lambda _: event, name="after_child")


class UpperCaseSerDes(SerDes[str]):
    """Serializes a string as its upper-case text (not JSON); reads it back as it is."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return value.upper()

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data


@durable_execution
def child_custom_serdes(event: Any, context: DurableContext) -> str:
    """3-14: a child whose result goes through a serdes that upper-cases it."""
    return context.run_in_child_context(
        lambda child: child.step(lambda _: event, name="echo"),
        name="upper_child",
        config=ChildConfig(serdes=UpperCaseSerDes()),
    )


@durable_execution
def child_raises_directly(event: Any, context: DurableContext) -> None:
    """3-15: the child body raises without running any operation."""

    def body(_: DurableContext) -> None:
        raise ValueError("child failed before any operation")

    context.run_in_child_context(body, name="raising_child")


@durable_execution
def child_returns_null(event: Any, context: DurableContext) -> None:
    """3-16: the child body returns None without running any operation."""
    return context.run_in_child_context(lambda _: None, name="null_child")


@durable_execution
def child_logger_only(event: Any, context: DurableContext) -> str:
    """3-17: a child that only logs its input and returns it, then a wait; the replay must not re-run it."""
    context.logger = context.logger.with_replay_logging()  # the spec runs with replay logging enabled

    def body(child: DurableContext) -> str:
        runs["child"] += 1
        child.logger.info(f"child received {event}")
        return event

    value = context.run_in_child_context(body, name="logging_child")
    context.wait(WAIT)
    return value


@durable_execution
def child_then_outer_operations(event: Any, context: DurableContext) -> str:
    """3-18: a child with a step and a wait, then a step and a wait at the top level."""

    def body(child: DurableContext) -> str:
        value = child.step(lambda _: event, name="inner")
        child.wait(WAIT)
        return value

    context.run_in_child_context(body, name="mixed_child")
    value = context.step(lambda _: event, name="outer")
    context.wait(WAIT)
    return value


HANDLERS = {
    "3-4": child_error,
    "3-5": child_error_caught,
    "3-8": child_retry_exhaustion,
    "3-9": child_replay,
    "3-10": child_step_and_wait,
    "3-11": child_large_result,
    "3-12": child_interrupted,
    "3-13": child_wait_then_step,
    "3-14": child_custom_serdes,
    "3-15": child_raises_directly,
    "3-16": child_returns_null,
    "3-17": child_logger_only,
    "3-18": child_then_outer_operations,
}

# How often bodies must have run, where the spec's prose says what a replay re-executes or not.
EXPECTED_RUNS = {
    "3-9": {"child": 1},
    "3-11": {"child": 2},
    "3-12": {"crash_once": 2},
    "3-17": {"child": 1},
}
