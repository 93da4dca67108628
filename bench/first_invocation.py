"""First invocation on a cold start: import the SDK, then run a handler's first invocation, in a fresh process.

`python first_invocation.py ours|official` prints the milliseconds from before the SDK's import to the return of
the first invocation of a one-step handler, with boto3 already imported (Lambda's Python runtimes ship it, and
both SDKs need it). Each SDK is invoked the way Lambda invokes it: ours with the user's event (a direct start),
the official one with the managed service's invocation payload. AWS answers: for the official SDK, a canned
responder at botocore's HTTP layer (its checkpoints need no state); for ours, moto, started before the clock (its
journal needs a real table), so our figure includes moto's own time per request (about 1 ms each) and
overstates what Lambda would spend.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

ACCOUNT_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:bench"
EXECUTION_ARN = f"{ACCOUNT_FUNCTION}:1/durable-execution/bench-run/0123456789abcdef0123456789abcdef"


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


def _answer(request: Any) -> dict[str, Any]:
    # The official SDK's only calls here are checkpoints (and a state read it does not need on a first call).
    if "/checkpoint" in request.url:
        return {"CheckpointToken": "token-2", "NewExecutionState": {"Operations": []}}
    return {"Operations": []}


def _send(self: Any, request: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    content = json.dumps(_answer(request)).encode()
    headers = {"x-amzn-requestid": "req-1", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, 200, headers, _Body(content))  # type: ignore[arg-type]


class _Context:
    aws_request_id = "4a1b2c3d-0000-4000-8000-000000000001"
    invoked_function_arn = f"{ACCOUNT_FUNCTION}:1"
    function_name = "bench"
    function_version = "1"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def _prepare_ours() -> None:
    """moto with the journal table and timer queue the function's environment names (not timed)."""
    import boto3
    from moto import mock_aws

    mock_aws().start()
    session = boto3.session.Session()
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName="journal",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = session.client("sqs").create_queue(QueueName="timers")["QueueUrl"]
    os.environ.update(
        {
            "DURABLE_JOURNAL_TABLE": "journal",
            "DURABLE_PAYLOAD_BUCKET": "payloads",
            "DURABLE_TIMER_QUEUE_URL": queue,
            "DURABLE_TIMER_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:timers",
        }
    )


def _prepare_official() -> None:
    """boto3 imported and the canned responder in place (not timed)."""
    import boto3  # noqa: F401
    from botocore.endpoint import Endpoint

    Endpoint._send = _send  # type: ignore[method-assign]


def _ours() -> Any:
    from durable_runtime import durable_execution

    @durable_execution
    def handler(event: Any, ctx: Any) -> Any:
        return ctx.step(lambda _: event["n"] + 1, name="add")

    return handler({"n": 1}, _Context())


def _official() -> Any:
    from aws_durable_execution_sdk_python import durable_execution

    @durable_execution
    def handler(event: Any, ctx: Any) -> Any:
        return ctx.step(lambda _: event["n"] + 1, name="add")

    now_ms = int(time.time() * 1000)
    execution = {
        "Id": EXECUTION_ARN.rsplit("/", 1)[-1],
        "Type": "EXECUTION",
        "Status": "STARTED",
        "StartTimestamp": now_ms,
        "ExecutionDetails": {"InputPayload": json.dumps({"n": 1})},
    }
    event = {
        "DurableExecutionArn": EXECUTION_ARN,
        "CheckpointToken": "token-1",
        "InitialExecutionState": {"Operations": [execution], "NextMarker": ""},
    }
    return handler(event, _Context())


if __name__ == "__main__":
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    ours = sys.argv[1] == "ours"
    _prepare_ours() if ours else _prepare_official()
    started = time.perf_counter()
    response = _ours() if ours else _official()
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(json.dumps({"ms": elapsed_ms, "response": response}, default=str))
