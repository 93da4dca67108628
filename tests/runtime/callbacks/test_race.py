"""A completion and the timeout firing at the same instant resolve to exactly one outcome, recorded once."""

from __future__ import annotations

import threading
import time

import pytest

from durable_runtime.callbacks.completion import CallbackConflict
from durable_runtime.callbacks.ids import decode
from durable_runtime.config import CallbackConfig, Duration
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _short_callback(event: dict, ctx) -> object:
    return ctx.create_callback("quick", CallbackConfig(timeout=Duration.from_seconds(30))).result()


@pytest.mark.parametrize("round_", range(12))
def test_completion_and_timeout_at_the_same_instant_record_one_outcome(round_: int) -> None:
    # Alternate which side gets a head start of a few milliseconds, so both orders of the race are exercised.
    completion_delay, timeout_delay = (0.0, 0.02) if round_ % 2 else (0.02, 0.0)
    with DurableFunctionTestRunner(_short_callback) as runner:
        arn = runner.run_async(input="{}")
        callback_id = runner.wait_for_callback(arn, "quick")
        record = runner.services.store.get_operation(decode(callback_id).journal_key, decode(callback_id).operation_id)
        assert record is not None
        # Both sides see the deadline as reached/not yet reached within the timer tolerance: a true tie.
        runner.clock.advance_to(float(record.extra["timeout_at"]) - 0.01)
        function = runner.local_lambda.functions["test-function"].versions["1"]
        timer = ResumeRequest(ExecutionArn.parse(arn), "timer", operation_id=record.operation_id).to_event()
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def complete() -> None:
            barrier.wait()
            time.sleep(completion_delay)
            try:
                runner.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"ok"')
                outcomes.append("completed")
            except CallbackConflict:
                outcomes.append("completion refused")

        def fire_timeout() -> None:
            barrier.wait()
            time.sleep(timeout_delay)
            context = runner.local_lambda.context_for("test-function", "1", f"timer-{round_}")
            function(timer, context)

        threads = [threading.Thread(target=complete), threading.Thread(target=fire_timeout)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = runner.wait_for_result(arn)
        events = [e["EventType"] for e in runner.get_execution_history(arn)["Events"]]

    finals = [e for e in events if e in ("CallbackSucceeded", "CallbackFailed", "CallbackTimedOut")]
    assert len(finals) == 1, events
    if finals == ["CallbackSucceeded"]:
        assert outcomes == ["completed"] and result.result == '"\\"ok\\""'
    else:
        assert outcomes == ["completion refused"]
        assert result.error is not None and (result.error.type or "").endswith("CallbackTimeoutError")
