"""Turning operation results into the strings recorded in the journal, and back.

The default, :class:`ExtendedTypeSerDes`, writes the official SDK's wire format byte for byte, so journals
move between the two in either direction:

* ``None``, ``str``, ``int``, ``float``, ``bool`` and lists holding only those (at any depth) are compact
  JSON: ``'"abc"'``, ``'42'``, ``'[1,"a",null]'``;
* anything else is an envelope ``{"t": <tag>, "v": <value>}`` (compact separators) whose value is encoded the
  same way recursively: ``{"status": "ok"}`` becomes ``'{"t":"m","v":{"status":{"t":"s","v":"ok"}}}'``.

Tags: ``n`` None, ``s`` str, ``i`` int, ``f`` float, ``b`` bool, ``B`` bytes (base64), ``u`` UUID, ``d``
Decimal, ``dt`` datetime and ``D`` date (ISO 8601), ``t`` tuple, ``l`` list, ``m`` dict, ``br`` BatchResult.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload
from uuid import UUID

from durable_runtime.concurrency.models import BatchResult
from durable_runtime.exceptions import DurableExecutionsError as DurableExecutionsError  # official re-export
from durable_runtime.exceptions import RetryableSerDesError, SerDesError

T = TypeVar("T")

TYPE_TOKEN = "t"
VALUE_TOKEN = "v"

_COMPACT = (",", ":")
_SERDES_FIX = "pass a custom serdes in the operation's config, e.g. StepConfig(serdes=...)"


class TypeTag(StrEnum):
    """Type tags of the envelope format (part of the wire format: never change a value)."""

    NONE = "n"
    STR = "s"
    INT = "i"
    FLOAT = "f"
    BOOL = "b"
    BYTES = "B"
    UUID = "u"
    DECIMAL = "d"
    DATETIME = "dt"
    DATE = "D"
    TUPLE = "t"
    LIST = "l"
    DICT = "m"
    BATCH_RESULT = "br"


@dataclass(frozen=True)
class SerDesContext:
    """Where a value being (de)serialized comes from.

    Attributes:
        operation_id: Id of the operation whose value it is.
        durable_execution_arn: ARN of the execution.
    """

    operation_id: str = ""
    durable_execution_arn: str = ""


class SerDes(ABC, Generic[T]):
    """Base class of serializers: a value to a string for the journal, and the string back to a value."""

    @abstractmethod
    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """Turn ``value`` into a string."""

    @abstractmethod
    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """Turn a string made by :meth:`serialize` back into a value."""

    @staticmethod
    def is_primitive(obj: Any) -> bool:
        """Tell whether ``obj`` is None, a str/int/float/bool, or a list holding only such values."""
        if obj is None or isinstance(obj, str | int | float | bool):
            return True
        return isinstance(obj, list) and all(SerDes.is_primitive(item) for item in obj)


class PassThroughSerDes(SerDes[T]):
    """Leaves values untouched; for values that already are strings."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """Return ``value`` as it is."""
        return value  # type: ignore[return-value]

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """Return ``data`` as it is."""
        return data  # type: ignore[return-value]


class JsonSerDes(SerDes[T]):
    """Plain ``json.dumps`` / ``json.loads`` with default separators (``'{"a": 1}'``)."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """Return ``json.dumps(value)``."""
        return json.dumps(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """Return ``json.loads(data)``."""
        return json.loads(data)


class _Unsupported(Exception):  # noqa: N818 - an internal signal, never raised to users
    """A value the extended format cannot hold; ``path`` grows as the error climbs out of containers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = ""


def _envelope(tag: TypeTag, value: Any) -> dict[str, Any]:
    return {TYPE_TOKEN: tag.value, VALUE_TOKEN: value}


def _encode_items(items: Any, index_of: Any) -> list[Any]:
    encoded = []
    for position, item in enumerate(items):
        try:
            encoded.append(_encode(item))
        except _Unsupported as error:
            error.path = f"[{index_of(position)}]{error.path}"
            raise
    return encoded


def _encode_dict(mapping: dict[Any, Any]) -> dict[Any, Any]:
    # Non-str keys are kept: json.dumps turns them into strings exactly as the official encoder lets it.
    encoded: dict[Any, Any] = {}
    for key, item in mapping.items():
        if key is not None and not isinstance(key, str | int | float | bool):
            raise _Unsupported(f"a dict key of type {type(key).__name__} ({key!r}), but keys must be str or numbers")
        try:
            encoded[key] = _encode(item)
        except _Unsupported as error:
            error.path = f"[{key!r}]{error.path}"
            raise
    return encoded


def _encode_scalar(value: Any) -> dict[str, Any] | None:
    """Encode a non-container value, or return ``None`` when ``value`` is not one."""
    if value is None:
        return _envelope(TypeTag.NONE, None)
    if isinstance(value, str):
        return _envelope(TypeTag.STR, value)
    if isinstance(value, bool):  # before int: bool is an int
        return _envelope(TypeTag.BOOL, value)
    if isinstance(value, int):
        return _envelope(TypeTag.INT, value)
    if isinstance(value, float):
        return _envelope(TypeTag.FLOAT, value)
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return _envelope(TypeTag.BYTES, base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(value, UUID):
        return _envelope(TypeTag.UUID, str(value))
    if isinstance(value, Decimal):
        return _envelope(TypeTag.DECIMAL, str(value))
    if isinstance(value, datetime):  # before date: datetime is a date
        return _envelope(TypeTag.DATETIME, value.isoformat())
    if isinstance(value, date):
        return _envelope(TypeTag.DATE, value.isoformat())
    return None


def _encode(value: Any) -> dict[str, Any]:
    """Encode ``value`` as a JSON-ready envelope tree."""
    scalar = _encode_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, BatchResult):
        return _envelope(TypeTag.BATCH_RESULT, _encode_dict(value.to_dict()))
    if isinstance(value, list):
        return _envelope(TypeTag.LIST, _encode_items(value, int))
    if isinstance(value, tuple):
        return _envelope(TypeTag.TUPLE, _encode_items(value, int))
    if isinstance(value, dict):
        return _envelope(TypeTag.DICT, _encode_dict(value))
    raise _Unsupported(f"type {type(value).__name__}, which the default serdes does not support")


def _decode_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise SerDesError(f"Malformed envelope: expected a JSON array, got {type(value).__name__}")
    return [_unwrap(item) for item in value]


def _decode_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SerDesError(f"Malformed envelope: expected a JSON object, got {type(value).__name__}")
    return {key: _unwrap(item) for key, item in value.items()}


def _decode_datetime(value: str) -> datetime:
    # Other producers may write UTC as a trailing "Z".
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


def _decode_bytes(value: str) -> bytes:
    import base64

    return base64.b64decode(value.encode("ascii"))


_DECODERS: dict[str, Any] = {
    TypeTag.NONE: lambda _value: None,
    TypeTag.STR: str,
    TypeTag.INT: int,
    TypeTag.FLOAT: float,
    TypeTag.BOOL: bool,
    TypeTag.BYTES: _decode_bytes,
    TypeTag.UUID: UUID,
    TypeTag.DECIMAL: Decimal,
    TypeTag.DATETIME: _decode_datetime,
    TypeTag.DATE: date.fromisoformat,
    TypeTag.TUPLE: lambda value: tuple(_decode_list(value)),
    TypeTag.LIST: _decode_list,
    TypeTag.DICT: _decode_dict,
    TypeTag.BATCH_RESULT: lambda value: BatchResult.from_dict(_decode_dict(value)),
}


def _decode(tag: Any, value: Any) -> Any:
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        raise SerDesError(f'Unknown type tag: "{tag}"')
    return decoder(value)


def _unwrap(item: Any) -> Any:
    # Bare JSON values inside containers are accepted as they are, as the official decoder does.
    if isinstance(item, dict) and TYPE_TOKEN in item and VALUE_TOKEN in item:
        return _decode(item[TYPE_TOKEN], item[VALUE_TOKEN])
    return item


class ExtendedTypeSerDes(SerDes[T]):
    """The default serdes: JSON extended with type tags, in the official SDK's wire format (see above)."""

    def serialize(self, value: Any, context: SerDesContext | None = None) -> str:
        """Encode ``value``; raises :class:`SerDesError` naming the part that cannot be encoded."""
        if SerDes.is_primitive(value):
            return json.dumps(value, separators=_COMPACT)
        try:
            tree = _encode(value)
        except _Unsupported as error:
            where = f"the value at {error.path}" if error.path else "the value"
            operation = f" of operation {context.operation_id}" if context else ""
            raise SerDesError(
                f"Cannot serialize the result{operation}: {where} has {error.reason}. Supported are None, "
                "str, int, float, bool, bytes, UUID, Decimal, datetime, date, and list/tuple/dict of those; "
                f"convert it (e.g. dataclasses.asdict) or {_SERDES_FIX}"
            ) from None
        return json.dumps(tree, separators=_COMPACT)

    def deserialize(self, data: str, context: SerDesContext | None = None) -> Any:
        """Decode a string made by :meth:`serialize` (or by the official SDK's default serdes)."""
        obj = json.loads(data)
        if SerDes.is_primitive(obj):
            return obj
        try:
            if not (isinstance(obj, dict) and TYPE_TOKEN in obj and VALUE_TOKEN in obj):
                raise SerDesError('Malformed envelope: missing "t" or "v" at root.')
            return _decode(obj[TYPE_TOKEN], obj[VALUE_TOKEN])
        except SerDesError as error:
            operation = f" of operation {context.operation_id}" if context else ""
            raise SerDesError(
                f"Cannot deserialize the recorded value{operation}: {error}. It was not written by the "
                "default serdes; use the serdes that wrote it, e.g. StepConfig(serdes=...)"
            ) from None


DEFAULT_JSON_SERDES: SerDes[Any] = JsonSerDes()
EXTENDED_TYPES_SERDES: SerDes[Any] = ExtendedTypeSerDes()
PASS_THROUGH_SERDES: SerDes[Any] = PassThroughSerDes()


def serialize(serdes: SerDes[T] | None, value: T, operation_id: str, durable_execution_arn: str) -> str | None:
    """Serialize an operation's value with ``serdes``, or with the default extended serdes if that is None.

    A ``None`` value is serialized like any other (``'null'`` by default); the result is ``None`` only when a
    custom serdes returns ``None``.

    Raises:
        SerDesError: The value cannot be serialized; the message names the operation and the fix.
        RetryableSerDesError: The serdes reported a transient failure; passed through unchanged.
    """
    active: SerDes[Any] = serdes if serdes is not None else EXTENDED_TYPES_SERDES
    try:
        return active.serialize(value, SerDesContext(operation_id, durable_execution_arn))
    except (SerDesError, RetryableSerDesError):
        raise
    except Exception as error:
        raise SerDesError(
            f"Serialization failed for operation {operation_id}: {type(error).__name__}: {error}. "
            f"Fix the serdes {type(active).__name__} or {_SERDES_FIX}"
        ) from error


@overload
def deserialize(serdes: None, data: str | None, operation_id: str, durable_execution_arn: str) -> Any: ...


@overload
def deserialize(serdes: SerDes[T], data: str | None, operation_id: str, durable_execution_arn: str) -> T: ...


@overload
def deserialize(serdes: SerDes[T] | None, data: str | None, operation_id: str, durable_execution_arn: str) -> Any: ...


def deserialize(serdes: SerDes[T] | None, data: str | None, operation_id: str, durable_execution_arn: str) -> Any:
    """Deserialize an operation's recorded value with ``serdes``, or with the default extended serdes.

    ``data`` of ``None`` (nothing recorded) gives ``None`` without calling the serdes, as every official
    operation does before deserializing.

    Raises:
        SerDesError: The data cannot be deserialized; the message names the operation.
        RetryableSerDesError: The serdes reported a transient failure; passed through unchanged.
    """
    if data is None:
        return None
    active: SerDes[Any] = serdes if serdes is not None else EXTENDED_TYPES_SERDES
    try:
        return active.deserialize(data, SerDesContext(operation_id, durable_execution_arn))
    except (SerDesError, RetryableSerDesError):
        raise
    except Exception as error:
        raise SerDesError(
            f"Deserialization failed for operation {operation_id}: {type(error).__name__}: {error}. "
            f"Check that {type(active).__name__} is the serdes that wrote the recorded value"
        ) from error
