"""`context.invoke`: call another function; a durable one runs as a child execution that resumes this one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..engine.envelope import ResumeRequest
from ..engine.ids import ExecutionArn
from ..engine.starting import start_execution
from ..exceptions import ErrorObject, InvokeError
from ..journal.records import ExecutionStatus, OperationStatus
from ..serdes import JsonSerDes
from .base import OperationIdentity, decode, encode, lookup, payload_details, suspend

if TYPE_CHECKING:
    from ..config import InvokeConfig
    from ..engine.state import InvocationState
    from ..journal.records import OperationRecord

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
    if record.status == OperationStatus.SUCCEEDED:
        return decode(state, identity, config.serdes_result or _JSON, state.payload(record))
    (record.error or ErrorObject("the invoked function failed", None, None, None)).raise_as_operation_error(InvokeError)
    return None


def _call(
    state: InvocationState, identity: OperationIdentity, function_name: str, payload: Any, config: InvokeConfig
) -> Any:
    invoker = state.services.invoker
    function_arn, version = invoker.resolve(function_name)
    text = encode(state, identity, config.serdes_payload or _JSON, payload) or "null"
    details: dict[str, Any] = {"FunctionName": function_name, "Input": {"Payload": text}, "ExecutedVersion": version}
    if config.tenant_id:
        details["TenantId"] = config.tenant_id
    if invoker.is_durable(function_arn):
        child = _start_child(state, identity, function_arn, version, text)
        started = identity.new_record(OperationStatus.STARTED, started_at=state.now(), extra={"child": str(child)})
        details["DurableExecutionArn"] = str(child)
        state.record_final(started, [state.event("ChainedInvokeStarted", details)])
        raise suspend(state, None, "invoke", identity.operation_id)
    # A plain function is one synchronous invoke: a side effect, so it runs under the lease like a step.
    state.claim()
    state.check_deadline()
    start_event = state.event("ChainedInvokeStarted", details)
    response = invoker.invoke_sync(f"{function_arn}:{version}", text, config.tenant_id)
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


def _start_child(
    state: InvocationState, identity: OperationIdentity, function_arn: str, version: str, payload: str
) -> ExecutionArn:
    # One name per invoking operation, so a repeated start (a retried invocation) finds the same child.
    parent = ExecutionArn.parse(state.arn)
    name = f"{parent.execution_id}-{identity.operation_id[:32]}"
    record, created = start_execution(
        state.services, function_arn, version, name, payload, parent=(state.arn, identity.operation_id)
    )
    child = ExecutionArn.parse(record.arn)
    if created:
        state.services.invoker.invoke_async(child.qualified_function_arn, ResumeRequest(child, "start").to_event())
    return child


def _collect_child(state: InvocationState, identity: OperationIdentity, record: OperationRecord) -> OperationRecord:
    """Record the child execution's outcome if it has ended; otherwise suspend until it does."""
    child = ExecutionArn.parse(record.extra["child"])
    execution = state.services.store.get_execution(child.journal_key)
    if execution is None:
        raise InvokeError(message=f"the child execution {child} is missing from the journal (retention ended?)")
    if execution.status == ExecutionStatus.RUNNING:
        raise suspend(state, None, "invoke", identity.operation_id)
    if execution.status == ExecutionStatus.SUCCEEDED:
        result = execution.result
        if execution.result_ref:
            result = state.services.payloads.get(execution.result_ref)
        done = record.evolve(status=OperationStatus.SUCCEEDED, result=result, ended_at=state.now())
        return state.record(done, [state.event("ChainedInvokeSucceeded", payload_details(result))])
    error = execution.error or ErrorObject(f"the child execution ended {execution.status.value}", None, None, None)
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
