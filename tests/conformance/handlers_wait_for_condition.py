"""Handlers for the wait_for_condition specs (shared/conformance/wait_for_condition), each from its `handler` prose.

Unless a spec gives the strategy, polls are 1 second apart with no jitter, so the runs are deterministic.
`runs` counts the checks, so a test can prove that a replay does not re-run a finished one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from durable_runtime.config import Duration, JitterStrategy
from durable_runtime.context import DurableContext
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import SerDes, SerDesContext
from durable_runtime.types import WaitForConditionCheckContext
from durable_runtime.waits import WaitForConditionConfig, WaitStrategyConfig, create_wait_strategy

runs: Counter[str] = Counter()


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


def _poll_until(should_continue: Any, *, delay: int = 1, max_attempts: int = 60) -> Any:
    """A fixed-delay strategy without jitter or backoff, polling while `should_continue(state)`."""
    return create_wait_strategy(
        WaitStrategyConfig(
            should_continue_polling=should_continue,
            max_attempts=max_attempts,
            initial_delay=Duration.from_seconds(delay),
            backoff_rate=1,
            jitter_strategy=JitterStrategy.NONE,
        )
    )


def increment(state: int, check_context: WaitForConditionCheckContext) -> int:
    runs["increment"] += 1
    return state + 1


def _count_to(context: DurableContext, start: int, threshold: int, name: str | None = None) -> int:
    """Increment the state from `start`, one check per poll, until it reaches `threshold`."""
    config = WaitForConditionConfig(wait_strategy=_poll_until(lambda state: state < threshold), initial_state=start)
    return context.wait_for_condition(increment, config, name=name)


@durable_execution
def condition_met_at_once(event: Any, context: DurableContext) -> int:
    """6-2: initial state 5 (the input), the check keeps it, the strategy stops at once (state >= 5)."""

    def unchanged(state: int, _: WaitForConditionCheckContext) -> int:
        runs["unchanged"] += 1
        return state

    config = WaitForConditionConfig(wait_strategy=_poll_until(lambda state: state < 5), initial_state=event)
    return context.wait_for_condition(unchanged, config)


@durable_execution
def condition_with_name(event: Any, context: DurableContext) -> int:
    """6-3: named "poll-status"; counts from 0 until 2."""
    return _count_to(context, 0, 2, name="poll-status")


@durable_execution
def fixed_delay_strategy(event: Any, context: DurableContext) -> int:
    """6-5: a fixed 2-second delay (no jitter, no backoff); counts from 0 up to the input (3)."""
    config = WaitForConditionConfig(wait_strategy=_poll_until(lambda state: state < event, delay=2), initial_state=0)
    return context.wait_for_condition(increment, config)


@durable_execution
def max_attempts_exceeded(event: Any, context: DurableContext) -> int:
    """6-6: the condition never holds; the third (last permitted) check fails the operation and the execution."""
    config = WaitForConditionConfig(wait_strategy=_poll_until(lambda _: True, max_attempts=3), initial_state=event)
    return context.wait_for_condition(increment, config)


@durable_execution
def check_raises(event: Any, context: DurableContext) -> Any:
    """6-7: the check raises on its first call; no retry: the operation fails and so does the execution."""

    def broken(state: Any, _: WaitForConditionCheckContext) -> Any:
        runs["broken"] += 1
        raise RuntimeError("the status service answered 500")

    config = WaitForConditionConfig(wait_strategy=_poll_until(lambda _: True), initial_state=event)
    return context.wait_for_condition(broken, config)


@durable_execution
def object_state(event: Any, context: DurableContext) -> dict[str, Any]:
    """6-9: the state is {status, attempts}; DONE once attempts reaches 2."""

    def advance(state: dict[str, Any], _: WaitForConditionCheckContext) -> dict[str, Any]:
        runs["advance"] += 1
        attempts = state["attempts"] + 1
        return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}

    config = WaitForConditionConfig(
        wait_strategy=_poll_until(lambda state: state["status"] == "PENDING"),
        initial_state={"status": "PENDING", "attempts": 0},
    )
    return context.wait_for_condition(advance, config)


class TaggedTextSerDes(SerDes[str]):
    """A string stored as `text:<value>` (not JSON), read back by stripping the tag; anything else is refused."""

    TAG = "text:"

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        runs["serialize"] += 1
        return f"{self.TAG}{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        runs["deserialize"] += 1
        if not data.startswith(self.TAG):
            raise ValueError(f"not written by this serdes: {data!r}")
        return data.removeprefix(self.TAG)


@durable_execution
def custom_state_serdes(event: Any, context: DurableContext) -> str:
    """6-11: a string state through a custom serdes; each check appends "x" until the length is 2."""

    def append(state: str, _: WaitForConditionCheckContext) -> str:
        runs["append"] += 1
        return f"{state}x"

    config = WaitForConditionConfig(
        wait_strategy=_poll_until(lambda state: len(state) < 2), initial_state="", serdes=TaggedTextSerDes()
    )
    return context.wait_for_condition(append, config)


@durable_execution
def condition_then_step(event: Any, context: DurableContext) -> int:
    """6-12: count from 0 up to the input (2), then a step multiplies the result by 10."""
    value = _count_to(context, 0, event)
    return context.step(lambda _: value * 10)


@durable_execution
def two_conditions(event: Any, context: DurableContext) -> int:
    """6-13: count 0 -> 2, then from that result 2 -> 4; returns the second result."""
    first = _count_to(context, 0, 2)
    return _count_to(context, first, 4)


HANDLERS = {
    "6-2": condition_met_at_once,
    "6-3": condition_with_name,
    "6-5": fixed_delay_strategy,
    "6-6": max_attempts_exceeded,
    "6-7": check_raises,
    "6-9": object_state,
    "6-11": custom_state_serdes,
    "6-12": condition_then_step,
    "6-13": two_conditions,
}

# How often checks ran: once per poll, never again on a replay.
EXPECTED_RUNS = {
    "6-2": {"unchanged": 1},
    "6-3": {"increment": 2},
    "6-5": {"increment": 3},
    "6-6": {"increment": 3},
    "6-7": {"broken": 1},
    "6-9": {"advance": 2},
    "6-11": {"append": 2},
    "6-12": {"increment": 2},
    "6-13": {"increment": 4},
}
