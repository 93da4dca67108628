"""`context.step`: run a function once per attempt, record its result, retry with backoff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from .. import contract as c
from ..config import StepConfig, StepSemantics
from ..engine.clock import is_due
from ..engine.metrics import emit_for_execution
from ..exceptions import ErrorObject, StepError, StepInterruptedError
from ..journal.records import OperationRecord, OperationStatus
from ..retries import RetryPresets
from ..types import StepContext
from .base import OperationIdentity, decode, encode, lookup, payload_details, run_user_function, suspend

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine.logging import DurableLogger
    from ..engine.state import InvocationState

T = TypeVar("T")


def run_step(
    state: InvocationState,
    identity: OperationIdentity,
    func: Callable[[StepContext], T],
    config: StepConfig,
    logger: DurableLogger,
) -> T:
    """Return the recorded result, re-raise the recorded failure, or run the next attempt."""
    record = lookup(state, identity)
    if record is not None and record.status == OperationStatus.SUCCEEDED:
        return decode(state, identity, config.serdes, state.payload(record))
    if record is not None and record.status == OperationStatus.FAILED:
        _raise_recorded(state.error(record))
    attempt, announce = _next_attempt(state, identity, record, config)
    state.claim()
    state.check_deadline()
    started = identity.new_record(OperationStatus.STARTED, attempt=attempt, started_at=state.now())
    if announce:
        at_most_once = config.step_semantics == StepSemantics.AT_MOST_ONCE_PER_RETRY
        state.record_start(started, [state.event("StepStarted")], durable=at_most_once)
    step_logger = logger.bind(
        lambda: False, operationId=identity.operation_id, operationName=identity.name, attempt=attempt
    )
    try:
        value = run_user_function(
            state, identity, func, StepContext(logger=step_logger, attempt=attempt), attempt=attempt
        )
    except Exception as error:  # noqa: BLE001 - any failure of user code goes to the retry strategy
        return _fail_attempt(state, identity, started, config, error)
    payload = encode(state, identity, config.serdes, value)
    succeeded = started.evolve(status=OperationStatus.SUCCEEDED, result=payload, error=None, ended_at=state.now())
    details = {**payload_details(payload), "RetryDetails": {"CurrentAttempt": attempt}}
    state.record(succeeded, [state.event("StepSucceeded", details)])
    # Round-trip through the serdes so the first run sees exactly what a replay will see.
    return decode(state, identity, config.serdes, payload)


def _next_attempt(
    state: InvocationState, identity: OperationIdentity, record: OperationRecord | None, config: StepConfig
) -> tuple[int, bool]:
    """The attempt to run now, and whether it is announced with a new StepStarted event."""
    if record is None:
        return 1, True
    if record.status == OperationStatus.PENDING:
        due = record.next_attempt_at or 0.0
        if not is_due(state.now(), due):
            raise suspend(state, due, "retry", identity.operation_id)
        return record.attempt + 1, True
    # STARTED: an earlier invocation died during this attempt.
    if config.step_semantics == StepSemantics.AT_MOST_ONCE_PER_RETRY:
        state.claim()
        interrupted = StepInterruptedError(
            f"step {identity.describe()} attempt {record.attempt} was interrupted before it recorded a result; "
            "at-most-once semantics forbid running it again",
            step_id=identity.operation_id,
        )
        _fail_attempt(state, identity, record, config, interrupted)
    return record.attempt, False


def _fail_attempt(
    state: InvocationState,
    identity: OperationIdentity,
    started: OperationRecord,
    config: StepConfig,
    error: Exception,
) -> Any:
    """Ask the retry strategy; record a retry (and suspend until it is due) or the final failure."""
    strategy = config.retry_strategy or RetryPresets.default()
    decision = strategy(error, started.attempt)
    wire = ErrorObject.from_exception(error)
    retry: dict[str, Any] = {"CurrentAttempt": started.attempt}
    if decision.should_retry:
        delay = decision.delay_seconds
        retry["NextAttemptDelaySeconds"] = delay
        due = state.now() + delay
        pending = started.evolve(status=OperationStatus.PENDING, error=wire, next_attempt_at=due, result=None)
        failure = state.event("StepFailed", {"Error": {"Payload": wire.to_dict()}, "RetryDetails": retry})
        state.record_final(pending, [failure])
        raise suspend(state, due, "retry", identity.operation_id)
    failed = started.evolve(status=OperationStatus.FAILED, error=wire, ended_at=state.now(), next_attempt_at=None)
    state.record(failed, [state.event("StepFailed", {"Error": {"Payload": wire.to_dict()}, "RetryDetails": retry})])
    step_name = {c.METRIC_STEP_NAME_PROPERTY: identity.name or identity.operation_id}
    emit_for_execution(state.arn, c.METRIC_STEPS_FAILED, properties=step_name)
    _raise_recorded(wire)


def _raise_recorded(error: ErrorObject | None) -> Any:
    (error or ErrorObject("step failed", None, None, None)).raise_as_operation_error(StepError)
