"""Small thread-coordination primitives: a first-come-first-served lock, a counter built on it, a completion event.

`OrderedLock` hands the lock to waiters strictly in the order they asked for it (a plain ``threading.Lock`` leaves
that to the scheduler). Because later holders may rely on earlier ones having finished cleanly, a holder that
leaves its ``with`` block by an exception breaks the lock: every waiter, and every later ``acquire``, gets
`OrderedLockError` carrying that exception, until `OrderedLock.reset`.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .exceptions import DurableExecutionsError

__all__ = ["BranchThreads", "CompletionEvent", "OrderedCounter", "OrderedLock", "OrderedLockError"]

T = TypeVar("T")

_BROKEN = "The ordered lock is broken: an earlier holder left with an exception."


class OrderedLockError(DurableExecutionsError):
    """An `OrderedLock` cannot be acquired (an earlier holder failed) or was released without being held.

    Attributes:
        source_exception: The exception the failed holder left with, if that is the cause.
    """

    error_type = "OrderedLockError"

    def __init__(self, message: str, source_exception: BaseException | None = None) -> None:
        cause = source_exception
        detail = message if cause is None else f"{message} {type(cause).__name__}: {cause}"
        super().__init__(detail)
        self.source_exception = source_exception


class CompletionEvent:
    """An event one thread sets to wake another, optionally handing it an exception to raise instead."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._error: BaseException | None = None

    def set(self, error: BaseException | None = None) -> None:
        """Wake the waiters; with `error`, `wait` raises it (the first error given is kept)."""
        if self._error is None:
            self._error = error
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until set or `timeout` seconds pass; True if set. Raises the error passed to `set`, if any."""
        was_set = self._event.wait(timeout)
        if self._error is not None:
            raise self._error
        return was_set

    def is_set(self) -> bool:
        """Whether `set` has been called."""
        return self._event.is_set()


class OrderedLock:
    """A lock granted to callers in the order they called `acquire`; usable as a context manager."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._now_serving = 0
        self._held = False
        self._waiting = 0
        self._failure: BaseException | None = None
        self._broken = False

    def acquire(self) -> bool:
        """Wait for this caller's turn and take the lock; True once held.

        Raises:
            OrderedLockError: The lock is broken, or broke while this caller waited.
        """
        with self._condition:
            if self._broken:
                raise OrderedLockError(_BROKEN, self._failure)
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting += 1
            try:
                self._condition.wait_for(lambda: self._broken or self._now_serving == ticket)
            finally:
                self._waiting -= 1
            if self._broken:
                raise OrderedLockError(_BROKEN, self._failure)
            self._held = True
            return True

    def release(self) -> None:
        """Give the lock to the next caller in line.

        Raises:
            OrderedLockError: The lock is not held.
        """
        with self._condition:
            if not self._held:
                raise OrderedLockError("Release called on an ordered lock that is not held.")
            self._held = False
            self._now_serving += 1
            self._condition.notify_all()

    def reset(self) -> None:
        """Mend a broken lock once nobody holds or waits for it.

        Raises:
            OrderedLockError: Someone still holds or waits for the lock.
        """
        with self._condition:
            if self._held or self._waiting:
                raise OrderedLockError("Cannot reset an ordered lock that is held or waited for.")
            self._broken = False
            self._failure = None
            self._now_serving = self._next_ticket

    def is_broken(self) -> bool:
        """Whether an earlier holder left with an exception (and `reset` has not been called since)."""
        with self._condition:
            return self._broken

    def __enter__(self) -> OrderedLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is not None:
            with self._condition:
                self._broken = True
                self._failure = exc
                self._condition.notify_all()
        self.release()


class OrderedCounter:
    """A counter from 0 whose increments are handed out in the order callers asked for them."""

    def __init__(self) -> None:
        self._lock = OrderedLock()
        self._value = 0

    def increment(self) -> int:
        """Add one and return the new value."""
        with self._lock:
            self._value += 1
            return self._value

    def decrement(self) -> int:
        """Subtract one and return the new value."""
        with self._lock:
            self._value -= 1
            return self._value

    def get_current(self) -> int:
        """The current value."""
        with self._lock:
            return self._value


# Lambda allows 1,024 threads per execution environment. The branch threads of every map and parallel in the
# process, nested or not, share this budget, which leaves the rest to the runtime, the AWS clients and user code.
BRANCH_THREAD_BUDGET = 256


# How long a batch's idle thread waits for another branch before it ends and gives its place in the budget back.
_IDLE_THREAD_SECONDS = 0.05


class BranchThreads:
    """Runs a batch's branches on threads from a process-wide budget; with the budget spent, in the caller.

    As in a thread pool, a thread that finishes a branch takes the next one queued, waiting briefly for one if
    none is; a new thread starts only when no thread of the batch is idle. When no thread can be had (the budget
    is spent by other batches, or the system refuses one: "can't start new thread") and none of the batch's
    threads is alive to take the branch, it runs in the calling (coordinating) thread: slower, but progress never
    depends on getting a thread, and nested batches cannot deadlock waiting for threads their parents hold.
    """

    _budget = threading.BoundedSemaphore(BRANCH_THREAD_BUDGET)

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[Callable[[Any], None], Any]] = collections.deque()
        self._changed = threading.Condition()
        self._alive = 0
        self._idle = 0
        self._closing = False
        self._threads: list[threading.Thread] = []

    def submit(self, work: Callable[[T], None], argument: T) -> None:
        """Run `work(argument)` on one of the batch's threads, a new one from the budget, or here and now."""
        with self._changed:
            self._queue.append((work, argument))
            if self._idle > len(self._queue) - 1:
                self._changed.notify()
                return
            if self._start_thread() or self._alive:
                return  # a thread of this batch takes it from the queue
            self._queue.pop()
        work(argument)

    def _start_thread(self) -> bool:
        """Start one more thread (called holding the condition's lock); False when none can be had."""
        if not self._budget.acquire(blocking=False):
            return False
        thread = threading.Thread(target=self._serve, name="durable-branch", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # the process is at its thread limit
            self._budget.release()
            return False
        self._alive += 1
        self._threads.append(thread)
        return True

    def _serve(self) -> None:
        try:
            while True:
                with self._changed:
                    if not self._queue and not self._closing:
                        self._idle += 1
                        self._changed.wait(_IDLE_THREAD_SECONDS)
                        self._idle -= 1
                    if not self._queue:
                        self._alive -= 1
                        return
                    work, argument = self._queue.popleft()
                try:
                    work(argument)
                except BaseException:
                    # Branch work reports its own failures; should it raise anyway, this thread stops counting as
                    # alive, so later branches are not left queued for it.
                    with self._changed:
                        self._alive -= 1
                    raise
        finally:
            self._budget.release()

    def join(self) -> None:
        """Wait for every branch submitted to finish (the caller submits no more meanwhile)."""
        with self._changed:
            self._closing = True  # idle threads end now rather than after their wait
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()
