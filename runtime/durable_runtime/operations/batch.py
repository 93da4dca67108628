"""`context.parallel` and `context.map`: branches run concurrently, and a completion policy decides when done.

The operation is a child context (sub-type Parallel or Map) whose result is the BatchResult. Each branch is a
child context of its own (ParallelBranch / MapIteration; id `blake2b(f"{op_id}-{index}")`), or, with
NestingType.FLAT, a virtual context that records nothing itself. Up to `max_concurrency` branches are started at
once (all of them by default); they run on threads from a process-wide budget (`threading.BranchThreads`: under
Lambda's 1,024-thread limit whatever the batch's size or nesting), and past it in the coordinating thread. A branch
that suspends keeps its slot; no branch starts once the policy has decided. The batch
suspends only when no branch can make progress in this invocation; a replay returns finished branches from the
journal without running them again.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..concurrency.models import BatchItem, BatchResult, CompletionPolicy, CompletionReason
from ..config import BatchItemStatus, ChildConfig, CompletionItemStatus, NestingType
from ..engine.clock import is_due
from ..exceptions import ErrorObject, SuspendExecution
from ..journal.records import OperationStatus, OperationType
from ..threading import BranchThreads
from .base import OperationIdentity
from .child import run_child

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import CompletionConfig, MapConfig, ParallelConfig
    from ..context import DurableContext
    from ..serdes import SerDes
    from ..types import SummaryGenerator

_REASON_KEY = "completion_reason"
_ADMITTED_KEY = "admitted"
_STARTED_KEY = "unfinished"


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
        extra_for=_decision_extra,
        offload_large_result=True,
    )


@dataclass(frozen=True)
class _Event:
    """What a branch thread reports: the branch's outcome, its due time when it suspended on a timer."""

    index: int
    item: BatchItem[Any] | None
    due: float | None = None
    crash: BaseException | None = None


@dataclass(frozen=True)
class _RecordedDecision:
    """How a finished batch was decided, kept apart from its result so a replay rebuilds the same result."""

    reason: CompletionReason
    admitted: int  # branches 0 .. admitted-1 were started; the others never ran
    started: frozenset[int]  # branches reported STARTED: suspended, or never reporting back

    def to_extra(self) -> dict[str, str]:
        return {
            _REASON_KEY: self.reason.value,
            _ADMITTED_KEY: str(self.admitted),
            _STARTED_KEY: ",".join(str(index) for index in sorted(self.started)),
        }

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> _RecordedDecision | None:
        if not extra.get(_REASON_KEY) or _ADMITTED_KEY not in extra:
            return None
        started = frozenset(int(index) for index in str(extra.get(_STARTED_KEY, "")).split(",") if index)
        return cls(CompletionReason(extra[_REASON_KEY]), int(extra[_ADMITTED_KEY]), started)


@dataclass
class _Progress:
    outcomes: dict[int, BatchItem[Any]] = field(default_factory=dict)
    succeeded: int = 0
    failed: int = 0
    running: int = 0
    in_flight: int = 0  # admitted and not finished: running or suspended, each holding a slot
    # Branches suspended on a timer, by index, with their due time: they keep their slot.
    parked: dict[int, float] = field(default_factory=dict)
    admitted: int = 0
    reason: CompletionReason | None = None


class _Coordinator:
    """Starts branches in index order as slots free up and applies the completion policy, one outcome at a time.

    Branch threads only report; this thread alone changes the progress and decides. Between two outcomes it
    admits branches while slots are free, as the official SDK does, so which branches were started when the
    policy decided depends on the order outcomes arrive, never on how quickly this thread wakes up. Once decided
    nothing new starts; branches already running finish (their outcome is reported, STARTED when they suspend)
    before the batch returns. Which branches ran and how they ended is recorded, so a replay rebuilds exactly
    this result without running anything new.
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
        self.events: queue.Queue[_Event] = queue.Queue()
        self.limit = options.max_concurrency or len(branches)

    def run(self) -> BatchResult[Any]:
        """Drive the branches to a decision, or suspend the batch when only waiting is left."""
        if not self.branches:
            return BatchResult([], CompletionReason.ALL_COMPLETED)
        recorded = self._recorded_decision()
        if recorded is not None:
            return self._rebuild(recorded)
        pool = BranchThreads()
        try:
            self._drive(pool)
        finally:
            # Branches still running after the decision finish their current work before the invocation ends.
            pool.join()
        while not self.events.empty():
            self._apply(self.events.get_nowait())
        return self._result()

    def _drive(self, pool: BranchThreads) -> None:
        progress = self.progress
        self._decide()
        while progress.reason is None:
            self._admit(pool)
            if progress.running == 0:
                return  # every started branch is suspended: the batch suspends with them
            try:
                event = self.events.get(timeout=self._until_next_parked())
            except queue.Empty:
                continue  # a parked branch is due
            self._apply(event)
            self._decide()

    def _admit(self, pool: BranchThreads) -> None:
        """Resume parked branches whose time has come, then start new ones in index order while slots are free."""
        progress = self.progress
        now = self.context.state.now()
        # Due already: running it now is cheaper than suspending and being invoked again for it.
        for index in sorted(i for i, due in progress.parked.items() if is_due(now, due)):
            del progress.parked[index]
            del progress.outcomes[index]
            self._submit(pool, index)
        while (
            progress.admitted < len(self.branches)
            and progress.in_flight < self.limit
            and self.policy.should_continue(progress.failed)
        ):
            progress.in_flight += 1
            progress.admitted += 1
            self._submit(pool, progress.admitted - 1)

    def _submit(self, pool: BranchThreads, index: int) -> None:
        self.progress.running += 1
        pool.submit(self._work, self.branches[index])

    def _apply(self, event: _Event) -> None:
        if event.crash is not None:
            raise event.crash
        progress, item = self.progress, event.item
        assert item is not None
        progress.running -= 1
        progress.outcomes[event.index] = item
        if progress.reason is not None:
            return  # finished after the decision: reported as it ended, without changing the decision
        if item.status == BatchItemStatus.STARTED:
            if event.due is not None:
                progress.parked[event.index] = event.due
            return
        progress.in_flight -= 1
        if item.status == BatchItemStatus.SUCCEEDED:
            progress.succeeded += 1
        else:
            progress.failed += 1

    def _decide(self) -> None:
        progress, policy = self.progress, self.policy
        items = self._snapshot() if policy.should_complete is not None else ()
        verdict = policy.evaluate(progress.succeeded, progress.failed, items)
        if not policy.is_complete(progress.succeeded, progress.failed, items, verdict) and policy.should_continue(
            progress.failed
        ):
            return
        progress.reason = policy.reason(progress.succeeded, progress.failed, items, verdict)

    def _snapshot(self) -> tuple[CompletionItemStatus, ...]:
        """Each branch as a completion predicate sees it: not started (None), started, succeeded or failed."""
        outcomes = self.progress.outcomes
        return tuple(
            CompletionItemStatus(
                index=branch.index,
                name=branch.name,
                status=outcomes[branch.index].status
                if branch.index in outcomes
                else (BatchItemStatus.STARTED if branch.index < self.progress.admitted else None),
            )
            for branch in self.branches
        )

    def _until_next_parked(self) -> float | None:
        # Wake up for a parked branch's time even if no running branch finishes before it.
        if not self.progress.parked:
            return None
        return max(0.05, min(self.progress.parked.values()) - self.context.state.now())

    def _work(self, branch: Branch) -> None:
        try:
            item = BatchItem(branch.index, BatchItemStatus.SUCCEEDED, self._run_branch(branch))
            self.events.put(_Event(branch.index, item))
        except SuspendExecution as suspension:
            due = getattr(suspension, "scheduled_timestamp", None)
            self.events.put(_Event(branch.index, BatchItem(branch.index, BatchItemStatus.STARTED), due))
        except Exception as error:  # noqa: BLE001 - a failed branch is an item of the result, not a crash
            item = BatchItem(branch.index, BatchItemStatus.FAILED, error=_error_of(error))
            self.events.put(_Event(branch.index, item))
        except BaseException as signal:  # noqa: BLE001 - the invocation is ending: re-raised by the coordinator
            self.events.put(_Event(branch.index, None, crash=signal))

    def _run_branch(self, branch: Branch) -> Any:
        context = self.context
        op_id = context.state.ids.branch_id(self.identity.operation_id, branch.index)
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
        if progress.reason is None:
            # Undecided and nothing running: the started branches are waiting. The batch waits with them.
            raise SuspendExecution(f"{self.options.kind.lower()} waits for branches that are suspended")
        items = [
            progress.outcomes.get(index) or BatchItem(index, BatchItemStatus.STARTED)
            for index in range(progress.admitted)
        ]
        unfinished = frozenset(item.index for item in items if item.status == BatchItemStatus.STARTED)
        decision = _RecordedDecision(progress.reason, progress.admitted, unfinished)
        return _DecidedResult(items, progress.reason, decision)

    def _recorded_decision(self) -> _RecordedDecision | None:
        # Only a finished batch whose result was too large to record is rebuilt by running this again.
        record = self.context.state.operation(self.identity.operation_id)
        if record is None or record.status != OperationStatus.SUCCEEDED:
            return None
        return _RecordedDecision.from_extra(record.extra)

    def _rebuild(self, decision: _RecordedDecision) -> BatchResult[Any]:
        """The result the batch was decided with: finished branches replay from the journal, nothing new runs."""
        items: list[BatchItem[Any]] = []
        for index in range(decision.admitted):
            if index in decision.started:
                items.append(BatchItem(index, BatchItemStatus.STARTED))
                continue
            self._work(self.branches[index])
            event = self.events.get_nowait()
            if event.crash is not None:
                raise event.crash
            assert event.item is not None
            items.append(event.item)
        return BatchResult(items, decision.reason)


class _DecidedResult(BatchResult[Any]):
    """A batch result that still knows how it was decided, for the record of the batch operation."""

    def __init__(self, items: list[BatchItem[Any]], reason: CompletionReason, decision: _RecordedDecision) -> None:
        super().__init__(items, reason)
        self.decision = decision


def _decision_extra(result: BatchResult[Any]) -> dict[str, str]:
    decision = getattr(result, "decision", None)
    if isinstance(decision, _RecordedDecision):
        return decision.to_extra()
    return {_REASON_KEY: result.completion_reason.value}


def _error_of(error: Exception) -> ErrorObject:
    """The item's error: what escaped the branch (not the ChildContextError wrapping it), as replay sees it."""
    from ..exceptions import DurableOperationError

    if isinstance(error, DurableOperationError):
        return ErrorObject(error.message, error.error_type, error.data, error.stack_trace)
    return ErrorObject.from_exception(error)
