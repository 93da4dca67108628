"""The outbox relay: sends the resumes that journal writes ask for, reading them from the journal's stream.

A journal write whose change needs a follow-up (an execution created by a client, a callback completed, a child
execution closed) carries the resume envelope in its `wake` attribute (see `contract.WAKE_ATTRIBUTE`). The table's
stream hands such records to this function (the event source's filter passes nothing else), which invokes the
execution's pinned version asynchronously. The follow-up therefore cannot be lost with the process that made the
change: it is part of the change. Deployed by the engine construct with handler `contract.OUTBOX_HANDLER`.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ValidationError
from .envelope import parse_envelope

if TYPE_CHECKING:
    from .functions import LambdaInvoker

log = logging.getLogger("durable_runtime.outbox")


def relay(records: list[Any], invoker: LambdaInvoker) -> list[str]:
    """Invoke the resume each record's outbox entry names; return the sequence numbers to deliver again.

    A stream is ordered: after the first failure the event source retries from that record, so the records after
    it are left for then (a resume sent twice is harmless; one never sent is not).
    """
    for index, record in enumerate(records):
        wake = _wake_of(record)
        if wake is None:
            continue
        try:
            request = parse_envelope(json.loads(wake))
        except (ValueError, ValidationError) as error:
            # Not something a retry could fix; the record is skipped rather than blocking the stream.
            log.error("skipping a malformed outbox entry: %s", error)
            continue
        try:
            invoker.invoke_async(request.execution_arn.qualified_function_arn, request.to_event())
        except Exception:
            log.exception("could not resume %s; the stream delivers the record again", request.execution_arn)
            return [_sequence_number(later) for later in records[index:]]
    return []


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point for the journal stream's event source (with ReportBatchItemFailures)."""
    from .services import current_invoker

    records = event.get("Records", []) if isinstance(event, dict) else []
    failed = relay(records if isinstance(records, list) else [], current_invoker())
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


def _wake_of(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    image = record.get("dynamodb", {}).get("NewImage", {})
    attribute = image.get(c.WAKE_ATTRIBUTE) if isinstance(image, dict) else None
    value = attribute.get("S") if isinstance(attribute, dict) else None
    return value if isinstance(value, str) else None


def _sequence_number(record: Any) -> str:
    return str(record.get("dynamodb", {}).get("SequenceNumber", "")) if isinstance(record, dict) else ""
