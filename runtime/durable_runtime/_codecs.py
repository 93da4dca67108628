"""The codecs behind the default serdes: one per family of types, and `TypeCodec` choosing between them.

Each codec turns a value into an :class:`EncodedValue` (a type tag and a JSON-ready value) and back. Containers
hold their items as envelope dicts ``{"t": tag, "v": value}``, so an encoded value is ready for ``json.dumps``
as it is. `serdes.ExtendedTypeSerDes` is the user-facing side; these classes carry the official SDK's codec
names for code that composes codecs itself (see the wire format in `serdes`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from durable_runtime.concurrency.models import BatchResult
from durable_runtime.exceptions import DurableExecutionsError, SerDesError

TYPE_TOKEN = "t"
VALUE_TOKEN = "v"


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
class EncodedValue:
    """A value in the envelope format: its type tag and its JSON-ready encoding."""

    tag: TypeTag
    value: Any

    def envelope(self) -> dict[str, Any]:
        """The ``{"t": tag, "v": value}`` dict this value is written as."""
        return {TYPE_TOKEN: self.tag.value, VALUE_TOKEN: self.value}


class UnsupportedValueError(SerDesError):
    """A value the envelope format cannot hold; `path` (``[0]['key']``) grows as it climbs out of containers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = ""


class Codec(Protocol):
    """Encodes the values of some types, and decodes their tags."""

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` as a tag and a JSON-ready value."""
        ...

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The value `tag` and `value` encode."""
        ...


def _expect(tags: tuple[TypeTag, ...], tag: TypeTag, codec: str) -> None:
    if tag not in tags:
        raise SerDesError(f'{codec} cannot decode the type tag "{tag}"')


class PrimitiveCodec:
    """None, str, bool, int and float."""

    _TAGS = (TypeTag.NONE, TypeTag.STR, TypeTag.BOOL, TypeTag.INT, TypeTag.FLOAT)

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` under its primitive tag."""
        if obj is None:
            return EncodedValue(TypeTag.NONE, None)
        if isinstance(obj, str):
            return EncodedValue(TypeTag.STR, obj)
        if isinstance(obj, bool):  # before int: bool is an int
            return EncodedValue(TypeTag.BOOL, obj)
        if isinstance(obj, int):
            return EncodedValue(TypeTag.INT, obj)
        if isinstance(obj, float):
            return EncodedValue(TypeTag.FLOAT, obj)
        raise UnsupportedValueError(f"type {type(obj).__name__}, which is not a primitive")

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The primitive `value` holds."""
        _expect(self._TAGS, tag, "PrimitiveCodec")
        return None if tag == TypeTag.NONE else _PRIMITIVE_TYPES[tag](value)


_PRIMITIVE_TYPES: dict[str, Any] = {TypeTag.STR: str, TypeTag.BOOL: bool, TypeTag.INT: int, TypeTag.FLOAT: float}


class BytesCodec:
    """bytes, bytearray and memoryview, as base64 text; decoded as bytes."""

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` as base64 text."""
        return EncodedValue(TypeTag.BYTES, base64.b64encode(bytes(obj)).decode("ascii"))

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The bytes the base64 text `value` holds."""
        _expect((TypeTag.BYTES,), tag, "BytesCodec")
        return base64.b64decode(value.encode("ascii"))


class UuidCodec:
    """UUIDs, as their canonical text."""

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` as text."""
        return EncodedValue(TypeTag.UUID, str(obj))

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The UUID `value` spells."""
        _expect((TypeTag.UUID,), tag, "UuidCodec")
        return UUID(value)


class DecimalCodec:
    """Decimals, as their exact text (no float rounding)."""

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` as text."""
        return EncodedValue(TypeTag.DECIMAL, str(obj))

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The Decimal `value` spells."""
        _expect((TypeTag.DECIMAL,), tag, "DecimalCodec")
        return Decimal(value)


class DateTimeCodec:
    """datetimes and dates, as ISO 8601 text."""

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` in ISO 8601."""
        tag = TypeTag.DATETIME if isinstance(obj, datetime) else TypeTag.DATE  # datetime is a date
        return EncodedValue(tag, obj.isoformat())

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The datetime or date `value` spells; a trailing ``Z`` (other producers write it) is UTC."""
        _expect((TypeTag.DATETIME, TypeTag.DATE), tag, "DateTimeCodec")
        if tag == TypeTag.DATE:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


class ContainerCodec(Codec):
    """Lists, tuples, dicts and BatchResults; their items go through the dispatcher (a `TypeCodec`)."""

    def __init__(self) -> None:
        self._dispatcher: Codec | None = None

    def set_dispatcher(self, dispatcher: Codec) -> None:
        """Use `dispatcher` for the items."""
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> Codec:
        """The codec items go through; raises until `set_dispatcher` was called."""
        if self._dispatcher is None:
            raise DurableExecutionsError("ContainerCodec has no dispatcher: call set_dispatcher(TypeCodec()) first")
        return self._dispatcher

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` with each item encoded as an envelope."""
        if isinstance(obj, BatchResult):
            return EncodedValue(TypeTag.BATCH_RESULT, self._encode_dict(obj.to_dict()))
        if isinstance(obj, list | tuple):
            return EncodedValue(TypeTag.LIST if isinstance(obj, list) else TypeTag.TUPLE, self._encode_items(obj))
        if isinstance(obj, dict):
            return EncodedValue(TypeTag.DICT, self._encode_dict(obj))
        raise UnsupportedValueError(f"type {type(obj).__name__}, which is not a container")

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The container `value` holds, each item decoded."""
        if tag in (TypeTag.LIST, TypeTag.TUPLE):
            if not isinstance(value, list):
                raise SerDesError(f"Malformed envelope: expected a JSON array, got {type(value).__name__}")
            items = [self._decode_item(item) for item in value]
            return items if tag == TypeTag.LIST else tuple(items)
        if tag in (TypeTag.DICT, TypeTag.BATCH_RESULT):
            if not isinstance(value, dict):
                raise SerDesError(f"Malformed envelope: expected a JSON object, got {type(value).__name__}")
            decoded = {key: self._decode_item(item) for key, item in value.items()}
            return decoded if tag == TypeTag.DICT else BatchResult.from_dict(decoded)
        raise SerDesError(f'ContainerCodec cannot decode the type tag "{tag}"')

    def _encode_items(self, items: list[Any] | tuple[Any, ...]) -> list[Any]:
        encoded = []
        for position, item in enumerate(items):
            try:
                encoded.append(self.dispatcher.encode(item).envelope())
            except UnsupportedValueError as error:
                error.path = f"[{position}]{error.path}"
                raise
        return encoded

    def _encode_dict(self, mapping: dict[Any, Any]) -> dict[Any, Any]:
        # Non-str keys are kept: json.dumps turns them into strings exactly as the official encoder lets it.
        encoded: dict[Any, Any] = {}
        for key, item in mapping.items():
            if key is not None and not isinstance(key, str | int | float | bool):
                raise UnsupportedValueError(
                    f"a dict key of type {type(key).__name__} ({key!r}), but keys must be str or numbers"
                )
            try:
                encoded[key] = self.dispatcher.encode(item).envelope()
            except UnsupportedValueError as error:
                error.path = f"[{key!r}]{error.path}"
                raise
        return encoded

    def _decode_item(self, item: Any) -> Any:
        # Bare JSON values inside containers are accepted as they are, as the official decoder does.
        if isinstance(item, EncodedValue):
            return self.dispatcher.decode(item.tag, item.value)
        if isinstance(item, dict) and TYPE_TOKEN in item and VALUE_TOKEN in item:
            return self.dispatcher.decode(item[TYPE_TOKEN], item[VALUE_TOKEN])
        return item


class TypeCodec(Codec):
    """Chooses the codec for a value by its type, and for an encoded value by its tag."""

    def __init__(self) -> None:
        self.primitive_codec = PrimitiveCodec()
        self.bytes_codec = BytesCodec()
        self.uuid_codec = UuidCodec()
        self.decimal_codec = DecimalCodec()
        self.datetime_codec = DateTimeCodec()
        self.container_codec = ContainerCodec()
        self.container_codec.set_dispatcher(self)
        self._by_tag: dict[str, Codec] = {tag: self.primitive_codec for tag in PrimitiveCodec._TAGS}
        self._by_tag.update({TypeTag.BYTES: self.bytes_codec, TypeTag.UUID: self.uuid_codec})
        self._by_tag.update({TypeTag.DECIMAL: self.decimal_codec})
        self._by_tag.update(dict.fromkeys((TypeTag.DATETIME, TypeTag.DATE), self.datetime_codec))
        containers = (TypeTag.LIST, TypeTag.TUPLE, TypeTag.DICT, TypeTag.BATCH_RESULT)
        self._by_tag.update(dict.fromkeys(containers, self.container_codec))

    def encode(self, obj: Any) -> EncodedValue:
        """`obj` encoded by the codec for its type; raises `UnsupportedValueError` for any other type."""
        if obj is None or isinstance(obj, str | int | float):  # bool is an int
            return self.primitive_codec.encode(obj)
        if isinstance(obj, list | tuple | dict | BatchResult):
            return self.container_codec.encode(obj)
        if isinstance(obj, bytes | bytearray | memoryview):
            return self.bytes_codec.encode(obj)
        if isinstance(obj, UUID):
            return self.uuid_codec.encode(obj)
        if isinstance(obj, Decimal):
            return self.decimal_codec.encode(obj)
        if isinstance(obj, date):  # datetime is a date
            return self.datetime_codec.encode(obj)
        raise UnsupportedValueError(f"type {type(obj).__name__}, which the default serdes does not support")

    def decode(self, tag: TypeTag, value: Any) -> Any:
        """The value `tag` and `value` encode; raises `SerDesError` for an unknown tag."""
        codec = self._by_tag.get(tag) if isinstance(tag, str) else None
        if codec is None:
            raise SerDesError(f'Unknown type tag: "{tag}"')
        return codec.decode(tag, value)


TYPE_CODEC = TypeCodec()
