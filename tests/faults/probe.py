"""What a fault run must not do to user code: run an at-most-once body twice, or any body twice at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from durable_runtime.types import StepContext


@dataclass
class Probe:
    """Counts the runs of step bodies per attempt, and how many run at once."""

    runs: Counter[tuple[str, int]] = field(default_factory=Counter)
    at_most_once: set[str] = field(default_factory=set)
    running: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget everything (a new run starts)."""
        with self._lock:
            self.runs.clear()
            self.at_most_once.clear()
            self.running.clear()
            self.peak.clear()

    @contextmanager
    def body(self, name: str, attempt: int, *, at_most_once: bool = False) -> Iterator[None]:
        """Mark one run of step `name`'s body for `attempt`."""
        with self._lock:
            self.runs[(name, attempt)] += 1
            if at_most_once:
                self.at_most_once.add(name)
            self.running[name] += 1
            self.peak[name] = max(self.peak[name], self.running[name])
        try:
            yield
        finally:
            with self._lock:
                self.running[name] -= 1

    def step(self, name: str, work: Callable[[StepContext], Any], *, at_most_once: bool = False) -> Any:
        """A step function that runs `work` inside `body`."""

        def run(step_context: StepContext) -> Any:
            with self.body(name, step_context.attempt, at_most_once=at_most_once):
                return work(step_context)

        return run

    def submitter(self, name: str) -> Callable[[str, Any], None]:
        """A wait_for_callback submitter (it runs in a step) that marks its runs."""

        def submit(callback_id: str, context: Any) -> None:
            with self.body(name, 0):
                return None

        return submit

    def violations(self) -> list[str]:
        """Bodies that ran concurrently with themselves, or more than once per attempt when at most once."""
        found = [f"{name} ran {peak} times at once" for name, peak in self.peak.items() if peak > 1]
        found += [
            f"at-most-once {name} attempt {attempt} ran {count} times"
            for (name, attempt), count in self.runs.items()
            if name in self.at_most_once and count > 1
        ]
        return found


PROBE = Probe()
