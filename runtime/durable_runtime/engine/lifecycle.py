"""An operator's hand on a whole execution: pause, resume, redrive and delete it.

Each is one conditional write of the execution record (plus, for a redrive, the failed operations it reopens and,
for a delete, the records it removes). Whatever has to happen next travels in that same write as an outbox entry,
so a resume or a redrive cannot be lost with the process that asked for it (DESIGN §4 "Liveness").
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ValidationError
from ..journal.records import ExecutionStatus, JournalEvent, OperationStatus, OperationType, PauseInfo
from ..journal.store import ExecutionChange, ExpectedState, JournalConflictError
from .envelope import ResumeRequest
from .ids import ExecutionArn

if TYPE_CHECKING:
    from ..journal.records import ExecutionRecord, JournalSnapshot, OperationRecord
    from .services import EngineServices

_MAX_REASON_CHARACTERS = 1024
_CLOSED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.STOPPED)
_REDRIVABLE = (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)


class ResourceNotFoundException(LookupError):  # noqa: N818 - the Lambda API's name
    """The execution is not in the journal (never started, deleted, or past its retention)."""


class ResourceConflictException(ValidationError):  # noqa: N818 - the Lambda API's name
    """The execution is not in a state that allows the change (pausing a closed one, deleting a running one)."""


def _execution(services: EngineServices, arn: ExecutionArn) -> ExecutionRecord:
    record = services.store.get_execution(arn.journal_key)
    if record is None:
        raise ResourceNotFoundException(f"no durable execution {arn}")
    return record


def _reason(reason: str | None) -> str | None:
    if reason is not None and (not isinstance(reason, str) or len(reason) > _MAX_REASON_CHARACTERS):
        raise ValidationError(f"Reason must be a string of at most {_MAX_REASON_CHARACTERS} characters")
    return reason


def _operator_event(last_seq: int, event_type: str, now: float, details: dict[str, Any]) -> JournalEvent:
    # After every event of the invocations so far, before those of the next one (time orders two such events).
    return JournalEvent(event_type, now, (last_seq + 1, 0), details)


def _last_seq(services: EngineServices, key: str, record: ExecutionRecord) -> int:
    """The last invocation any record shows: an invocation that never took the lease (one that only replayed)
    records its events under the number after the lease's, so the lease's number alone can be one behind."""
    on_record = max((event.order[0] for event in record.events), default=0)
    return max(services.store.last_invocation_seq(key), record.invocation_seq, on_record)


def pause(services: EngineServices, execution_arn: str, reason: str | None, timeout_paused: bool) -> None:
    """Pause a RUNNING execution: no invocation starts until it is resumed; pending operations still complete.

    An invocation running now finishes (or stops at its next lease renewal); meanwhile the execution reads as
    PAUSING. With `timeout_paused` the time spent paused is added to the execution's timeout on resume.
    """
    arn = ExecutionArn.parse(execution_arn)
    record = _execution(services, arn)
    now = services.clock.now()
    info = PauseInfo(now, _reason(reason), bool(timeout_paused))
    details: dict[str, Any] = {"PauseRequestTimestamp": round(now, 3), "ExecutionTimeoutPaused": info.timeout_paused}
    if info.reason is not None:
        details["Reason"] = {"Payload": info.reason}
    change = ExecutionChange(
        (ExecutionStatus.RUNNING,),
        ExecutionStatus.PAUSED,
        events=(_operator_event(_last_seq(services, arn.journal_key, record), "ExecutionPaused", now, details),),
        pause=info,
    )
    if not services.store.change_execution(arn.journal_key, change):
        raise ResourceConflictException(_cannot(arn, "pause", _execution(services, arn).status, "only a RUNNING one"))


def resume(services: EngineServices, execution_arn: str, reason: str | None) -> None:
    """Resume a PAUSED execution: it is invoked once, and carries on with whatever completed meanwhile."""
    arn = ExecutionArn.parse(execution_arn)
    record = _execution(services, arn)
    if record.pause is None:
        raise ResourceConflictException(_cannot(arn, "resume", record.status, "only a PAUSED one"))
    now = services.clock.now()
    timeout_at = record.timeout_at
    if record.pause.timeout_paused:
        paused_for = max(0.0, now - record.pause.requested_at)
        timeout_at = min(record.timeout_at + paused_for, record.started_at + c.MAX_EXECUTION_TIMEOUT_SECONDS)
    details: dict[str, Any] = {"ResumeRequestTimestamp": round(now, 3)}
    if _reason(reason) is not None:
        details["Reason"] = {"Payload": reason}
    # The resume re-arms the execution's timers: those that fired while it was paused were held, not kept.
    wake = ResumeRequest(ExecutionArn.parse(record.arn), c.REASON_RESUMED, due_at=timeout_at)
    change = ExecutionChange(
        (ExecutionStatus.PAUSED,),
        ExecutionStatus.RUNNING,
        events=(_operator_event(_last_seq(services, arn.journal_key, record), "ExecutionResumed", now, details),),
        timeout_at=timeout_at,
        wake=wake.to_json(),
    )
    if not services.store.change_execution(arn.journal_key, change):
        raise ResourceConflictException(_cannot(arn, "resume", _execution(services, arn).status, "only a PAUSED one"))


def reported_status(services: EngineServices, record: ExecutionRecord) -> ExecutionStatus:
    """The status a reader sees: a PAUSED execution is PAUSING while the invocation it let run still runs."""
    if record.status != ExecutionStatus.PAUSED or not record.invocation_seq:
        return record.status
    if (record.lease_until or 0.0) <= services.clock.now():
        return record.status
    # The lease is not given back when an invocation ends, so its end is looked up (it may ride on an operation's
    # record): one read of the journal, only for a pause within a minute of the last invocation.
    snapshot = services.store.load(ExecutionArn.parse(record.arn).journal_key)
    ended = record.invocation_seq in snapshot.completed_invocations()
    return record.status if ended else ExecutionStatus.PAUSING


def delete(services: EngineServices, execution_arn: str) -> float:
    """Delete a closed execution's records and payloads; it reads as DELETING until the last one is gone.

    A delete that dies half way leaves the execution DELETING; deleting it again finishes the job (and the
    retention's TTL and bucket lifecycle would remove the rest in any case).
    """
    arn = ExecutionArn.parse(execution_arn)
    record = _execution(services, arn)
    now = services.clock.now()
    if record.status != ExecutionStatus.DELETING:
        marked = ExecutionChange(_CLOSED, ExecutionStatus.DELETING, pause=None)
        if not services.store.change_execution(arn.journal_key, marked):
            current = _execution(services, arn).status
            if current != ExecutionStatus.DELETING:
                raise ResourceConflictException(_cannot(arn, "delete", current, "only a closed one; stop it first"))
    snapshot = services.store.load(arn.journal_key)
    for ref in sorted(_payload_refs(snapshot)):
        services.payloads.delete(ref)
    services.store.delete_execution(arn.journal_key)
    return now


def _payload_refs(snapshot: JournalSnapshot) -> set[str]:
    refs: set[str] = set()
    records: list[Any] = [snapshot.execution, *snapshot.operations.values()]
    for record in records:
        if record is not None:
            refs.update(ref for ref in (record.result_ref, record.error_ref) if ref)
    for event, _ in snapshot.events():
        for value in event.details.values():
            if isinstance(value, dict) and isinstance(value.get("PayloadRef"), str):
                refs.add(value["PayloadRef"])
    return refs


def redrive(services: EngineServices, execution_arn: str, qualifier: str | None = None) -> str:
    """Reopen a FAILED or TIMED_OUT execution where it failed; return its ARN (pinned to the version it now runs).

    Completed operations are kept. Every failed step gets one more attempt, after which its retry strategy
    decides again; the contexts around it (child contexts, map and parallel branches, the map itself) run again,
    replaying their completed operations. `qualifier` (a version or an alias) pins the execution to that
    version, to run a fix; by default it keeps its version. It gets its execution timeout again, from now.
    """
    arn = ExecutionArn.parse(execution_arn)
    snapshot = services.store.load(arn.journal_key)
    record = snapshot.execution
    if record is None:
        raise ResourceNotFoundException(f"no durable execution {arn}")
    if record.status not in _REDRIVABLE:
        raise ResourceConflictException(_cannot(arn, "redrive", record.status, "only a FAILED or TIMED_OUT one"))
    pinned = ExecutionArn.parse(record.arn)
    version = pinned.version
    if qualifier is not None:
        version = services.invoker.describe(f"{pinned.function_arn}:{qualifier}").version
    now = services.clock.now()
    timeout_at = min(now + (record.timeout_at - record.started_at), record.started_at + c.MAX_EXECUTION_TIMEOUT_SECONDS)
    if timeout_at <= now:
        raise ResourceConflictException(f"execution {arn} started 366 days ago, the longest an execution may live")
    expires_at = int(timeout_at + record.retention_days * 86_400)
    # Records first, execution last: a redrive that dies half way leaves the execution closed; asked again, it
    # finds the operations it reopened already open and goes on.
    services.store.extend_expiry(arn.journal_key, expires_at)
    for operation in _failure_path(snapshot):
        reopened = _reopened(operation, now)
        expected = ExpectedState(operation.status.value, operation.attempt)
        try:
            services.store.write_operation(arn.journal_key, reopened, [], expected, expires_at)
        except JournalConflictError:
            # Another redrive (or its execution) moved this operation since the journal was read.
            raise ResourceConflictException(
                f"execution {arn} changed while it was being redriven (another redrive?); look at it and ask again"
            ) from None
    new_arn = dataclasses.replace(pinned, version=version)
    details = {"Version": version, "ExecutionTimeout": int(record.timeout_at - record.started_at)}
    change = ExecutionChange(
        _REDRIVABLE,
        ExecutionStatus.RUNNING,
        events=(_operator_event(snapshot.last_invocation(), "ExecutionRedriven", now, details),),
        timeout_at=timeout_at,
        wake=ResumeRequest(new_arn, c.REASON_REDRIVEN).to_json(),
        reopen_as=(str(new_arn), version),
        expires_at=expires_at,
    )
    if not services.store.change_execution(arn.journal_key, change):
        current = _execution(services, arn).status
        raise ResourceConflictException(_cannot(arn, "redrive", current, "only a FAILED or TIMED_OUT one"))
    return str(new_arn)


def _failure_path(snapshot: JournalSnapshot) -> list[OperationRecord]:
    """The failed steps and contexts, and every context around them, outermost first.

    The enclosing contexts are reopened too, whatever their status: a map that recorded a failed item (and
    succeeded, leaving the handler to raise) would otherwise replay its recorded outcome and never reach the item.
    """
    operations = snapshot.operations
    chosen: dict[str, OperationRecord] = {}
    for record in operations.values():
        if record.status != OperationStatus.FAILED:
            continue
        if record.operation_type not in (OperationType.STEP, OperationType.CONTEXT):
            continue
        chosen[record.operation_id] = record
        parent = operations.get(record.parent_id or "")
        while parent is not None and parent.operation_id not in chosen:
            chosen[parent.operation_id] = parent
            parent = operations.get(parent.parent_id or "")
    depth = {op_id: _depth(operations, record) for op_id, record in chosen.items()}
    return sorted(chosen.values(), key=lambda record: depth[record.operation_id])


def _depth(operations: dict[str, OperationRecord], record: OperationRecord) -> int:
    depth = 0
    while record.parent_id and record.parent_id in operations:
        record = operations[record.parent_id]
        depth += 1
    return depth


def _reopened(record: OperationRecord, now: float) -> OperationRecord:
    """A failed step becomes a retry due now (its last error kept, as a retry's is); a context runs again."""
    if record.operation_type == OperationType.STEP:
        return record.evolve(status=OperationStatus.PENDING, next_attempt_at=now, ended_at=None, events=())
    return record.evolve(
        status=OperationStatus.STARTED,
        result=None,
        result_ref=None,  # an offloaded result of a map that completed despite the failure is decided again
        error=None,
        error_ref=None,
        ended_at=None,
        replay_children=False,
        events=(),
    )


def _cannot(arn: ExecutionArn, action: str, status: ExecutionStatus, allowed: str) -> str:
    return f"cannot {action} execution {arn}: it is {status.value}, and {action} applies to {allowed}"
