"""The managed service's invocation payload classes read and write its shape, for code that handles that payload."""

from __future__ import annotations

import datetime

import pytest

from durable_runtime.exceptions import CheckpointError, DurableApiErrorCategory
from durable_runtime.execution import (
    LAMBDA_RESPONSE_SIZE_LIMIT,
    DurableExecutionInvocationInput,
    DurableExecutionInvocationInputWithClient,
    InitialExecutionState,
    handle_checkpoint_error,
)
from durable_runtime.lambda_service import InvocationStatus, OperationStatus, OperationType

STARTED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PAYLOAD = {
    "DurableExecutionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/r/abc",
    "CheckpointToken": "token-1",
    "InitialExecutionState": {
        "Operations": [
            {
                "Id": "exec",
                "Type": "EXECUTION",
                "Status": "STARTED",
                "StartTimestamp": STARTED_MS,
                "ExecutionDetails": {"InputPayload": '{"order": 7}'},
            },
            {"Id": "w1", "Type": "WAIT", "Status": "STARTED", "WaitDetails": {"ScheduledEndTimestamp": STARTED_MS}},
        ],
        "NextMarker": "page-2",
    },
    "UpdatedOperationIds": ["w1"],
}


def test_invocation_payload_parses_and_writes_back_the_same_json() -> None:
    parsed = DurableExecutionInvocationInput.from_json_dict(PAYLOAD)
    execution, wait = parsed.initial_execution_state.operations
    assert execution.operation_type is OperationType.EXECUTION and execution.status is OperationStatus.STARTED
    assert execution.start_timestamp == datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert execution.execution_details is not None and execution.execution_details.input_payload == '{"order": 7}'
    assert wait.wait_details is not None and wait.wait_details.scheduled_end_timestamp == execution.start_timestamp
    assert parsed.initial_execution_state.next_marker == "page-2"
    assert parsed.updated_operation_ids == ["w1"]
    assert parsed.to_json_dict() == PAYLOAD
    assert DurableExecutionInvocationInput.from_dict(parsed.to_dict()) == parsed


def test_a_payload_without_state_has_no_operations_and_one_without_token_is_refused() -> None:
    bare = DurableExecutionInvocationInput.from_dict({"DurableExecutionArn": "arn", "CheckpointToken": "t"})
    assert bare.initial_execution_state == InitialExecutionState([], "")
    with pytest.raises(KeyError, match="CheckpointToken"):
        DurableExecutionInvocationInput.from_json_dict({"DurableExecutionArn": "arn"})


def test_payload_with_client_keeps_the_payload_and_the_client() -> None:
    parsed = DurableExecutionInvocationInput.from_json_dict(PAYLOAD)
    client = object()
    paired = DurableExecutionInvocationInputWithClient.from_durable_execution_invocation_input(parsed, client)
    assert paired.service_client is client
    assert paired.to_json_dict() == PAYLOAD


def test_checkpoint_error_that_cannot_heal_fails_the_invocation_and_one_that_can_is_raised() -> None:
    permanent = CheckpointError("token rejected", DurableApiErrorCategory.EXECUTION)
    output = handle_checkpoint_error(permanent)
    assert output.status is InvocationStatus.FAILED
    assert output.error is not None and output.error.message == "token rejected"
    transient = CheckpointError("throttled")
    with pytest.raises(CheckpointError, match="throttled"):
        handle_checkpoint_error(transient)


def test_response_size_limit_is_lambdas_six_megabytes_less_the_envelope() -> None:
    assert LAMBDA_RESPONSE_SIZE_LIMIT == 6 * 1024 * 1024 - 50
