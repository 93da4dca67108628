"""The workflows the fault sweep runs: the three examples and a handler for each operation kind.

Each names the durable (and plain) functions to register, the input, and what the outside world does while the
execution runs (answer callbacks); step bodies that matter run under the probe.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from durable_runtime.concurrency.models import BatchResult
from durable_runtime.config import (
    CallbackConfig,
    CompletionConfig,
    Duration,
    MapConfig,
    ParallelConfig,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
)
from durable_runtime.exceptions import CallbackError
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryDecision, RetryPresets
from durable_runtime.serdes import JsonSerDes
from durable_runtime.waits import WaitForConditionConfig, WaitForConditionDecision
from examples import document_batch, fraud_review, order_workflow

from .probe import PROBE

if TYPE_CHECKING:
    from .sweep import Outside


@dataclass(frozen=True)
class Workflow:
    """One workflow of the sweep."""

    name: str
    functions: dict[str, Callable[[Any, Any], Any]]
    input: dict[str, Any]
    # What the outside world does while the execution runs (answer its callbacks, say).
    drive: Callable[[Outside], None] = lambda outside: None
    plain_functions: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    execution_timeout: int = 7 * 86_400
    reset: Callable[[], None] = lambda: None
    # How the clean run ends (the runner's status: an execution that times out reads FAILED, as officially).
    ends: str = "SUCCEEDED"
    # How the execution starts: "client" (DurableClient.start_execution, retried by its caller unless it landed)
    # or "event" (an ordinary event invoking the function asynchronously, as S3 or EventBridge would: Lambda
    # retries a failed delivery with the same request id, which names the execution).
    start: str = "client"

    @property
    def main(self) -> str:
        """The function the execution starts on (the first listed)."""
        return next(iter(self.functions))


def _retry_once(error: Exception, attempt: int) -> RetryDecision:
    return RetryDecision.retry(Duration.from_seconds(5)) if attempt < 3 else RetryDecision.no_retry()


@durable_execution
def at_least_once(event: dict, ctx) -> dict:
    def flaky(step) -> str:
        if step.attempt == 1:
            raise RuntimeError("first attempt fails")
        return f"ok on attempt {step.attempt}"

    first = ctx.step(PROBE.step("flaky", flaky), name="flaky", config=StepConfig(retry_strategy=_retry_once))
    ctx.wait(Duration.from_seconds(30), name="pause")
    second = ctx.step(PROBE.step("second", lambda _: "second"), name="second")
    return {"first": first, "second": second}


@durable_execution
def at_most_once(event: dict, ctx) -> dict:
    once = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, retry_strategy=_retry_once)
    transfer = ctx.step(PROBE.step("transfer", lambda _: "sent", at_most_once=True), name="transfer", config=once)
    ctx.wait(Duration.from_seconds(10), name="settle")
    receipt = ctx.step(PROBE.step("receipt", lambda _: "filed", at_most_once=True), name="receipt", config=once)
    return {"transfer": transfer, "receipt": receipt}


@durable_execution
def callbacks(event: dict, ctx) -> dict:
    approval = ctx.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(2)))
    # Sending the id is what hands it to the outside world (a retried send gets a newly issued, equally valid id).
    ctx.step(PROBE.step("notify", lambda _: approval.callback_id), name="notify")
    decision = approval.result()
    config = WaitForCallbackConfig(timeout=Duration.from_hours(2), serdes=JsonSerDes())
    signed = ctx.wait_for_callback(PROBE.submitter("submit"), name="signature", config=config)
    return {"decision": decision, "signed": signed}


@durable_execution
def nested_map(event: dict, ctx) -> list:
    def item(child, value: int, index: int, values: list) -> int:
        return child.step(PROBE.step(f"item-{value}", lambda _: value * value), name="square")

    def group(child, values: list, index: int, groups: list) -> int:
        inner = child.map(values, item, name="items", config=MapConfig(max_concurrency=3))
        return sum(inner.get_results())

    groups = [list(range(start, start + 5)) for start in range(0, 20, 5)]
    outer: BatchResult[int] = ctx.map(groups, group, name="groups", config=MapConfig(max_concurrency=2))
    return outer.get_results()


@durable_execution
def invoke_child(event: dict, ctx) -> dict:
    ctx.wait(Duration.from_seconds(20), name="child-pause")
    return {"doubled": ctx.step(PROBE.step("double", lambda _: event["n"] * 2), name="double")}


def plain_tax(event: Any, context: Any) -> dict:
    return {"tax": event["amount"] // 10}


@durable_execution
def invoke_parent(event: dict, ctx) -> dict:
    child = ctx.invoke("sweep-child", {"n": 21}, name="call-child")
    tax = ctx.invoke("sweep-plain", {"amount": 250}, name="call-plain")
    return {**child, **tax}


BIG = 300 * 1024


@durable_execution
def large_payloads(event: dict, ctx) -> dict:
    def big_failure(step) -> int:
        if step.attempt == 1:
            raise ValueError("e" * (40 * 1024))
        return step.attempt

    blob = ctx.step(PROBE.step("blob", lambda _: "b" * BIG), name="blob")
    retried = StepConfig(retry_strategy=_retry_once)
    attempts = ctx.step(PROBE.step("big-failure", big_failure), name="big-failure", config=retried)
    callback = ctx.create_callback("large-answer", CallbackConfig(timeout=Duration.from_hours(1)))
    ctx.step(PROBE.step("send-id", lambda _: callback.callback_id), name="send-id")
    answer = callback.result()
    ctx.wait(Duration.from_seconds(5), name="pause")
    return {"blob": len(blob), "attempts": attempts, "answer": len(answer or "")}


@durable_execution
def large_map(event: dict, ctx) -> dict:
    """A map whose result passes 256 KB: it goes to the payload bucket and the replay after the wait reads it."""

    def item(child, value: int, index: int, values: list) -> str:
        return child.step(PROBE.step(f"block-{value}", lambda _: str(value) * (100 * 1024)), name="block")

    blocks: BatchResult[str] = ctx.map([1, 2, 3], item, name="blocks", config=MapConfig(max_concurrency=1))
    ctx.wait(Duration.from_seconds(5), name="pause")
    return {"sizes": [len(block) for block in blocks.get_results()], "first": blocks.get_results()[0][:1]}


@durable_execution
def wait_for_condition(event: dict, ctx) -> int:
    def check(state: int, check_context) -> int:
        return state + 1

    def strategy(state: int, attempt: int) -> WaitForConditionDecision:
        if state >= 3:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(10))

    return ctx.wait_for_condition(check, WaitForConditionConfig(wait_strategy=strategy, initial_state=0), name="poll")


@durable_execution
def parallel(event: dict, ctx) -> list:
    def fast(child) -> str:
        return child.step(PROBE.step("fast", lambda _: "fast"), name="fast")

    def slow(child) -> str:
        child.wait(Duration.from_seconds(60), name="slow-wait")
        return child.step(PROBE.step("slow", lambda _: "slow"), name="slow")

    def refuse(_) -> str:
        raise RuntimeError("this branch always fails")

    def failing(child) -> str:
        no_retry = StepConfig(retry_strategy=RetryPresets.none())
        return child.step(PROBE.step("failing", refuse), name="failing", config=no_retry)

    config = ParallelConfig(completion_config=CompletionConfig(min_successful=2))
    result = ctx.parallel([fast, slow, failing], name="race", config=config)
    return sorted(result.get_results())


@durable_execution
def unanswered(event: dict, ctx) -> dict:
    """Callbacks nobody answers: one outlives its timeout (past 15 minutes: a schedule), one misses its heartbeat."""
    outcomes = {}
    for name, config in (
        ("quiet", CallbackConfig(timeout=Duration.from_minutes(20))),
        ("silent", CallbackConfig(timeout=Duration.from_hours(1), heartbeat_timeout=Duration.from_minutes(3))),
    ):
        callback = ctx.create_callback(name, config)
        ctx.step(PROBE.step(f"send-{name}", lambda _, c=callback: c.callback_id), name=f"send-{name}")
        try:
            outcomes[name] = callback.result()
        except CallbackError as error:
            outcomes[name] = type(error).__name__
    return outcomes


@durable_execution
def answers(event: dict, ctx) -> dict:
    """A callback refused by the outside world, then one kept alive by a heartbeat past its heartbeat timeout."""
    refused = ctx.create_callback("refused", CallbackConfig(timeout=Duration.from_hours(1)))
    ctx.step(PROBE.step("ask-refused", lambda _: refused.callback_id), name="ask-refused")
    try:
        first = refused.result()
    except CallbackError as error:
        first = f"{type(error).__name__}: {error}"
    slow = ctx.create_callback(
        "slow", CallbackConfig(timeout=Duration.from_hours(1), heartbeat_timeout=Duration.from_minutes(10))
    )
    ctx.step(PROBE.step("ask-slow", lambda _: slow.callback_id), name="ask-slow")
    return {"refused": first, "slow": slow.result()}


def _every_twenty_minutes(error: Exception, attempt: int) -> RetryDecision:
    return RetryDecision.retry(Duration.from_minutes(20)) if attempt < 3 else RetryDecision.no_retry()


@durable_execution
def setbacks(event: dict, ctx) -> dict:
    """Retries 20 minutes apart (scheduled), a child context that gives up, a map that tolerates a failed item."""

    def stubborn(step) -> int:
        if step.attempt < 3:
            raise RuntimeError(f"attempt {step.attempt} fails")
        return step.attempt

    def giving_up(child) -> str:
        child.step(PROBE.step("inner", lambda _: "inner"), name="inner")
        raise ValueError("the child gives up")

    def item(child, value: int, index: int, values: list) -> int:
        def body(_) -> int:
            if value == 2:
                raise ValueError("item 2 cannot be done")
            return value * 10

        no_retry = StepConfig(retry_strategy=RetryPresets.none())
        return child.step(PROBE.step(f"item-{value}", body), name="item", config=no_retry)

    retried = StepConfig(retry_strategy=_every_twenty_minutes)
    attempts = ctx.step(PROBE.step("stubborn", stubborn), name="stubborn", config=retried)
    try:
        child = ctx.run_in_child_context(giving_up, name="child")
    except Exception as error:  # noqa: BLE001 - the workflow reports what the child's failure surfaced as
        child = f"{type(error).__name__}: {error}"
    tolerant = MapConfig(completion_config=CompletionConfig(tolerated_failure_count=1))
    mapped: BatchResult[int] = ctx.map([1, 2, 3], item, name="tolerant", config=tolerant)
    return {
        "attempts": attempts,
        "child": child,
        "mapped": mapped.get_results(),
        "failed": mapped.failure_count,
        "reason": str(mapped.completion_reason),
    }


@durable_execution
def staggered(event: dict, ctx) -> list:
    """Map items that each wait a different time (seconds to hours: the queue and schedules), two at a time, so
    suspensions hold several waits and timers arrive for waits already over."""

    def item(child, minutes: float, index: int, values: list) -> str:
        child.wait(Duration.from_seconds(int(minutes * 60)), name="rest")
        return child.step(PROBE.step(f"after-{index}", lambda _: f"{minutes} min"), name="after")

    config = MapConfig(max_concurrency=2)
    return ctx.map([0.1, 20, 1, 90, 0.5], item, name="staggered", config=config).get_results()


@durable_execution
def failing_child(event: dict, ctx) -> dict:
    ctx.step(PROBE.step("child-work", lambda _: "worked"), name="work")
    raise ValueError(f"the child refuses {event['n']}")


@durable_execution
def invoke_failure(event: dict, ctx) -> dict:
    """A durable child that fails: the parent sees the failure and carries on."""
    try:
        answer = ctx.invoke("sweep-failing-child", {"n": 7}, name="call-failing")
    except Exception as error:  # noqa: BLE001 - the workflow reports what the child's failure surfaced as
        answer = f"{type(error).__name__}: {error}"
    after = ctx.step(PROBE.step("after", lambda _: "after"), name="after")
    return {"answer": answer, "after": after}


# Whether the operated workflow's gate step has been fixed (a deployment between its failure and its redrive).
GATE = {"fixed": False}


@durable_execution
def operated(event: dict, ctx) -> dict:
    """Paused by an operator during a wait and resumed after it was due; fails at a gate, is fixed and redriven."""

    def gate(_) -> str:
        if not GATE["fixed"]:
            raise RuntimeError("the gate is broken")
        return "through"

    before = ctx.step(PROBE.step("before", lambda _: "before"), name="before")
    ctx.wait(Duration.from_minutes(5), name="window")
    through = ctx.step(PROBE.step("gate", gate), name="gate", config=StepConfig(retry_strategy=RetryPresets.none()))
    return {"before": before, "gate": through}


def _operate(outside: Outside) -> None:
    outside.idle(60)  # the first step runs, and the execution waits
    outside.pause()
    outside.idle(10 * 60)  # the wait falls due while paused
    outside.resume()
    outside.redrive_when_failed(lambda: GATE.update(fixed=True))


@durable_execution
def stopped(event: dict, ctx) -> dict:
    """Stopped by an operator while branches wait: on a timer, and on a callback nobody answers."""

    def napping(child) -> str:
        child.wait(Duration.from_hours(2), name="nap")
        return "rested"

    def asking(child) -> str:
        question = child.create_callback("question", CallbackConfig(timeout=Duration.from_hours(6)))
        child.step(PROBE.step("ask", lambda _: question.callback_id), name="ask")
        return question.result()

    ctx.step(PROBE.step("begin", lambda _: "begun"), name="begin")
    return {"results": ctx.parallel([napping, asking], name="both").get_results()}


def _stop(outside: Outside) -> None:
    outside.idle(30 * 60)
    outside.stop()


@durable_execution
def outlived(event: dict, ctx) -> dict:
    """An execution that outlives its timeout while it waits for an answer that never comes."""
    ctx.step(PROBE.step("begin", lambda _: "begun"), name="begin")
    ctx.create_callback("never", CallbackConfig(timeout=Duration.from_hours(3))).result()
    return {"unreachable": True}


def _answer_fraud_review(outside: Outside) -> None:
    outside.answer("fraud_review", b'{"decision": "approve"}')


def _answer_callbacks(outside: Outside) -> None:
    outside.answer("approval", b"approved")
    outside.answer("signature", b'{"by": "ada"}')


def _refuse_then_heartbeat(outside: Outside) -> None:
    outside.refuse("refused", "not today")
    outside.heartbeat("slow")  # at once: the heartbeat timeout now runs from here
    outside.idle(8 * 60)
    outside.heartbeat("slow")
    outside.idle(8 * 60)  # 16 minutes after the first heartbeat: without the second, the callback had timed out
    outside.answer("slow", b"finally")


def _answer_large(outside: Outside) -> None:
    outside.answer("large-answer", b"a" * (200 * 1024))


FRAUD_REVIEW = {"order_id": "o-7", "amount_cents": 990}
ORDER = {"order_id": "order-sweep", "items": [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]}
DOCUMENTS = {
    "documents": [{"id": f"d{index}", "text": "one two three " * index} for index in range(1, 7)] + [{"id": "bad"}]
}

WORKFLOWS = [
    Workflow(
        "order_workflow", {"order-workflow": order_workflow.handler}, ORDER, reset=order_workflow.payments.calls.clear
    ),
    Workflow("fraud_review", {"fraud-review": fraud_review.handler}, FRAUD_REVIEW, drive=_answer_fraud_review),
    Workflow(
        "order_by_event",
        {"order-workflow": order_workflow.handler},
        ORDER,
        reset=order_workflow.payments.calls.clear,
        start="event",
    ),
    Workflow("document_batch", {"document-batch": document_batch.handler}, DOCUMENTS),
    Workflow("at_least_once", {"sweep-steps": at_least_once}, {}),
    Workflow("at_most_once", {"sweep-once": at_most_once}, {}),
    Workflow("callbacks", {"sweep-callbacks": callbacks}, {}, drive=_answer_callbacks),
    Workflow("nested_map", {"sweep-map": nested_map}, {}),
    Workflow(
        "invoke",
        {"sweep-parent": invoke_parent, "sweep-child": invoke_child},
        {},
        plain_functions={"sweep-plain": plain_tax},
    ),
    Workflow("large_payloads", {"sweep-large": large_payloads}, {}, drive=_answer_large),
    Workflow("large_map", {"sweep-large-map": large_map}, {}),
    Workflow("wait_for_condition", {"sweep-poll": wait_for_condition}, {}),
    Workflow("parallel", {"sweep-parallel": parallel}, {}),
    Workflow("unanswered", {"sweep-unanswered": unanswered}, {}),
    Workflow("answers", {"sweep-answers": answers}, {}, drive=_refuse_then_heartbeat),
    Workflow("operated", {"sweep-operated": operated}, {}, drive=_operate, reset=lambda: GATE.update(fixed=False)),
    Workflow("stopped", {"sweep-stopped": stopped}, {}, drive=_stop, ends="FAILED"),
    Workflow("setbacks", {"sweep-setbacks": setbacks}, {}),
    Workflow("staggered", {"sweep-staggered": staggered}, {}),
    Workflow("invoke_failure", {"sweep-invoke-failure": invoke_failure, "sweep-failing-child": failing_child}, {}),
    Workflow("outlived", {"sweep-outlived": outlived}, {}, execution_timeout=3_600, ends="FAILED"),
]


def input_text(workflow: Workflow) -> str:
    """The execution input as JSON text."""
    return json.dumps(workflow.input)
