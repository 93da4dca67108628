"""Operations rebuilt from an execution's history alone, for results built from `GetDurableExecutionHistory`.

The history (DESIGN §5) carries, per operation, the events of its start, retries and end with their details;
folding them in order gives each operation's last known state in the service's operation shape, the shape
`GetDurableExecutionState` returns. Payloads are there only when the history was read with
`IncludeExecutionData=True`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

# Event type prefix -> operation type, longest first so "ChainedInvoke" is not read as something shorter.
_TYPES = {
    "ChainedInvoke": "CHAINED_INVOKE",
    "Execution": "EXECUTION",
    "Callback": "CALLBACK",
    "Context": "CONTEXT",
    "Step": "STEP",
    "Wait": "WAIT",
}
_STATUSES = {
    "Started": "STARTED",
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "TimedOut": "TIMED_OUT",
    "Stopped": "STOPPED",
    "Cancelled": "CANCELLED",
}
_DETAILS_KEYS = {
    "STEP": "StepDetails",
    "CONTEXT": "ContextDetails",
    "WAIT": "WaitDetails",
    "CALLBACK": "CallbackDetails",
    "CHAINED_INVOKE": "ChainedInvokeDetails",
    "EXECUTION": "ExecutionDetails",
}


def operations_from_history(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each operation the events tell of, in the service's operation shape, in the order it first appeared."""
    shapes: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = _split(event.get("EventType", ""))
        operation_id = event.get("Id")
        if kind is None or operation_id is None:
            continue
        operation_type, status = kind
        shape = shapes.setdefault(operation_id, {"Id": operation_id, "Type": operation_type})
        details = event.get(f"{event['EventType']}Details") or {}
        _apply(shape, event, status, details if isinstance(details, Mapping) else {})
    return list(shapes.values())


def _split(event_type: str) -> tuple[str, str] | None:
    for prefix, operation_type in _TYPES.items():
        status = _STATUSES.get(event_type[len(prefix) :]) if event_type.startswith(prefix) else None
        if status is not None:
            return operation_type, status
    return None


def _apply(shape: dict[str, Any], event: Mapping[str, Any], status: str, details: Mapping[str, Any]) -> None:
    for key in ("Name", "ParentId", "SubType"):
        if event.get(key) is not None:
            shape[key] = event[key]
    operation_details = shape.setdefault(_DETAILS_KEYS[shape["Type"]], {})
    retry = details.get("RetryDetails") or {}
    if "CurrentAttempt" in retry:
        operation_details["Attempt"] = retry["CurrentAttempt"]
    if status == "STARTED":
        shape["StartTimestamp"] = event.get("EventTimestamp")
        _started_details(shape["Type"], operation_details, event, details)
    elif status == "FAILED" and "NextAttemptDelaySeconds" in retry:  # another attempt to come
        status = "PENDING"
    elif shape["Type"] == "WAIT" and operation_details.get("ScheduledEndTimestamp"):
        shape["EndTimestamp"] = operation_details["ScheduledEndTimestamp"]  # as the state has it: ended when due
    else:
        shape["EndTimestamp"] = event.get("EventTimestamp")
    shape["Status"] = status
    if "Result" in details:
        operation_details["Result"] = _payload(details["Result"])
    if "Error" in details:
        operation_details["Error"] = _payload(details["Error"])


def _started_details(
    operation_type: str, operation_details: dict[str, Any], event: Mapping[str, Any], details: Mapping[str, Any]
) -> None:
    if operation_type == "CALLBACK" and details.get("CallbackId"):
        operation_details["CallbackId"] = details["CallbackId"]
    elif operation_type == "WAIT":
        operation_details["ScheduledEndTimestamp"] = _scheduled_end(event, details)
    elif operation_type == "EXECUTION" and "Input" in details:
        operation_details["InputPayload"] = _payload(details["Input"])


def _scheduled_end(event: Mapping[str, Any], details: Mapping[str, Any]) -> Any:
    written = details.get("ScheduledEndTimestamp")
    if isinstance(written, str):
        return datetime.datetime.fromisoformat(written.replace("Z", "+00:00"))
    if written is not None:
        return written
    started = event.get("EventTimestamp")
    duration = details.get("Duration")
    if isinstance(started, datetime.datetime) and isinstance(duration, int | float):
        return started + datetime.timedelta(seconds=duration)
    return None


def _payload(value: Any) -> Any:
    # History wraps payloads as {"Payload": ...}; a history read without execution data has {} or nothing.
    return value.get("Payload") if isinstance(value, Mapping) else value
