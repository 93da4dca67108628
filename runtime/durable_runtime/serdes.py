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
from typing import Any, Generic, TypeVar, overload

from durable_runtime._codecs import (
    TYPE_CODEC,
    TYPE_TOKEN,
    VALUE_TOKEN,
    BytesCodec,
    Codec,
    ContainerCodec,
    DateTimeCodec,
    DecimalCodec,
    EncodedValue,
    PrimitiveCodec,
    TypeCodec,
    TypeTag,
    UnsupportedValueError,
    UuidCodec,
)
from durable_runtime.concurrency.models import BatchResult
from durable_runtime.exceptions import DurableExecutionsError as DurableExecutionsError  # official re-export
from durable_runtime.exceptions import RetryableSerDesError, SerDesError

__all__ = [
    "TYPE_CODEC",
    "TYPE_TOKEN",
    "VALUE_TOKEN",
    "BatchResult",
    "BytesCodec",
    "Codec",
    "ContainerCodec",
    "DateTimeCodec",
    "DecimalCodec",
    "DurableExecutionsError",
    "EncodedValue",
    "ExtendedTypeSerDes",
    "JsonSerDes",
    "PassThroughSerDes",
    "PrimitiveCodec",
    "SerDes",
    "SerDesContext",
    "TypeCodec",
    "TypeTag",
    "UuidCodec",
    "deserialize",
    "serialize",
]

T = TypeVar("T")

_COMPACT = (",", ":")
_SERDES_FIX = "pass a custom serdes in the operation's config, e.g. StepConfig(serdes=...)"


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


class ExtendedTypeSerDes(SerDes[T]):
    """The default serdes: JSON extended with type tags, in the official SDK's wire format (see above)."""

    def serialize(self, value: Any, context: SerDesContext | None = None) -> str:
        """Encode ``value``; raises :class:`SerDesError` naming the part that cannot be encoded."""
        if SerDes.is_primitive(value):
            return json.dumps(value, separators=_COMPACT)
        try:
            tree = TYPE_CODEC.encode(value).envelope()
        except UnsupportedValueError as error:
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
            return TYPE_CODEC.decode(obj[TYPE_TOKEN], obj[VALUE_TOKEN])
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
