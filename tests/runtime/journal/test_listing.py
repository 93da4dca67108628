"""Listing a function's executions: one ordered, paged sequence over the listing index's shards."""

from __future__ import annotations

from typing import Any

import pytest

from durable_runtime import contract
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _idle(event: dict, ctx) -> str:
    return "done"


def _pages(runner: DurableFunctionTestRunner, **options: Any) -> tuple[list[str], int]:
    names, marker, pages = [], None, 0
    while True:
        page = runner.client.list_durable_executions_by_function(
            FunctionName="test-function", MaxItems=4, **({"Marker": marker} if marker else {}), **options
        )
        names += [execution["DurableExecutionName"] for execution in page["DurableExecutions"]]
        pages += 1
        marker = page.get("NextMarker")
        if not marker:
            return names, pages


@pytest.mark.parametrize("reverse", [False, True])
def test_pages_through_every_shard_in_start_order(reverse: bool) -> None:
    with DurableFunctionTestRunner(_idle) as runner:
        started = []
        for index in range(23):
            runner.clock.advance(1)
            started.append(f"run-{index:02d}")
            runner.client.start_execution("test-function", "{}", started[-1])
        names, pages = _pages(runner, ReverseOrder=reverse)
        shards = {
            item[contract.LIST_INDEX_PARTITION_KEY]["S"]
            for item in runner.scan_table()
            if contract.LIST_INDEX_PARTITION_KEY in item
        }

    assert names == (started[::-1] if reverse else started)
    assert pages == 6
    assert len(shards) > 1  # the executions really are spread over several index partitions


def test_index_holds_only_what_a_listing_shows() -> None:
    with DurableFunctionTestRunner(_idle) as runner:
        runner.run(input="{}")
        items = runner._aws["dynamodb"].scan(TableName="durable-journal", IndexName=contract.LIST_INDEX_NAME)["Items"]

    keys = {contract.PARTITION_KEY, contract.SORT_KEY, contract.LIST_INDEX_PARTITION_KEY, contract.LIST_INDEX_SORT_KEY}
    assert items and all(set(item) <= keys | set(contract.LIST_INDEX_PROJECTED_ATTRIBUTES) for item in items)
