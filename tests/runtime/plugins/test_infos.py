"""Hook infos built from the service's shapes, for plugins that build them the official way."""

from __future__ import annotations

import datetime

from durable_runtime.exceptions import ErrorObject
from durable_runtime.lambda_service import (
    CallbackDetails,
    DurableExecutionInvocationOutput,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
)
from durable_runtime.plugin import InvocationEndInfo, InvocationStartInfo, OperationInfo, UserFunctionStartInfo
from durable_runtime.plugin import InvocationStatus as PluginInvocationStatus
from durable_runtime.plugin import OperationType as PluginOperationType

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_operation_info_from_a_failed_step_carries_attempt_and_a_copy_of_the_error() -> None:
    error = ErrorObject("card declined", "PaymentError", None, ["line 1"])
    step = Operation(
        "op-1", OperationType.STEP, OperationStatus.FAILED, parent_id="p", name="charge",
        start_timestamp=NOW, end_timestamp=NOW, sub_type="Step",
        step_details=StepDetails(attempt=3, error=error),
    )  # fmt: skip
    info = OperationInfo.from_operation(step, is_replayed=True)
    assert (info.operation_type, info.status, info.attempt, info.is_replayed) == (
        PluginOperationType.STEP, OperationStatus.FAILED, 3, True,
    )  # fmt: skip
    assert (info.name, info.parent_id, info.sub_type, info.start_time) == ("charge", "p", "Step", NOW)
    assert info.error == error
    assert info.error is not None and info.error.stack_trace is not None
    info.error.stack_trace.append("a plugin scribbles")
    assert error.stack_trace == ["line 1"]


def test_operation_info_from_a_callback_has_its_result_and_no_attempt() -> None:
    callback = Operation(
        "op-2", OperationType.CALLBACK, OperationStatus.SUCCEEDED,
        callback_details=CallbackDetails("cb-1", result='"approved"'),
    )  # fmt: skip
    info = UserFunctionStartInfo.from_operation(callback)
    assert (info.result, info.attempt, info.is_replayed) == ('"approved"', None, False)


def test_invocation_end_info_from_an_output_keeps_the_start_and_takes_the_outcome() -> None:
    start = InvocationStartInfo("req-1", "arn", True, NOW, execution_input={"order": 7})
    end = InvocationEndInfo.from_durable_execution_invocation_output(
        start, DurableExecutionInvocationOutput(InvocationStatus.SUCCEEDED, result='{"ok":true}')
    )
    assert (end.request_id, end.execution_arn, end.is_first_invocation) == ("req-1", "arn", True)
    assert end.execution_input == {"order": 7}
    assert (end.status, end.execution_result, end.error) == (PluginInvocationStatus.SUCCEEDED, '{"ok":true}', None)
    failed = DurableExecutionInvocationOutput(InvocationStatus.FAILED, error=ErrorObject("boom", "E", None, None))
    ended = InvocationEndInfo.from_durable_execution_invocation_output(start, failed, operations={})
    assert ended.status is PluginInvocationStatus.FAILED and ended.error is failed.error
