"""`make demo`: run the order workflow on the local runner and watch it happen, one operation at a time.

The runner is the production engine on moto with a virtual clock, so the one-day wait passes in milliseconds.
Run it from the repository root with `python -m examples.demo` (or `make demo`).
"""

from __future__ import annotations

import json
from typing import Any

from durable_runtime.cli.table import HistoryTable, header, span
from durable_runtime.contract import CALLBACK_ROUTE_PREFIX
from durable_runtime.testing import DurableFunctionTestRunner
from examples import fraud_review
from examples.order_workflow import handler

ORDER = {
    "order_id": "order-1001",
    "items": [
        {"sku": "mug-blue", "quantity": 2, "unit_price_cents": 1250},
        {"sku": "tea-sampler", "quantity": 1, "unit_price_cents": 1900},
    ],
}
DAY = 86_400


def _running(runner: DurableFunctionTestRunner, execution_arn: str) -> bool:
    return runner.client.get_durable_execution(DurableExecutionArn=execution_arn)["Status"] == "RUNNING"


def main() -> dict[str, Any]:
    """Run one order through the workflow, narrating each operation, then print the result and history."""
    with DurableFunctionTestRunner(handler, function_name="order-workflow", execution_timeout=7 * DAY) as runner:
        arn = runner.run_async(input=json.dumps(ORDER), execution_name=ORDER["order_id"])
        print(f"Started {arn}\n")
        print(header("virtual time"))
        table = HistoryTable()
        while _running(runner, arn):
            before = runner.clock.now()
            if not runner.pump_once():
                raise RuntimeError("the execution waits for something that will never happen")
            if runner.clock.now() > before:
                print(f"{'':>13}  .. virtual clock skips {span(runner.clock.now() - before)} to the next timer")
            for line in table.new_lines(runner.get_execution_history(arn)["Events"]):
                print(line)

        outcome = runner.result(arn)
        print(f"\nStatus: {outcome.status.value}")
        if outcome.error is not None:
            raise SystemExit(f"the order workflow failed: {outcome.error}")
        result: dict[str, Any] = json.loads(outcome.result or "null")
        print(f"Result: {json.dumps(result, indent=2)}\n")

        print("History:")
        for event in runner.get_execution_history(arn)["Events"]:
            print(
                f"  {event['EventId']:>3}  {event['EventType']:<20} {event.get('Name', ''):<20} "
                f"{event['EventTimestamp'].isoformat(timespec='milliseconds')}"
            )
        return result


def review_demo() -> dict[str, Any]:
    """Run the fraud review: suspend on the reviewer, then approve through the callback endpoint's handler."""
    order = {"order_id": "order-2002", "amount_cents": 12_900}
    with DurableFunctionTestRunner(
        fraud_review.handler, function_name="fraud-review", execution_timeout=7 * DAY
    ) as runner:
        arn = runner.run_async(input=json.dumps(order), execution_name=order["order_id"])
        print(f"\nStarted {arn}")
        callback_id = runner.wait_for_callback(arn, "fraud_review")
        assert fraud_review.reviews.pending[order["order_id"]] == callback_id
        print("The execution is suspended, waiting up to 72 hours for the reviewer.")
        path = f"{CALLBACK_ROUTE_PREFIX}/{callback_id}/succeed"
        print(f"Reviewer approves: POST {path}")
        print('  body: {"decision": "approve"}  (through the callback endpoint handler, as API Gateway sends it)')
        runner.send_callback_success(callback_id, b'{"decision": "approve"}')
        outcome = runner.wait_for_result(arn)
        result: dict[str, Any] = json.loads(outcome.result or "null")
        print(f"Status: {outcome.status.value}\nResult: {json.dumps(result, indent=2)}")
        print("History:")
        for event in runner.get_execution_history(arn)["Events"]:
            print(f"  {event['EventId']:>3}  {event['EventType']:<22} {event.get('Name', '')}")
        return result


if __name__ == "__main__":
    main()
    review_demo()
