"""`context.wait_for_condition`: poll a check function, suspending between polls, until the strategy stops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.clock import is_due
from ..exceptions import ErrorObject, WaitForConditionError
from ..journal.records import OperationStatus
from ..types import WaitForConditionCheckContext
from .base import OperationIdentity, decode, encode, lookup, payload_details, suspend

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine.logging import DurableLogger
    from ..engine.state import InvocationState
    from ..journal.records import OperationRecord
    from ..waits import WaitForConditionConfig


def run_wait_for_condition(
    state: InvocationState,
    identity: OperationIdentity,
    check: Callable[[Any, WaitForConditionCheckContext], Any],
    config: WaitForConditionConfig[Any],
    logger: DurableLogger,
) -> Any:
    """Return the final state, re-raise the recorded failure, or run the next check."""
    serdes = config.serdes
    record = lookup(state, identity)
    if record is not None and record.status == OperationStatus.SUCCEEDED:
        return decode(state, identity, serdes, state.payload(record))
    if record is not None and record.status == OperationStatus.FAILED:
        _raise(state.error(record))
    attempt, announce, previous = _next_check(state, identity, record, config)
    state.claim()
    state.check_deadline()
    started = identity.new_record(OperationStatus.STARTED, attempt=attempt, started_at=state.now(), result=previous)
    if announce:
        state.record_start(started, [state.event("StepStarted")], durable=False)
    check_logger = logger.bind(
        lambda: False, operationId=identity.operation_id, operationName=identity.name, attempt=attempt
    )
    try:
        current = decode(state, identity, serdes, previous)
        payload = encode(state, identity, serdes, check(current, WaitForConditionCheckContext(check_logger, attempt)))
        decision = config.wait_strategy(decode(state, identity, serdes, payload), attempt)
    except Exception as error:  # noqa: BLE001 - a failed check or a strategy that gives up fails the operation
        wire = ErrorObject.from_exception(error)
        failed = started.evolve(status=OperationStatus.FAILED, error=wire, ended_at=state.now())
        state.record(failed, [state.event("StepFailed", {"Error": {"Payload": wire.to_dict()}})])
        _raise(wire)
    retry: dict[str, Any] = {"CurrentAttempt": attempt}
    if decision.should_continue:
        delay = decision.delay_seconds
        retry["NextAttemptDelaySeconds"] = delay
        due = state.now() + delay
        pending = started.evolve(status=OperationStatus.PENDING, result=payload, next_attempt_at=due)
        state.record_final(pending, [state.event("StepSucceeded", {**payload_details(payload), "RetryDetails": retry})])
        raise suspend(state, due, "poll", identity.operation_id)
    done = started.evolve(status=OperationStatus.SUCCEEDED, result=payload, ended_at=state.now())
    state.record(done, [state.event("StepSucceeded", {**payload_details(payload), "RetryDetails": retry})])
    return decode(state, identity, serdes, payload)


def _next_check(
    state: InvocationState,
    identity: OperationIdentity,
    record: OperationRecord | None,
    config: WaitForConditionConfig[Any],
) -> tuple[int, bool, str | None]:
    """The check to run now, whether it is announced with StepStarted, and the serialized state it starts from."""
    if record is None:
        # The initial state goes through the serdes too, so the first check sees what a replay would.
        return 1, True, encode(state, identity, config.serdes, config.initial_state)
    if record.status == OperationStatus.PENDING:
        due = record.next_attempt_at or 0.0
        if not is_due(state.now(), due):
            raise suspend(state, due, "poll", identity.operation_id)
        return record.attempt + 1, True, state.payload(record)
    return record.attempt, False, state.payload(record)  # an interrupted check runs again


def _raise(error: ErrorObject | None) -> None:
    (error or ErrorObject("wait_for_condition failed", None, None, None)).raise_as_operation_error(
        WaitForConditionError
    )
