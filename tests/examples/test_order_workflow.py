"""The order workflow example, run end to end on the local runner (moto + virtual time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from durable_runtime.execution import InvocationStatus
from durable_runtime.testing import DurableFunctionTestRunner
from examples import demo, order_workflow

DAY = 86_400


@pytest.fixture(autouse=True)
def payments(monkeypatch: pytest.MonkeyPatch) -> order_workflow.FlakyPaymentGateway:
    """A fresh payment stub per test, so 'fails on the first charge of an order' holds in every test."""
    gateway = order_workflow.FlakyPaymentGateway()
    monkeypatch.setattr(order_workflow, "payments", gateway)
    return gateway


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(
        order_workflow.handler, function_name="order-workflow", execution_timeout=7 * DAY
    ) as runner:
        yield runner


def an_order(order_id: str, quantity: int = 2) -> str:
    return json.dumps({"order_id": order_id, "items": [{"sku": "mug", "quantity": quantity, "unit_price_cents": 1250}]})


def events_named(runner: DurableFunctionTestRunner, arn: str, name: str) -> list[dict[str, Any]]:
    return [e for e in runner.get_execution_history(arn)["Events"] if e.get("Name") == name]


def test_order_ships_after_charging_the_total(runner: DurableFunctionTestRunner) -> None:
    result = runner.run(input=an_order("order-1"))

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result or "null") == {
        "order_id": "order-1",
        "status": "SHIPPED",
        "amount_cents": 2500,
        "charge_id": "ch_order-1",
        "tracking_number": "TRK-ORDER-1",
    }


def test_charge_succeeds_on_second_attempt_after_backoff(
    runner: DurableFunctionTestRunner, payments: order_workflow.FlakyPaymentGateway
) -> None:
    result = runner.run(input=an_order("order-2"))

    charge = result.get_step("charge_card")
    assert (charge.status, charge.attempt) == ("SUCCEEDED", 2)
    assert payments.calls == {"order-2": 2}
    failed, succeeded = [
        e
        for e in events_named(runner, result.execution_arn, "charge_card")
        if e["EventType"] in ("StepFailed", "StepSucceeded")
    ]
    assert failed["EventType"] == "StepFailed"
    assert failed["StepFailedDetails"]["RetryDetails"]["CurrentAttempt"] == 1
    delay = failed["StepFailedDetails"]["RetryDetails"]["NextAttemptDelaySeconds"]
    assert 1 <= delay <= 2  # 2 s with half jitter, in whole seconds
    assert succeeded["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"] == 2
    assert (succeeded["EventTimestamp"] - failed["EventTimestamp"]).total_seconds() >= delay


def test_cancellation_window_lasts_one_virtual_day(runner: DurableFunctionTestRunner) -> None:
    result = runner.run(input=an_order("order-3"))

    started, succeeded = events_named(runner, result.execution_arn, "cancellation_window")
    assert (started["EventType"], succeeded["EventType"]) == ("WaitStarted", "WaitSucceeded")
    assert started["WaitStartedDetails"]["Duration"] == DAY
    waited = (succeeded["EventTimestamp"] - started["EventTimestamp"]).total_seconds()
    # Never early; timers have whole-second precision, so allow a little lateness.
    assert DAY <= waited <= DAY + 2


def test_invalid_order_fails_without_retry_or_charge(
    runner: DurableFunctionTestRunner, payments: order_workflow.FlakyPaymentGateway
) -> None:
    result = runner.run(input=an_order("order-4", quantity=0))

    assert result.status is InvocationStatus.FAILED
    validate = result.get_step("validate_order")
    assert validate.attempt == 1
    assert validate.error is not None and validate.error.type.endswith("InvalidOrderError")
    assert payments.calls == {}


def test_demo_narrates_each_operation(capsys: pytest.CaptureFixture[str]) -> None:
    result = demo.main()

    out = capsys.readouterr().out
    assert result["status"] == "SHIPPED"
    for operation in ("validate_order", "charge_card", "cancellation_window", "ship_order"):
        assert operation in out
    assert "attempt 2" in out
    assert "+1d 00:00:0" in out
    assert "ExecutionSucceeded" in out


def test_an_exported_order_replays_against_the_current_code_as_the_readme_says(
    runner: DurableFunctionTestRunner, payments: order_workflow.FlakyPaymentGateway
) -> None:
    from durable_runtime.testing import replay

    result = runner.run(input=an_order("o-replay"))
    document = json.loads(json.dumps(runner.client.export_durable_execution(DurableExecutionArn=result.execution_arn)))
    calls = dict(payments.calls)

    replayed = replay(order_workflow.handler, document)
    stopped = replay(order_workflow.handler, document, stop_at="charge_card")

    assert replayed.status == "SUCCEEDED" and replayed.result == json.loads(result.result or "null")
    assert stopped.stopped_at is not None and stopped.stopped_at["Name"] == "charge_card"
    assert stopped.stopped_at["Status"] == "SUCCEEDED" and stopped.stopped_at["Attempt"] == 2
    assert payments.calls == calls  # the replays charged nothing


def test_an_order_may_name_a_shorter_cancellation_window(runner: DurableFunctionTestRunner) -> None:
    order = {
        "order_id": "o-short",
        "cancellation_window_seconds": 5,
        "items": [{"sku": "mug", "quantity": 1, "unit_price_cents": 100}],
    }
    result = runner.run(input=json.dumps(order), timeout=60)
    bad = runner.run(
        input=json.dumps({**order, "order_id": "o-bad", "cancellation_window_seconds": "soon"}), timeout=60
    )

    wait = result.get_wait("cancellation_window")
    assert result.status.value == "SUCCEEDED" and wait.scheduled_end_timestamp is not None
    assert wait.start_timestamp is not None
    assert abs((wait.scheduled_end_timestamp - wait.start_timestamp).total_seconds() - 5) < 0.01
    assert bad.status.value == "FAILED" and "cancellation_window_seconds" in str(bad.error)
