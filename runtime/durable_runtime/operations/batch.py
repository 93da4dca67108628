"""`context.parallel` and `context.map`: branches run concurrently, and a completion policy decides when done.

The operation is a child context (sub-type Parallel or Map) whose result is the BatchResult. Each branch is a
child context of its own (ParallelBranch / MapIteration; id `blake2b(f"{op_id}-{index}")`), or, with
NestingType.FLAT, a virtual context that records nothing itself. Up to `max_concurrency` branches run at once
on threads; a branch that suspends keeps its slot; no branch starts once the policy has decided. The batch
suspends only when no branch can make progress in this invocation; a replay returns finished branches from the
journal without running them again.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..concurrency.models import BatchItem, BatchResult, CompletionPolicy, CompletionReason
from ..config import BatchItemStatus, ChildConfig, NestingType
from ..engine.clock import is_due
from ..engine.ids import branch_id
from ..exceptions import ErrorObject, SuspendExecution
from ..journal.records import OperationType
from .base import OperationIdentity
from .child import run_child

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import CompletionConfig, MapConfig, ParallelConfig
    from ..context import DurableContext
    from ..serdes import SerDes
    from ..types import SummaryGenerator

_REASON_KEY = "completion_reason"


@dataclass(frozen=True)
class Branch:
    """One unit of a batch: its index, its name in the history, and what it runs."""

    index: int
    name: str | None
    run: Callable[[DurableContext], Any]


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs and records its branches."""

    kind: str  # "Parallel" or "Map"
    branch_sub_type: str  # "ParallelBranch" or "MapIteration"
    max_concurrency: int | None
    completion_config: CompletionConfig | None
    serdes: SerDes[Any] | None
    item_serdes: SerDes[Any] | None
    summary_generator: SummaryGenerator[Any] | None
    nesting: NestingType

    @classmethod
    def of(cls, kind: str, config: MapConfig[Any] | ParallelConfig) -> BatchOptions:
        """The options of a map ("Map") or parallel ("Parallel") call from its config."""
        return cls(
            kind=kind,
            branch_sub_type="MapIteration" if kind == "Map" else "ParallelBranch",
            max_concurrency=config.max_concurrency,
            completion_config=config.completion_config,
            serdes=config.serdes,
            item_serdes=config.item_serdes,
            summary_generator=config.summary_generator,
            nesting=config.nesting_type,
        )


def run_batch(
    context: DurableContext, identity: OperationIdentity, branches: list[Branch], options: BatchOptions
) -> BatchResult[Any]:
    """Run the batch as a child context whose result is the BatchResult."""
    config: ChildConfig[Any] = ChildConfig(
        serdes=options.serdes, sub_type=options.kind, summary_generator=options.summary_generator
    )

    def body(batch_context: DurableContext) -> BatchResult[Any]:
        return _Coordinator(batch_context, identity, branches, options).run()

    return run_child(
        context.state,
        identity,
        body,
        config,
        lambda replaying: context._child(identity.operation_id, replaying),
        extra_for=lambda result: {_REASON_KEY: result.completion_reason.value},
    )


@dataclass
class _Progress:
    outcomes: dict[int, BatchItem[Any]] = field(default_factory=dict)
    running: int = 0
    # Branches suspended on a timer, by index, with their due time: they keep their slot.
    parked: dict[int, float] = field(default_factory=dict)
    next_index: int = 0
    decided: CompletionReason | None = None
    crash: BaseException | None = None

    def counts(self) -> tuple[int, int]:
        succeeded = sum(1 for item in self.outcomes.values() if item.status == BatchItemStatus.SUCCEEDED)
        failed = sum(1 for item in self.outcomes.values() if item.status == BatchItemStatus.FAILED)
        return succeeded, failed

    def occupied(self) -> int:
        suspended = sum(1 for item in self.outcomes.values() if item.status == BatchItemStatus.STARTED)
        return self.running + suspended


class _Coordinator:
    """Starts branches as slots free up, records outcomes, and applies the completion policy.

    A branch that suspends keeps its slot. One suspended on a timer is resumed in this invocation once its time
    comes while the invocation is still busy with other branches; the batch suspends only when no branch is
    running and none is due.
    """

    def __init__(
        self, batch_context: DurableContext, identity: OperationIdentity, branches: list[Branch], options: BatchOptions
    ) -> None:
        self.context = batch_context
        self.identity = identity
        self.branches = branches
        self.options = options
        self.policy = CompletionPolicy.from_config(len(branches), options.completion_config)
        self.progress = _Progress()
        self.changed = threading.Condition()
        self.limit = options.max_concurrency or len(branches)

    def run(self) -> BatchResult[Any]:
        """Drive the branches to a decision, or suspend the batch when only waiting is left."""
        if not self.branches:
            return BatchResult([], CompletionReason.ALL_COMPLETED)
        with ThreadPoolExecutor(max_workers=min(self.limit, len(self.branches))) as pool, self.changed:
            while True:
                self._admit(pool)
                if self.progress.running == 0:
                    break
                self.changed.wait(self._until_next_parked())
        return self._result()

    def _admit(self, pool: ThreadPoolExecutor) -> None:
        """Resume parked branches whose time has come, then start new ones while slots are free."""
        progress = self.progress
        if progress.decided is not None or progress.crash is not None:
            return
        now = self.context.state.now()
        for index, due in sorted(progress.parked.items(), key=lambda pair: pair[1]):
            # Due already: running it now is cheaper than suspending and being invoked again for it.
            if is_due(now, due):
                del progress.parked[index]
                del progress.outcomes[index]
                progress.running += 1
                pool.submit(self._work, self.branches[index])
        while progress.next_index < len(self.branches) and progress.occupied() < self.limit:
            branch = self.branches[progress.next_index]
            progress.next_index += 1
            progress.running += 1
            pool.submit(self._work, branch)

    def _until_next_parked(self) -> float | None:
        # Wake up for a parked branch's time even if no running branch finishes before it.
        if not self.progress.parked:
            return None
        return max(0.05, min(self.progress.parked.values()) - self.context.state.now())

    def _work(self, branch: Branch) -> None:
        due: float | None = None
        try:
            item = BatchItem(branch.index, BatchItemStatus.SUCCEEDED, self._run_branch(branch))
        except SuspendExecution as suspension:
            item, due = (
                BatchItem(branch.index, BatchItemStatus.STARTED),
                getattr(suspension, "scheduled_timestamp", None),
            )
        except Exception as error:  # noqa: BLE001 - a failed branch is an item of the result, not a crash
            item = BatchItem(branch.index, BatchItemStatus.FAILED, error=_error_of(error))
        except BaseException as signal:  # noqa: BLE001 - the invocation is ending: stop all, re-raised below
            with self.changed:
                self.progress.crash = self.progress.crash or signal
                self.progress.running -= 1
                self.changed.notify_all()
            return
        with self.changed:
            progress = self.progress
            progress.outcomes[branch.index] = item
            if due is not None:
                progress.parked[branch.index] = due
            progress.running -= 1
            self._decide()
            self.changed.notify_all()

    def _decide(self) -> None:
        progress = self.progress
        if progress.decided is not None:
            return
        succeeded, failed = progress.counts()
        if self.policy.is_tolerance_exceeded(failed) or self.policy.is_complete(succeeded, failed):
            progress.decided = self.policy.reason(succeeded, failed)

    def _run_branch(self, branch: Branch) -> Any:
        context = self.context
        op_id = branch_id(self.identity.operation_id, branch.index)
        if self.options.nesting == NestingType.FLAT:
            # A virtual context: its operations report to the batch, with ids derived from the branch's.
            return branch.run(context._virtual_child(op_id))
        identity = OperationIdentity(
            op_id, OperationType.CONTEXT, self.options.branch_sub_type, branch.name, self.identity.operation_id
        )
        config: ChildConfig[Any] = ChildConfig(
            serdes=self.options.item_serdes or self.options.serdes, sub_type=self.options.branch_sub_type
        )
        return run_child(
            context.state, identity, branch.run, config, lambda replaying: context._child(op_id, replaying)
        )

    def _result(self) -> BatchResult[Any]:
        progress = self.progress
        if progress.crash is not None:
            raise progress.crash
        items = [progress.outcomes[index] for index in sorted(progress.outcomes)]
        if progress.decided is None:
            # Undecided with every branch started: some are waiting. The batch waits with them.
            raise SuspendExecution(f"{self.options.kind.lower()} waits for branches that are suspended")
        return BatchResult(items, self._recorded_reason() or progress.decided)

    def _recorded_reason(self) -> CompletionReason | None:
        # A result too large to record is rebuilt on replay; the reason it was decided with is kept apart.
        record = self.context.state.operation(self.identity.operation_id)
        reason = record.extra.get(_REASON_KEY) if record is not None else None
        return CompletionReason(reason) if reason else None


def _error_of(error: Exception) -> ErrorObject:
    """The item's error: what escaped the branch (not the ChildContextError wrapping it), as replay sees it."""
    from ..exceptions import DurableOperationError

    if isinstance(error, DurableOperationError):
        return ErrorObject(error.message, error.error_type, error.data, error.stack_trace)
    return ErrorObject.from_exception(error)
