"""One Lambda invocation of a durable function: load the journal, take the execution, replay, finish."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ErrorObject, NonDeterministicExecutionError, SerDesError, SuspendExecution
from ..journal.records import EXECUTION_END_POSITION, INVOCATION_END_POSITION, ExecutionStatus, JournalEvent
from .clock import is_due
from .envelope import ResumeRequest
from .ids import ExecutionArn
from .metrics import emit
from .ownership import LEASE_SECONDS, Ownership
from .state import InfrastructureFailure, InvocationAbandoned, InvocationState

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..journal.records import ExecutionRecord, JournalSnapshot
    from ..plugins.executor import PluginHost
    from .services import EngineServices

log = logging.getLogger("durable_runtime")

# Longest pause before looking again at an execution another invocation holds.
_BUSY_RECHECK_MAX_SECONDS = 60
# Pause before looking again at an execution after losing a write race.
_LOST_RACE_RECHECK_SECONDS = 2
CRASH_ERROR_TYPE = "Runtime.ExitError"
NO_PROGRESS_ERROR_TYPE = "DurableKit.NoProgress"
# Rechecks an execution may chain without anything new (about two hours of a busy lease); then the chain stops.
MAX_IDLE_HOPS = 120
_CLOSED_METRICS = {
    ExecutionStatus.SUCCEEDED: c.METRIC_EXECUTIONS_SUCCEEDED,
    ExecutionStatus.FAILED: c.METRIC_EXECUTIONS_FAILED,
    ExecutionStatus.TIMED_OUT: c.METRIC_EXECUTIONS_TIMED_OUT,
    ExecutionStatus.STOPPED: c.METRIC_EXECUTIONS_STOPPED,
}


class RunawayLoopError(RuntimeError):
    """An execution kept re-invoking itself without progress; the chain of rechecks stops (Lambda reports it)."""


class UnknownExecutionError(LookupError):
    """A resume named an execution the journal does not hold (never started, or past its retention)."""


@dataclass(frozen=True)
class InvocationOutcome:
    """How an invocation left its execution."""

    execution_arn: str
    status: str  # SUCCEEDED, FAILED, PENDING, or the execution's closed status
    result: str | None = None
    error: ErrorObject | None = None

    def to_response(self) -> dict[str, Any]:
        """The invocation's response in the managed service's output shape."""
        response: dict[str, Any] = {"Status": self.status, "DurableExecutionArn": self.execution_arn}
        if self.result is not None:
            response["Result"] = self.result
        if self.error is not None:
            response["Error"] = self.error.to_dict()
        return response


def _deadline(lambda_context: Any, now: float) -> float:
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    return now + (remaining() / 1000 if callable(remaining) else 900.0)


def run_invocation(
    handler: Callable[[Any, Any], Any],
    request: ResumeRequest,
    delivery_id: str,
    lambda_context: Any,
    services: EngineServices,
    plugins: PluginHost | None = None,
) -> InvocationOutcome:
    """Continue the execution named by `request` as far as it can go in this invocation.

    `plugins` (from `durable_execution(plugins=...)`) observe the invocation; without them none of their
    machinery is loaded.
    """
    arn = str(request.execution_arn)
    key = request.execution_arn.journal_key
    snapshot = services.store.load(key)
    execution = snapshot.execution
    if execution is None:
        raise UnknownExecutionError(
            f"no execution {arn} in the journal: it was never started, or its retention ended; check the ARN"
        )
    if execution.status.is_closed:
        return _closed_outcome(execution)
    now = services.clock.now()
    if _held_back(services, request, execution, now):
        return InvocationOutcome(execution.arn, "PENDING")
    leased = execution.invocation_seq
    if leased and leased not in snapshot.completed_invocations():
        # The last invocation that took the lease has not recorded its end: it is running, or it died. Only
        # its deadline tells which: even a delivery with the same id may be a duplicate running right now.
        if now < (execution.lease_until or 0.0):
            _recheck_later(services, request, execution.lease_until or now)
            return InvocationOutcome(execution.arn, "PENDING")
        _record_lost_invocation(services, key, execution, leased, snapshot)
    last_invocation = snapshot.last_invocation()
    if last_invocation == 0:
        emit(c.METRIC_EXECUTIONS_STARTED, request.execution_arn.function_name)
    emit(c.METRIC_EXECUTION_AGE, request.execution_arn.function_name, now - execution.started_at, "Seconds")
    deadline = _deadline(lambda_context, now)
    ownership = Ownership(services.store, services.clock, key, execution, last_invocation + 1, delivery_id, deadline)
    linger = services.settings.start_linger_seconds
    if plugins is None or not plugins.has_plugins:
        state = InvocationState(services, snapshot, execution, ownership, start_linger=linger)
    else:
        return _run_observed(handler, request, lambda_context, plugins, (services, snapshot, execution, ownership))
    # As for any timer: the watchdog set for the timeout may land within the due tolerance before it. Were that
    # not the timeout, the invocation would find nothing to do and set no timer (its own counts as on time).
    if is_due(now, execution.effective_timeout_at):
        return _time_out(state)
    try:
        return _run_guarded(handler, state, snapshot, request, lambda_context)
    finally:
        # Lambda freezes the process once the handler returns: nothing of this invocation may run on.
        ownership.stop()


def _held_back(services: EngineServices, request: ResumeRequest, execution: ExecutionRecord, now: float) -> bool:
    """True when this invocation must not run the execution: it is paused, or pinned to another version.

    A paused execution's timers are held, not lost: one that fires now is passed on as a watchdog at the time
    the execution would time out, so something is always on its way (the resume re-arms the real timers). A
    request for another version than the pinned one (a timer set before a redrive moved the execution to a fix)
    goes to the pinned version.
    """
    pinned = ExecutionArn.parse(execution.arn)
    if pinned.version != request.execution_arn.version:
        moved = dataclasses.replace(request, execution_arn=pinned)
        services.invoker.invoke_async(pinned.qualified_function_arn, moved.to_event())
        return True
    if execution.status != ExecutionStatus.PAUSED or is_due(now, execution.effective_timeout_at):
        return False
    if request.due_at is not None:
        services.timers.schedule(ResumeRequest(pinned, c.REASON_WATCHDOG), execution.effective_timeout_at)
    return True


def _time_out(state: InvocationState) -> InvocationOutcome:
    execution = state.execution
    timeout = int(execution.timeout_at - execution.started_at)
    error = ErrorObject(f"execution exceeded its timeout of {timeout} seconds", "ExecutionTimedOut", None, None)
    return _close(state, ExecutionStatus.TIMED_OUT, "ExecutionTimedOut", None, error, [])


def _run_observed(
    handler: Callable[[Any, Any], Any],
    request: ResumeRequest,
    lambda_context: Any,
    plugins: PluginHost,
    parts: tuple[EngineServices, JournalSnapshot, ExecutionRecord, Ownership],
) -> InvocationOutcome:
    """`run_invocation`'s second half with plugins: the same path, on a state that calls their hooks."""
    from ..plugins.state import InstrumentedInvocationState

    services, snapshot, execution, ownership = parts
    linger = services.settings.start_linger_seconds
    with plugins.invocation() as executor:
        state = InstrumentedInvocationState(
            services, snapshot, execution, ownership, start_linger=linger, executor=executor
        )

        def run() -> InvocationOutcome:
            if is_due(state.now(), execution.effective_timeout_at):
                return _time_out(state)
            return _run_guarded(handler, state, snapshot, request, lambda_context)

        try:
            return state.observe_invocation(snapshot, lambda_context, run)
        finally:
            ownership.stop()


def _run_guarded(
    handler: Callable[[Any, Any], Any],
    state: InvocationState,
    snapshot: JournalSnapshot,
    request: ResumeRequest,
    lambda_context: Any,
) -> InvocationOutcome:
    """Run the handler; turn lost races, outages and engine errors into the invocation's end."""
    services = state.services
    try:
        return _run_handler(handler, state, snapshot, request, lambda_context)
    except InvocationAbandoned:
        # Another writer changed the journal first. Usually that is another invocation, which carries on; but it
        # may have been the callback endpoint (a heartbeat), which resumes nothing. A look shortly after costs
        # one timer and settles it either way: nothing is left to a winner that may not exist.
        _end_quietly(state, None)
        _recheck_later(services, request, state.now() + _LOST_RACE_RECHECK_SECONDS)
        return InvocationOutcome(state.arn, "PENDING")
    except InfrastructureFailure as failure:
        _end_quietly(state, ErrorObject.from_exception(failure.error))
        raise failure.error from None
    except (NonDeterministicExecutionError, SerDesError):
        raise
    except Exception as error:
        # Not the handler's failure (that fails the execution): the engine could not reach AWS, say. Record it
        # with its type while this invocation still holds the execution; Lambda retries the invocation.
        _end_quietly(state, ErrorObject.from_exception(error))
        raise


def _end_quietly(state: InvocationState, error: ErrorObject | None) -> None:
    """Record the end of an invocation that holds the lease but cannot finish normally (best effort)."""
    state.abandon()
    if not state.claimed:
        return
    try:
        state.services.store.write_invocation(
            state.key, state.seq, [_invocation_completed(state, state.now(), error)], state.expires_at
        )
    except Exception:  # noqa: BLE001 - the next invocation records the loss instead
        log.warning("could not record the end of invocation %s of %s", state.seq, state.arn)


def _run_handler(
    handler: Callable[[Any, Any], Any],
    state: InvocationState,
    snapshot: JournalSnapshot,
    request: ResumeRequest,
    lambda_context: Any,
) -> InvocationOutcome:
    from ..context import DurableContext

    context = DurableContext(state, lambda_context=lambda_context, replaying=state.has_operations())
    try:
        return _run_and_record(handler, state, snapshot, request, context)
    finally:
        # After the invocation's last journal write: what it recorded is what its metrics count.
        context.metrics_sink.flush()


def _run_and_record(
    handler: Callable[[Any, Any], Any],
    state: InvocationState,
    snapshot: JournalSnapshot,
    request: ResumeRequest,
    context: Any,
) -> InvocationOutcome:
    event = json.loads(snapshot.input_payload) if snapshot.input_payload else {}
    started = state.now()
    try:
        value = handler(event, context)
    except SuspendExecution:
        return _suspend(state, request, started)
    except (NonDeterministicExecutionError, SerDesError) as error:
        _abort(state, started, error)
        raise
    except Exception as error:  # noqa: BLE001 - recorded, then re-raised for Lambda to retry
        return _finish(state, started, ExecutionStatus.FAILED, None, ErrorObject.from_exception(error))
    try:
        result = json.dumps(value)
    except (TypeError, ValueError) as error:
        wire = ErrorObject(
            f"the handler returned a {type(value).__name__} that is not JSON-serializable ({error}); "
            "return JSON-compatible values (dict, list, str, number, bool, None)",
            "SerDesError",
            None,
            None,
        )
        return _finish(state, started, ExecutionStatus.FAILED, None, wire)
    return _finish(state, started, ExecutionStatus.SUCCEEDED, result, None)


def _abort(state: InvocationState, started: float, error: BaseException) -> None:
    """End an invocation that cannot go on without recording anything wrong.

    A divergent replay or a value the serdes cannot handle must not become part of the journal: held-back
    writes are dropped and, if nothing was written, a lease taken is put back exactly as it was, so the journal
    is unchanged. Lambda reports the error and retries; the execution stays as it was. A timer at the execution's
    timeout makes sure it ends even when every retry fails the same way (or a redrive continues it).
    """
    state.abandon()
    state.services.timers.schedule(
        ResumeRequest(ExecutionArn.parse(state.arn), c.REASON_WATCHDOG), state.execution.timeout_at
    )
    if not state.wrote:
        state.ownership.release_untouched()
        return
    wire = ErrorObject.from_exception(error)
    state.services.store.write_invocation(
        state.key, state.seq, [_invocation_completed(state, started, wire)], state.expires_at
    )


def _invocation_completed(state: InvocationState, started: float, error: ErrorObject | None) -> JournalEvent:
    details: dict[str, Any] = {
        "StartTimestamp": round(started, 3),
        "EndTimestamp": round(state.now(), 3),
    }
    if error is not None:
        details["Error"] = {"Payload": error.to_dict()}
    return JournalEvent("InvocationCompleted", state.now(), (state.seq, INVOCATION_END_POSITION), details)


def _suspend(state: InvocationState, request: ResumeRequest, started: float) -> InvocationOutcome:
    observed = state.take_invocation_events()
    if not (state.claimed or observed or state.has_pending() or state.wrote or state.has_news):
        if request.reason in (c.REASON_RESUMED, c.REASON_REDRIVEN):
            # The execution's timers were held or gone while it was paused or closed: set the next one again.
            _arm_next_timer(state, request)
        else:
            _rearm_if_moved(state, request)
        return InvocationOutcome(state.arn, "PENDING")
    plan = state.plan
    if plan.reason == c.REASON_DEADLINE and not state.wrote:
        # Nothing recorded before the time ran out: a fresh invocation of this version (its timeout is part of
        # the version) would do the same again, forever. End the execution and say why.
        return _finish(state, started, ExecutionStatus.FAILED, None, _no_progress(state, started))
    # The timer goes first: a crash after it leaves a resume on its way; a crash before it leaves nothing durable.
    _arm_next_timer(state, request)
    closing = [*observed, _invocation_completed(state, started, None)]
    if not state.flush(closing):
        state.services.store.write_invocation(state.key, state.seq, closing, state.expires_at)
    _report_writes(state)
    return InvocationOutcome(state.arn, "PENDING")


def _report_writes(state: InvocationState) -> None:
    """The operation records this invocation wrote, as a metric of its function."""
    if state.journal.writes:
        emit(c.METRIC_OPERATIONS_WRITTEN, ExecutionArn.parse(state.arn).function_name, state.journal.writes)


def _arm_next_timer(state: InvocationState, request: ResumeRequest) -> None:
    """The timer of the next thing due, or the watchdog at the execution's timeout if nothing is due before."""
    plan = state.plan
    if plan.due_at is not None and plan.due_at < state.execution.timeout_at:
        wake = ResumeRequest(request.execution_arn, plan.reason, operation_id=plan.operation_id)
        state.services.timers.schedule(wake, plan.due_at)
    else:
        state.services.timers.schedule(
            ResumeRequest(request.execution_arn, c.REASON_WATCHDOG), state.execution.timeout_at
        )


def _no_progress(state: InvocationState, started: float) -> ErrorObject:
    budget = state.ownership.deadline - started
    return ErrorObject(
        f"the invocation reached its time limit ({budget:.0f} s) before it could record anything, so no invocation "
        "of this function version can make progress: its timeout is too short for the work before the next "
        "operation (replaying the journal, or code between operations). Deploy with a longer timeout and start "
        "the execution again",
        NO_PROGRESS_ERROR_TYPE,
        None,
        None,
    )


def _rearm_if_moved(state: InvocationState, request: ResumeRequest) -> None:
    """A resume that found nothing new writes nothing; it sets a timer again only if its own one is now wrong.

    A timer that woke early (Scheduler's window) or whose operation's due time moved (a heartbeat pushed a
    callback's deadline out) is set again for that operation; a duplicate delivery sets nothing, so duplicates
    never multiply.
    """
    if request.due_at is None:
        return
    due = request.due_at
    if request.operation_id is not None:
        due = state.plan.due_by_operation.get(request.operation_id, due)
    if not is_due(state.now(), due):
        state.services.timers.schedule(request, min(due, state.execution.timeout_at))


def _finish(
    state: InvocationState,
    started: float,
    status: ExecutionStatus,
    result: str | None,
    error: ErrorObject | None,
) -> InvocationOutcome:
    state.flush()
    closing = [*state.take_invocation_events(), _invocation_completed(state, started, None)]
    event_type = "ExecutionSucceeded" if status == ExecutionStatus.SUCCEEDED else "ExecutionFailed"
    return _close(state, status, event_type, result, error, closing)


def _close(
    state: InvocationState,
    status: ExecutionStatus,
    event_type: str,
    result: str | None,
    error: ErrorObject | None,
    closing: list[JournalEvent],
) -> InvocationOutcome:
    """Close the execution with one conditional write carrying the invocation's last events.

    The close of an execution started by `context.invoke` carries its parent's resume as an outbox entry, so the
    parent is resumed even if this process dies right after the write.
    """
    from ..journal.payloads import fit_outcome, shrink_events

    details: dict[str, Any] = {}
    if result is not None:
        details["Result"] = {"Payload": result}
    if error is not None:
        details["Error"] = {"Payload": error.to_dict()}
    payloads = state.services.payloads
    stored_result, result_ref, stored_error, error_ref, known = fit_outcome(
        payloads, state.key, "execution", result, error
    )
    now = state.now()
    ended = JournalEvent(event_type, now, (state.seq, EXECUTION_END_POSITION), details)
    closing = shrink_events([*closing, ended], payloads, state.key, "execution", known)
    closed = state.services.store.close_execution(
        state.key,
        status,
        result=stored_result,
        result_ref=result_ref,
        error=stored_error,
        error_ref=error_ref,
        events=closing,
        ended_at=now,
        expires_at=int(now + state.execution.retention_days * 86_400),
        wake=parent_wake(state.execution),
    )
    _report_writes(state)
    if closed:
        function_name = ExecutionArn.parse(state.arn).function_name
        emit(_CLOSED_METRICS[status], function_name)
        emit(c.METRIC_EXECUTION_DURATION, function_name, now - state.execution.started_at, "Seconds")
    return InvocationOutcome(state.arn, status.value, result, error)


def parent_wake(execution: ExecutionRecord) -> str | None:
    """The outbox entry that resumes the execution which started `execution` with `context.invoke`, if any."""
    if not (execution.parent_arn and execution.parent_operation_id):
        return None
    parent = ExecutionArn.parse(execution.parent_arn)
    return ResumeRequest(parent, c.REASON_CHILD_COMPLETED, operation_id=execution.parent_operation_id).to_json()


def _record_lost_invocation(
    services: EngineServices, key: str, execution: ExecutionRecord, seq: int, snapshot: JournalSnapshot
) -> None:
    """The invocation holding the execution died without saying so: record that, as Lambda reports it.

    It ended some time after its last sign of life (the last thing it recorded, or the last time it took or
    renewed the lease) and before now; the event takes the former, which keeps the history's time in order with
    what was recorded after it died (a callback's answer, say).
    """
    now = services.clock.now()
    renewed = (execution.lease_until or now) - LEASE_SECONDS
    last_seen = max(snapshot.last_sign_of_life(seq) or renewed, renewed)
    error = ErrorObject(
        "the invocation ended without completing: the process exited, ran out of memory or hit the time limit",
        CRASH_ERROR_TYPE,
        None,
        None,
    )
    details = {"Error": {"Payload": error.to_dict()}}
    event = JournalEvent("InvocationCompleted", min(now, last_seen), (seq, INVOCATION_END_POSITION), details)
    services.store.write_invocation(key, seq, [event], int(execution.timeout_at + execution.retention_days * 86_400))
    log.warning("recorded lost invocation %s of %s", seq, execution.arn)


def _recheck_later(services: EngineServices, request: ResumeRequest, lease_until: float) -> None:
    """Look at the execution again soon: one more hop of a chain that stops at MAX_IDLE_HOPS.

    A recheck that finds the execution moving on ends the chain by itself (it finds nothing to recheck); a chain
    that never does is a runaway loop, which would otherwise re-invoke the function forever.
    """
    hops = request.hops + 1
    if hops > MAX_IDLE_HOPS:
        raise RunawayLoopError(
            f"execution {request.execution_arn} was rechecked {MAX_IDLE_HOPS} times in a row without progress "
            "(its lease stayed busy, or every write lost a race); stopping here rather than looping forever"
        )
    now = services.clock.now()
    delay = min(max(1.0, math.ceil(lease_until - now)), _BUSY_RECHECK_MAX_SECONDS)
    recheck = ResumeRequest(request.execution_arn, c.REASON_LEASE_BUSY, hops=hops)
    services.timers.schedule(recheck, now + delay)


def _closed_outcome(execution: ExecutionRecord) -> InvocationOutcome:
    return InvocationOutcome(execution.arn, execution.status.value, execution.result, execution.error)
