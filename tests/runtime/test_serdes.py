"""Behaviour of the serdes module: the official wire format, round trips and error reporting."""

from __future__ import annotations

import datetime
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_runtime.concurrency.models import BatchItem, BatchResult, CompletionReason
from durable_runtime.config import BatchItemStatus
from durable_runtime.exceptions import DurableExecutionsError, ErrorObject, RetryableSerDesError, SerDesError
from durable_runtime.serdes import (
    DEFAULT_JSON_SERDES,
    EXTENDED_TYPES_SERDES,
    PASS_THROUGH_SERDES,
    ExtendedTypeSerDes,
    JsonSerDes,
    SerDes,
    SerDesContext,
    deserialize,
    serialize,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/run-1/abc"

# Wire strings produced once by hand with aws-durable-execution-sdk-python 3.0.0's default serdes
# (serdes.serialize(None, value, ...)); journals written by the managed service contain exactly these.
OFFICIAL_WIRE = [
    ("abc", '"abc"'),
    (42, "42"),
    (1.5, "1.5"),
    (True, "true"),
    (None, "null"),
    ("é☃", '"\\u00e9\\u2603"'),
    ([1, "a", None], '[1,"a",null]'),
    ([], "[]"),
    ({"status": "approved"}, '{"t":"m","v":{"status":{"t":"s","v":"approved"}}}'),
    ({}, '{"t":"m","v":{}}'),
    ([1, {"a": 1}], '{"t":"l","v":[{"t":"i","v":1},{"t":"m","v":{"a":{"t":"i","v":1}}}]}'),
    ((1, 2), '{"t":"t","v":[{"t":"i","v":1},{"t":"i","v":2}]}'),
    (
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        '{"t":"dt","v":"2024-01-02T03:04:05+00:00"}',
    ),
    (datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), '{"t":"dt","v":"2024-01-02T03:04:05.123456"}'),
    (datetime.date(2024, 1, 2), '{"t":"D","v":"2024-01-02"}'),
    (Decimal("1.10"), '{"t":"d","v":"1.10"}'),
    (
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        '{"t":"u","v":"12345678-1234-5678-1234-567812345678"}',
    ),
    (b"\x00\xffhi", '{"t":"B","v":"AP9oaQ=="}'),
    (
        {"k": [1, (2, 3)], "n": None},
        '{"t":"m","v":{"k":{"t":"l","v":[{"t":"i","v":1},{"t":"t","v":[{"t":"i","v":2},{"t":"i","v":3}]}]},'
        '"n":{"t":"n","v":null}}}',
    ),
]

OFFICIAL_BATCH_RESULT_WIRE = (
    '{"t":"br","v":{"all":{"t":"l","v":[{"t":"m","v":{"index":{"t":"i","v":0},"status":{"t":"s","v":"SUCCEEDED"},'
    '"result":{"t":"s","v":"x"},"error":{"t":"n","v":null}}},{"t":"m","v":{"index":{"t":"i","v":1},"status":'
    '{"t":"s","v":"FAILED"},"result":{"t":"n","v":null},"error":{"t":"m","v":{"ErrorMessage":{"t":"s","v":"boom"},'
    '"ErrorType":{"t":"s","v":"ValueError"},"StackTrace":{"t":"l","v":[{"t":"s","v":"l1"}]}}}}}]},'
    '"completionReason":{"t":"s","v":"ALL_COMPLETED"}}}'
)


def _official_batch_result() -> BatchResult[str]:
    return BatchResult(
        [
            BatchItem(0, BatchItemStatus.SUCCEEDED, "x"),
            BatchItem(1, BatchItemStatus.FAILED, None, ErrorObject("boom", "ValueError", None, ["l1"])),
        ],
        CompletionReason.ALL_COMPLETED,
    )


@pytest.mark.parametrize(("value", "wire"), OFFICIAL_WIRE, ids=[w for _, w in OFFICIAL_WIRE])
def test_extended_serdes_writes_official_wire_format(value: Any, wire: str) -> None:
    assert serialize(None, value, "op-1", ARN) == wire


@pytest.mark.parametrize(("value", "wire"), OFFICIAL_WIRE, ids=[w for _, w in OFFICIAL_WIRE])
def test_extended_serdes_reads_official_wire_format(value: Any, wire: str) -> None:
    decoded = deserialize(None, wire, "op-1", ARN)
    assert decoded == value
    assert type(decoded) is type(value)


def test_extended_serdes_round_trips_datetime_in_official_wire_format() -> None:
    moment = datetime.datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    wire = serialize(None, moment, "op-1", ARN)
    assert wire == '{"t":"dt","v":"2025-03-04T05:06:07.000890+02:00"}'
    assert deserialize(None, wire, "op-1", ARN) == moment


def test_extended_serdes_accepts_utc_written_as_z() -> None:
    decoded = deserialize(None, '{"t":"dt","v":"2024-01-02T03:04:05Z"}', "op-1", ARN)
    assert decoded == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def test_batch_result_uses_official_wire_format() -> None:
    assert serialize(None, _official_batch_result(), "op-1", ARN) == OFFICIAL_BATCH_RESULT_WIRE
    assert deserialize(None, OFFICIAL_BATCH_RESULT_WIRE, "op-1", ARN) == _official_batch_result()


def test_nan_and_infinity_are_written_like_official() -> None:
    assert serialize(None, float("inf"), "op-1", ARN) == "Infinity"
    assert math.isnan(deserialize(None, serialize(None, float("nan"), "op-1", ARN), "op-1", ARN))


def test_non_string_dict_keys_become_strings_like_json() -> None:
    wire = serialize(None, {1: "a"}, "op-1", ARN)
    assert wire == '{"t":"m","v":{"1":{"t":"s","v":"a"}}}'
    assert deserialize(None, wire, "op-1", ARN) == {"1": "a"}


def test_bytearray_and_memoryview_come_back_as_bytes() -> None:
    for value in (bytearray(b"ab"), memoryview(b"ab")):
        assert deserialize(None, serialize(None, value, "op-1", ARN), "op-1", ARN) == b"ab"


def test_bare_values_inside_containers_are_accepted() -> None:
    assert deserialize(None, '{"t":"l","v":[1,"x",{"t":"i","v":2}]}', "op-1", ARN) == [1, "x", 2]


_keys = st.text(max_size=8)
# The wire keeps the UTC offset, not the zone name, so only fixed-offset zones come back identical.
_fixed_offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: datetime.timezone(datetime.timedelta(minutes=m)))
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.uuids()
    | st.decimals(allow_nan=False)
    # fold is not part of ISO 8601, so it is lost on the wire (in the official format too).
    | st.datetimes(timezones=st.none() | _fixed_offsets).map(lambda moment: moment.replace(fold=0))
    | st.dates()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@given(_values)
def test_extended_serdes_round_trips_supported_values(value: Any) -> None:
    wire = serialize(None, value, "op-1", ARN)
    assert wire is not None
    decoded = deserialize(None, wire, "op-1", ARN)
    assert decoded == value
    # Equal is not enough: 1 == 1.0 == True and a tuple must not come back as a list.
    assert repr(decoded) == repr(value)


@given(_values)
def test_serializing_is_deterministic(value: Any) -> None:
    assert serialize(None, value, "a", ARN) == serialize(None, value, "b", ARN)


def test_unsupported_value_names_operation_path_and_fix() -> None:
    with pytest.raises(SerDesError) as caught:
        serialize(None, {"order": {"tags": [1, {2, 3}]}}, "op-7", ARN)
    message = str(caught.value)
    assert "op-7" in message
    assert "['order']['tags'][1]" in message
    assert "set" in message
    assert "StepConfig(serdes=...)" in message


def test_unsupported_object_suggests_converting_it() -> None:
    class Order:
        pass

    with pytest.raises(
        SerDesError, match=r"has type Order, which the default serdes does not support.*dataclasses\.asdict"
    ):
        serialize(None, Order(), "op-7", ARN)


def test_tuple_dict_keys_are_rejected() -> None:
    with pytest.raises(SerDesError, match=r"has a dict key of type tuple \(\(1, 2\)\)"):
        serialize(None, {(1, 2): "x"}, "op-7", ARN)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ('{"x":1}', 'missing "t" or "v"'),
        ('{"t":"zz","v":1}', 'Unknown type tag: "zz"'),
        ('{"t":"l","v":{"a":1}}', "expected a JSON array"),
        ("not json", "op-3"),
    ],
)
def test_undecodable_data_raises_serdes_error_naming_operation(data: str, fragment: str) -> None:
    with pytest.raises(SerDesError) as caught:
        deserialize(None, data, "op-3", ARN)
    assert fragment in str(caught.value)
    assert "op-3" in str(caught.value)


def test_deserializing_nothing_recorded_gives_none_without_calling_serdes() -> None:
    class Exploding(SerDes[Any]):
        def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
            raise AssertionError("not called")

        def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
            raise AssertionError("not called")

    assert deserialize(Exploding(), None, "op-1", ARN) is None
    assert deserialize(None, None, "op-1", ARN) is None


def test_none_value_is_recorded_as_json_null() -> None:
    assert serialize(None, None, "op-1", ARN) == "null"
    assert deserialize(None, "null", "op-1", ARN) is None


def test_custom_serdes_receives_operation_context() -> None:
    seen: list[SerDesContext] = []

    class Upper(SerDes[str]):
        def serialize(self, value: str, serdes_context: SerDesContext) -> str:
            seen.append(serdes_context)
            return value.upper()

        def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
            seen.append(serdes_context)
            return data.lower()

    assert serialize(Upper(), "abc", "op-9", ARN) == "ABC"
    assert deserialize(Upper(), "ABC", "op-9", ARN) == "abc"
    assert seen == [SerDesContext("op-9", ARN)] * 2


def test_failing_custom_serdes_is_wrapped_in_serdes_error_with_cause() -> None:
    class Broken(SerDes[Any]):
        def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
            raise ValueError("nope")

        def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
            raise KeyError("gone")

    with pytest.raises(SerDesError, match=r"op-4.*ValueError: nope.*Broken") as caught:
        serialize(Broken(), 1, "op-4", ARN)
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(SerDesError, match=r"Deserialization failed for operation op-4"):
        deserialize(Broken(), "1", "op-4", ARN)


def test_serdes_errors_from_custom_serdes_pass_through_unchanged() -> None:
    permanent = SerDesError("custom", data="payload")
    transient = RetryableSerDesError("try again")

    class Raising(SerDes[Any]):
        def __init__(self, error: Exception) -> None:
            self.error = error

        def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
            raise self.error

        def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
            raise self.error

    for error in (permanent, transient):
        with pytest.raises(type(error)) as caught:
            serialize(Raising(error), 1, "op-1", ARN)
        assert caught.value is error
        with pytest.raises(type(error)) as caught:
            deserialize(Raising(error), "1", "op-1", ARN)
        assert caught.value is error


def test_json_serdes_uses_default_separators() -> None:
    assert DEFAULT_JSON_SERDES.serialize({"status": "approved"}, SerDesContext()) == '{"status": "approved"}'
    assert JsonSerDes().deserialize('{"a": [1]}', SerDesContext()) == {"a": [1]}


def test_pass_through_serdes_returns_value_untouched() -> None:
    assert PASS_THROUGH_SERDES.serialize("raw text", SerDesContext()) == "raw text"
    assert PASS_THROUGH_SERDES.deserialize('{"x": 1}', SerDesContext()) == '{"x": 1}'


def test_default_serdes_is_the_extended_one() -> None:
    assert isinstance(EXTENDED_TYPES_SERDES, ExtendedTypeSerDes)
    assert ExtendedTypeSerDes().serialize(Decimal("2")) == '{"t":"d","v":"2"}'


def test_is_primitive_covers_only_json_scalars_and_their_lists() -> None:
    assert SerDes.is_primitive([1, ["a", [None, 2.5, True]]])
    assert not SerDes.is_primitive((1,))
    assert not SerDes.is_primitive([{"a": 1}])


def test_type_codec_encodes_each_family_with_its_codec_and_decodes_it_back() -> None:
    """Code composing the official codec classes gets the same tags and values the serdes writes."""
    from durable_runtime.serdes import TYPE_CODEC, EncodedValue, TypeTag

    order_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {"id": order_id, "total": Decimal("9.90"), "tags": ("a", b"\x00"), "at": datetime.date(2026, 1, 2)}
    encoded = TYPE_CODEC.encode(value)
    assert encoded.tag is TypeTag.DICT
    assert encoded.value["id"] == {"t": "u", "v": str(order_id)}
    assert encoded.value["tags"] == {"t": "t", "v": [{"t": "s", "v": "a"}, {"t": "B", "v": "AA=="}]}
    assert TYPE_CODEC.decode(encoded.tag, encoded.value) == value
    assert TYPE_CODEC.decode(TypeTag.LIST, [EncodedValue(TypeTag.INT, 1), 2]) == [1, 2]
    assert EXTENDED_TYPES_SERDES.serialize(value) == json.dumps(encoded.envelope(), separators=(",", ":"))


def test_codecs_refuse_what_they_do_not_hold() -> None:
    from durable_runtime.serdes import TYPE_CODEC, ContainerCodec, DecimalCodec, TypeTag

    with pytest.raises(SerDesError, match="object"):
        TYPE_CODEC.encode(object())
    with pytest.raises(SerDesError, match='"zz"'):
        TYPE_CODEC.decode("zz", 1)  # type: ignore[arg-type]
    with pytest.raises(SerDesError, match="DecimalCodec"):
        DecimalCodec().decode(TypeTag.STR, "x")
    with pytest.raises(DurableExecutionsError, match="set_dispatcher"):
        ContainerCodec().encode([1])
