"""`context.invoke`: call another function; a durable one runs as a child execution that resumes this one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..engine.functions import FunctionDescription, FunctionNotFound
from ..engine.ids import ExecutionArn
from ..engine.starting import DurableExecutionAlreadyStartedException, start_execution
from ..exceptions import ErrorObject, InvokeError, ValidationError
from ..journal.payloads import full_error
from ..journal.records import ExecutionStatus, OperationStatus
from ..serdes import JsonSerDes
from .base import OperationIdentity, decode, encode, lookup, payload_details, suspend

if TYPE_CHECKING:
    from ..config import InvokeConfig
    from ..engine.state import InvocationState
    from ..journal.records import OperationRecord

# Where a child execution's engine keeps it: recorded with the invoke (its target may be on another engine).
_CHILD_ENGINE = (c.ENV_JOURNAL_TABLE, c.ENV_PAYLOAD_BUCKET)
# A function's event and response are JSON documents, so that is the default on both sides of an invoke.
_JSON: JsonSerDes[Any] = JsonSerDes()


def run_invoke(
    state: InvocationState, identity: OperationIdentity, function_name: str, payload: Any, config: InvokeConfig
) -> Any:
    """Return the target's recorded result, re-raise its recorded failure, or call it."""
    record = lookup(state, identity)
    if record is None:
        return _call(state, identity, function_name, payload, config)
    if record.status == OperationStatus.STARTED:
        record = _collect_child(state, identity, record)
    return _outcome(state, identity, record, config)


def _call(
    state: InvocationState, identity: OperationIdentity, function_name: str, payload: Any, config: InvokeConfig
) -> Any:
    invoker = state.services.invoker
    text = encode(state, identity, config.serdes_payload or _JSON, payload) or "null"
    details: dict[str, Any] = {"FunctionName": function_name, "Input": {"Payload": text}}
    if config.tenant_id:
        details["TenantId"] = config.tenant_id
    try:
        with state.infrastructure():
            target = invoker.describe(function_name)
            details["ExecutedVersion"] = target.version
            if target.is_durable:
                return _call_durable(state, identity, target, text, details, config)
    except (FunctionNotFound, ValidationError, DurableExecutionAlreadyStartedException) as refused:
        # The caller named a function that does not exist, or an input it cannot take: the invoke fails.
        return _fail_now(state, identity, details, ErrorObject.from_exception(refused))
    # A plain function is one synchronous invoke: a side effect, so it runs under the lease like a step.
    state.claim()
    state.check_deadline()
    start_event = state.event("ChainedInvokeStarted", details)
    with state.infrastructure():
        response = invoker.invoke_sync(target.qualified_arn, text, config.tenant_id)
    now = state.now()
    if response.function_error is None:
        done = identity.new_record(OperationStatus.SUCCEEDED, started_at=now, ended_at=now, result=response.payload)
        state.record(done, [start_event, state.event("ChainedInvokeSucceeded", payload_details(response.payload))])
        return decode(state, identity, config.serdes_result or _JSON, response.payload)
    error = _function_error(response.payload, response.function_error)
    failed = identity.new_record(OperationStatus.FAILED, started_at=now, ended_at=now, error=error)
    state.record(failed, [start_event, state.event("ChainedInvokeFailed", {"Error": {"Payload": error.to_dict()}})])
    error.raise_as_operation_error(InvokeError)
    return None


def _call_durable(
    state: InvocationState,
    identity: OperationIdentity,
    target: FunctionDescription,
    payload: str,
    details: dict[str, Any],
    config: InvokeConfig,
) -> Any:
    """Start the target as a child execution (the journal's outbox invokes it), then wait for it to close.

    The child lives in its own engine's journal (another table, when the target is on another engine): the
    record of this operation remembers where, to collect the outcome from there.
    """
    # One name per invoking operation, so a repeated start (a retried invocation) finds the same child.
    parent = ExecutionArn.parse(state.arn)
    name = f"{parent.execution_id}-{identity.operation_id[:32]}"
    child, _ = start_execution(state.services, target, name, payload, parent=(state.arn, identity.operation_id))
    details["DurableExecutionArn"] = child.arn
    extra = {"child": child.arn, **{key: target.environment[key] for key in _CHILD_ENGINE if key in target.environment}}
    started = identity.new_record(OperationStatus.STARTED, started_at=state.now(), extra=extra)
    state.record_final(started, [state.event("ChainedInvokeStarted", details)])
    if child.status.is_closed:
        # Found already closed (this invocation repeats one that died after starting it): its resume of this
        # execution may have come and gone, so collect the outcome now.
        return _outcome(state, identity, _collect_child(state, identity, started), config)
    raise suspend(state, None, "invoke", identity.operation_id)


def _fail_now(state: InvocationState, identity: OperationIdentity, details: dict[str, Any], error: ErrorObject) -> Any:
    now = state.now()
    failed = identity.new_record(OperationStatus.FAILED, started_at=now, ended_at=now, error=error)
    failure = state.event("ChainedInvokeFailed", {"Error": {"Payload": error.to_dict()}})
    state.record(failed, [state.event("ChainedInvokeStarted", details), failure])
    error.raise_as_operation_error(InvokeError)


def _outcome(state: InvocationState, identity: OperationIdentity, record: OperationRecord, config: InvokeConfig) -> Any:
    if record.status == OperationStatus.SUCCEEDED:
        return decode(state, identity, config.serdes_result or _JSON, state.payload(record))
    error = state.error(record) or ErrorObject("the invoked function failed", None, None, None)
    error.raise_as_operation_error(InvokeError)


def _collect_child(state: InvocationState, identity: OperationIdentity, record: OperationRecord) -> OperationRecord:
    """Record the child execution's outcome if it has ended; otherwise suspend until it does."""
    child = ExecutionArn.parse(record.extra["child"])
    services = state.services.for_function(
        FunctionDescription(
            child.function_arn, child.version, {k: v for k, v in record.extra.items() if k in _CHILD_ENGINE}
        )
    )
    payloads = services.payloads
    with state.infrastructure():
        execution = services.store.get_execution(child.journal_key)
    if execution is None:
        raise InvokeError(message=f"the child execution {child} is missing from the journal (retention ended?)")
    if execution.status.is_open:
        raise suspend(state, None, "invoke", identity.operation_id)
    if execution.status == ExecutionStatus.SUCCEEDED:
        result = execution.result
        if execution.result_ref:
            with state.infrastructure():
                result = payloads.get(execution.result_ref)
        done = record.evolve(status=OperationStatus.SUCCEEDED, result=result, ended_at=state.now())
        return state.record(done, [state.event("ChainedInvokeSucceeded", payload_details(result))])
    with state.infrastructure():
        recorded = full_error(payloads, execution.error, execution.error_ref)
    error = recorded or ErrorObject(f"the child execution ended {execution.status.value}", None, None, None)
    event_type = {
        ExecutionStatus.TIMED_OUT: "ChainedInvokeTimedOut",
        ExecutionStatus.STOPPED: "ChainedInvokeStopped",
    }.get(execution.status, "ChainedInvokeFailed")
    failed = record.evolve(status=OperationStatus.FAILED, error=error, ended_at=state.now())
    return state.record(failed, [state.event(event_type, {"Error": {"Payload": error.to_dict()}})])


def _function_error(payload: str, function_error: str) -> ErrorObject:
    """Lambda's error response `{errorMessage, errorType, stackTrace}` as an ErrorObject."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    trace = body.get("stackTrace")
    return ErrorObject(
        str(body.get("errorMessage", function_error)),
        str(body.get("errorType", function_error)),
        None,
        [str(line) for line in trace] if isinstance(trace, list) else None,
    )
