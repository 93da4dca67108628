"""`make bench`: measure Durable Kit's costs, print a table and write bench/results.json."""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# The repository root, for the examples the liveness figures run.
sys.path.insert(1, str(pathlib.Path(__file__).resolve().parents[1]))

import cpu
import fanout
import journal_costs
import liveness

TARGETS = {
    "step_writes": ("== 1", lambda v: v == 1),
    "step_reads": ("== 0", lambda v: v == 0),
    "wait_writes+wait_timer_calls": ("<= 2", lambda v: v <= 2),
    "replay_queries_3000": ("<= 4", lambda v: v <= 4),
    "import_ms_beyond_boto3": ("<= 15", lambda v: v <= 15),
}


def main() -> int:
    results: dict[str, float] = {}
    results.update(journal_costs.measure())
    results.update(cpu.step_and_replay_cpu())
    results["import_ms_beyond_boto3"] = cpu.import_ms_beyond_boto3()
    results.update(fanout.measure())
    results.update(liveness.measure())
    results = {key: round(value, 3) for key, value in results.items()}
    checked = {**results, "wait_writes+wait_timer_calls": results["wait_writes"] + results["wait_timer_calls"]}

    print(f"{'figure':32} {'value':>12}  target")
    for key, value in checked.items():
        target, ok = TARGETS.get(key, ("", None))
        verdict = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:32} {value:>12}  {target} {verdict}")
    path = pathlib.Path(__file__).resolve().parent / "results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path}")
    return 0 if all(ok(checked[key]) for key, (_, ok) in TARGETS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
