"""A leaner path through moto for the requests the engine makes most: same answers, a fraction of the CPU.

The local runner keeps moto behind every production call (botocore still builds, validates and parses each
request), but moto's generic machinery costs far more than the work itself: its model-driven response
serializer walks the service model for every attribute of every item (about 0.25 ms per journal item of a
Query), and it re-lists a handler's methods with `inspect` on every request. Both are pure functions of their
inputs, so they are replaced here by equivalents:

- DynamoDB item operations (Query, GetItem, PutItem, UpdateItem, ...) answer with their result encoded by
  `json.dumps`. moto's DynamoDB results are already in the wire shape (attribute values as ``{"S": ...}``);
  only bytes (base64) and datetimes (epoch seconds) need the protocol's encoding. Anything else (an error, a
  type json cannot encode) falls back to moto's own serializer. `tests/runtime/testing/test_moto_speedups.py`
  checks that botocore parses both to the same response.
- DynamoDB Streams' GetRecords (the journal stream the outbox relay reads) is encoded the same way.
- A handler class's method names are listed once per class.

`install()` is idempotent and process-wide; moto's behaviour for other services is untouched.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import functools
import json
import threading
from collections.abc import Callable
from typing import Any

# Operations whose results moto builds from items: the engine's journal reads and writes.
_ITEM_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)
_install_lock = threading.Lock()
_installed = False
# Tests turn the lean DynamoDB encoding off to compare it with moto's own.
lean_encoding = True


def install() -> None:
    """Put the lean paths in place (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _install_dynamodb_encoder()
        _install_method_name_cache()
        _installed = True


def _wire_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        # Epoch seconds truncated to milliseconds, as the protocol (and moto) has them; naive means UTC here.
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        seconds = calendar.timegm(aware.utctimetuple())
        return seconds + (value.microsecond // 1000) / 1000 if value.microsecond else seconds
    raise TypeError(type(value).__name__)


def _lean_execute_result(model_serialized: Callable[[Any, Any], Any], operations: frozenset[str]) -> Any:
    """An `execute_result` that JSON-encodes the result of `operations`, and leaves the rest to moto."""

    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        transformed = getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
        if not lean_encoding or transformed or operation.name not in operations:
            return model_serialized(self, context)
        try:
            body = json.dumps(self.result, default=_wire_value, separators=(",", ":"))
        except (TypeError, ValueError):
            return model_serialized(self, context)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        status = operation.http.get("responseCode", 200)
        return status, {"Content-Type": f"application/x-amz-json-{version}"}, body

    return execute_result


def _install_dynamodb_encoder() -> None:
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    DynamoResult.execute_result = _lean_execute_result(  # type: ignore[method-assign]
        DynamoResult.execute_result, _ITEM_OPERATIONS
    )

    class StreamRecordsResult(ActionResult):
        execute_result = _lean_execute_result(ActionResult.execute_result, frozenset({"GetRecords"}))

    read_records = DynamoDBStreamsHandler.get_records

    def get_records(self: Any) -> ActionResult:
        return StreamRecordsResult(read_records(self).result)

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign]


def _install_method_name_cache() -> None:
    import moto.core.responses as responses
    import moto.core.utils as utils

    listed = utils.method_names_from_class

    @functools.cache
    def method_names_from_class(cls: type) -> list[str]:
        return listed(cls)

    def cached(cls: type) -> list[str]:
        return list(method_names_from_class(cls))

    for module in (utils, responses):
        if getattr(module, "method_names_from_class", None) is listed:
            module.method_names_from_class = cached  # type: ignore[attr-defined]
