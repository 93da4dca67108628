"""One workload on one local test runner, in this process: `python runner_workloads.py SDK WORKLOAD N`.

SDK is `ours` (durable_runtime.testing on moto), `ours-memory` (its in-memory backend) or `official` (the
official testing SDK, when its packages are importable). The same handler source runs on all; only the imports
differ. Prints one JSON line: the run's CPU seconds (all threads of the process), wall seconds and the peak
resident set size in MB. Runner creation is measured apart (`setup_cpu`): a test suite pays it once per test.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def _imports(sdk: str) -> tuple[Any, Any, Any]:
    if sdk.startswith("ours"):
        from durable_runtime import durable_execution
        from durable_runtime.config import Duration
        from durable_runtime.testing import DurableFunctionTestRunner
    else:
        from aws_durable_execution_sdk_python import durable_execution  # type: ignore[no-redef]
        from aws_durable_execution_sdk_python.config import Duration  # type: ignore[no-redef]
        from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner  # type: ignore[no-redef]
    return durable_execution, Duration, DurableFunctionTestRunner


def _handlers(durable_execution: Any, duration: Any, n: int) -> dict[str, Any]:
    def steps(event: Any, ctx: Any) -> int:
        return sum(ctx.step(lambda _, i=i: i, name=f"s{i}") for i in range(n))

    def step_wait(event: Any, ctx: Any) -> int:
        total = 0
        for i in range(n):
            total += ctx.step(lambda _, i=i: i, name=f"s{i}")
            ctx.wait(duration.from_seconds(5), name=f"w{i}")
        return total

    def replay(event: Any, ctx: Any) -> int:
        # n steps, then a wait: the invocation after it replays all n before the last step runs.
        total = sum(ctx.step(lambda _, i=i: i, name=f"s{i}") for i in range(n))
        ctx.wait(duration.from_seconds(5), name="pause")
        return total + ctx.step(lambda _: 1, name="last")

    def mapping(event: Any, ctx: Any) -> int:
        return sum(ctx.map(list(range(n)), lambda c, item, index, items: item * 2, name="m").get_results())

    def parallel(event: Any, ctx: Any) -> int:
        return sum(ctx.parallel([(lambda c, i=i: i) for i in range(n)], name="p").get_results())

    workloads = {"steps": steps, "step_wait": step_wait, "replay": replay, "map": mapping, "parallel": parallel}
    return {name: durable_execution(handler) for name, handler in workloads.items()}


def measure(sdk: str, workload: str, n: int) -> dict[str, float]:
    """Run `workload` of size `n` once on `sdk`'s runner; its CPU, wall time and peak memory."""
    durable_execution, duration, runner_class = _imports(sdk)
    handler = _handlers(durable_execution, duration, n)[workload]
    options = {"backend": "memory"} if sdk == "ours-memory" else {}
    cpu_0 = time.process_time()
    with runner_class(handler=handler, **options) as runner:
        cpu_1, wall_1 = time.process_time(), time.perf_counter()
        result = runner.run(input="{}", timeout=900)
        cpu_2, wall_2 = time.process_time(), time.perf_counter()
    status = getattr(result.status, "value", result.status)
    if status != "SUCCEEDED":
        raise SystemExit(f"{sdk} {workload} {n}: {status} {result.error}")
    return {"setup_cpu": cpu_1 - cpu_0, "cpu": cpu_2 - cpu_1, "wall": wall_2 - wall_1, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, which starts afresh at exec (getrusage's maximum
    carries the parent's over a fork and exec, so a child of a big benchmark process would report the parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # the official runner warns that `timeout` is deprecated
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
