"""Handlers for the step specs (shared/conformance/step), each written from its spec's `handler` prose.

`runs` counts how often each step body ran, so a test can prove what a replay did not re-execute.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from durable_runtime.config import Duration, JitterStrategy, StepConfig, StepSemantics
from durable_runtime.context import DurableContext, StepContext, durable_step
from durable_runtime.exceptions import StepError
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryDecision, RetryPresets, RetryStrategyConfig, create_retry_strategy
from durable_runtime.testing import simulate_process_exit

runs: Counter[str] = Counter()

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution
def step_basic(event: Any, context: DurableContext) -> str:
    """1-1: one step returning a greeting."""
    return context.step(greet(event))


@durable_execution
def step_with_name(event: Any, context: DurableContext) -> str:
    """1-2: one step with an explicit name."""
    return context.step(lambda _: f"Hello, {event}!", name="custom_step_name")


@durable_step
def build_response(step_context: StepContext, event: dict[str, Any]) -> dict[str, Any]:
    return {"user": {"name": event["name"], "tags": list(event["tags"])}, "count": len(event["tags"])}


@durable_execution
def complex_result(event: Any, context: DurableContext) -> dict[str, Any]:
    """1-4: a step returning a nested object."""
    return context.step(build_response(event))


@durable_step
def do_nothing(step_context: StepContext) -> None:
    return None


@durable_execution
def null_result(event: Any, context: DurableContext) -> None:
    """1-5: a step returning None."""
    return context.step(do_nothing())


@durable_step
def greet_with_logs(step_context: StepContext, name: str) -> str:
    step_context.logger.info(f"Greeting step started for: {name}")
    greeting = f"Hello, {name}!"
    step_context.logger.info(f"Greeting step completed with: {greeting}")
    return greeting


@durable_execution
def step_logger(event: Any, context: DurableContext) -> str:
    """1-7: a step logging through its step context logger."""
    return context.step(greet_with_logs(event))


@durable_execution
def step_then_wait(event: Any, context: DurableContext) -> str:
    """1-8: a step, then a wait; the replay must not run the step again."""

    def compute(_: StepContext) -> str:
        runs["compute"] += 1
        return "computed"

    value = context.step(compute)
    context.wait(Duration.from_seconds(2))
    return value


@durable_execution
def replay_rethrows_failed_step(event: Any, context: DurableContext) -> None:
    """1-10: a permanently failing step caught by the handler, then a wait; the replay re-raises from the journal."""

    def fail(step_context: StepContext) -> None:
        runs["fail"] += 1
        step_context.logger.info("step executed")
        raise RuntimeError("permanent failure")

    with contextlib.suppress(StepError):
        context.step(fail, config=NO_RETRY)
    context.wait(Duration.from_seconds(1))


def _fixed_retries(max_attempts: int, delay: int = 1, backoff_rate: float = 1) -> StepConfig:
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=max_attempts,
                initial_delay=Duration.from_seconds(delay),
                backoff_rate=backoff_rate,
                jitter_strategy=JitterStrategy.NONE,
            )
        )
    )


@durable_execution
def retry_then_succeed(event: Any, context: DurableContext) -> str:
    """1-11: a step failing on attempt 1 and succeeding on attempt 2."""

    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "Operation succeeded"

    return context.step(unreliable, config=_fixed_retries(3))


@durable_execution
def retry_exhaustion(event: Any, context: DurableContext) -> None:
    """1-12: a step that always fails, 4 attempts in all, 1 s apart."""

    def always_fail(step_context: StepContext) -> None:
        raise RuntimeError(f"attempt {step_context.attempt} failed")

    context.step(always_fail, config=_fixed_retries(4))


@durable_execution
def default_retry(event: Any, context: DurableContext) -> str:
    """1-13: fails twice, succeeds on attempt 3, with the default retry strategy (no config)."""

    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt < 3:
            raise RuntimeError(f"attempt {step_context.attempt} failed")
        return "succeeded"

    return context.step(unreliable)


@durable_execution
def custom_backoff(event: Any, context: DurableContext) -> str:
    """1-14: fails twice then succeeds; 5 attempts, 2 s initial delay, 3x backoff, no jitter.

    The attempt count lives outside the execution (the spec uses DynamoDB; a module counter here).
    """

    def unreliable(_: StepContext) -> str:
        runs["custom_backoff"] += 1
        if runs["custom_backoff"] <= 2:
            raise RuntimeError(f"call {runs['custom_backoff']} failed")
        return "succeeded"

    return context.step(unreliable, config=_fixed_retries(5, delay=2, backoff_rate=3))


class TransientError(Exception):
    """An error worth retrying."""


def retry_on_transient(error: Exception, attempts_made: int) -> RetryDecision:
    """Retry TransientError (up to 3 attempts, 1 s apart); anything else fails at once."""
    if isinstance(error, TransientError) and attempts_made < 3:
        return RetryDecision.retry(Duration.from_seconds(1))
    return RetryDecision.no_retry()


@durable_execution
def retry_specific_exception(event: Any, context: DurableContext) -> str:
    """1-15: a TransientError on attempt 1 is retried by a strategy that checks the error type."""

    def flaky(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise TransientError("temporarily unavailable")
        return "recovered"

    return context.step(flaky, config=StepConfig(retry_strategy=retry_on_transient))


@durable_execution
def at_most_once_interrupted(event: Any, context: DurableContext) -> str:
    """1-17: an at-most-once step with no retry logs its input, then the Lambda process dies."""

    def crash(step_context: StepContext) -> str:
        runs["at_most_once_flaky_step"] += 1
        step_context.logger.info(f"processing input {event}")
        simulate_process_exit()
        return "unreachable"

    config = StepConfig(retry_strategy=RetryPresets.none(), step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
    return context.step(crash, name="at_most_once_flaky_step", config=config)


@durable_execution
def error_caught(event: Any, context: DurableContext) -> str:
    """1-20: a failing step caught by the handler, which continues with a fallback through a second step."""

    def failing(_: StepContext) -> str:
        raise RuntimeError("step failed")

    try:
        value = context.step(failing, config=NO_RETRY)
    except StepError:
        value = "fallback_result"
    return context.step(lambda _: value)


HANDLERS = {
    "1-1": step_basic,
    "1-2": step_with_name,
    "1-4": complex_result,
    "1-5": null_result,
    "1-7": step_logger,
    "1-8": step_then_wait,
    "1-10": replay_rethrows_failed_step,
    "1-11": retry_then_succeed,
    "1-12": retry_exhaustion,
    "1-13": default_retry,
    "1-14": custom_backoff,
    "1-15": retry_specific_exception,
    "1-17": at_most_once_interrupted,
    "1-20": error_caught,
}

# How often step bodies must have run when the spec's prose says a replay does not re-execute them.
EXPECTED_RUNS = {
    "1-8": {"compute": 1},
    "1-10": {"fail": 1},
    "1-14": {"custom_backoff": 3},
    "1-17": {"at_most_once_flaky_step": 1},
}
