"""The fraud review example: approval fulfils, rejection, failure or silence refunds."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from durable_runtime.exceptions import ErrorObject
from durable_runtime.testing import DurableFunctionTestRunner
from examples import demo, fraud_review

ORDER = {"order_id": "order-7", "amount_cents": 990}


def _review(answer: Callable[[DurableFunctionTestRunner, str], None] | None) -> tuple[dict, list[str]]:
    with DurableFunctionTestRunner(fraud_review.handler, execution_timeout=7 * 86_400) as runner:
        arn = runner.run_async(input=json.dumps(ORDER))
        callback_id = runner.wait_for_callback(arn, "fraud_review")
        assert fraud_review.reviews.pending["order-7"] == callback_id
        if answer is not None:
            answer(runner, callback_id)
        result = runner.wait_for_result(arn)
        events = [e["EventType"] for e in runner.get_execution_history(arn)["Events"]]
    return json.loads(result.result or "null"), events


def test_approval_fulfils_and_confirms() -> None:
    result, events = _review(lambda runner, cid: runner.send_callback_success(cid, b'{"decision": "approve"}'))
    assert result["status"] == "FULFILLED" and result["shipment_id"] == "shp_order-7"
    assert "CallbackSucceeded" in events


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (lambda runner, cid: runner.send_callback_success(cid, b'{"decision": "reject"}'), "reject"),
        (
            lambda runner, cid: runner.send_callback_failure(cid, ErrorObject("stolen card", "Fraud", None, None)),
            "reject",
        ),
        (None, "timeout"),
    ],
    ids=["rejected", "failed", "no-answer"],
)
def test_rejection_failure_or_silence_refunds(answer: Callable | None, reason: str) -> None:
    result, events = _review(answer)
    assert result == {"order_id": "order-7", "status": "REFUNDED", "reason": reason, "refund_id": "re_ch_order-7"}
    if answer is None:
        assert "CallbackTimedOut" in events


def test_demo_approves_through_the_callback_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    result = demo.review_demo()
    printed = capsys.readouterr().out
    assert result["status"] == "FULFILLED"
    assert "POST /durable-execution-callbacks/" in printed and "/succeed" in printed
