"""Scale inside one execution, on the engine with its journal in memory (so the figures are the engine's own).

- A map of N items with the default config (no max_concurrency): CPU of the invocation that runs it, and of the
  next one, which replays the finished map (its result passes 256 KB from about 2,000 items).
- A long execution: N steps with a wait every 1,000; CPU of its last invocation and per step over all of them.

`python bench/scale.py [map SIZES...] [long STEPS]` prints the figures; `make bench` records the default ones.
`python bench/scale.py runner moto|memory map N | steps N` measures the local runner on the same handlers (the CPU
of `runner.run`; minutes on moto for the largest sizes, so `make bench` leaves it out).
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

from cpu import FUNCTION, _services

from durable_runtime.config import Duration
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.functions import FunctionDescription
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.engine.invocation import run_invocation
from durable_runtime.engine.starting import start_execution
from durable_runtime.testing.clock import VirtualClock


def _map_then_wait(count: int) -> Any:
    def handler(event: Any, ctx: Any) -> int:
        result = ctx.map(list(range(count)), lambda c, x, i, items: c.step(lambda _: x, name="item"), name="fan")
        ctx.wait(Duration.from_seconds(5), name="pause")
        ctx.step(lambda _: None, name="after")
        return len(result.get_results())

    return handler


def _steps_with_waits(count: int, wait_every: int) -> Any:
    def handler(event: Any, ctx: Any) -> int:
        for index in range(count):
            ctx.step(lambda _, i=index: i, name="step")
            if (index + 1) % wait_every == 0:
                ctx.wait(Duration.from_seconds(5), name="pause")
        return count

    return handler


def _cpu_of_invocations(handler: Any, name: str, limit: int) -> list[float]:
    """Run the execution to its end (a lambda event per invocation); the CPU of each invocation."""
    clock = VirtualClock()
    services = _services(clock)
    record, _ = start_execution(services, FunctionDescription(FUNCTION, "1"), name, "{}")
    arn = ExecutionArn.parse(record.arn)
    seconds = []
    for number in range(limit):
        gc.collect()
        started = time.process_time()
        outcome = run_invocation(handler, ResumeRequest(arn, "bench"), f"r{number}", None, services)
        seconds.append(time.process_time() - started)
        if outcome.status != "PENDING":
            return seconds
        clock.advance(10)
    raise RuntimeError(f"{name} did not finish in {limit} invocations")


def map_figures(count: int) -> dict[str, float]:
    """CPU of running a map of `count` items, and of replaying it once finished."""
    run, replay, *_ = _cpu_of_invocations(_map_then_wait(count), f"map-{count}", 10)
    return {f"map_{count}_cpu_s": run, f"map_{count}_replay_cpu_s": replay}


def long_execution_figures(steps: int, wait_every: int = 1000) -> dict[str, float]:
    """CPU of the last invocation of `steps` steps with a wait every `wait_every`, and per step over all."""
    seconds = _cpu_of_invocations(_steps_with_waits(steps, wait_every), f"long-{steps}", steps // wait_every + 2)
    return {
        f"long_{steps}_last_invocation_cpu_s": seconds[-1],
        f"long_{steps}_cpu_us_per_step": sum(seconds) / steps * 1e6,
    }


def measure(map_sizes: tuple[int, ...] = (1000, 10000), long_steps: int = 50000) -> dict[str, float]:
    """The default figures `make bench` records."""
    figures: dict[str, float] = {}
    for size in map_sizes:
        figures.update(map_figures(size))
    figures.update(long_execution_figures(long_steps))
    return figures


def runner_cpu_seconds(backend: str, kind: str, size: int) -> float:
    """CPU of the local runner running a map of `size` items, or `size` steps with a wait every 1,000."""
    from durable_runtime.execution import durable_execution
    from durable_runtime.testing import DurableFunctionTestRunner

    handler = _map_then_wait(size) if kind == "map" else _steps_with_waits(size, 1000)
    with DurableFunctionTestRunner(durable_execution(handler), backend=backend) as runner:
        started = time.process_time()
        result = runner.run(input="{}", timeout=3600)
        seconds = time.process_time() - started
    if result.status.value != "SUCCEEDED":
        raise RuntimeError(f"{kind} of {size} on {backend}: {result.status.value} {result.error}")
    return seconds


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["runner"]:
        _, backend, kind, size = args
        print(f"runner {backend} {kind} {size}: {runner_cpu_seconds(backend, kind, int(size)):.1f} s CPU")
        sys.exit(0)
    long_steps = int(args[args.index("long") + 1]) if "long" in args else None
    figures: dict[str, float] = {}
    for size in (int(a) for a in args[args.index("map") + 1 :] if a.isdigit()) if "map" in args else ():
        if size != long_steps:
            figures.update(map_figures(size))
    if long_steps is not None:
        figures.update(long_execution_figures(long_steps))
    for key, value in figures.items():
        print(f"{key:40} {value:10.3f}")
