"""Duplicate and concurrent invocations of one execution never run a step body twice at the same time."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from durable_runtime.config import Duration
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


def test_duplicated_resume_runs_no_step_twice() -> None:
    runs: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.step(lambda _: runs.update(["before"]), name="before")
        ctx.wait(Duration.from_seconds(10), name="pause")
        ctx.step(lambda _: runs.update(["after"]), name="after")
        return "done"

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        while runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING":
            # Every invocation is delivered twice, as an at-least-once queue may do.
            delivery = runner.local_lambda.pop_ready()
            if delivery is None:
                if not runner.pump_once():
                    break
                continue
            runner.local_lambda.run(delivery)
            runner.local_lambda.run(delivery)
        result = runner.result(arn)

    assert result.status == InvocationStatus.SUCCEEDED
    assert runs == Counter({"before": 1, "after": 1})


def test_concurrent_invocations_run_a_slow_step_once() -> None:
    running = 0
    peak = 0
    runs = 0
    lock = threading.Lock()

    def slow(_) -> str:
        nonlocal running, peak, runs
        with lock:
            running += 1
            runs += 1
            peak = max(peak, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return "slow"

    @durable_execution
    def handler(event: dict, ctx) -> str:
        ctx.wait(Duration.from_seconds(5), name="pause")
        return ctx.step(slow, name="slow")

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.local_lambda.run(runner.local_lambda.pop_ready())  # first invocation: suspends on the wait
        runner.clock.advance(10)
        function = runner.local_lambda.functions["test-function"].versions["1"]
        event = ResumeRequest(ExecutionArn.parse(arn), "test").to_event()
        outcomes: list[object] = []

        def invoke(request_id: str) -> None:
            context = runner.local_lambda.context_for("test-function", "1", request_id)
            outcomes.append(function(event, context))

        threads = [threading.Thread(target=invoke, args=(f"req-{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = runner.wait_for_result(arn)

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == "slow"
    assert (runs, peak) == (1, 1)
