"""Large results go to the payload bucket; the journal keeps a reference."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from ..contract import INLINE_PAYLOAD_LIMIT_BYTES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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
        key = f"payloads/{digest}/{name}"
        self._client.put_object(Bucket=self._bucket, Key=key, Body=payload.encode(), ContentType="application/json")
        return key

    def get(self, ref: str) -> str:
        """Read the object."""
        return self._client.get_object(Bucket=self._bucket, Key=ref)["Body"].read().decode()


def needs_offload(payload: str | None) -> bool:
    """True when a payload is too large to keep inline in a journal item."""
    return payload is not None and len(payload.encode()) > INLINE_PAYLOAD_LIMIT_BYTES
