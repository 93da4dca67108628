"""Listing a function's executions across the shards of the listing index, as one ordered, paged sequence."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import contract as c
from .dynamodb_items import listing_keys, seconds, summary_from_item
from .store import ExecutionPage

# Reads up to `limit` index items of one shard from an exclusive start key; returns them and whether more follow.
QueryShard = Callable[[str, dict[str, Any] | None, int], tuple[list[dict[str, Any]], bool]]

_INDEX_KEY = (c.PARTITION_KEY, c.SORT_KEY, c.LIST_INDEX_PARTITION_KEY, c.LIST_INDEX_SORT_KEY)


def _order(item: dict[str, Any]) -> tuple[float, str]:
    return seconds(item[c.LIST_INDEX_SORT_KEY]) or 0.0, item["arn"]["S"]


def merged_page(
    query_shard: QueryShard, function_arn: str, *, limit: int, marker: str | None, newest_first: bool
) -> ExecutionPage:
    """One page of the function's executions in start order, merged from every shard.

    The marker records, per shard, where the next page starts in it (shards read to their end drop out).
    """
    cursors: dict[str, Any] = json.loads(marker) if marker else dict.fromkeys(listing_keys(function_arn))
    fetched = {shard: query_shard(shard, start, limit) for shard, start in cursors.items()}
    candidates = [(item, shard) for shard, (items, _) in fetched.items() for item in items]
    candidates.sort(key=lambda pair: _order(pair[0]), reverse=newest_first)
    taken = candidates[:limit]
    consumed: dict[str, dict[str, Any]] = {}
    for item, shard in taken:
        consumed[shard] = item
    following: dict[str, Any] = {}
    for shard, (items, more) in fetched.items():
        last = consumed.get(shard)
        if last is None:
            if items:
                following[shard] = cursors[shard]  # nothing of it was used: start there again
        elif last is not items[-1] or more:
            following[shard] = {name: last[name] for name in _INDEX_KEY}
    page = [summary_from_item(item) for item, _ in taken]
    return ExecutionPage(page, json.dumps(following, sort_keys=True) if following else None)
