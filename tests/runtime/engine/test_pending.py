"""The start linger: a start is written early only once it has been held a linger long."""

from __future__ import annotations

import threading

import pytest

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
    clock, written, pending = _recording_pending()
    try:
        pending.hold_start(_start("old"), [])
        clock.now += 0.2
        pending.hold_start(_start("young"), [])
        clock.now += 0.05
        pending._write_starts_early()  # the timer's firing, a linger after "old" was held

        assert written == ["old"]
        assert pending.record_of("young") is not None and pending.record_of("old") is None
        with pending.writing("young", []) as merged:  # "young" finished within its own linger: one write
            assert merged == [] and pending.record_of("young") is not None  # visible until written
        assert pending.record_of("young") is None
        clock.now += 1
        pending._write_starts_early()
        assert written == ["old"]
    finally:
        pending.discard()


def test_a_final_write_is_never_written_early() -> None:
    clock, written, pending = _recording_pending()
    try:
        pending.hold_final(_start("wait"), [])
        pending.hold_start(_start("step"), [])
        clock.now += 1
        pending._write_starts_early()
        assert written == ["step"]
        assert [held.record.operation_id for held in pending.drain()] == ["wait"]
    finally:
        pending.discard()


def _recording_pending() -> tuple[_Clock, list[str], PendingWrites]:
    """Pending writes on a hand-moved clock whose early writes only note the operation written."""
    clock, written = _Clock(), []
    return clock, written, PendingWrites(0.25, lambda held: written.append(held.record.operation_id), clock)


def _blocking_writer(written: list[str]) -> tuple[threading.Event, threading.Event, object]:
    entered, release = threading.Event(), threading.Event()

    def write(held: object) -> None:
        entered.set()
        assert release.wait(10)
        written.append(held.record.operation_id)  # type: ignore[attr-defined]

    return entered, release, write


def test_a_slow_early_write_holds_up_no_other_operation() -> None:
    clock, written = _Clock(), []
    entered, release, write = _blocking_writer(written)
    pending = PendingWrites(0.25, write, clock)  # type: ignore[arg-type]
    try:
        pending.hold_start(_start("slow"), [])
        clock.now += 1
        timer = threading.Thread(target=pending._write_starts_early)
        timer.start()
        assert entered.wait(10)
        # While "slow"'s start is being written, other operations are held, read and written without waiting.
        pending.hold_start(_start("other"), [])
        assert pending.record_of("other") is not None
        with pending.writing("other", []) as merged:
            assert merged == []
        assert written == []
        release.set()
        timer.join(10)
        assert written == ["slow"]
    finally:
        release.set()
        pending.discard()


def test_a_start_its_operation_is_writing_is_not_also_written_early() -> None:
    clock, written, pending = _recording_pending()
    try:
        pending.hold_start(_start("step"), [])
        clock.now += 1
        with pending.writing("step", []):
            pending._write_starts_early()  # the timer finds the operation's own write under way
        pending._write_starts_early()
        assert written == [] and not pending
    finally:
        pending.discard()


def test_discard_returns_only_once_no_early_write_is_in_flight() -> None:
    clock, written = _Clock(), []
    entered, release, write = _blocking_writer(written)
    pending = PendingWrites(0.25, write, clock)  # type: ignore[arg-type]
    pending.hold_start(_start("slow"), [])
    clock.now += 1
    timer = threading.Thread(target=pending._write_starts_early)
    timer.start()
    assert entered.wait(10)
    discarding = threading.Thread(target=pending.discard)
    discarding.start()
    discarding.join(0.2)
    assert discarding.is_alive()  # the invocation is not over while its early write may still land
    release.set()
    discarding.join(10)
    timer.join(10)
    assert not discarding.is_alive() and written == ["slow"]
    pending.hold_start(_start("late"), [])
    clock.now += 1
    pending._write_starts_early()
    assert written == ["slow"]


def test_at_the_process_thread_limit_starts_stay_held_for_their_next_write(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_thread(_: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Timer, "start", no_thread)
    pending = PendingWrites(0.25, lambda held: None)
    pending.hold_start(_start("step"), [])  # no timer: the step carries on, its start held
    with pending.writing("step", ["end"]) as merged:  # type: ignore[list-item]
        assert merged == ["end"]
    assert not pending
