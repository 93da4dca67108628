"""`make bench`: measure Durable Kit's costs, print tables and write .bench/results.json (untracked).

`--runner-only` measures only the local runner against the official one (see runner_compare.py).
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# The repository root, for the examples the liveness figures run.
sys.path.insert(1, str(pathlib.Path(__file__).resolve().parents[1]))

import costs
import cpu
import fanout
import journal_costs
import liveness
import runner_compare
import scale

TARGETS = {
    "step_writes": ("== 1", lambda v: v == 1),
    "step_reads": ("== 0", lambda v: v == 0),
    "wait_writes+wait_timer_calls": ("<= 2", lambda v: v <= 2),
    "replay_queries_3000": ("<= 4", lambda v: v <= 4),
    "import_ms_beyond_boto3": ("<= 15", lambda v: v <= 15),
    # Issue 15: linear map bookkeeping, and a bounded last invocation of a long execution (engine CPU).
    "map_10000_cpu_s/map_1000_cpu_s": ("<= 12", lambda v: v <= 12),
    "long_50000_last_invocation_cpu_s": ("< 1", lambda v: v < 1),
    "map_unbounded_writes_per_item": ("<= 2.05", lambda v: v <= 2.05),  # one per operation (context, step)
}


def main() -> int:
    results: dict[str, object] = {}
    status = 0
    if "--runner-only" not in sys.argv:
        status = _engine_figures(results)
        results["costs"] = report = costs.measure()
        costs.print_report(report)
    results["runner"] = runner = runner_compare.measure()
    runner_compare.print_table(runner)
    results.update(first := runner_compare.first_invocation_ms())
    ours, official = first["first_invocation_ms_ours"], first["first_invocation_ms_official"]
    print(
        f"\nfirst invocation (import + first call, median of 15): ours {ours:.0f} ms, official "
        + (f"{official:.0f} ms, ratio {ours / official:.2f}" if official else "not installed")
    )
    path = pathlib.Path.cwd() / ".bench" / "results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return status


def _engine_figures(results: dict[str, object]) -> int:
    figures: dict[str, float] = {}
    figures.update(journal_costs.measure())
    figures.update(cpu.step_and_replay_cpu())
    figures["import_ms_beyond_boto3"] = cpu.import_ms_beyond_boto3()
    figures.update(fanout.measure())
    figures.update(liveness.measure())
    figures.update(scale.measure())
    figures = {key: round(value, 3) for key, value in figures.items()}
    results.update(figures)
    checked = {
        **figures,
        "wait_writes+wait_timer_calls": figures["wait_writes"] + figures["wait_timer_calls"],
        "map_10000_cpu_s/map_1000_cpu_s": round(figures["map_10000_cpu_s"] / figures["map_1000_cpu_s"], 2),
    }

    print(f"{'figure':32} {'value':>12}  target")
    for key, value in checked.items():
        target, ok = TARGETS.get(key, ("", None))
        verdict = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:32} {value:>12}  {target} {verdict}")
    return 0 if all(ok(checked[key]) for key, (_, ok) in TARGETS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
