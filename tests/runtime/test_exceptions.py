"""Behaviour of the error hierarchy: control flow, stable names and replay reconstruction."""

from __future__ import annotations

import datetime
import inspect

import pytest

import durable_runtime.exceptions as exceptions_module
from durable_runtime.concurrency.models import BatchCompletionError
from durable_runtime.exceptions import (
    BotoClientError,
    CallbackError,
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    CheckpointError,
    ChildContextError,
    DurableApiErrorCategory,
    DurableExecutionsError,
    DurableOperationError,
    ErrorObject,
    ExecutionError,
    InvocationError,
    InvokeError,
    NonDeterministicExecutionError,
    OrphanedChildException,
    RetryableSerDesError,
    SerDesError,
    StepError,
    StepInterruptedError,
    SuspendExecution,
    TerminationReason,
    TimedSuspendExecution,
    UnrecoverableError,
    ValidationError,
    WaitForConditionError,
)

# ErrorType strings the official SDK 3.0.0 records, taken once from ErrorObject.from_exception(...).to_dict().
OFFICIAL_STEP_ERROR = "aws_durable_execution_sdk_python.exceptions.StepError"
OFFICIAL_CALLBACK_TIMEOUT = "aws_durable_execution_sdk_python.exceptions.CallbackTimeoutError"
OFFICIAL_SERDES_ERROR = "aws_durable_execution_sdk_python.exceptions.SerDesError"
OFFICIAL_BATCH_COMPLETION = "aws_durable_execution_sdk_python.concurrency.models.BatchCompletionError"


def _user_visible_error_classes() -> list[type[DurableExecutionsError]]:
    classes = [
        obj
        for obj in vars(exceptions_module).values()
        if inspect.isclass(obj) and issubclass(obj, DurableExecutionsError)
    ]
    return [*classes, BatchCompletionError]


def test_suspension_is_not_caught_by_except_exception() -> None:
    def user_code() -> None:
        try:
            raise TimedSuspendExecution("retry later", scheduled_timestamp=10.0)
        except Exception:  # noqa: BLE001 - what careless user code does
            pytest.fail("suspension was swallowed")

    with pytest.raises(SuspendExecution):
        user_code()
    assert not issubclass(OrphanedChildException, Exception)


def test_every_user_visible_error_has_its_own_stable_error_type() -> None:
    classes = _user_visible_error_classes()
    assert len(classes) > 20
    for cls in classes:
        assert "error_type" in vars(cls), f"{cls.__name__} does not define error_type"
        assert cls.error_type == cls.__name__


def test_hierarchy_matches_official_sdk() -> None:
    assert issubclass(ExecutionError, UnrecoverableError)
    assert issubclass(InvocationError, UnrecoverableError)
    assert issubclass(NonDeterministicExecutionError, ExecutionError)
    assert issubclass(StepInterruptedError, InvocationError)
    assert issubclass(CheckpointError, BotoClientError)
    assert issubclass(BotoClientError, InvocationError)
    assert issubclass(RetryableSerDesError, InvocationError)
    assert issubclass(ValidationError, DurableExecutionsError)
    assert not issubclass(SerDesError, DurableOperationError)
    for cls in (StepError, InvokeError, ChildContextError, WaitForConditionError, CallbackError):
        assert issubclass(cls, DurableOperationError)
    for cls in (CallbackExternalError, CallbackTimeoutError, CallbackSubmitterError):
        assert issubclass(cls, CallbackError)


def test_operation_error_reports_inner_error_type_or_its_qualified_name_as_officially() -> None:
    assert StepError("boom").error_type == "durable_runtime.exceptions.StepError"
    assert CallbackSubmitterError("x").error_type == "durable_runtime.exceptions.CallbackSubmitterError"
    assert StepError.error_type == "StepError"  # the class keeps its short stable name
    assert StepError("boom", error_type="ValueError").error_type == "ValueError"
    error = StepError(message="boom", data='{"a":1}', stack_trace=["line"])
    assert (error.message, error.data, error.stack_trace, str(error)) == ("boom", '{"a":1}', ["line"], "boom")


def test_termination_reasons_follow_error_kind() -> None:
    assert ExecutionError("x").termination_reason is TerminationReason.EXECUTION_ERROR
    assert InvocationError("x").termination_reason is TerminationReason.INVOCATION_ERROR
    nondeterministic = NonDeterministicExecutionError("changed", step_id="abc")
    assert nondeterministic.termination_reason is TerminationReason.NON_DETERMINISTIC_EXECUTION
    assert nondeterministic.step_id == "abc"
    interrupted = StepInterruptedError("lost", step_id="s1")
    assert (interrupted.termination_reason, interrupted.step_id) == (TerminationReason.STEP_INTERRUPTED, "s1")
    assert CheckpointError("x").termination_reason is TerminationReason.CHECKPOINT_FAILED
    assert RetryableSerDesError("x").termination_reason is TerminationReason.SERIALIZATION_ERROR


def test_timed_suspension_computes_resume_time_from_injected_now() -> None:
    assert TimedSuspendExecution.from_delay("wait", 30, now=1000.0).scheduled_timestamp == 1030.0
    moment = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    assert TimedSuspendExecution.from_datetime("wait", moment).scheduled_timestamp == moment.timestamp()


def test_client_errors_fail_execution_but_throttling_retries_invocation() -> None:
    class FakeClientError(Exception):
        def __init__(self, status: int) -> None:
            super().__init__(f"HTTP {status}")
            self.response = {
                "Error": {"Code": "X", "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

    assert not CheckpointError.from_exception(FakeClientError(400)).is_retryable()
    assert CheckpointError.from_exception(FakeClientError(429)).is_retryable()
    assert CheckpointError.from_exception(FakeClientError(503)).is_retryable()
    assert BotoClientError.from_exception(RuntimeError("network")).error_category is DurableApiErrorCategory.INVOCATION
    assert BotoClientError("x", error={"Code": "C", "Message": None}).build_logger_extras() == {
        "Error": {"Code": "C", "Message": None}
    }


def test_error_object_records_builtin_and_user_errors_by_qualified_name() -> None:
    class TransientError(Exception):
        pass

    assert ErrorObject.from_exception(ValueError("bad")).to_dict() == {
        "ErrorMessage": "bad",
        "ErrorType": "ValueError",
    }
    recorded = ErrorObject.from_exception(TransientError("t"))
    assert recorded.type is not None
    assert recorded.type.startswith(f"{__name__}.")
    assert recorded.type.endswith(".<locals>.TransientError")


def test_error_object_keeps_operation_error_fields() -> None:
    recorded = ErrorObject.from_exception(StepError("step broke", error_type="KeyError", data="d", stack_trace=["a"]))
    assert recorded == ErrorObject("step broke", "durable_runtime.exceptions.StepError", "d", ["a"])


def test_error_object_round_trips_wire_mapping() -> None:
    wire = {"ErrorMessage": "late", "ErrorType": "T", "ErrorData": "{}", "StackTrace": ["x"]}
    assert ErrorObject.from_dict(wire).to_dict() == wire
    assert ErrorObject.from_message("only").to_dict() == {"ErrorMessage": "only"}


def test_replay_raises_operation_error_caused_by_rebuilt_escaped_error() -> None:
    recorded = ErrorObject.from_exception(CallbackTimeoutError("late"))
    with pytest.raises(ChildContextError) as caught:
        recorded.raise_as_operation_error(ChildContextError)
    assert caught.value.error_type == "durable_runtime.exceptions.CallbackTimeoutError"
    assert type(caught.value.__cause__) is CallbackTimeoutError


def test_errors_recorded_by_official_sdk_rebuild_as_our_classes() -> None:
    recorded = ErrorObject.from_dict({"ErrorType": OFFICIAL_CALLBACK_TIMEOUT, "ErrorMessage": "late"})
    with pytest.raises(ChildContextError) as caught:
        recorded.raise_as_operation_error(ChildContextError)
    assert type(caught.value.__cause__) is CallbackTimeoutError
    assert type(DurableOperationError.from_error_fields(OFFICIAL_STEP_ERROR, "m", None, None)) is StepError
    assert type(DurableOperationError.from_error_fields(OFFICIAL_BATCH_COMPLETION, "m", None, None)) is (
        BatchCompletionError
    )


def test_unknown_error_types_rebuild_as_plain_operation_error() -> None:
    rebuilt = DurableOperationError.from_error_fields("RejectedError", "not approved", None, None)
    assert type(rebuilt) is DurableOperationError
    assert (rebuilt.error_type, rebuilt.message) == ("RejectedError", "not approved")


@pytest.mark.parametrize("recorded_type", [OFFICIAL_SERDES_ERROR, "durable_runtime.exceptions.SerDesError"])
def test_recorded_serdes_failure_surfaces_as_serdes_error(recorded_type: str) -> None:
    recorded = ErrorObject(message="cannot encode", type=recorded_type, data=None, stack_trace=None)
    with pytest.raises(SerDesError, match="cannot encode"):
        recorded.raise_as_operation_error(StepError)


def test_serdes_error_records_its_own_type_for_replay() -> None:
    assert ErrorObject.from_exception(SerDesError("x")).type == "durable_runtime.exceptions.SerDesError"
    assert SerDesError("x").error_type == "durable_runtime.exceptions.SerDesError"
