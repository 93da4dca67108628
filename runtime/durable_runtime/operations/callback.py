"""`context.create_callback`: an operation an external system completes through the callback endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import contract as c
from ..callbacks.completion import RESULT_FORMAT_JSON, RESULT_FORMAT_KEY, callback_deadline
from ..callbacks.ids import issue
from ..engine.clock import is_due
from ..engine.metrics import emit_for_execution
from ..exceptions import (
    CallbackError,
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ErrorObject,
    SerDesError,
)
from ..journal.records import OperationStatus
from ..serdes import ExtendedTypeSerDes, JsonSerDes, PassThroughSerDes
from .base import OperationIdentity, decode, lookup, suspend

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import CallbackConfig, WaitForCallbackConfig
    from ..context import DurableContext
    from ..engine.state import InvocationState
    from ..journal.records import OperationRecord
    from ..serdes import SerDes
    from ..types import WaitForCallbackContext

T = TypeVar("T")

# Without a serdes a callback's result is the payload text exactly as the external system sent it.
_RAW: PassThroughSerDes[Any] = PassThroughSerDes()

# Observers of issued callback ids, for the local runner (which hands them to tests); empty in Lambda.
issued_callback_observers: list[Any] = []


def _announce(state: InvocationState, record: OperationRecord, callback_id: str) -> None:
    if not issued_callback_observers:
        return
    parent = state.operation(record.parent_id) if record.parent_id else None
    for observer in issued_callback_observers:
        observer(state.arn, record.name, parent.name if parent else None, callback_id)


def create_callback(state: InvocationState, identity: OperationIdentity, config: CallbackConfig) -> Callback[Any]:
    """Record the callback (one write, before its id can leave this process) or find the recorded one."""
    record = lookup(state, identity)
    if record is not None:
        _expire_if_due(state, record)
        return Callback(state, identity, config, None)
    capability = issue(state.key, identity.operation_id)
    now = state.now()
    extra = {"hashes": capability.secret_hash, "hb_at": f"{now:.3f}"}
    if isinstance(config.serdes, JsonSerDes | ExtendedTypeSerDes):
        # The callback endpoint refuses a result this serdes could never read (400), before recording it.
        extra[RESULT_FORMAT_KEY] = RESULT_FORMAT_JSON
    # The history shows which callback it is, never the secret that completes it.
    details: dict[str, Any] = {"CallbackId": capability.public_reference()}
    if config.timeout_seconds:
        extra["timeout_at"] = f"{now + config.timeout_seconds:.3f}"
        details["Timeout"] = config.timeout_seconds
    if config.heartbeat_timeout_seconds:
        extra["hb_timeout"] = str(config.heartbeat_timeout_seconds)
        details["HeartbeatTimeout"] = config.heartbeat_timeout_seconds
    started = identity.new_record(OperationStatus.STARTED, started_at=now, extra=extra)
    state.record(started, [state.event("CallbackStarted", details)])
    _expire_if_due(state, started)
    callback_id = capability.encode()
    _announce(state, started, callback_id)
    return Callback(state, identity, config, callback_id)


class Callback(Generic[T]):
    """A callback created by `context.create_callback`: hand out `callback_id`, then block on `result()`."""

    def __init__(
        self, state: InvocationState, identity: OperationIdentity, config: CallbackConfig, callback_id: str | None
    ) -> None:
        self._state = state
        self._identity = identity
        self._config = config
        self._callback_id = callback_id
        self.operation_id = identity.operation_id

    @property
    def callback_id(self) -> str:
        """The id an external system completes this callback with.

        Only a hash of each id's secret is journaled, so an invocation after the one that created the callback
        (say, a retry of the step that sends the id) gets a newly issued id; every id issued stays valid.
        """
        if self._callback_id is None:
            self._callback_id = self._reissue()
        return self._callback_id

    def _reissue(self) -> str:
        capability = issue(self._state.key, self._identity.operation_id)
        record = self._state.operation(self._identity.operation_id)
        if record is not None and record.status == OperationStatus.STARTED:
            issued = [h for h in record.extra.get("hashes", "").split(",") if h]
            hashes = [*issued[-31:], capability.secret_hash]
            # The attempt counter versions the record against a concurrent heartbeat or completion.
            updated = record.evolve(attempt=record.attempt + 1, extra={**record.extra, "hashes": ",".join(hashes)})
            self._state.record(updated, [])
            _announce(self._state, updated, capability.encode())
        return capability.encode()

    def result(self) -> T | None:
        """The callback's result; suspends the execution until it arrives, fails or times out."""
        state, identity = self._state, self._identity
        record = state.operation(identity.operation_id)
        if record is None:
            raise CallbackError(message="Callback operation must exist")
        if record.status == OperationStatus.SUCCEEDED:
            return _decoded(state, identity, self._config.serdes, record)
        if record.status in (OperationStatus.FAILED, OperationStatus.TIMED_OUT):
            _raise_terminal(record, state.error(record))
        record = _expire_if_due(state, record)
        if record.status == OperationStatus.TIMED_OUT:
            _raise_terminal(record, state.error(record))
        raise suspend(state, callback_deadline(record), "callback", identity.operation_id)


def _decoded(
    state: InvocationState, identity: OperationIdentity, serdes: SerDes[Any] | None, record: OperationRecord
) -> Any:
    if not record.result:
        # No payload and an empty one are the same to the managed service: the handler gets None, whatever serdes.
        return None
    try:
        return decode(state, identity, serdes or _RAW, record.result)
    except SerDesError as error:
        # The result came from outside and is recorded as it arrived: every replay would fail alike, so the
        # callback fails (a typed error the handler can catch) rather than the invocation retrying forever.
        raise CallbackError(
            message=f"the callback's result could not be deserialized by its serdes: {error.message}",
            data=record.result[:1024] if record.result else None,
        ) from error


def _expire_if_due(state: InvocationState, record: OperationRecord) -> OperationRecord:
    """Record the timeout of a pending callback whose deadline has passed; otherwise ask to wake at it.

    Called wherever the callback is reached, so the timer set for the deadline records the timeout when it
    fires, not only when the handler next asks for the result.
    """
    if record.status != OperationStatus.STARTED:
        return record
    deadline = callback_deadline(record)
    if deadline is None:
        return record
    if not is_due(state.now(), deadline):
        state.plan.wake_at(deadline, "callback", record.operation_id)
        return record
    timed_out = _time_out(record)
    error = timed_out.error or ErrorObject(None, None, None, None)
    recorded = state.record(timed_out, [state.event("CallbackTimedOut", {"Error": {"Payload": error.to_dict()}})])
    emit_for_execution(state.arn, c.METRIC_CALLBACK_TIMEOUTS)
    return recorded


def _time_out(record: OperationRecord) -> OperationRecord:
    # Type and message are the managed service's, which handlers and tests written for it compare against.
    extra = record.extra
    overall = float(extra["timeout_at"]) if "timeout_at" in extra else None
    heartbeat_deadline = callback_deadline(record)
    by_heartbeat = overall is None or (heartbeat_deadline is not None and heartbeat_deadline < overall)
    error_type, message = (
        ("Callback.Heartbeat", "Callback timed out on heartbeat")
        if by_heartbeat
        else ("Callback.Timeout", "Callback timed out")
    )
    return record.evolve(status=OperationStatus.TIMED_OUT, error=ErrorObject(message, error_type, None, None))


def _raise_terminal(record: OperationRecord, error: ErrorObject | None) -> None:
    is_timeout = record.status == OperationStatus.TIMED_OUT
    error_cls: type[CallbackError] = CallbackTimeoutError if is_timeout else CallbackExternalError
    default = "Callback timed out" if is_timeout else "Callback failed"
    message = error.message if error and error.message else default
    raise error_cls(
        message=message, data=error.data if error else None, stack_trace=error.stack_trace if error else None
    )


def wait_for_callback(
    context: DurableContext,
    submitter: Callable[[str, WaitForCallbackContext], Any],
    name: str | None,
    config: WaitForCallbackConfig | None,
) -> Any:
    """A child context (sub-type WaitForCallback) that creates a callback, submits its id in a step and waits.

    Failures come out typed as the official SDK types them, the same on the first run and on replay: the
    callback's own errors as they are, a failed submitter step as CallbackSubmitterError.
    """
    from ..config import ChildConfig, StepConfig
    from ..exceptions import ChildContextError, StepError
    from ..types import WaitForCallbackContext

    # The inner operations carry the official names, so tests written for the official SDK find them by name.
    prefix = f"{name} " if name else ""
    # As officially, the submitter step shares the callback's serdes and the child context keeps the default one.
    step_config = StepConfig(retry_strategy=config.retry_strategy, serdes=config.serdes) if config else None

    def in_child(child: DurableContext) -> Any:
        callback = child.create_callback(name=f"{prefix}create callback id", config=config)
        child.step(
            lambda step: submitter(callback.callback_id, WaitForCallbackContext(logger=step.logger)),
            name=f"{prefix}submitter",
            config=step_config,
        )
        return callback.result()

    try:
        return context.run_in_child_context(in_child, name, ChildConfig(sub_type="WaitForCallback"))
    except ChildContextError as error:
        inner = error.__cause__
        if isinstance(inner, CallbackError):
            raise inner from None
        if isinstance(inner, StepError):
            raise CallbackSubmitterError(
                inner.message or "Callback submitter failed", data=inner.data, stack_trace=inner.stack_trace
            ) from inner
        raise
