"""What the liveness mechanism adds per execution: outbox relay invocations and held timer batches.

Counted from real calls on moto for the two example workflows (docs/liveness.md turns them into dollars). Lease
renewals (one write per 20 s a step body runs) do not show here: the runs take milliseconds.
"""

from __future__ import annotations

import json

from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.testing.local_engine import OUTBOX_FUNCTION
from examples import fraud_review, order_workflow

ORDER = {"order_id": "bench-1", "items": [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]}


def _figures(runner: DurableFunctionTestRunner, prefix: str) -> dict[str, float]:
    return {
        f"liveness_{prefix}_relay_invocations": runner.local_lambda.invocations_of[OUTBOX_FUNCTION],
        f"liveness_{prefix}_held_batches": runner.faults.count("sqs", "ChangeMessageVisibilityBatch"),
        f"liveness_{prefix}_function_invocations": sum(
            count for name, count in runner.local_lambda.invocations_of.items() if name != OUTBOX_FUNCTION
        ),
    }


def measure() -> dict[str, float]:
    """Per execution of the order workflow (start, retry, one-day wait) and the fraud review (a callback)."""
    order_workflow.payments.calls.clear()
    with DurableFunctionTestRunner(order_workflow.handler, execution_timeout=7 * 86_400) as runner:
        runner.run(input=json.dumps(ORDER))
        figures = _figures(runner, "order")
    with DurableFunctionTestRunner(fraud_review.handler, execution_timeout=7 * 86_400) as runner:
        arn = runner.run_async(input=json.dumps({"order_id": "bench-7", "amount_cents": 990}))
        runner.send_callback_success(runner.wait_for_callback(arn, "fraud_review"), b'{"decision": "approve"}')
        runner.wait_for_result(arn)
        figures.update(_figures(runner, "review"))
    return figures


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
