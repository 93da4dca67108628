"""The execution history in the managed service's event format, assembled from the journal's records."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..journal.payloads import RESULT_OF_RECORD, read_event_payload
from ..journal.records import carries_own_identity
from .ids import ExecutionArn

if TYPE_CHECKING:
    from ..journal.records import JournalEvent, JournalSnapshot
    from .services import EngineServices

_PAYLOAD_KEYS = ("Result", "Input")
# Fields a journal event may keep in the payload bucket (see journal.payloads.shrink_events).
_REFERENCED_KEYS = ("Result", "Input", "Error")


def _timestamp(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def _strip_payloads(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if key not in _PAYLOAD_KEYS}


def collect_events(snapshot: JournalSnapshot) -> list[tuple[JournalEvent, dict[str, str | None]]]:
    """Every recorded event with its identity fields, in the order it happened."""
    execution_identity: dict[str, str | None] = {}
    if snapshot.execution is not None:
        arn = ExecutionArn.parse(snapshot.execution.arn)
        execution_identity = {"Id": arn.execution_id, "Name": snapshot.execution.execution_name}
    collected: list[tuple[JournalEvent, dict[str, str | None]]] = []
    for event, record in snapshot.events():
        if carries_own_identity(event):
            identity = {
                "Id": event.operation_id,
                "Name": event.name,
                "ParentId": event.parent_id,
                "SubType": event.sub_type,
            }
        elif record is not None:
            identity = {
                "Id": record.operation_id,
                "Name": record.name,
                "ParentId": record.parent_id,
                "SubType": record.sub_type,
            }
        else:
            identity = execution_identity
        collected.append((event, identity))
    # Events recorded outside an invocation (a callback completed) share a position; time orders them.
    collected.sort(key=lambda pair: (pair[0].order, pair[0].timestamp))
    return _starts_first(collected)


Collected = list[tuple["JournalEvent", dict[str, str | None]]]


def _starts_first(collected: Collected) -> Collected:
    """Put each operation's start before anything of it or inside it, where a crash left them out of order.

    A context's start is held until something makes it durable (its end, usually). If the invocation dies first,
    what its children recorded stays and the start is lost: the next invocation starts the context again, later
    than its children's events. It had started before them; the history shows it there, at their time.
    """
    first: dict[str, int] = {}
    parent_of: dict[str, str | None] = {}
    for index, (_, identity) in enumerate(collected):
        operation = identity.get("Id")
        if operation is not None and "ParentId" in identity and operation not in first:
            first[operation] = index
            parent_of[operation] = identity.get("ParentId")
    # The earliest event of each operation or of anything inside it, found walking up from each event.
    earliest: dict[str, int] = {}
    for index, (_, identity) in enumerate(collected):
        operation = identity.get("Id") if "ParentId" in identity else None
        while operation is not None and operation not in earliest:
            earliest[operation] = index
            operation = parent_of.get(operation)
    late = [
        operation
        for operation, anchor in earliest.items()
        if anchor < first[operation] and collected[first[operation]][0].event_type.endswith("Started")
    ]
    if not late:
        return collected
    moved = {first[operation]: earliest[operation] for operation in late}
    before: dict[int, list[int]] = {}
    # Starts moved before the same event are of contexts nested in one another: outermost first (an outer one
    # may have been started again after an inner one, if its start was lost twice).
    for operation in sorted(late, key=lambda operation: _depth(operation, parent_of)):
        before.setdefault(earliest[operation], []).append(first[operation])
    ordered: Collected = []
    for index, pair in enumerate(collected):
        if index in moved:
            continue
        for start in before.get(index, ()):
            event, identity = collected[start]
            ordered.append((replace(event, timestamp=min(event.timestamp, pair[0].timestamp)), identity))
        ordered.append(pair)
    return ordered


def render_history(
    snapshot: JournalSnapshot, services: EngineServices, *, include_execution_data: bool
) -> list[dict[str, Any]]:
    """Number the events 1, 2, 3, ... and shape each as `{EventType, EventId, EventTimestamp, ..., <Type>Details}`."""
    events = []
    for number, (event, identity) in enumerate(collect_events(snapshot), start=1):
        details = dict(event.details)
        if event.event_type == "ExecutionStarted" and include_execution_data:
            details["Input"] = {"Payload": snapshot.input_payload or ""}
        for field in _REFERENCED_KEYS:
            ref = details.get(field, {}).get("PayloadRef") if isinstance(details.get(field), dict) else None
            if ref and (include_execution_data or field == "Error"):
                details[field] = {"Payload": read_event_payload(services.payloads, field, ref)}
        result = details.get("Result")
        if include_execution_data and isinstance(result, dict) and result.get(RESULT_OF_RECORD):
            details["Result"] = {"Payload": _record_result(snapshot, identity.get("Id"), services)}
        if not include_execution_data:
            details = _strip_payloads(details)
            if "Reason" in details:
                # An operator's reason is execution data: the service says it left it out, as here.
                details["Reason"] = {"Truncated": True}
        rendered: dict[str, Any] = {
            "EventType": event.event_type,
            "EventId": number,
            "EventTimestamp": _timestamp(event.timestamp),
        }
        rendered.update({key: value for key, value in identity.items() if value is not None})
        rendered[f"{event.event_type}Details"] = details
        events.append(rendered)
    return events


def _depth(operation: str, parent_of: dict[str, str | None]) -> int:
    depth, parent = 0, parent_of.get(operation)
    while parent is not None:
        depth, parent = depth + 1, parent_of.get(parent)
    return depth


def _record_result(snapshot: JournalSnapshot, operation_id: str | None, services: EngineServices) -> str | None:
    """The final result of the operation an event stands for (its events keep it once, on the record)."""
    record = snapshot.operations.get(operation_id or "")
    if record is None:
        return None
    return services.payloads.get(record.result_ref) if record.result_ref else record.result
