"""The local test runner against the official one, workload by workload, each run in a fresh process.

Ours runs under this interpreter. The official testing SDK runs under the interpreter named by
`DURABLE_BENCH_OFFICIAL_PYTHON` (`make bench` makes `.bench/official`, a venv of its own with the official packages,
never the runtime's); without one, its column is left empty. Figures are medians of paired runs: CPU seconds of the
whole process (all threads), wall seconds and peak memory of the run, and the runner's set-up CPU.
"""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parent / "runner_workloads.py"
FIRST_INVOCATION = pathlib.Path(__file__).resolve().parent / "first_invocation.py"
# (workload, size, repeats): the large ones take seconds each, so they run once.
WORKLOADS = [
    ("steps", 100, 5),
    ("steps", 1000, 3),
    ("steps", 3000, 1),
    ("step_wait", 50, 3),
    ("map", 1000, 1),
    ("parallel", 100, 3),
    ("replay", 3000, 1),
]
FIGURES = ("cpu", "wall", "peak_mb", "setup_cpu")


def official_python() -> str | None:
    """The interpreter that has the official SDK, if one was given and it imports."""
    candidate = os.environ.get("DURABLE_BENCH_OFFICIAL_PYTHON")
    if not candidate:
        return None
    probe = [candidate, "-c", "import aws_durable_execution_sdk_python_testing"]
    return candidate if subprocess.run(probe, capture_output=True).returncode == 0 else None


def _run_once(python: str, sdk: str, workload: str, size: int) -> dict[str, float]:
    done = subprocess.run([python, str(SCRIPT), sdk, workload, str(size)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{sdk} {workload} {size} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(samples: list[dict[str, float]]) -> dict[str, float]:
    return {figure: statistics.median(sample[figure] for sample in samples) for figure in FIGURES}


def measure() -> list[dict[str, object]]:
    """One row per workload: our figures, the official ones (or None) and their ratios (ours / official)."""
    official = official_python()
    rows: list[dict[str, object]] = []
    for workload, size, repeats in WORKLOADS:
        ours_samples, official_samples = [], []
        for _ in range(repeats):  # paired: both runs of a pair see the same machine load
            ours_samples.append(_run_once(sys.executable, "ours", workload, size))
            if official:
                official_samples.append(_run_once(official, "official", workload, size))
        ours = _median(ours_samples)
        theirs = _median(official_samples) if official_samples else None
        ratios = {f: ours[f] / theirs[f] for f in ("cpu", "wall", "peak_mb") if theirs and theirs[f]} if theirs else {}
        rows.append({"workload": f"{workload} {size}", "ours": ours, "official": theirs, "ratio": ratios})
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    """The comparison as a table: ratios below 1 mean we use less."""
    print(f"\n{'runner workload':18} {'cpu s':>7} {'official':>8} {'ratio':>6}   {'wall s':>7} {'official':>8} "
          f"{'ratio':>6}   {'MB':>5} {'official':>8}")  # fmt: skip
    for row in rows:
        ours, theirs, ratio = row["ours"], row["official"] or {}, row["ratio"]
        assert isinstance(ours, dict) and isinstance(theirs, dict) and isinstance(ratio, dict)

        def cell(value: object, spec: str) -> str:
            return format(value, spec) if isinstance(value, float) else "-"

        print(
            f"{row['workload']:18} {ours['cpu']:7.3f} {cell(theirs.get('cpu'), '8.3f'):>8} "
            f"{cell(ratio.get('cpu'), '6.2f'):>6}   {ours['wall']:7.3f} {cell(theirs.get('wall'), '8.3f'):>8} "
            f"{cell(ratio.get('wall'), '6.2f'):>6}   {ours['peak_mb']:5.0f} {cell(theirs.get('peak_mb'), '8.0f'):>8}"
        )


def first_invocation_ms(runs: int = 15) -> dict[str, float | None]:
    """Median milliseconds of SDK import + first invocation in a fresh process, ours and official (see
    first_invocation.py), paired run by run."""
    official = official_python()
    samples: dict[str, list[float]] = {"ours": [], "official": []}
    for _ in range(runs):
        for sdk, python in (("ours", sys.executable), ("official", official)):
            if python:
                done = subprocess.run([python, str(FIRST_INVOCATION), sdk], capture_output=True, text=True, check=True)
                samples[sdk].append(json.loads(done.stdout.strip().splitlines()[-1])["ms"])
    return {f"first_invocation_ms_{sdk}": statistics.median(v) if v else None for sdk, v in samples.items()}
