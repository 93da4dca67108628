"""CPU cost of the engine itself, with the journal in memory, and the import cost on a cold start."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from durable_runtime.config import Duration
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.functions import FunctionDescription
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.engine.invocation import run_invocation
from durable_runtime.engine.services import EngineServices, EngineSettings
from durable_runtime.engine.starting import start_execution
from durable_runtime.journal.memory import InMemoryJournalStore
from durable_runtime.testing.clock import VirtualClock
from durable_runtime.testing.memory_world import MemoryPayloads

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:bench"


class _NoTimers:
    def schedule(self, request: Any, due_at: float) -> None:
        """Timers are not part of what is measured."""


class _NoLambda:
    def invoke_async(self, qualified_function_arn: str, event: dict[str, Any]) -> None:
        """Not used."""

    def describe(self, function: str) -> FunctionDescription:
        """Not used."""
        return FunctionDescription(FUNCTION, "1")


def _services(clock: VirtualClock) -> EngineServices:
    return EngineServices(
        store=InMemoryJournalStore(),
        payloads=MemoryPayloads(),  # as deployed, large results can be offloaded
        timers=_NoTimers(),
        invoker=_NoLambda(),  # type: ignore[arg-type]
        clock=clock,
        settings=EngineSettings(start_linger_seconds=60.0),
    )


def _steps_then_wait(count: int) -> Any:
    def handler(event: Any, ctx: Any) -> int:
        for index in range(count):
            ctx.step(lambda _, i=index: i, name=f"step-{index}")
        ctx.wait(Duration.from_seconds(5), name="pause")
        return count

    return handler


def _invoke(services: EngineServices, handler: Any, arn: ExecutionArn, request_id: str) -> float:
    started = time.process_time()
    run_invocation(handler, ResumeRequest(arn, "bench"), request_id, None, services)
    return time.process_time() - started


def step_and_replay_cpu(steps: int = 1000, replayed: int = 3000) -> dict[str, float]:
    """CPU per step on a first run, and CPU to replay `replayed` recorded operations."""
    clock = VirtualClock()
    services = _services(clock)
    record, _ = start_execution(services, FunctionDescription(FUNCTION, "1"), "cpu-steps", "{}")
    step_seconds = _invoke(services, _steps_then_wait(steps), ExecutionArn.parse(record.arn), "first")

    record, _ = start_execution(services, FunctionDescription(FUNCTION, "1"), "cpu-replay", "{}")
    arn = ExecutionArn.parse(record.arn)
    _invoke(services, _steps_then_wait(replayed), arn, "record")
    clock.advance(10)
    replay_seconds = _invoke(services, _steps_then_wait(replayed), arn, "replay")
    return {"step_cpu_us": step_seconds / steps * 1e6, "replay_cpu_ms_3000": replay_seconds * 1000}


_IMPORT_PROBE = (
    "import time, boto3; t = time.perf_counter(); import durable_runtime.execution; "
    "print((time.perf_counter() - t) * 1000)"
)


def import_ms_beyond_boto3(runs: int = 9) -> float:
    """Median wall time of `import durable_runtime.execution` in a fresh interpreter that already has boto3."""
    samples = [
        float(subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    ]
    return statistics.median(samples)
