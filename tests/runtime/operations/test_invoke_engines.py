"""context.invoke of a durable function on another engine: its executions live in that engine's journal."""

from __future__ import annotations

import json

from durable_runtime import contract
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.testing import DurableFunctionTestRunner
from durable_runtime.testing.resources import create_journal_table


@durable_execution
def _child(event: dict, ctx) -> str:
    return ctx.step(lambda _: "c" * event["size"], name="make")  # over 256 KB: kept in its engine's bucket


@durable_execution
def _parent(event: dict, ctx) -> int:
    return len(ctx.invoke("child", {"size": 300 * 1024}, name="call-child"))


def test_child_on_another_engine_is_recorded_and_collected_there() -> None:
    with DurableFunctionTestRunner(_parent, execution_timeout=3600) as runner:
        create_journal_table(runner._aws["dynamodb"], "other-journal")
        runner._aws["s3"].create_bucket(
            Bucket="other-payloads", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        other = {contract.ENV_JOURNAL_TABLE: "other-journal", contract.ENV_PAYLOAD_BUCKET: "other-payloads"}
        runner.register_durable_function("child", _child, environment=other)
        result = runner.run(input="{}")
        own = runner.scan_table()
        theirs = runner._aws["dynamodb"].scan(TableName="other-journal")["Items"]
        offloaded = runner._aws["s3"].list_objects_v2(Bucket="other-payloads").get("KeyCount", 0)

    assert result.status == InvocationStatus.SUCCEEDED and json.loads(result.result or "") == 300 * 1024
    assert not [item for item in own if ":function:child/" in item[contract.PARTITION_KEY]["S"]]
    assert [item for item in theirs if item[contract.SORT_KEY]["S"] == contract.RECORD_EXECUTION]
    assert offloaded >= 1
