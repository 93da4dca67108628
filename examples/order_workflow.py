"""An order workflow: validate the order, charge the card, wait a day, ship.

The payment provider is a stub that fails the first charge of every order, so every run shows a step retry
with backoff. The one-day wait costs nothing while it lasts: the function suspends and a timer resumes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durable_runtime.config import Duration, JitterStrategy, StepConfig
from durable_runtime.context import durable_step
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryPresets, RetryStrategyConfig, create_retry_strategy

if TYPE_CHECKING:
    from durable_runtime.context import DurableContext, StepContext


class InvalidOrderError(ValueError):
    """The order can never succeed as given; retrying would not help."""


class PaymentGatewayTimeoutError(Exception):
    """The payment provider did not answer in time; trying again usually works."""


class FlakyPaymentGateway:
    """A stand-in payment provider: the first charge of each order times out, later ones go through.

    Charges are idempotent per order id, as real providers are per idempotency key: a step is at least once per
    attempt, so the same charge may be sent again after a crash and must not be taken twice.
    """

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def charge(self, order_id: str, amount_cents: int) -> str:
        """Charge `amount_cents` for `order_id` and return the charge id."""
        self.calls[order_id] = self.calls.get(order_id, 0) + 1
        if self.calls[order_id] == 1:
            raise PaymentGatewayTimeoutError(f"payment gateway timed out charging {order_id}")
        return f"ch_{order_id}"


payments = FlakyPaymentGateway()

# Retry only the provider's timeouts: 2 s, then 4 s, 8 s, … (half jitter), at most 4 attempts in total.
CHARGE_RETRIES = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=4,
            initial_delay=Duration.from_seconds(2),
            max_delay=Duration.from_seconds(30),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.HALF,
            retryable_error_types=[PaymentGatewayTimeoutError],
        )
    )
)


# One day, unless the order names another window (a short one lets `durable dev` show the whole workflow in real
# time: `"cancellation_window_seconds": 5`).
CANCELLATION_WINDOW_SECONDS = 86_400


@durable_step
def validate_order(step_context: StepContext, order: dict[str, Any]) -> int:
    """Check the order and return its total in cents."""
    items = order.get("items") or []
    if not order.get("order_id") or not items:
        raise InvalidOrderError("an order needs an order_id and at least one item")
    if any(item["quantity"] < 1 for item in items):
        raise InvalidOrderError(f"every quantity must be at least 1, got {items}")
    window = order.get("cancellation_window_seconds", CANCELLATION_WINDOW_SECONDS)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 30 * CANCELLATION_WINDOW_SECONDS:
        raise InvalidOrderError(f"cancellation_window_seconds must be 1 to 2592000 (30 days), got {window!r}")
    return sum(item["quantity"] * item["unit_price_cents"] for item in items)


@durable_step
def charge_card(step_context: StepContext, order_id: str, amount_cents: int) -> str:
    """Charge the customer; returns the charge id."""
    return payments.charge(order_id, amount_cents)


@durable_step
def ship_order(step_context: StepContext, order_id: str) -> str:
    """Hand the parcel to the carrier; returns the tracking number."""
    return f"TRK-{order_id.upper()}"


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Validate, charge, wait one day (e.g. for a cancellation window), ship."""
    order_id = event["order_id"]
    total = context.step(validate_order(event), config=StepConfig(retry_strategy=RetryPresets.none()))
    charge_id = context.step(charge_card(order_id, total), config=CHARGE_RETRIES)
    window = event.get("cancellation_window_seconds", CANCELLATION_WINDOW_SECONDS)  # checked by validate_order
    context.wait(Duration.from_seconds(window), name="cancellation_window")
    tracking_number = context.step(ship_order(order_id))
    return {
        "order_id": order_id,
        "status": "SHIPPED",
        "amount_cents": total,
        "charge_id": charge_id,
        "tracking_number": tracking_number,
    }
