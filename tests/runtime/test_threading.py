"""`durable_runtime.threading`: a lock granted in request order, a counter on it, and a completion event."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from durable_runtime.threading import CompletionEvent, OrderedCounter, OrderedLock, OrderedLockError


def _queue_up(lock: OrderedLock, body: Callable[[], None]) -> threading.Thread:
    """Start a thread running `body`, and return once it is in line for `lock` (no sleeping on time)."""
    before = lock._waiting
    thread = threading.Thread(target=body)
    thread.start()
    while lock._waiting == before:
        threading.Event().wait(0.001)
    return thread


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock, order = OrderedLock(), []
    lock.acquire()

    def waiter(name: str) -> Callable[[], None]:
        def run() -> None:
            with lock:
                order.append(name)

        return run

    threads = [_queue_up(lock, waiter(f"w{i}")) for i in range(1, 6)]
    lock.release()
    for thread in threads:
        thread.join()

    assert order == ["w1", "w2", "w3", "w4", "w5"]


def test_a_holder_failing_breaks_the_lock_for_waiters_and_later_callers() -> None:
    lock, outcomes = OrderedLock(), []
    holding, fail_now = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with lock:
                holding.set()
                fail_now.wait()
                raise ValueError("holder failed")
        except ValueError:
            outcomes.append("holder failed")

    def waiter() -> None:
        try:
            with lock:
                outcomes.append("waiter ran")
        except OrderedLockError as error:
            outcomes.append(f"waiter refused: {error.source_exception}")

    first = threading.Thread(target=holder)
    first.start()
    holding.wait()
    second = _queue_up(lock, waiter)
    fail_now.set()
    first.join()
    second.join()

    assert sorted(outcomes) == ["holder failed", "waiter refused: holder failed"]
    assert lock.is_broken()
    with pytest.raises(OrderedLockError, match="ValueError: holder failed"):
        lock.acquire()
    lock.reset()
    assert not lock.is_broken() and lock.acquire()


def test_release_without_acquire_is_an_error() -> None:
    with pytest.raises(OrderedLockError):
        OrderedLock().release()


def test_reset_refuses_while_held() -> None:
    lock = OrderedLock()
    lock.acquire()
    with pytest.raises(OrderedLockError):
        lock.reset()


def test_counter_counts_across_threads() -> None:
    counter = OrderedCounter()
    threads = [threading.Thread(target=lambda: [counter.increment() for _ in range(100)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counter.get_current() == 400
    assert counter.decrement() == 399


def test_completion_event_wakes_the_waiter_or_raises_the_first_error() -> None:
    done = CompletionEvent()
    assert not done.is_set() and done.wait(timeout=0) is False
    threading.Thread(target=done.set).start()
    assert done.wait() is True

    failed = CompletionEvent()
    failed.set(RuntimeError("first"))
    failed.set(RuntimeError("second"))
    with pytest.raises(RuntimeError, match="first"):
        failed.wait()
