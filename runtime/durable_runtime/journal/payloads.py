"""Large results go to the payload bucket; the journal keeps a reference."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Protocol

from ..contract import INLINE_PAYLOAD_LIMIT_BYTES, PAYLOAD_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from .records import JournalEvent


class PayloadStore(Protocol):
    """Keeps payloads too large for a journal item."""

    def put(self, journal_key: str, name: str, payload: str) -> str:
        """Store a payload and return its reference."""
        ...

    def get(self, ref: str) -> str:
        """Read a payload back."""
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


# History events keep payloads up to this size inline; larger ones go to the bucket so that an operation's record
# (its result plus the events that carry copies of it) always fits in one 400 KB item.
EVENT_INLINE_LIMIT_BYTES = 32 * 1024
_PAYLOAD_FIELDS = ("Input", "Result")


def shrink_events(
    events: list[JournalEvent], store: PayloadStore, journal_key: str, name: str, known: dict[str, str] | None = None
) -> list[JournalEvent]:
    """Replace large event payloads by references to the payload bucket (`known` maps payload text to refs)."""
    shrunk = []
    for index, event in enumerate(events):
        details = dict(event.details)
        for field in _PAYLOAD_FIELDS:
            payload = details.get(field, {}).get("Payload") if isinstance(details.get(field), dict) else None
            if isinstance(payload, str) and len(payload.encode()) > EVENT_INLINE_LIMIT_BYTES:
                ref = (known or {}).get(payload) or store.put(journal_key, f"{name}-{index}-{field.lower()}", payload)
                details[field] = {"PayloadRef": ref}
        shrunk.append(event if details == event.details else dataclasses.replace(event, details=details))
    return shrunk


def _function_name(journal_key: str) -> str:
    # A journal key is `arn:...:function:<name>/durable-execution/...`: the name scopes the object's key.
    return journal_key.split(":function:", 1)[-1].split("/", 1)[0]


def needs_offload(payload: str | None) -> bool:
    """True when a payload is too large to keep inline in a journal item."""
    return payload is not None and len(payload.encode()) > INLINE_PAYLOAD_LIMIT_BYTES
