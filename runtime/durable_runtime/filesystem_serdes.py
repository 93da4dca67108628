"""A serdes that keeps values in files on a shared, durable filesystem (or in S3) and records only a pointer.

`FileSystemSerDes(base_path)` writes each value it serializes to ``<base_path>/<execution>/<operation id>.json``
and records ``{"file": "<path>"}`` (plus an optional ``"preview"``) in the journal; deserializing reads the file
back. `FileSystemSerDesMode.OVERFLOW` records small values inline as ``{"data": "<json>"}`` and writes only those
too large to record. The envelope and the path layout are those of the official SDK, so either can read what the
other wrote.

Where the files live. Every invocation of an execution must see the same files, so ``base_path`` must be a
filesystem shared by all of the function's execution environments: an Amazon EFS access point or an S3 Files
mount (``/mnt/...``). Never Lambda's ``/tmp``: it is private to one execution environment, and a replay in another
environment would not find the file. As an alternative that needs no mount, a ``base_path`` of the form
``s3://bucket/prefix`` stores the files as S3 objects under that prefix (the function needs ``s3:GetObject`` and
``s3:PutObject`` on it); the recorded pointer is then the ``s3://`` URI.

With Durable Kit, results over 256 KiB are already moved to the payload bucket by the journal itself, so OVERFLOW
mode is not needed for size; use this serdes to keep values out of the journal altogether (retention, privacy).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

from .constants import CHECKPOINT_SIZE_LIMIT_BYTES
from .serdes import EXTENDED_TYPES_SERDES, SerDes, SerDesContext
from .types import DurableExecutionArn

__all__ = [
    "FileSystemPathEncoding",
    "FileSystemSerDes",
    "FileSystemSerDesConfig",
    "FileSystemSerDesMode",
    "GeneratePreview",
]

# Values whose inline envelope is larger than this go to a file in OVERFLOW mode; the margin leaves room for the
# rest of the recorded operation.
_OVERFLOW_THRESHOLD_BYTES = CHECKPOINT_SIZE_LIMIT_BYTES - 1024
_S3_SCHEME = "s3://"


class FileSystemSerDesMode(StrEnum):
    """When values are written to a file: always, or only when too large to record inline."""

    ALWAYS = "ALWAYS"
    OVERFLOW = "OVERFLOW"


class FileSystemPathEncoding(StrEnum):
    """How the execution ARN and operation id become directory and file names.

    ``URI``: ``<function>/<execution name>/<invocation id>/<percent-encoded operation id>.json``, readable (an ARN
    of another shape becomes one percent-encoded directory). ``HASH``: the SHA-256 hex digest of the ARN and of the
    operation id, fixed-length and safe for any filesystem.
    """

    URI = "URI"
    HASH = "HASH"


class GeneratePreview(Protocol):
    """Builds the preview recorded next to a file pointer (e.g. `durable_runtime.preview.build_preview`)."""

    def __call__(self, value: Any) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class FileSystemSerDesConfig:
    """Options of `FileSystemSerDes`.

    Attributes:
        storage_mode: When to write files (default: always).
        path_encoding: How names are built (default: readable URI encoding).
        generate_preview: Builds a preview recorded next to each file pointer; none by default.
        serdes: Serializes the value itself (default: the extended-types serdes: datetime, Decimal, UUID, bytes...).
    """

    storage_mode: FileSystemSerDesMode = FileSystemSerDesMode.ALWAYS
    path_encoding: FileSystemPathEncoding = FileSystemPathEncoding.URI
    generate_preview: GeneratePreview | None = None
    serdes: SerDes[Any] = EXTENDED_TYPES_SERDES


def _segment(text: str, encoding: FileSystemPathEncoding) -> str:
    if encoding is FileSystemPathEncoding.HASH:
        return hashlib.sha256(text.encode()).hexdigest()
    return quote(text, safe="")


def _relative_path(arn: str, operation_id: str, encoding: FileSystemPathEncoding) -> list[str]:
    parts = DurableExecutionArn.from_arn(arn) if encoding is FileSystemPathEncoding.URI else None
    directory = [parts.function_name, parts.execution_name, parts.invocation_id] if parts else [_segment(arn, encoding)]
    return [*directory, f"{_segment(operation_id, encoding)}.json"]


def _write(location: str, text: str) -> None:
    if location.startswith(_S3_SCHEME):
        bucket, _, key = location[len(_S3_SCHEME) :].partition("/")
        _s3_client().put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json")
        return
    os.makedirs(os.path.dirname(location), exist_ok=True)
    with open(location, "w", encoding="utf-8") as file:
        file.write(text)


def _read(location: str) -> str:
    if location.startswith(_S3_SCHEME):
        bucket, _, key = location[len(_S3_SCHEME) :].partition("/")
        body: bytes = _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode()
    with open(location, encoding="utf-8") as file:
        return file.read()


_s3: Any = None


def _s3_client() -> Any:
    # One client per process, made on first use: boto3 is costly to import and most functions never need it here.
    global _s3
    if _s3 is None:
        import boto3

        _s3 = boto3.client("s3")
    return _s3


class FileSystemSerDes(SerDes[Any]):
    """Keep values in files under `base_path` (a shared mount, or ``s3://bucket/prefix``); record pointers.

    Args:
        base_path: Root directory on a filesystem every invocation shares (see the module docstring), or an
            ``s3://bucket/prefix`` URI.
        config: Storage mode, path encoding, preview and value serdes; defaults as in `FileSystemSerDesConfig`.
    """

    def __init__(self, base_path: str, config: FileSystemSerDesConfig | None = None) -> None:
        self._base_path = base_path.rstrip("/") if base_path.startswith(_S3_SCHEME) else base_path
        self._config = config or FileSystemSerDesConfig()

    def _location(self, context: SerDesContext) -> str:
        parts = _relative_path(context.durable_execution_arn, context.operation_id, self._config.path_encoding)
        if self._base_path.startswith(_S3_SCHEME):
            return "/".join([self._base_path, *parts])
        return os.path.join(self._base_path, *parts)

    def _to_file(self, value: Any, text: str, context: SerDesContext) -> str:
        location = self._location(context)
        _write(location, text)
        envelope: dict[str, Any] = {"file": location}
        preview = self._config.generate_preview(value) if self._config.generate_preview else None
        if preview:
            envelope["preview"] = preview
        return json.dumps(envelope)

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        """Write `value` to its file and return the pointer envelope (or, in OVERFLOW mode, inline if small)."""
        text = self._config.serdes.serialize(value, serdes_context)
        if self._config.storage_mode is FileSystemSerDesMode.OVERFLOW:
            inline = json.dumps({"data": text})
            if len(inline.encode()) <= _OVERFLOW_THRESHOLD_BYTES:
                return inline
        return self._to_file(value, text, serdes_context)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        """Read the value an envelope holds inline or points to."""
        envelope: dict[str, Any] = json.loads(data)
        text = _read(envelope["file"]) if "file" in envelope else envelope["data"]
        return self._config.serdes.deserialize(text, serdes_context)
