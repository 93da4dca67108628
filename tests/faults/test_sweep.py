"""Crash everywhere: every workflow ends as its clean run did, whatever single fault strikes, and soon.

For each workflow, the clean run's AWS calls and deliveries are the boundaries. The default run samples them: the
three call faults (crash before, crash after, fail once) take turns over three of every five calls, every kind of
call gets at least one of them, and every third delivery is duplicated at once (another third, late). `make
test-faults` (DURABLE_FAULT_SWEEP=all) runs every fault at every boundary. With DURABLE_FAULT_REPORT set to a file, each
test appends its figures (boundaries, runs, violations, worst recovery) as one JSON line.
"""

from __future__ import annotations

import functools
import json
import os
import random

import pytest

from .sweep import CALL_KINDS, DELIVERY_KINDS, KINDS, Fault, Outcome, faults_of, run, violations
from .workflows import WORKFLOWS, Workflow

_EVERYTHING = os.environ.get("DURABLE_FAULT_SWEEP") == "all"
_BY_NAME = {workflow.name: workflow for workflow in WORKFLOWS}


@functools.cache
def _clean(name: str) -> Outcome:
    return run(_BY_NAME[name])


def _sample(faults: list[Fault], kind: str) -> list[Fault]:
    """All faults with DURABLE_FAULT_SWEEP=all; otherwise about a fifth of the boundaries, every kind of call once."""
    if _EVERYTHING:
        return faults
    if kind in DELIVERY_KINDS:
        return faults[DELIVERY_KINDS.index(kind) :: 3]
    phase = CALL_KINDS.index(kind)
    chosen = [fault for fault in faults if fault.index % 5 == phase]
    covered = {(fault.service, fault.operation) for fault in faults if fault.index % 5 < len(CALL_KINDS)}
    # A kind of call the rotation missed gets the call faults in turn, from its first occurrence.
    missed = [fault for fault in faults if fault.skip == 0 and (fault.service, fault.operation) not in covered]
    chosen += [fault for number, fault in enumerate(missed) if number % len(CALL_KINDS) == phase]
    return sorted(set(chosen), key=lambda fault: fault.index)


def _report(
    workflow: Workflow, kind: str, boundaries: int, runs: int, found: list[str], worst: float, idle: int
) -> None:
    path = os.environ.get("DURABLE_FAULT_REPORT")
    if not path:
        return
    line = {
        "workflow": workflow.name,
        "kind": kind,
        "boundaries": boundaries,
        "runs": runs,
        "violations": len(found),
        "worst_extra_seconds": round(worst, 1),
        "faults_not_reached": idle,
    }
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps(line) + "\n")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(_BY_NAME))
def test_every_single_fault_ends_as_the_clean_run(name: str, kind: str) -> None:
    workflow, clean = _BY_NAME[name], _clean(name)
    assert clean.status == workflow.ends, clean.status
    assert not clean.probe and not clean.history, (clean.probe, clean.history)
    boundaries = faults_of(clean, kind)
    found: list[str] = []
    worst, idle = 0.0, 0
    selected = _sample(boundaries, kind)
    for fault in selected:
        try:
            outcome = run(workflow, fault)
        except Exception as error:  # noqa: BLE001 - a run that cannot finish is the violation being looked for
            found.append(f"{fault.describe()}: {type(error).__name__}: {error}")
            continue
        worst = max(worst, outcome.elapsed - clean.elapsed)
        idle += kind not in DELIVERY_KINDS and not outcome.fired
        found.extend(f"{fault.describe()}: {problem}" for problem in violations(clean, outcome))
    _report(workflow, kind, len(boundaries), len(selected), found, worst, idle)
    assert not found, "\n".join(found)


_PAIRS = int(os.environ.get("DURABLE_FAULT_PAIRS", "0"))


@pytest.mark.skipif(not _PAIRS, reason="DURABLE_FAULT_PAIRS=N runs N pairs of faults per workflow")
@pytest.mark.parametrize("name", list(_BY_NAME))
def test_two_faults_in_one_run_end_as_the_clean_run(name: str) -> None:
    """Two faults in one run, drawn at random (seeded by the workflow's name): a second fault often strikes a
    recovery from the first (a retry, a lost invocation's record, a lease recheck), which no single fault reaches."""
    workflow, clean = _BY_NAME[name], _clean(name)
    every = [fault for kind in KINDS for fault in faults_of(clean, kind)]
    draw = random.Random(name)
    found: list[str] = []
    for _ in range(_PAIRS):
        pair = sorted(draw.sample(every, 2), key=lambda fault: fault.index)
        described = " + ".join(fault.describe() for fault in pair)
        try:
            outcome = run(workflow, *pair)
        except Exception as error:  # noqa: BLE001 - a run that cannot finish is the violation being looked for
            found.append(f"{described}: {type(error).__name__}: {error}")
            continue
        found.extend(f"{described}: {problem}" for problem in violations(clean, outcome, faults=2))
    assert not found, "\n".join(found)
