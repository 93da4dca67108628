"""Results of ``map`` and ``parallel``, and the rules deciding when such a batch is complete."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from durable_runtime.config import (
    BatchItemStatus,
    CompletionDecision,
    CompletionItemStatus,
    CompletionOutcome,
    CompletionStatus,
)
from durable_runtime.exceptions import (
    ChildContextError,
    DurableOperationError,
    ErrorObject,
    register_operation_error,
)
from durable_runtime.exceptions import InvalidStateError as InvalidStateError  # the official module re-exports it
from durable_runtime.types import BatchResult as BatchResultProtocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from durable_runtime.config import CompletionConfig

__all__ = [
    "BatchCompletionError",
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "CompletionPolicy",
    "CompletionReason",
]

R = TypeVar("R")


class CompletionReason(Enum):
    """Why a batch stopped."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"
    CUSTOM_COMPLETION_SUCCEEDED = "CUSTOM_COMPLETION_SUCCEEDED"
    CUSTOM_COMPLETION_FAILED = "CUSTOM_COMPLETION_FAILED"


class BatchCompletionError(DurableOperationError):
    """A ``should_complete`` predicate ended the batch as failed, even though no single item may have failed.

    Raised by :meth:`BatchResult.throw_if_error`, for instance when a required quorum became unreachable.

    Attributes:
        completion_reason: Why the batch stopped (``CUSTOM_COMPLETION_FAILED``).
    """

    error_type = "BatchCompletionError"

    def __init__(
        self,
        completion_reason: CompletionReason = CompletionReason.CUSTOM_COMPLETION_FAILED,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        message = message or f"The batch's should_complete predicate ended it as failed ({completion_reason.value})"
        super().__init__(message, error_type, data, stack_trace)
        self.completion_reason = completion_reason


# Replay rebuilds it from its recorded type name like the errors defined in exceptions.py.
register_operation_error(BatchCompletionError)


@dataclass(frozen=True)
class CompletionPolicy:
    """The completion rules of one batch of ``total`` items, from its :class:`CompletionConfig`.

    A ``should_complete`` predicate, when given, replaces the thresholds. With no rule at all, the first
    failure exceeds the tolerance (fail fast). A batch always completes once every item has finished.
    """

    total: int
    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: int | float | None = None
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None

    @classmethod
    def from_config(cls, total: int, config: CompletionConfig | None) -> CompletionPolicy:
        """Build the policy of a batch of ``total`` items; ``None`` config means fail fast."""
        if config is None:
            return cls(total=total)
        return cls(
            total=total,
            min_successful=config.min_successful,
            tolerated_failure_count=config.tolerated_failure_count,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            should_complete=config.should_complete,
        )

    @property
    def has_criteria(self) -> bool:
        """Whether any threshold is set."""
        thresholds = (self.min_successful, self.tolerated_failure_count, self.tolerated_failure_percentage)
        return any(value is not None for value in thresholds)

    def is_tolerance_exceeded(self, failed: int) -> bool:
        """Whether ``failed`` failures are more than the batch tolerates (never, under a predicate)."""
        if self.should_complete is not None:
            return False
        if not self.has_criteria:
            return failed > 0
        if self.tolerated_failure_count is not None and failed > self.tolerated_failure_count:
            return True
        if self.tolerated_failure_percentage is not None and self.total > 0:
            return failed * 100 / self.total > self.tolerated_failure_percentage
        return False

    def should_continue(self, failed: int) -> bool:
        """Whether more items may be started after ``failed`` failures."""
        return not self.is_tolerance_exceeded(failed)

    def evaluate(
        self, succeeded: int, failed: int, items: tuple[CompletionItemStatus, ...] = ()
    ) -> CompletionDecision | None:
        """Run the predicate once on the current progress; ``None`` when there is no predicate."""
        if self.should_complete is None:
            return None
        status = CompletionStatus(
            success_count=succeeded,
            failure_count=failed,
            completed_count=succeeded + failed,
            total_count=self.total,
            items=items,
        )
        return self.should_complete(status)

    def _decided(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...],
        decision: CompletionDecision | None,
    ) -> CompletionDecision | None:
        # Callers pass the decision they already have, so the predicate runs once per change of state.
        if self.should_complete is None:
            return None
        return decision if decision is not None else self.evaluate(succeeded, failed, items)

    def is_complete(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> bool:
        """Whether the batch is done; ``decision`` is the predicate's answer if already evaluated."""
        decided = self._decided(succeeded, failed, items, decision)
        if decided is not None and decided.complete:
            return True
        if succeeded + failed >= self.total:
            return True
        return self.min_successful is not None and succeeded >= self.min_successful

    def reason(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> CompletionReason:
        """Why the batch completed; the predicate's decision ranks above everything finishing."""
        if self.is_tolerance_exceeded(failed):
            return CompletionReason.FAILURE_TOLERANCE_EXCEEDED
        decided = self._decided(succeeded, failed, items, decision)
        if decided is not None and decided.complete:
            if decided.outcome is CompletionOutcome.FAILED:
                return CompletionReason.CUSTOM_COMPLETION_FAILED
            return CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
        if succeeded + failed < self.total and self.min_successful is not None and succeeded >= self.min_successful:
            return CompletionReason.MIN_SUCCESSFUL_REACHED
        return CompletionReason.ALL_COMPLETED


@dataclass(frozen=True)
class BatchItem(Generic[R]):
    """One map item or parallel branch in a batch result.

    Attributes:
        index: Position in the input.
        status: How it ended (``STARTED`` if the batch completed while it was still running).
        result: Its result when it succeeded.
        error: Its recorded error when it failed; may be ``None`` if none was recorded.
    """

    index: int
    status: BatchItemStatus
    result: R | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire mapping (``index``, ``status``, ``result``, ``error``)."""
        return {
            "index": self.index,
            "status": self.status.value,
            "result": self.result,
            "error": self.error.to_dict() if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchItem[R]:
        """Read the mapping written by :meth:`to_dict`."""
        error = data.get("error")
        return cls(
            index=data["index"],
            status=BatchItemStatus(data["status"]),
            result=data.get("result"),
            error=ErrorObject.from_dict(error) if error else None,
        )


@dataclass(frozen=True)
class BatchResult(BatchResultProtocol[R]):
    """The outcome of ``map`` or ``parallel``: every item in input order, and why the batch stopped.

    Attributes:
        all: One entry per item, in input order.
        completion_reason: Why the batch stopped.
    """

    all: list[BatchItem[R]]
    completion_reason: CompletionReason

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], completion_config: CompletionConfig | None = None) -> BatchResult[R]:
        """Read the mapping written by :meth:`to_dict`.

        When the mapping has no ``completionReason`` the reason is worked out from the items and
        ``completion_config``.
        """
        items: list[BatchItem[R]] = [BatchItem.from_dict(item) for item in data["all"]]
        reason = data.get("completionReason")
        if reason is None:
            import logging

            result = cls.from_items(items, completion_config)
            logging.getLogger(__name__).warning(
                "Batch result has no completionReason; inferred %s from its items",
                result.completion_reason.value,
            )
            return result
        return cls(items, CompletionReason(reason))

    @classmethod
    def from_items(cls, items: list[BatchItem[R]], completion_config: CompletionConfig | None = None) -> BatchResult[R]:
        """Build a result, working out its completion reason from the items (taken to be the whole batch)."""
        succeeded = sum(1 for item in items if item.status is BatchItemStatus.SUCCEEDED)
        failed = sum(1 for item in items if item.status is BatchItemStatus.FAILED)
        snapshot = tuple(CompletionItemStatus(index=item.index, status=item.status) for item in items)
        policy = CompletionPolicy.from_config(len(items), completion_config)
        return cls(items, policy.reason(succeeded, failed, snapshot))

    def to_dict(self) -> dict[str, Any]:
        """Return the wire mapping (``all``, ``completionReason``)."""
        return {
            "all": [item.to_dict() for item in self.all],
            "completionReason": self.completion_reason.value,
        }

    def _with_status(self, status: BatchItemStatus) -> list[BatchItem[R]]:
        return [item for item in self.all if item.status is status]

    def succeeded(self) -> list[BatchItem[R]]:
        """Return the items that succeeded."""
        return self._with_status(BatchItemStatus.SUCCEEDED)

    def failed(self) -> list[BatchItem[R]]:
        """Return the items that failed."""
        return self._with_status(BatchItemStatus.FAILED)

    def started(self) -> list[BatchItem[R]]:
        """Return the items still running when the batch completed."""
        return self._with_status(BatchItemStatus.STARTED)

    @property
    def status(self) -> BatchItemStatus:
        """``SUCCEEDED`` or ``FAILED`` for the batch as a whole; a custom decision's outcome wins."""
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            return BatchItemStatus.FAILED
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED:
            return BatchItemStatus.SUCCEEDED
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    @property
    def has_failure(self) -> bool:
        """Whether any item failed."""
        return any(item.status is BatchItemStatus.FAILED for item in self.all)

    def throw_if_error(self) -> None:
        """Raise the first failed item's error as a :class:`ChildContextError`, if any item failed.

        Raises:
            ChildContextError: For the first failed item, caused by its rebuilt error; the others stay
                available from :meth:`get_errors`.
            BatchCompletionError: When a custom decision ended the batch as failed without a failed item.
        """
        first_failed = next((item for item in self.all if item.status is BatchItemStatus.FAILED), None)
        if first_failed is not None:
            if first_failed.error is None:
                raise ChildContextError(message=f"Batch item {first_failed.index} failed with no recorded error")
            first_failed.error.raise_as_operation_error(ChildContextError)
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            raise BatchCompletionError(self.completion_reason)

    def get_results(self) -> list[R]:
        """Return the results of the items that succeeded, in input order (``None`` results included)."""
        return [cast(R, item.result) for item in self.succeeded()]

    def get_errors(self) -> list[ErrorObject | None]:
        """Return the errors of the failed items, in input order (``None`` where none was recorded)."""
        return [item.error for item in self.failed()]

    @property
    def success_count(self) -> int:
        """Number of items that succeeded."""
        return len(self.succeeded())

    @property
    def failure_count(self) -> int:
        """Number of items that failed."""
        return len(self.failed())

    @property
    def started_count(self) -> int:
        """Number of items still running when the batch completed."""
        return len(self.started())

    @property
    def total_count(self) -> int:
        """Number of items in the result."""
        return len(self.all)
