"""Time-travel replay: run the current code of a handler against an exported execution, without side effects.

`replay(handler, document)` takes what `DurableClient.export_durable_execution` returned (parsed from JSON, as a
test fixture keeps it) and replays the journal in memory: steps return their recorded results, waits and callbacks
their recorded outcomes, and no user code of a step runs, no timer is set and nothing is invoked. It tells you:

- the code no longer agrees with the journal: `NonDeterministicExecutionError` naming the first operation where
  what was recorded and what the code does now differ (a renamed or reordered step, say);
- the replay went as far as the journal goes: a `ReplayResult` saying where it stopped (the first operation the
  journal has no finished record of, which a real resume would run next) or, for a finished execution whose code
  still agrees, the result the code returns now;
- with `stop_at` (an operation's name or id), the state at that operation: its record and every operation the
  replay passed before it, for a debugger.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .. import contract as c
from ..engine.envelope import ResumeRequest
from ..engine.ids import ExecutionArn
from ..engine.services import EngineServices, EngineSettings
from ..export import read_export, reopened
from ..journal.memory import InMemoryJournalStore
from ..journal.records import JournalSnapshot, OperationRecord, OperationStatus
from ..operations.base import ReplayBoundary
from .clock import VirtualClock
from .memory_world import MemoryPayloads

__all__ = ["ReplayResult", "replay"]


@dataclass(frozen=True)
class ReplayResult:
    """How a replay ended.

    Attributes:
        status: "SUCCEEDED" or "FAILED" when the code ran to its end on recorded operations alone (`result` is its
            JSON result, `error` its error); "PENDING" when it reached an operation that had not finished when the
            execution was exported (a wait or a callback still running); "STOPPED" when it reached `stopped_at`:
            the operation named by `stop_at`, or the first one whose user code it would have to run.
        stopped_at: The operation the replay stopped at: its id, name and type, and its record if the journal has
            one (status, result or error as recorded).
        replayed: The recorded operations that started before the one it stopped at (all of them when it ran to
            its end), in the order they started, as the journal has them.
    """

    status: str
    result: Any = None
    error: dict[str, Any] | None = None
    stopped_at: dict[str, Any] | None = None
    replayed: list[dict[str, Any]] = field(default_factory=list)


class _NoTimers:
    def schedule(self, request: Any, due_at: float) -> None:
        """A replay sets no timer."""

    def hold(self, receipt_handles: list[str]) -> Any:
        from contextlib import nullcontext

        return nullcontext()


class _OutsideTheJournal(BaseException):
    """The replay reached something it would have to ask outside the journal (another function)."""


class _NoInvoker:
    def invoke_async(self, qualified_function_arn: str, event: dict[str, Any]) -> None:
        """A replay invokes nothing."""

    def describe(self, function: str) -> Any:
        raise _OutsideTheJournal(f"a chained invoke of {function} the journal has no record of")


def replay(handler: Any, exported: dict[str, Any], *, stop_at: str | None = None) -> ReplayResult:
    """Replay `exported` (an execution export) with `handler`'s current code; see the module docstring.

    Raises:
        NonDeterministicExecutionError: The code diverges from the journal; the message names the operation, what
            was recorded and what the code does now.
        ValidationError: `exported` is not an execution export.
    """
    from ..engine.invocation import run_invocation

    execution = read_export(exported)
    snapshot = execution.snapshot
    assert snapshot.execution is not None
    key = ExecutionArn.parse(execution.execution_arn).journal_key
    store = InMemoryJournalStore()
    store.put_snapshot(key, dataclasses.replace(snapshot, execution=reopened(snapshot.execution)))
    payloads = MemoryPayloads(execution.payloads)
    clock = VirtualClock()
    clock.advance_to(max([snapshot.execution.started_at, *_moments(snapshot)]) + 1)
    services = EngineServices(
        store=store,
        payloads=payloads,
        timers=_NoTimers(),
        invoker=_NoInvoker(),  # type: ignore[arg-type]
        clock=clock,
        settings=EngineSettings(
            execution_timeout_seconds=c.MAX_EXECUTION_TIMEOUT_SECONDS,
            replay_only=True,
            replay_stop_at=stop_at,
        ),
    )
    request = ResumeRequest(ExecutionArn.parse(execution.execution_arn), c.REASON_TIMER)
    try:
        outcome = run_invocation(getattr(handler, "__wrapped__", handler), request, "replay", None, services)
    except ReplayBoundary as boundary:
        # Only what the journal recorded counts: the replay itself may have begun the operation it stopped at.
        recorded = snapshot.operations.get(boundary.identity.operation_id)
        stopped = _stop(boundary, recorded, _finished_waits(snapshot))
        return ReplayResult("STOPPED", stopped_at=stopped, replayed=_before(snapshot, recorded))
    except _OutsideTheJournal as outside:
        return ReplayResult("STOPPED", stopped_at={"Reason": str(outside)}, replayed=_before(snapshot))
    result = json.loads(outcome.result) if outcome.result is not None else None
    error = outcome.error.to_dict() if outcome.error is not None else None
    return ReplayResult(outcome.status, result, error, replayed=_before(snapshot))


def _moments(snapshot: Any) -> list[float]:
    return [moment for record in snapshot.operations.values() for moment in (record.started_at, record.ended_at)
            if moment is not None]  # fmt: skip


def _stop(boundary: ReplayBoundary, record: OperationRecord | None, finished_waits: frozenset[str]) -> dict[str, Any]:
    identity = boundary.identity
    stopped: dict[str, Any] = {
        "Id": identity.operation_id,
        "Name": identity.name,
        "Type": identity.operation_type.value,
    }
    if record is not None:
        stopped.update(_record_view(record, finished_waits))
    return stopped


def _record_view(record: OperationRecord, finished_waits: frozenset[str] = frozenset()) -> dict[str, Any]:
    # A wait found finished keeps its started record (the finish is an event of the invocation that saw it).
    finished = record.operation_id in finished_waits and record.status is OperationStatus.STARTED
    return {
        "Status": "SUCCEEDED" if finished else record.status.value,
        "Result": record.result,
        "Error": record.error.to_dict() if record.error else None,
        "Attempt": record.attempt,
    }


def _before(snapshot: JournalSnapshot, stop: OperationRecord | None = None) -> list[dict[str, Any]]:
    """The recorded operations that started before `stop` (all of them without it), in the order they started."""
    finished_waits = _finished_waits(snapshot)
    limit = _start_order(stop) if stop is not None else (float("inf"),)
    ordered = sorted(snapshot.operations.values(), key=_start_order)
    return [
        {
            "Id": record.operation_id,
            "Name": record.name,
            "Type": record.operation_type.value,
            **_record_view(record, finished_waits),
        }
        for record in ordered
        if _start_order(record) < limit
    ]


def _finished_waits(snapshot: JournalSnapshot) -> frozenset[str]:
    return frozenset(
        event.operation_id
        for event, _ in snapshot.events()
        if event.event_type == "WaitSucceeded" and event.operation_id is not None
    )


def _start_order(record: OperationRecord) -> tuple[float, ...]:
    # The journal's event order (invocation, position) says which started first, also at one virtual instant.
    orders = [event.order for event in record.events]
    return tuple(min(orders)) if orders else (record.started_at or 0.0,)
