"""Starting an execution: idempotent by name, pinned to a function version."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ..contract import INLINE_PAYLOAD_LIMIT_BYTES, MAX_BUSINESS_KEY_CHARACTERS, REASON_START
from ..exceptions import DurableExecutionsError, ValidationError
from ..journal.records import ExecutionRecord, ExecutionStatus, JournalEvent
from .envelope import ResumeRequest
from .ids import ExecutionArn

# An execution's input is one journal item (DynamoDB items stop at 400 KB); the managed service takes 256 KB too.
MAX_INPUT_BYTES = INLINE_PAYLOAD_LIMIT_BYTES

if TYPE_CHECKING:
    from .functions import FunctionDescription
    from .services import EngineServices


class DurableExecutionAlreadyStartedException(DurableExecutionsError):
    """An execution with this name exists with a different input."""


def validate_input(input_payload: str | None) -> str | None:
    """Check that an execution input is JSON text; say where it breaks when it is not."""
    if input_payload is None or input_payload == "":
        return None
    if not isinstance(input_payload, str):
        raise ValidationError(
            f"execution input must be JSON text (str), got {type(input_payload).__name__}; pass json.dumps(value)"
        )
    size = len(input_payload.encode())
    if size > MAX_INPUT_BYTES:
        raise ValidationError(
            f"execution input is {size} bytes; the limit is {MAX_INPUT_BYTES} bytes (256 KB). Pass large data by "
            "reference instead: store it in S3 and put its key in the input"
        )
    try:
        json.loads(input_payload)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"execution input is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "pass json.dumps(value) — a bare string must be quoted, e.g. '\"World\"'"
        ) from None
    return input_payload


def validate_business_key(business_key: str | None) -> None:
    """A business key is 1 to 256 printable characters; anything else raises ValidationError saying so."""
    if business_key is None:
        return
    longest = MAX_BUSINESS_KEY_CHARACTERS
    if not isinstance(business_key, str) or not 1 <= len(business_key) <= longest or not business_key.isprintable():
        raise ValidationError(
            f"business key {business_key!r} is not valid: use 1 to {longest} printable characters "
            "(an order id, a ticket id)"
        )


def start_execution(
    services: EngineServices,
    function: FunctionDescription,
    execution_name: str,
    input_payload: str | None,
    *,
    execution_timeout_seconds: int | None = None,
    parent: tuple[str, str] | None = None,
    invoke: bool = True,
    business_key: str | None = None,
) -> tuple[ExecutionRecord, bool]:
    """Create the execution, or return the existing one with the same name and input.

    The execution goes to the function's engine's journal, and the function's configuration bounds it: its
    execution timeout is the default and the longest allowed, and its retention applies (a description with no
    environment means the calling function itself). With `invoke`, the execution record carries its first
    invocation as an outbox entry: the journal's stream starts it once the record exists, so a caller that dies
    right after this call still started it. A direct start (the invocation that creates the execution runs it)
    passes False. `business_key` (an order id, say) lets the execution be listed by it. Returns the record and
    whether this call created it.
    """
    payload = validate_input(input_payload)
    validate_business_key(business_key)
    arn = ExecutionArn.for_new_execution(function.function_arn, function.version, execution_name)
    services = services.for_function(function)
    settings = services.settings
    longest = settings.execution_timeout_seconds
    timeout = execution_timeout_seconds or longest
    if not 1 <= timeout <= longest:
        raise ValidationError(
            f"execution timeout {timeout}s is out of range for {function.function_arn}: use 1 to {longest} seconds "
            "(the function's execution_timeout, set on its DurableFunction, is the longest it accepts)"
        )
    now = services.clock.now()
    input_hash = hashlib.blake2b((payload or "").encode(), digest_size=16).hexdigest()
    started = JournalEvent("ExecutionStarted", now, (0, 0), {"ExecutionTimeout": timeout})
    record = ExecutionRecord(
        arn=str(arn),
        function_arn=arn.function_arn,
        version=function.version,
        execution_name=execution_name,
        status=ExecutionStatus.RUNNING,
        started_at=now,
        timeout_at=now + timeout,
        retention_days=settings.retention_days,
        input_hash=input_hash,
        events=(started,),
        parent_arn=parent[0] if parent else None,
        parent_operation_id=parent[1] if parent else None,
        business_key=business_key,
    )
    expires_at = int(record.timeout_at + record.retention_days * 86_400)
    wake = ResumeRequest(arn, REASON_START).to_json() if invoke else None
    if services.store.create_execution(record, payload, expires_at, wake=wake):
        return record, True
    existing = services.store.get_execution(arn.journal_key)
    if existing is None or existing.input_hash != input_hash:
        raise DurableExecutionAlreadyStartedException(
            f"an execution named {execution_name!r} already exists for {arn.function_arn} with a different input; "
            "use a new execution name, or the same input to get the existing execution"
        )
    return existing, False
