"""Large results go to the payload bucket; the journal keeps a reference."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any, Protocol

from ..contract import INLINE_PAYLOAD_LIMIT_BYTES, PAYLOAD_PREFIX
from ..exceptions import ErrorObject
from .records import OperationStatus

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from .records import JournalEvent, OperationRecord


class PayloadStore(Protocol):
    """Keeps payloads too large for a journal item."""

    def put(self, journal_key: str, name: str, payload: str) -> str:
        """Store a payload and return its reference."""
        ...

    def get(self, ref: str) -> str:
        """Read a payload back."""
        ...

    def for_bucket(self, bucket: str) -> PayloadStore:
        """The same store on another engine's bucket."""
        ...

    def delete(self, ref: str) -> None:
        """Remove a payload (deleting one that is gone already is no error)."""
        ...


class S3PayloadStore:
    """PayloadStore on an S3 bucket, one object per payload under the execution's key."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, journal_key: str, name: str, payload: str) -> str:
        """Write the object; its key is derived from the execution so retention rules can match it."""
        digest = hashlib.blake2b(journal_key.encode(), digest_size=16).hexdigest()
        key = f"{PAYLOAD_PREFIX}{_function_name(journal_key)}/{digest}/{name}"
        self._client.put_object(Bucket=self._bucket, Key=key, Body=payload.encode(), ContentType="application/json")
        return key

    def get(self, ref: str) -> str:
        """Read the object."""
        return self._client.get_object(Bucket=self._bucket, Key=ref)["Body"].read().decode()

    def delete(self, ref: str) -> None:
        """Delete the object (S3 answers a delete of a missing key with success too)."""
        self._client.delete_object(Bucket=self._bucket, Key=ref)

    def for_bucket(self, bucket: str) -> PayloadStore:
        """This store's client on another engine's bucket."""
        return self if bucket == self._bucket else S3PayloadStore(self._client, bucket)


# History events keep payloads up to this size inline; larger ones go to the bucket so that an operation's record
# (its result plus the events that carry copies of it) always fits in one 400 KB item. Errors follow the same rule:
# a record keeps a short preview of a larger one, and the whole error is in the bucket.
EVENT_INLINE_LIMIT_BYTES = 32 * 1024
ERROR_INLINE_LIMIT_BYTES = EVENT_INLINE_LIMIT_BYTES
_PREVIEW_CHARACTERS = 1024
_PAYLOAD_FIELDS = ("Input", "Result", "Error")


def shrink_events(
    events: list[JournalEvent], store: PayloadStore, journal_key: str, name: str, known: dict[str, str] | None = None
) -> list[JournalEvent]:
    """Replace large event payloads by references to the payload bucket (`known` maps payload text to refs).

    An `Error` payload is an object; it is stored as its JSON text, and read back with `read_event_payload`.
    """
    shrunk = []
    for index, event in enumerate(events):
        details = event.details
        for field in _PAYLOAD_FIELDS:
            value = details.get(field)
            payload = value.get("Payload") if isinstance(value, dict) else None
            if payload is None:
                continue
            text = _compact(payload) if isinstance(payload, dict) else payload
            # Characters never outnumber bytes: only a long text needs encoding to know its size.
            if (
                isinstance(text, str)
                and len(text) > EVENT_INLINE_LIMIT_BYTES // 4
                and len(text.encode()) > (EVENT_INLINE_LIMIT_BYTES)
            ):
                ref = (known or {}).get(text) or store.put(journal_key, f"{name}-{index}-{field.lower()}", text)
                details = {**details, field: {"PayloadRef": ref}}
        shrunk.append(event if details is event.details else dataclasses.replace(event, details=details))
    return shrunk


def read_event_payload(store: PayloadStore, field: str, ref: str) -> Any:
    """The payload a `PayloadRef` stands for: text for `Input` and `Result`, the error object for `Error`."""
    text = store.get(ref)
    return json.loads(text) if field == "Error" else text


def fit_operation(
    store: PayloadStore, journal_key: str, record: OperationRecord, events: list[JournalEvent]
) -> tuple[OperationRecord, list[JournalEvent]]:
    """Make one operation write fit an item: a large result, error or event payload goes to the bucket."""
    name = f"op-{record.operation_id}-{record.attempt}"
    known: dict[str, str] = {}
    if needs_offload(record.result):
        ref = store.put(journal_key, name, record.result or "")
        known[record.result or ""] = ref
        record = record.evolve(result=None, result_ref=ref)
    if record.error is not None and record.error_ref is None:
        preview, error_ref = _offload_error(store, journal_key, f"{name}-error", record.error, known)
        if error_ref is not None:
            record = record.evolve(error=preview, error_ref=error_ref)
    return record, shrink_events(_without_result_copies(record, events), store, journal_key, name, known)


# An event's result that is the record's own final result is stored once, on the record: the event says so with
# this marker and the history reads the record's result in its place (an item then holds a result once, not
# twice, which halves the write units of a step whose result is a few hundred bytes or more).
RESULT_OF_RECORD = "OfRecord"


def _without_result_copies(record: OperationRecord, events: list[JournalEvent]) -> list[JournalEvent]:
    # Only a succeeded record's result is final: a record still running (a condition being polled) changes it.
    if record.status is not OperationStatus.SUCCEEDED or record.result is None:
        return events
    return [
        dataclasses.replace(event, details={**event.details, "Result": {RESULT_OF_RECORD: True}})
        if isinstance(event.details.get("Result"), dict) and event.details["Result"].get("Payload") == record.result
        else event
        for event in events
    ]


def fit_outcome(
    store: PayloadStore, journal_key: str, name: str, result: str | None, error: ErrorObject | None
) -> tuple[str | None, str | None, ErrorObject | None, str | None, dict[str, str]]:
    """An execution's result and error as its record stores them: (result, result_ref, error, error_ref, known).

    `known` maps the text of what went to the bucket to its reference, so events carrying copies reuse it.
    """
    known: dict[str, str] = {}
    result_ref = None
    if needs_offload(result):
        result_ref = store.put(journal_key, f"{name}-result", result or "")
        known[result or ""] = result_ref
        result = None
    error_ref = None
    if error is not None:
        error, error_ref = _offload_error(store, journal_key, f"{name}-error", error, known)
    return result, result_ref, error, error_ref, known


def full_error(store: PayloadStore, error: ErrorObject | None, error_ref: str | None) -> ErrorObject | None:
    """The whole error of a record: `error` itself, or read back from the bucket when only a preview is kept."""
    if error_ref is None:
        return error
    return ErrorObject.from_dict(json.loads(store.get(error_ref)))


def preview_error(error: ErrorObject) -> ErrorObject | None:
    """What a record keeps of an error too large for it (None when the error fits): its type and a short message."""
    if len(_compact(error.to_dict()).encode()) <= ERROR_INLINE_LIMIT_BYTES:
        return None
    message = error.message or ""
    if len(message) > _PREVIEW_CHARACTERS:
        message = message[:_PREVIEW_CHARACTERS] + " ... (truncated; the whole error is in the payload bucket)"
    return ErrorObject(message, error.type, None, None)


def _offload_error(
    store: PayloadStore, journal_key: str, name: str, error: ErrorObject, known: dict[str, str]
) -> tuple[ErrorObject, str | None]:
    preview = preview_error(error)
    if preview is None:
        return error, None
    text = _compact(error.to_dict())
    ref = store.put(journal_key, name, text)
    known[text] = ref
    return preview, ref


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def _function_name(journal_key: str) -> str:
    # A journal key is `arn:...:function:<name>/durable-execution/...`: the name scopes the object's key.
    return journal_key.split(":function:", 1)[-1].split("/", 1)[0]


def needs_offload(payload: str | None) -> bool:
    """True when a payload is too large to keep inline in a journal item."""
    return payload is not None and len(payload.encode()) > INLINE_PAYLOAD_LIMIT_BYTES
