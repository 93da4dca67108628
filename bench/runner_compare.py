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
    """One row per workload: figures for ours on moto, ours in memory and the official runner (or None), and the
    ratios of ours to the official (below 1: we use less)."""
    official = official_python()
    runners = [("ours", sys.executable), ("ours-memory", sys.executable), ("official", official)]
    rows: list[dict[str, object]] = []
    for workload, size, repeats in WORKLOADS:
        samples: dict[str, list[dict[str, float]]] = {name: [] for name, _ in runners}
        for _ in range(repeats):  # paired: every runner of a round sees the same machine load
            for name, python in runners:
                if python:
                    samples[name].append(_run_once(python, name, workload, size))
        row: dict[str, object] = {"workload": f"{workload} {size}"}
        medians = {name: _median(found) if found else None for name, found in samples.items()}
        row.update(medians)
        theirs = medians["official"]
        for name in ("ours", "ours-memory"):
            ours = medians[name]
            ratio = {f: ours[f] / theirs[f] for f in ("cpu", "wall", "peak_mb")} if ours and theirs else {}
            row[f"{name}/official"] = ratio
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    """CPU and wall seconds, peak MB; ratios to the official runner in parentheses (below 1: we use less)."""
    print(f"\n{'runner workload':16} {'':10} {'cpu s':>15} {'wall s':>15} {'peak MB':>8}")
    for row in rows:
        for name in ("ours", "ours-memory", "official"):
            figures = row.get(name)
            if not isinstance(figures, dict):
                continue
            ratio = row.get(f"{name}/official") or {}
            assert isinstance(ratio, dict)

            label = row["workload"] if name == "ours" else ""
            cpu, wall = _cell(figures, ratio, "cpu", ".3f"), _cell(figures, ratio, "wall", ".3f")
            print(f"{label!s:16} {name:11} {cpu:>15} {wall:>15} {_cell(figures, ratio, 'peak_mb', '.0f'):>10}")


def _cell(figures: dict[str, float], ratio: dict[str, float], figure: str, spec: str) -> str:
    value = format(figures[figure], spec)
    return f"{value} ({ratio[figure]:.2f})" if figure in ratio else value


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
