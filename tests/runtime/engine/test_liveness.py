"""Liveness: whatever single fault strikes, every execution finishes within minutes, with nothing lost.

One test per cause found by the liveness audit (r01-r08): each kills a process or fails a call at the exact
point that used to leave an execution RUNNING forever, or failed it for an outage.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest

from durable_runtime.config import CallbackConfig, Duration, StepConfig, StepSemantics
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.exceptions import CallbackError
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.retries import RetryPresets
from durable_runtime.testing import DurableFunctionTestRunner, ProcessExit

# A single fault costs at most this much virtual time: a lapsed lease (60 s), a held timer message (90 s) or
# Lambda's first retry (60 s), plus a recheck.
RECOVERY_BOUND_SECONDS = 5 * 60


def _key(params: Any) -> str:
    return str((params.get("Key") or params.get("Item") or {}).get("sk", {}).get("S", ""))


def _closes_execution(params: Any) -> bool:
    return _key(params) == "EXEC" and "ended" in str(params.get("UpdateExpression", ""))


def _creates_execution(params: Any) -> bool:
    return _key(params) == "EXEC" and "Item" in params


def _completes(kind: str) -> Any:
    """A predicate: the write that records an operation of `kind` as SUCCEEDED."""

    def matches(params: Any) -> bool:
        text = json.dumps(params)
        return _key(params).startswith("OP#") and '"SUCCEEDED"' in text and f'\\"typ\\":\\"{kind}\\"' in text

    return matches


def _elapsed(runner: DurableFunctionTestRunner, arn: str) -> float:
    execution = runner.client.get_durable_execution(DurableExecutionArn=arn)
    return (execution["EndTimestamp"] - execution["StartTimestamp"]).total_seconds()


@durable_execution
def _one_step(event: dict, ctx) -> str:
    return ctx.step(lambda _: f"hello {event['name']}", name="greet")


def test_r01_start_that_dies_after_recording_the_execution_still_runs_it() -> None:
    with DurableFunctionTestRunner(_one_step) as runner:
        runner.faults.crash_after("dynamodb", "PutItem", where=_creates_execution)
        with pytest.raises(ProcessExit):
            runner.client.start_execution("test-function", '{"name": "Ada"}', "order-1")
        arn = str(ExecutionArn.for_new_execution(runner.local_lambda.arn("test-function"), "1", "order-1"))
        # The caller died and never retries: the execution runs all the same.
        result = runner.wait_for_result(arn)
        # A caller that does retry (as documented) gets the same execution, which ran once.
        again = runner.client.start_execution("test-function", '{"name": "Ada"}', "order-1")

    assert result.status == InvocationStatus.SUCCEEDED and result.result == '"hello Ada"'
    assert again["DurableExecutionArn"] == arn


def test_r02_parent_that_dies_after_creating_its_child_collects_the_child() -> None:
    child_runs: Counter[str] = Counter()

    @durable_execution
    def child(event: dict, ctx) -> int:
        return ctx.step(lambda _: child_runs.update(["child"]) or event["n"] * 2, name="double")

    @durable_execution
    def parent(event: dict, ctx) -> int:
        return ctx.invoke("child", {"n": 21}, name="call-child")

    with DurableFunctionTestRunner(parent, execution_timeout=3600) as runner:
        runner.register_durable_function("child", child)
        # The second execution record created is the child's: die right after writing it.
        runner.faults.crash_after("dynamodb", "PutItem", where=_creates_execution, skip=1)
        arn = runner.run_async(input="{}")
        result = runner.wait_for_result(arn)

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == 42
    assert runner.faults.fired == ["crash after dynamodb.PutItem"]
    assert child_runs["child"] == 1


def test_r03_callback_completion_that_dies_after_its_write_still_resumes_the_execution() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        callback = ctx.create_callback("review", CallbackConfig(timeout=Duration.from_hours(72)))
        return f"decision: {callback.result()}"

    with DurableFunctionTestRunner(handler, execution_timeout=7 * 86_400) as runner:
        arn = runner.run_async(input="{}")
        callback_id = runner.wait_for_callback(arn, "review")
        runner.faults.crash_after("dynamodb", "UpdateItem", where=lambda params: _key(params).startswith("OP#"))
        with pytest.raises(ProcessExit):
            runner.send_callback_success(callback_id, b"approved")
        # The caller never retries (it would be answered 200, see the next test): the outbox resumes the execution.
        result = runner.wait_for_result(arn)
        elapsed = _elapsed(runner, arn)

    assert result.status == InvocationStatus.SUCCEEDED and result.result == '"decision: approved"'
    assert elapsed < RECOVERY_BOUND_SECONDS


def _proxy(callback_id: str, action: str, body: str) -> dict:
    from durable_runtime.testing.runner import callback_proxy_event

    return callback_proxy_event(callback_id, action, body)


@pytest.mark.parametrize("closed_first", [False, True], ids=["while-running", "after-close"])
def test_r03_retried_completion_whose_answer_was_lost_gets_200(closed_first: bool) -> None:
    """The sender retries a completion that landed (its answer was lost): 200, also once the execution used the
    answer and ended; a different answer is refused."""

    @durable_execution
    def handler(event: dict, ctx) -> str:
        return ctx.create_callback("review").result()

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        callback_id = runner.wait_for_callback(arn, "review")
        runner.send_callback_success(callback_id, b"yes")
        if closed_first:
            runner.wait_for_result(arn)
        retried = runner.post_callback_event(_proxy(callback_id, "succeed", "yes"))
        conflicting = runner.post_callback_event(_proxy(callback_id, "succeed", "no"))
        heartbeat = runner.post_callback_event(_proxy(callback_id, "heartbeat", ""))
        result = runner.wait_for_result(arn)

    assert retried["statusCode"] == 200
    assert conflicting["statusCode"] == 409
    assert heartbeat["statusCode"] == 409
    assert result.result == '"yes"'


def test_r04_child_that_dies_after_closing_still_resumes_its_parent() -> None:
    @durable_execution
    def child(event: dict, ctx) -> str:
        return ctx.step(lambda _: "done", name="work")

    @durable_execution
    def parent(event: dict, ctx) -> str:
        return ctx.invoke("child", {}, name="call-child")

    with DurableFunctionTestRunner(parent, execution_timeout=7 * 86_400) as runner:
        runner.register_durable_function("child", child)
        runner.faults.crash_after("dynamodb", "UpdateItem", where=_closes_execution)  # the child closes first
        arn = runner.run_async(input="{}")
        result = runner.wait_for_result(arn)
        elapsed = _elapsed(runner, arn)

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == "done"
    assert runner.faults.fired == ["crash after dynamodb.UpdateItem"]
    assert elapsed < RECOVERY_BOUND_SECONDS


def test_r05_wait_finished_inside_a_child_context_stays_finished_after_a_crash() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> str:
        def inner(child) -> str:
            child.wait(Duration.from_seconds(30), name="cool-off")
            return child.step(lambda _: "inner done", name="after-wait")

        value = ctx.run_in_child_context(inner, name="phase")
        ctx.step(lambda _: None, name="next")
        return value

    with DurableFunctionTestRunner(handler) as runner:
        # The child context was recorded as started when it first suspended: its completion is an update.
        runner.faults.crash_after("dynamodb", "UpdateItem", where=_completes("CONTEXT"))
        result = runner.run(input="{}")
        events = runner.get_execution_history(result.execution_arn)["Events"]
        state = runner.client.get_durable_execution_state(DurableExecutionArn=result.execution_arn)

    assert result.status == InvocationStatus.SUCCEEDED
    assert runner.faults.fired == ["crash after dynamodb.UpdateItem"]
    statuses = {op["Name"]: op["Status"] for op in state["Operations"]}
    assert statuses["cool-off"] == "SUCCEEDED"
    assert [e["EventType"] for e in events].count("WaitSucceeded") == 1


def test_r06_start_written_late_survives_a_failed_or_throttled_background_write() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        def slow(_) -> str:
            runs["slow"] += 1
            time.sleep(0.5)  # longer than the start linger: the start is written from the linger thread
            return "slow done"

        return ctx.step(slow, name="slow")

    for fault in ("throttle", "fail"):
        with DurableFunctionTestRunner(handler) as runner:
            arn = runner.run_async(input="{}")
            if fault == "throttle":
                runner.faults.throttle("PutItem", times=5)
            else:
                runner.faults.fail_before("dynamodb", "PutItem")
            result = runner.wait_for_result(arn)
        assert result.status == InvocationStatus.SUCCEEDED, fault
        assert result.result == '"slow done"'
    assert runs["slow"] == 2  # once per run: the failed background write cost nothing


def test_r07_transient_payload_read_on_replay_never_reaches_the_handler() -> None:
    seen: list[str] = []

    @durable_execution
    def handler(event: dict, ctx) -> int:
        big = ctx.step(lambda _: "x" * 300_000, name="big")  # over 256 KB: kept in the payload bucket
        ctx.wait(Duration.from_seconds(10), name="pause")
        try:
            return len(ctx.step(lambda _: big, name="use"))
        except Exception as error:  # a handler that catches everything must still never see an outage
            seen.append(type(error).__name__)
            raise

    with DurableFunctionTestRunner(handler) as runner:
        runner.faults.fail_before("s3", "GetObject")
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == 300_000
    assert runner.faults.fired == ["failure before s3.GetObject"]
    assert seen == []


@pytest.mark.parametrize(
    ("service", "operation", "where", "skip"),
    [
        ("dynamodb", "PutItem", _creates_execution, 1),  # starting the child (the first is the parent's start)
        ("dynamodb", "GetItem", lambda params: _key(params) == "EXEC", 0),  # collecting the child's outcome
        ("lambda", "GetFunction", None, 1),  # resolving the target (the first resolves the parent, to start it)
    ],
)
def test_r07_transient_failure_on_the_invoke_path_is_retried_not_a_failed_invoke(
    service: str, operation: str, where: Any, skip: int
) -> None:
    @durable_execution
    def child(event: dict, ctx) -> str:
        return "child result"

    @durable_execution
    def parent(event: dict, ctx) -> str:
        return ctx.invoke("child", {}, name="call-child")

    with DurableFunctionTestRunner(parent, execution_timeout=3600) as runner:
        runner.register_durable_function("child", child)
        runner.faults.fail_before(service, operation, where=where, skip=skip)
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED, result.error
    assert runner.faults.fired == [f"failure before {service}.{operation}"]
    assert json.loads(result.result or "") == "child result"


def _deliver_twice_at_once(runner: DurableFunctionTestRunner, arn: str, request_id: str) -> None:
    """One resume, delivered twice at the same moment with the same delivery id (as SQS or Lambda may)."""
    function = runner.local_lambda.functions["test-function"].versions["1"]
    event = ResumeRequest(ExecutionArn.parse(arn), "timer").to_event()
    threads = [
        threading.Thread(
            target=function, args=(event, runner.local_lambda.context_for("test-function", "1", request_id))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("semantics", list(StepSemantics))
def test_r08_same_delivery_twice_at_once_runs_a_body_once_and_never_concurrently(semantics: StepSemantics) -> None:
    lock = threading.Lock()
    running = peak = runs = 0

    def slow(_) -> str:
        nonlocal running, peak, runs
        with lock:
            running, runs = running + 1, runs + 1
            peak = max(peak, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return "once"

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_seconds(5), name="pause")
        config = StepConfig(step_semantics=semantics, retry_strategy=RetryPresets.none())
        return ctx.step(slow, name="slow", config=config)

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.local_lambda.run(runner.local_lambda.pop_ready())  # suspends on the wait
        runner.clock.advance(10)
        _deliver_twice_at_once(runner, arn, "same-message-id")
        result = runner.wait_for_result(arn)

    assert result.status == InvocationStatus.SUCCEEDED, result.error
    assert result.result == '"once"'
    assert (runs, peak) == (1, 1)


def test_direct_start_whose_invocation_dies_is_resumed_by_its_watchdog() -> None:
    """An ordinary event (API Gateway, a test) starts an execution in the invocation that then dies: no retry."""
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        return ctx.step(lambda _: runs.update(["greet"]) or f"hello {event['name']}", name="greet")

    with DurableFunctionTestRunner(handler) as runner:
        function = runner.local_lambda.functions["test-function"].versions["1"]
        context = runner.local_lambda.context_for("test-function", "1", "api-request-1")
        # Die right after creating the execution, before anything ran: a synchronous caller gets an error and
        # Lambda does not retry.
        runner.faults.crash_after("dynamodb", "PutItem", where=_creates_execution)
        with pytest.raises(ProcessExit):
            function({"name": "Ada"}, context)
        arn = str(ExecutionArn.for_new_execution(runner.local_lambda.arn("test-function"), "1", "api-request-1"))
        result = runner.wait_for_result(arn)
        elapsed = _elapsed(runner, arn)

    assert result.status == InvocationStatus.SUCCEEDED and result.result == '"hello Ada"'
    assert runs["greet"] == 1
    # The watchdog fires 90 s after the start: a dead invocation's lease (60 s) has lapsed by then.
    assert elapsed <= 90 + 5


def test_a_watchdog_landing_just_before_the_execution_timeout_ends_the_execution() -> None:
    """SQS delays are whole seconds and hosts' clocks differ: a timer may land within the due tolerance before its
    time. The watchdog set for the execution's timeout counts as on time then, as every other timer does; were it
    not, the invocation would find nothing to do and, its own timer being on time, set none: stuck RUNNING."""
    from durable_runtime import contract
    from durable_runtime.engine.clock import DUE_TOLERANCE_SECONDS

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_days(2), name="too-long")
        return "never"

    with DurableFunctionTestRunner(handler, execution_timeout=3600) as runner:
        arn = runner.run_async(input="{}")
        while runner.pump_once(advance_time=False):
            pass
        started = runner.client.get_durable_execution(DurableExecutionArn=arn)["StartTimestamp"].timestamp()
        timeout_at = started + 3600
        runner.clock.advance_to(timeout_at - DUE_TOLERANCE_SECONDS / 2)
        watchdog = ResumeRequest(ExecutionArn.parse(arn), contract.REASON_WATCHDOG, due_at=timeout_at)
        function = runner.local_lambda.functions["test-function"].versions["1"]
        function(watchdog.to_event(), runner.local_lambda.context_for("test-function", "1", "early-watchdog"))

        assert runner.execution_status(arn) == "TIMED_OUT"


@pytest.mark.parametrize(
    ("service", "operation", "timeout"),
    [("scheduler", "CreateSchedule", Duration.from_minutes(20)), ("sqs", "SendMessage", Duration.from_minutes(5))],
    ids=["schedule", "queue"],
)
def test_a_callback_whose_timer_could_not_be_set_still_times_out(service: str, operation: str, timeout: Any) -> None:
    """The callback is recorded by the time its id is sent (a step), before its timeout's timer is set at the
    suspension. That call failing once ends the invocation with an error, recorded; its retry finds the callback
    and the step recorded and nothing newer than that end. It used to take the retry for a duplicate and set no
    timer: RUNNING forever, as nobody answers. Now an invocation after one that ended with an error sets the next
    timer and records its end."""

    @durable_execution
    def handler(event: dict, ctx) -> str:
        callback = ctx.create_callback("review", CallbackConfig(timeout=timeout))
        ctx.step(lambda _: callback.callback_id, name="send-id")
        try:
            return f"decision: {callback.result()}"
        except CallbackError as error:
            return type(error).__name__

    with DurableFunctionTestRunner(handler, execution_timeout=86_400) as runner:
        runner.faults.fail_before(service, operation)
        arn = runner.run_async(input="{}")
        result = runner.wait_for_result(arn)
        elapsed = _elapsed(runner, arn)
        fired = list(runner.faults.fired)

    assert fired, "the fault was never reached"
    assert result.status == InvocationStatus.SUCCEEDED and result.result == '"CallbackTimeoutError"'
    assert elapsed < timeout.to_seconds() + RECOVERY_BOUND_SECONDS
