"""Behaviour of batch results and completion policies used by map and parallel."""

from __future__ import annotations

import logging

import pytest

import durable_runtime.concurrency as concurrency_package
from durable_runtime.concurrency.models import (
    BatchCompletionError,
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionPolicy,
    CompletionReason,
)
from durable_runtime.config import BatchItemStatus as ConfigBatchItemStatus
from durable_runtime.config import (
    CompletionConfig,
    CompletionDecision,
    CompletionOutcome,
    CompletionStatus,
    complete_batch,
    continue_batch,
)
from durable_runtime.exceptions import ChildContextError, ErrorObject, StepError

OK = BatchItemStatus.SUCCEEDED
FAILED = BatchItemStatus.FAILED
STARTED = BatchItemStatus.STARTED


def _result(*statuses: BatchItemStatus, reason: CompletionReason = CompletionReason.ALL_COMPLETED) -> BatchResult[str]:
    items = [
        BatchItem(
            index,
            status,
            result=f"r{index}" if status is OK else None,
            error=ErrorObject(f"e{index}", "ValueError", None, None) if status is FAILED else None,
        )
        for index, status in enumerate(statuses)
    ]
    return BatchResult(items, reason)


def test_batch_item_status_is_shared_with_config() -> None:
    assert BatchItemStatus is ConfigBatchItemStatus
    assert concurrency_package.BatchItemStatus is ConfigBatchItemStatus
    assert concurrency_package.BatchResult is BatchResult


def test_results_and_errors_keep_input_order_and_skip_other_items() -> None:
    result = _result(OK, FAILED, OK, STARTED, FAILED)
    assert result.get_results() == ["r0", "r2"]
    assert [error.message for error in result.get_errors() if error] == ["e1", "e4"]
    assert [item.index for item in result.succeeded()] == [0, 2]
    assert [item.index for item in result.failed()] == [1, 4]
    assert [item.index for item in result.started()] == [3]
    counts = (result.success_count, result.failure_count, result.started_count, result.total_count)
    assert counts == (2, 2, 1, 5)


def test_none_results_of_successful_items_are_kept() -> None:
    result = BatchResult([BatchItem(0, OK, None), BatchItem(1, OK, 5)], CompletionReason.ALL_COMPLETED)
    assert result.get_results() == [None, 5]


def test_status_is_failed_when_any_item_failed() -> None:
    assert _result(OK, OK).status is OK
    assert _result(OK, FAILED).status is FAILED
    assert _result(OK, STARTED).status is OK


def test_custom_decision_outcome_decides_status() -> None:
    assert _result(OK, reason=CompletionReason.CUSTOM_COMPLETION_FAILED).status is FAILED
    assert _result(FAILED, reason=CompletionReason.CUSTOM_COMPLETION_SUCCEEDED).status is OK


def test_throw_if_error_raises_first_failure_as_child_context_error() -> None:
    step_failure = ErrorObject.from_exception(StepError("charge declined"))
    result = BatchResult(
        [BatchItem(0, OK, "x"), BatchItem(1, FAILED, error=step_failure), BatchItem(2, FAILED, error=None)],
        CompletionReason.ALL_COMPLETED,
    )
    with pytest.raises(ChildContextError, match="charge declined") as caught:
        result.throw_if_error()
    assert type(caught.value.__cause__) is StepError


def test_throw_if_error_reports_failed_item_without_recorded_error() -> None:
    result: BatchResult[str] = BatchResult([BatchItem(3, FAILED)], CompletionReason.ALL_COMPLETED)
    with pytest.raises(ChildContextError, match="Batch item 3 failed with no recorded error"):
        result.throw_if_error()


def test_throw_if_error_raises_batch_completion_error_for_failed_custom_decision() -> None:
    with pytest.raises(BatchCompletionError, match="CUSTOM_COMPLETION_FAILED") as caught:
        _result(OK, reason=CompletionReason.CUSTOM_COMPLETION_FAILED).throw_if_error()
    assert caught.value.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED


def test_throw_if_error_is_silent_for_success() -> None:
    _result(OK, STARTED).throw_if_error()


def test_to_dict_uses_official_field_names() -> None:
    assert _result(OK, FAILED).to_dict() == {
        "all": [
            {"index": 0, "status": "SUCCEEDED", "result": "r0", "error": None},
            {
                "index": 1,
                "status": "FAILED",
                "result": None,
                "error": {"ErrorMessage": "e1", "ErrorType": "ValueError"},
            },
        ],
        "completionReason": "ALL_COMPLETED",
    }


def test_from_dict_round_trips() -> None:
    result = _result(OK, FAILED, STARTED, reason=CompletionReason.MIN_SUCCESSFUL_REACHED)
    assert BatchResult.from_dict(result.to_dict()) == result


def test_from_dict_without_reason_infers_it_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    data = _result(OK, FAILED).to_dict()
    del data["completionReason"]
    with caplog.at_level(logging.WARNING):
        result: BatchResult[str] = BatchResult.from_dict(data, CompletionConfig.all_completed())
    assert result.completion_reason is CompletionReason.ALL_COMPLETED
    assert "no completionReason" in caplog.text
    assert BatchResult.from_dict(data).completion_reason is CompletionReason.FAILURE_TOLERANCE_EXCEEDED


def test_no_completion_rules_fail_fast() -> None:
    policy = CompletionPolicy.from_config(5, None)
    assert policy.should_continue(failed=0)
    assert not policy.should_continue(failed=1)
    assert policy.reason(succeeded=1, failed=1) is CompletionReason.FAILURE_TOLERANCE_EXCEEDED
    assert CompletionPolicy.from_config(5, CompletionConfig()) == policy


def test_all_completed_runs_every_item_despite_failures() -> None:
    policy = CompletionPolicy.from_config(4, CompletionConfig.all_completed())
    assert policy.should_continue(failed=4)
    assert not policy.is_complete(succeeded=0, failed=3)
    assert policy.is_complete(succeeded=0, failed=4)
    assert policy.reason(succeeded=0, failed=4) is CompletionReason.ALL_COMPLETED


def test_first_successful_completes_on_first_success() -> None:
    policy = CompletionPolicy.from_config(4, CompletionConfig.first_successful())
    assert not policy.is_complete(succeeded=0, failed=0)
    assert policy.is_complete(succeeded=1, failed=0)
    assert policy.reason(succeeded=1, failed=0) is CompletionReason.MIN_SUCCESSFUL_REACHED
    assert policy.reason(succeeded=1, failed=3) is CompletionReason.ALL_COMPLETED


def test_failure_count_and_percentage_tolerances() -> None:
    by_count = CompletionPolicy.from_config(10, CompletionConfig(tolerated_failure_count=2))
    assert by_count.should_continue(failed=2)
    assert not by_count.should_continue(failed=3)
    by_percentage = CompletionPolicy.from_config(10, CompletionConfig(tolerated_failure_percentage=25))
    assert by_percentage.should_continue(failed=2)
    assert not by_percentage.should_continue(failed=3)


def _quorum(status: CompletionStatus) -> CompletionDecision:
    if status.failure_count >= 2:
        return complete_batch(CompletionOutcome.FAILED)
    if status.success_count >= 2:
        return complete_batch()
    return continue_batch()


def test_custom_predicate_decides_completion_and_outcome() -> None:
    policy = CompletionPolicy.from_config(5, CompletionConfig(should_complete=_quorum))
    assert policy.should_continue(failed=4)
    assert not policy.is_complete(succeeded=1, failed=1)
    assert policy.reason(succeeded=2, failed=0) is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
    assert policy.reason(succeeded=0, failed=2) is CompletionReason.CUSTOM_COMPLETION_FAILED
    assert policy.evaluate(0, 0) == continue_batch()


def test_custom_predicate_sees_totals_and_runs_once_when_decision_passed() -> None:
    seen: list[CompletionStatus] = []

    def predicate(status: CompletionStatus) -> CompletionDecision:
        seen.append(status)
        return continue_batch()

    policy = CompletionPolicy.from_config(3, CompletionConfig(should_complete=predicate))
    decision = policy.evaluate(1, 1)
    assert seen == [CompletionStatus(1, 1, 2, 3)]
    policy.is_complete(1, 1, decision=decision)
    policy.reason(1, 1, decision=decision)
    assert len(seen) == 1


def test_from_items_infers_reason_from_statuses() -> None:
    items = [BatchItem(0, OK, "a"), BatchItem(1, STARTED)]
    reason = BatchResult.from_items(items, CompletionConfig.first_successful()).completion_reason
    assert reason is CompletionReason.MIN_SUCCESSFUL_REACHED
