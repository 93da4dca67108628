"""The resume envelope: what timers, the callback handler and child completions send a durable function."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import contract as c
from ..exceptions import ValidationError
from .ids import ExecutionArn


@dataclass(frozen=True)
class ResumeRequest:
    """A validated request to continue an execution."""

    execution_arn: ExecutionArn
    reason: str
    due_at: float | None = None
    # The operation the resume is for (the one a timer was set for, the callback completed), when there is one.
    operation_id: str | None = None
    # Rechecks chained so far without progress (see engine.invocation.MAX_IDLE_HOPS).
    hops: int = 0

    def to_event(self) -> dict[str, Any]:
        """The envelope as a Lambda event."""
        body: dict[str, Any] = {
            c.ENVELOPE_ACTION: c.ACTION_RESUME,
            c.ENVELOPE_EXECUTION_ARN: str(self.execution_arn),
            c.ENVELOPE_REASON: self.reason,
        }
        if self.due_at is not None:
            body[c.ENVELOPE_DUE_AT] = round(self.due_at, 3)
        if self.operation_id is not None:
            body[c.ENVELOPE_OPERATION_ID] = self.operation_id
        if self.hops:
            body[c.ENVELOPE_HOPS] = self.hops
        return {c.ENVELOPE_KEY: body}

    def to_json(self) -> str:
        """The envelope as message text."""
        return json.dumps(self.to_event(), separators=(",", ":"))


def is_envelope(event: Any) -> bool:
    """True when the event claims to be a Durable Kit envelope (it may still be malformed)."""
    return isinstance(event, dict) and c.ENVELOPE_KEY in event


def parse_envelope(event: Any) -> ResumeRequest:
    """Validate an envelope; a malformed one raises ValidationError that says which field is wrong."""
    body = event.get(c.ENVELOPE_KEY) if isinstance(event, dict) else None
    if not isinstance(body, dict):
        raise ValidationError(
            f"malformed Durable Kit envelope: {c.ENVELOPE_KEY!r} must be an object with "
            f"{c.ENVELOPE_ACTION!r}, {c.ENVELOPE_EXECUTION_ARN!r} and {c.ENVELOPE_REASON!r}"
        )
    action = body.get(c.ENVELOPE_ACTION)
    if action != c.ACTION_RESUME:
        raise ValidationError(f"malformed Durable Kit envelope: action {action!r} is not {c.ACTION_RESUME!r}")
    arn = body.get(c.ENVELOPE_EXECUTION_ARN)
    reason = body.get(c.ENVELOPE_REASON, "")
    if not isinstance(reason, str):
        raise ValidationError(f"malformed Durable Kit envelope: reason {reason!r} must be a string")
    due_at = body.get(c.ENVELOPE_DUE_AT)
    if due_at is not None and not isinstance(due_at, int | float):
        raise ValidationError(f"malformed Durable Kit envelope: dueAt {due_at!r} must be epoch seconds")
    if not isinstance(arn, str):
        raise ValidationError(f"malformed Durable Kit envelope: executionArn {arn!r} must be an execution ARN string")
    operation_id = body.get(c.ENVELOPE_OPERATION_ID)
    if operation_id is not None and not isinstance(operation_id, str):
        raise ValidationError(f"malformed Durable Kit envelope: operationId {operation_id!r} must be a string")
    hops = body.get(c.ENVELOPE_HOPS, 0)
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        raise ValidationError(f"malformed Durable Kit envelope: hops {hops!r} must be a whole number")
    return ResumeRequest(
        ExecutionArn.parse(arn), reason, None if due_at is None else float(due_at), operation_id, hops=hops
    )


def sqs_envelopes(event: Any) -> list[tuple[str, str, str]] | None:
    """The (message id, receipt handle, body) of an SQS event whose every body is an envelope; else None."""
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return None
    pairs = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
            return None
        body = record.get("body", "")
        if f'"{c.ENVELOPE_KEY}"' not in body:
            return None
        pairs.append((str(record.get("messageId", "")), str(record.get("receiptHandle", "")), body))
    return pairs
