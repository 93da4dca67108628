"""Completing, failing and heartbeating a callback: one core for the API handler, the client and the runner.

Every rejection is a typed error with an HTTP status, and leaves the journal unchanged: the only write is one
conditional update of the callback's record, made after every check passed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import DurableExecutionsError, ErrorObject
from ..journal.payloads import fit_operation, preview_error
from ..journal.records import JournalEvent, OperationStatus, OperationType
from ..journal.store import ExpectedState, JournalConflictError
from .ids import MalformedCallbackId, decode

if TYPE_CHECKING:
    from ..engine.services import EngineServices
    from ..journal.records import ExecutionRecord, OperationRecord

MAX_RESULT_BYTES = 256 * 1024


class CallbackRejected(DurableExecutionsError):  # noqa: N818 - read as "the callback was rejected"
    """A callback request that was refused; `status` is the HTTP status the endpoint answers with."""

    status = 400
    code = "InvalidRequest"

    def to_body(self) -> str:
        """The JSON error body."""
        return json.dumps({"error": self.code, "message": str(self)})


class CallbackNotFound(CallbackRejected):
    """No callback has this id (never issued, forged, truncated, or its execution is gone)."""

    status = 404
    code = "CallbackNotFound"


class CallbackConflict(CallbackRejected):
    """The callback can no longer change: already completed, timed out, or its execution closed."""

    status = 409
    code = "CallbackAlreadyClosed"


class CallbackPayloadTooLarge(CallbackRejected):
    """The result or error is over the size limit."""

    status = 413
    code = "PayloadTooLarge"


_UNKNOWN = "no callback with this id: check that the whole id was sent, unchanged"
# A callback created with a JSON serdes records this format; the endpoint then refuses a result it cannot read.
RESULT_FORMAT_KEY = "fmt"
RESULT_FORMAT_JSON = "json"


def _find(services: EngineServices, callback_id: str) -> tuple[Any, OperationRecord, ExecutionRecord]:
    """Decode and authenticate the id; return (capability, record, execution), whatever the execution's status."""
    try:
        capability = decode(callback_id)
    except MalformedCallbackId:
        raise CallbackNotFound(_UNKNOWN) from None
    record = services.store.get_operation(capability.journal_key, capability.operation_id)
    hashes = (record.extra.get("hashes", "") if record else "").split(",")
    if record is None or record.operation_type != OperationType.CALLBACK or not capability.matches(hashes):
        raise CallbackNotFound(_UNKNOWN)
    execution = services.store.get_execution(capability.journal_key)
    if execution is None:
        raise CallbackNotFound(_UNKNOWN)
    return capability, record, execution


def _require_open(services: EngineServices, execution: ExecutionRecord, record: OperationRecord) -> None:
    # Checked after the retry checks: a completion retried once its execution closed still gets its success.
    # A paused execution still takes callbacks: they complete, and wait for the resume to be acted on.
    if execution.status.is_closed:
        raise CallbackConflict(f"the execution is {execution.status.value}; it accepts no more callbacks")
    if record.status != OperationStatus.STARTED:
        raise CallbackConflict(f"the callback is already {record.status.value}")
    deadline = callback_deadline(record)
    if deadline is not None and services.clock.now() >= deadline:
        raise CallbackConflict("the callback timed out")


def callback_deadline(record: OperationRecord) -> float | None:
    """When the callback times out: its overall timeout or its heartbeat timeout, whichever is sooner."""
    extra = record.extra
    candidates = []
    if "timeout_at" in extra:
        candidates.append(float(extra["timeout_at"]))
    if "hb_timeout" in extra:
        candidates.append(float(extra.get("hb_at", record.started_at or 0)) + float(extra["hb_timeout"]))
    return min(candidates) if candidates else None


def send_heartbeat(services: EngineServices, callback_id: str) -> None:
    """Push the callback's heartbeat deadline out; heartbeats produce no history event."""
    capability, record, execution = _find(services, callback_id)
    _require_open(services, execution, record)
    # The attempt counter versions the record, so a heartbeat and a concurrent change never overwrite each other.
    updated = record.evolve(attempt=record.attempt + 1, extra={**record.extra, "hb_at": f"{services.clock.now():.3f}"})
    _write(services, capability.journal_key, execution, record, updated, [], wake=None)


def send_success(services: EngineServices, callback_id: str, result: str | None) -> None:
    """Complete the callback with `result` (the raw payload text) and resume its execution."""
    if result is not None and len(result.encode()) > MAX_RESULT_BYTES:
        raise CallbackPayloadTooLarge(f"the result is {len(result.encode())} bytes; the limit is {MAX_RESULT_BYTES}")
    capability, record, execution = _find(services, callback_id)
    if record.status == OperationStatus.SUCCEEDED and record.result == result:
        return  # a retry of a completion that landed (its answer was lost): the execution resumes already
    _require_open(services, execution, record)
    _check_format(record, result)
    updated = record.evolve(status=OperationStatus.SUCCEEDED, result=result, ended_at=services.clock.now())
    details = {} if result is None else {"Result": {"Payload": result}}
    _finish(services, capability.journal_key, execution, record, updated, "CallbackSucceeded", details)


def send_failure(services: EngineServices, callback_id: str, error: ErrorObject) -> None:
    """Fail the callback with `error` and resume its execution."""
    size = len(json.dumps(error.to_dict()).encode())
    if size > MAX_RESULT_BYTES:
        raise CallbackPayloadTooLarge(f"the error is {size} bytes; the limit is {MAX_RESULT_BYTES}")
    capability, record, execution = _find(services, callback_id)
    if record.status == OperationStatus.FAILED and record.error == (preview_error(error) or error):
        return  # a retry of a failure that landed
    _require_open(services, execution, record)
    updated = record.evolve(status=OperationStatus.FAILED, error=error, ended_at=services.clock.now())
    details = {"Error": {"Payload": error.to_dict()}}
    _finish(services, capability.journal_key, execution, record, updated, "CallbackFailed", details)


def _check_format(record: OperationRecord, result: str | None) -> None:
    # An empty body is no result at all (the handler gets None, as officially), never malformed JSON.
    if not result or record.extra.get(RESULT_FORMAT_KEY) != RESULT_FORMAT_JSON:
        return
    try:
        json.loads(result)
    except json.JSONDecodeError as error:
        raise CallbackRejected(
            f"this callback expects a JSON result and the body is not JSON ({error.msg} at position {error.pos}); "
            'send JSON text, e.g. {"approved": true} or "a quoted string"'
        ) from None


def _finish(
    services: EngineServices,
    key: str,
    execution: ExecutionRecord,
    record: OperationRecord,
    updated: OperationRecord,
    event_type: str,
    details: dict[str, Any],
) -> None:
    from ..engine.envelope import ResumeRequest
    from ..engine.ids import ExecutionArn

    # Recorded between invocations: it sorts after everything the last invocation recorded, including an
    # invocation that recorded the callback and died before it took the lease or recorded its end.
    recorded_by = max((event.order[0] for event in record.events), default=0)
    next_invocation = max(services.store.last_invocation_seq(key), execution.invocation_seq, recorded_by) + 1
    # The event is the record's end: one instant, however long the look-up above took.
    event = JournalEvent(event_type, updated.ended_at or services.clock.now(), (next_invocation, 0), details)
    # The completion carries the execution's resume as an outbox entry: the journal's stream delivers it once the
    # write landed, even if this process dies before it could answer.
    resume = ResumeRequest(ExecutionArn.parse(execution.arn), c.REASON_CALLBACK, operation_id=record.operation_id)
    _write(services, key, execution, record, updated, [event], wake=resume.to_json())


def _write(
    services: EngineServices,
    key: str,
    execution: ExecutionRecord,
    record: OperationRecord,
    updated: OperationRecord,
    events: list[JournalEvent],
    *,
    wake: str | None,
) -> None:
    expected = ExpectedState(record.status.value, record.attempt)
    expires_at = int(execution.timeout_at + execution.retention_days * 86_400)
    # A large error goes to the payload bucket, and so do large copies in events, so the item fits.
    updated, events = fit_operation(services.payloads, key, updated, events)
    try:
        services.store.write_operation(key, updated, events, expected, expires_at, wake=wake)
    except JournalConflictError:
        raise CallbackConflict("the callback changed while this request was handled (completed or timed out)") from None
