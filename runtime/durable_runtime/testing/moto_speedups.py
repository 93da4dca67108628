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
- A table Query (no index, no legacy filter) reads its partition only: moto lists and sorts every item of the
  table on every page, with Python-level comparisons, which made re-reading a 50,000-operation journal page by
  page quadratic (minutes). The fast path sorts the one partition by its keys' plain values and pages through
  it with the same limits and LastEvaluatedKey, without copying items the response is only encoded from;
  anything else (an index, a legacy filter) goes to moto's own.

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
        _install_partition_query()
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


def _install_partition_query() -> None:
    from moto.dynamodb.models.table import Table

    Table.query = _partition_query(Table.query)  # type: ignore[method-assign]


def _partition_query(moto_query: Callable[..., Any]) -> Callable[..., Any]:
    """Table.query, answered from the queried partition alone when it is a plain table query."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        limit: int,
        exclusive_start_key: dict[str, Any] | None,
        scan_index_forward: bool,
        projection_expressions: Any,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: Any = None,
        range_key_conditions: Any = None,
        **filter_kwargs: Any,
    ) -> Any:
        partition = self.items.get(hash_key) if hash_key is not None else None
        if not lean_encoding or index_name or filter_kwargs or self.range_key_attr is None or partition is None:
            return moto_query(
                self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                projection_expressions, index_name, consistent_read, filter_expression, hash_key_conditions,
                range_key_conditions, **filter_kwargs,
            )  # fmt: skip
        candidates = sorted(partition.values(), key=lambda item: item.range_key.cast_value)
        if not scan_index_forward:
            candidates.reverse()
        if exclusive_start_key:
            start = DynamoType(exclusive_start_key[self.range_key_attr]).cast_value
            candidates = [
                item
                for item in candidates
                if (item.range_key.cast_value > start if scan_index_forward else item.range_key.cast_value < start)
            ]
        results: list[Any] = []
        size = 0
        last_evaluated_key = None
        for item in candidates:
            item_size = item.size()
            if len(results) == limit or size + item_size > RESULT_SIZE_LIMIT:
                last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
                break
            if range_comparison and not item.range_key.compare(range_comparison, range_objs):
                continue
            results.append(item)
            size += item_size
        scanned = len(results)
        # moto copies every item it returns; the response is encoded from them within this request, which changes
        # none of them (a projection builds new items), so the copies only cost time.
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expressions:
            results = [item.project(projection_expressions) for item in results]
        return results, scanned, last_evaluated_key

    return query
