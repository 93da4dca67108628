"""Handlers for the invoke specs (shared/conformance/invoke), each written from its spec's `handler` prose.

The targets are durable functions (`DURABLE_TARGETS`, registered with the runner before each run): a durable
target runs as a child execution while the caller suspends, which is what the specs' histories show
(ChainedInvokeStarted with a DurableExecutionArn, then InvocationCompleted, then the outcome). `runs` counts
target runs, so a test can prove that a replay returns the recorded outcome without invoking again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from durable_runtime.config import Duration, InvokeConfig
from durable_runtime.context import DurableContext
from durable_runtime.exceptions import InvokeError
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import SerDes, SerDesContext

runs: Counter[str] = Counter()

ECHO = "echo-target"
FAILING = "failing-target"
MEASURE = "measure-target"
SECOND = "second-target"
# Just under the 256 KB a Lambda event (and a checkpoint) may hold.
LARGE_PAYLOAD_CHARS = 250 * 1024


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


# region targets
@durable_execution
def echo_target(event: Any, context: DurableContext) -> Any:
    """Returns its input unchanged."""
    runs[ECHO] += 1
    return event


@durable_execution
def failing_target(event: Any, context: DurableContext) -> Any:
    """Always fails."""
    runs[FAILING] += 1
    raise RuntimeError("the target function failed")


@durable_execution
def measure_target(event: Any, context: DurableContext) -> dict[str, int]:
    """Processes a large text: returns its length."""
    runs[MEASURE] += 1
    return {"length": len(event)}


@durable_execution
def second_target(event: Any, context: DurableContext) -> Any:
    """Another target, for two invokes in a row: wraps its input."""
    runs[SECOND] += 1
    return {"second": event}


DURABLE_TARGETS = {
    ECHO: echo_target,
    FAILING: failing_target,
    MEASURE: measure_target,
    SECOND: second_target,
}
# endregion


@durable_execution
def invoke_with_name(event: Any, context: DurableContext) -> Any:
    """5-2: invoke the echo target with the input's payload, named by the input's name."""
    return context.invoke(ECHO, event["payload"], name=event["name"])


@durable_execution
def invoke_complex_object(event: Any, context: DurableContext) -> Any:
    """5-3: invoke the echo target with the nested input; return what it echoes."""
    return context.invoke(ECHO, event)


@durable_execution
def invoke_null(event: Any, context: DurableContext) -> Any:
    """5-4: invoke the echo target with null; return its null result."""
    return context.invoke(ECHO, None)


@durable_execution
def invoke_failure_caught(event: Any, context: DurableContext) -> str:
    """5-6: the target fails; the handler catches the InvokeError and returns a fallback."""
    try:
        return context.invoke(FAILING, None)
    except InvokeError:
        return "fallback"


@durable_execution
def invoke_large_payload(event: Any, context: DurableContext) -> Any:
    """5-7: invoke a target with a payload near the size limit; it returns the payload's length."""
    return context.invoke(MEASURE, "x" * LARGE_PAYLOAD_CHARS)


@durable_execution
def invoke_with_tenant(event: Any, context: DurableContext) -> Any:
    """5-8: invoke the echo target with the input's payload, for the input's tenant."""
    return context.invoke(ECHO, event["payload"], config=InvokeConfig(tenant_id=event["tenantId"]))


@durable_execution
def invoke_then_wait(event: Any, context: DurableContext) -> Any:
    """5-9: invoke, then wait 1 second; the replay after the wait returns the recorded result."""
    value = context.invoke(ECHO, {"order": 1})
    context.wait(Duration.from_seconds(1))
    return value


@durable_execution
def invoke_failure_then_wait(event: Any, context: DurableContext) -> str:
    """5-10: the invoke fails and is caught, then a 1-second wait; the replay re-raises the recorded error."""
    outcome = "no error"
    try:
        context.invoke(FAILING, None)
    except InvokeError as error:
        runs["caught"] += 1
        outcome = f"caught: {error.message}"
    context.wait(Duration.from_seconds(1))
    return outcome


@durable_execution
def invoke_then_step(event: Any, context: DurableContext) -> Any:
    """5-12: invoke, then a step processes the invoke's result."""
    value = context.invoke(ECHO, {"items": [1, 2, 3]})
    return context.step(lambda _: {"total": sum(value["items"])})


@durable_execution
def two_invokes(event: Any, context: DurableContext) -> Any:
    """5-14: invoke one target, then another, in sequence."""
    first = context.invoke(ECHO, "first")
    return context.invoke(SECOND, first)


class UpperCaseSerDes(SerDes[str]):
    """Reads a result as its upper-cased text (the JSON quotes stay); writes a value as it is."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return value

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data.upper()


@durable_execution
def invoke_custom_result_serdes(event: Any, context: DurableContext) -> Any:
    """5-16: invoke the echo target with the input; a result serdes upper-cases the echoed '"hello"'."""
    return context.invoke(ECHO, event, config=InvokeConfig(serdes_result=UpperCaseSerDes()))


HANDLERS = {
    "5-2": invoke_with_name,
    "5-3": invoke_complex_object,
    "5-4": invoke_null,
    "5-6": invoke_failure_caught,
    "5-7": invoke_large_payload,
    "5-8": invoke_with_tenant,
    "5-9": invoke_then_wait,
    "5-10": invoke_failure_then_wait,
    "5-12": invoke_then_step,
    "5-14": two_invokes,
    "5-16": invoke_custom_result_serdes,
}

# How often targets ran: once per invoke, never again on a replay (the outcome comes from the journal).
EXPECTED_RUNS = {
    "5-2": {ECHO: 1},
    "5-9": {ECHO: 1},
    "5-10": {FAILING: 1, "caught": 2},
    "5-14": {ECHO: 1, SECOND: 1},
}
