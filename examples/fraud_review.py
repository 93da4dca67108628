"""A fraud review: charge, then wait up to 72 hours for a reviewer's decision, then fulfil or refund.

The reviewer is outside the workflow: a notification carries the callback id, and the reviewer answers through
the callback endpoint (`POST /durable-execution-callbacks/{id}/succeed` with `{"decision": "approve"}` or
`"reject"`, or `/fail`). Nothing runs while the review is pending; a silent reviewer times the callback out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durable_runtime.config import Duration, WaitForCallbackConfig
from durable_runtime.context import durable_step, durable_wait_for_callback
from durable_runtime.exceptions import CallbackExternalError, CallbackTimeoutError
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import JsonSerDes

if TYPE_CHECKING:
    from durable_runtime.context import DurableContext, StepContext, WaitForCallbackContext

REVIEW_TIMEOUT = Duration.from_hours(72)


class ReviewQueue:
    """A stand-in for the reviewers' inbox: it keeps the callback id each review request carries."""

    def __init__(self) -> None:
        self.pending: dict[str, str] = {}

    def request_review(self, order_id: str, callback_id: str) -> None:
        """Ask a reviewer to look at `order_id`; they answer with `callback_id`."""
        self.pending[order_id] = callback_id


reviews = ReviewQueue()


@durable_step
def charge(step_context: StepContext, order: dict[str, Any]) -> str:
    """Take the payment; returns the charge id."""
    return f"ch_{order['order_id']}"


@durable_wait_for_callback
def ask_reviewer(callback_id: str, context: WaitForCallbackContext, order: dict[str, Any]) -> None:
    """Send the review request with the callback id the reviewer must answer with."""
    context.logger.info("review requested for %s", order["order_id"])
    reviews.request_review(order["order_id"], callback_id)


@durable_step
def fulfil(step_context: StepContext, order_id: str) -> str:
    """Hand the order to the warehouse; returns the shipment id."""
    return f"shp_{order_id}"


@durable_step
def confirm(step_context: StepContext, order_id: str, shipment_id: str) -> str:
    """Tell the customer; returns the message id."""
    return f"msg_{order_id}_{shipment_id}"


@durable_step
def refund(step_context: StepContext, charge_id: str, reason: str) -> str:
    """Give the money back; returns the refund id."""
    return f"re_{charge_id}"


@durable_execution
def handler(order: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Charge, wait for the review, then fulfil and confirm (approved) or refund (rejected or no answer)."""
    charge_id = context.step(charge(order))
    config = WaitForCallbackConfig(timeout=REVIEW_TIMEOUT, serdes=JsonSerDes())
    try:
        review = context.wait_for_callback(ask_reviewer(order), name="fraud_review", config=config)
        decision = review.get("decision") if isinstance(review, dict) else None
    except CallbackTimeoutError:
        decision = "timeout"
    except CallbackExternalError:
        decision = "reject"
    if decision == "approve":
        shipment_id = context.step(fulfil(order["order_id"]))
        message_id = context.step(confirm(order["order_id"], shipment_id))
        return {
            "order_id": order["order_id"],
            "status": "FULFILLED",
            "shipment_id": shipment_id,
            "confirmation": message_id,
        }
    refund_id = context.step(refund(charge_id, decision or "reject"))
    return {"order_id": order["order_id"], "status": "REFUNDED", "reason": decision, "refund_id": refund_id}
