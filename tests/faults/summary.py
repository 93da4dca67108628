"""Print the fault sweep's figures from the JSON lines its tests append (see test_sweep.py)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    """Print one line per workflow and the totals."""
    with open(path, encoding="utf-8") as report:
        rows = [json.loads(line) for line in report if line.strip()]
    by_workflow: dict[str, list[dict[str, float]]] = defaultdict(list)
    for row in rows:
        by_workflow[row["workflow"]].append(row)
    print(f"{'workflow':<20} {'boundaries':>10} {'runs':>6} {'violations':>10} {'worst recovery':>15}")
    for name, lines in sorted(by_workflow.items()):
        print(
            f"{name:<20} {sum(r['boundaries'] for r in lines):>10} {sum(r['runs'] for r in lines):>6} "
            f"{sum(r['violations'] for r in lines):>10} {max(r['worst_extra_seconds'] for r in lines):>14.0f}s"
        )
    print(
        f"{'all':<20} {sum(r['boundaries'] for r in rows):>10} {sum(r['runs'] for r in rows):>6} "
        f"{sum(r['violations'] for r in rows):>10} {max(r['worst_extra_seconds'] for r in rows):>14.0f}s"
        f"   (faults not reached: {sum(r['faults_not_reached'] for r in rows)})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
