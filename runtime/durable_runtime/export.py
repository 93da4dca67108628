"""An execution's journal as one JSON document, and back: what `DurableClient.export_durable_execution` returns and
`durable_runtime.testing.replay` reads.

The journal's records travel in the journal's own item format (DynamoDB attribute values, as `journal.dynamodb_items`
writes them), so an export holds exactly what the table holds; payloads kept in the bucket travel inline under
their references, and the history (with data) comes along for people to read. A document of another format version
is refused with a message that says so.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import contract as c
from .exceptions import ValidationError

if TYPE_CHECKING:
    from .engine.services import EngineServices
    from .journal.records import ExecutionRecord, JournalSnapshot

EXPORT_FORMAT = "durable-kit.execution-export/1"


@dataclass(frozen=True)
class ExportedExecution:
    """An export read back: the execution's journal and the payloads its records refer to."""

    execution_arn: str
    snapshot: JournalSnapshot
    payloads: dict[str, str]


def export_document(
    services: EngineServices, snapshot: JournalSnapshot, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """The document for `snapshot` (an execution's whole journal) and its rendered `history`."""
    from .journal.dynamodb_items import events_attr, execution_item, operation_fields

    execution = snapshot.execution
    if execution is None:
        raise ValidationError("there is no execution to export: its journal holds no execution record")
    operations = [
        {c.SORT_KEY: {"S": c.RECORD_OPERATION_PREFIX + record.operation_id}, **_present(operation_fields(record))}
        | {"ev": events_attr(list(record.events))}
        for record in snapshot.operations.values()
    ]
    refs = [execution.result_ref, execution.error_ref]
    refs += [ref for record in snapshot.operations.values() for ref in (record.result_ref, record.error_ref)]
    return {
        "Format": EXPORT_FORMAT,
        "DurableExecutionArn": execution.arn,
        "Execution": _present(execution_item(execution)),
        "Input": snapshot.input_payload,
        "Operations": operations,
        "Invocations": [
            {"Seq": seq, "Events": events_attr(list(record.events))} for seq, record in snapshot.invocations.items()
        ],
        "Payloads": {ref: services.payloads.get(ref) for ref in refs if ref and services.payloads is not None},
        "History": [_json_safe(event) for event in history],
    }


def read_export(document: dict[str, Any]) -> ExportedExecution:
    """The journal an export document holds; raises ValidationError for anything else."""
    from .journal.dynamodb_items import events_value, execution_from_item, operation_from_item
    from .journal.records import InvocationRecord, JournalSnapshot

    if not isinstance(document, dict) or document.get("Format") != EXPORT_FORMAT:
        found = document.get("Format") if isinstance(document, dict) else type(document).__name__
        raise ValidationError(
            f"not a Durable Kit execution export (format {found!r}, expected {EXPORT_FORMAT!r}): pass the "
            "document DurableClient.export_durable_execution returned, parsed from JSON"
        )
    try:
        execution = execution_from_item(document["Execution"])
        operations = {record.operation_id: record for record in map(operation_from_item, document["Operations"])}
        invocations = {
            int(entry["Seq"]): InvocationRecord(int(entry["Seq"]), events_value(entry["Events"]))
            for entry in document["Invocations"]
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(f"the execution export is damaged ({type(error).__name__}: {error})") from None
    snapshot = JournalSnapshot(execution, document.get("Input"), operations, invocations)
    return ExportedExecution(execution.arn, snapshot, dict(document.get("Payloads") or {}))


def reopened(record: ExecutionRecord) -> ExecutionRecord:
    """The execution as it was before it closed and without an owner: what a replay starts from."""
    from .journal.records import ExecutionStatus

    return record.evolve(
        status=ExecutionStatus.RUNNING,
        result=None,
        result_ref=None,
        error=None,
        error_ref=None,
        ended_at=None,
        lease_owner=None,
        lease_until=None,
    )


def _present(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
