"""The start linger: a start is written early only once it has been held a linger long."""

from __future__ import annotations

import threading

from durable_runtime.engine.pending import PendingWrites
from durable_runtime.journal.records import OperationRecord, OperationStatus, OperationType


def _start(operation_id: str) -> OperationRecord:
    return OperationRecord(
        operation_id=operation_id, operation_type=OperationType.STEP, sub_type="Step", name=operation_id,
        parent_id=None, status=OperationStatus.STARTED,
    )  # fmt: skip


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_only_starts_held_a_linger_long_are_written_early_the_rest_wait_their_turn() -> None:
    clock, written = _Clock(), []
    pending = PendingWrites(threading.RLock(), 0.25, lambda held: written.append(held.record.operation_id), clock)
    try:
        pending.hold_start(_start("old"), [])
        clock.now += 0.2
        pending.hold_start(_start("young"), [])
        clock.now += 0.05
        pending._write_starts_early()  # the timer's firing, a linger after "old" was held

        assert written == ["old"]
        assert pending.record_of("young") is not None and pending.record_of("old") is None
        merged = pending.take("young", [])  # "young" finished within its own linger: one write carries both
        assert merged == [] and pending.record_of("young") is None
        clock.now += 1
        pending._write_starts_early()
        assert written == ["old"]
    finally:
        pending.discard()


def test_a_final_write_is_never_written_early() -> None:
    clock, written = _Clock(), []
    pending = PendingWrites(threading.RLock(), 0.25, lambda held: written.append(held.record.operation_id), clock)
    try:
        pending.hold_final(_start("wait"), [])
        pending.hold_start(_start("step"), [])
        clock.now += 1
        pending._write_starts_early()
        assert written == ["step"]
        assert [held.record.operation_id for held in pending.drain()] == ["wait"]
    finally:
        pending.discard()
