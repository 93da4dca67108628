"""Handlers for the parallel specs (shared/conformance/parallel), each written from its spec's `handler` prose.

Every spec but the empty one sets max-concurrency 1, so branches run one after the other in index order and the
history is deterministic. `runs` counts how often each branch body ran: a branch the completion policy must
never start shows up in `EXPECTED_RUNS` with 0 runs, and a branch that ran once is not run again by a replay.
Handlers returning a projection of the BatchResult return JSON values (enum `.value`s, counts).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from durable_runtime.config import CompletionConfig, ParallelBranch, ParallelConfig
from durable_runtime.context import DurableContext, durable_parallel_branch
from durable_runtime.execution import durable_execution
from durable_runtime.serdes import SerDes, SerDesContext

from .spec import ALL_COUNTS
from .spec import batch_projection as _projection

runs: Counter[str] = Counter()

Branch = Callable[[DurableContext], Any]


def reset() -> None:
    """Forget the counts of earlier runs."""
    runs.clear()


def _sequential(completion_config: CompletionConfig | None = None, **options: Any) -> ParallelConfig:
    """Max-concurrency 1 (branches in index order), with the spec's completion config when it gives one."""
    if completion_config is not None:
        options["completion_config"] = completion_config
    return ParallelConfig(max_concurrency=1, **options)


def _returns(label: str, value: Any) -> Branch:
    """A branch returning `value` directly, counted under `label`."""

    def branch(_: DurableContext) -> Any:
        runs[label] += 1
        return value

    return branch


def _raises(label: str) -> Branch:
    """A branch raising an error, counted under `label`."""

    def branch(_: DurableContext) -> Any:
        runs[label] += 1
        raise RuntimeError(f"{label} failed")

    return branch


def _step_returning(label: str, value: str) -> Branch:
    """A branch running a single step that returns `value`; the step body is counted under `label`."""

    def step(_: Any) -> str:
        runs[label] += 1
        return value

    return lambda branch_context: branch_context.step(step)


@durable_execution
def parallel_basic(event: Any, context: DurableContext) -> list[str]:
    """8-1: two branches, each a single step returning a constant."""
    branches = [_step_returning("task-1", "task-1"), _step_returning("task-2", "task-2")]
    return context.parallel(branches, name="parallel", config=_sequential()).get_results()


@durable_execution
def parallel_without_name(event: Any, context: DurableContext) -> list[str]:
    """8-2: the branches-only form (no name); each branch returns a constant directly."""
    branches = [_returns("alpha", "alpha"), _returns("beta", "beta")]
    return context.parallel(branches, config=_sequential()).get_results()


@durable_parallel_branch("second")
def second_branch(branch_context: DurableContext) -> str:
    runs["second"] += 1
    return "two"


@durable_execution
def parallel_named_branches(event: Any, context: DurableContext) -> list[str]:
    """8-3: named-branch objects "first" and "second" (a ParallelBranch and a @durable_parallel_branch)."""
    branches = [ParallelBranch(_returns("first", "one"), name="first"), second_branch()]
    return context.parallel(branches, name="named", config=_sequential()).get_results()


@durable_execution
def parallel_empty(event: Any, context: DurableContext) -> list[Any]:
    """8-5: no branches at all; the batch completes at once, ALL_COMPLETED with nothing in it."""
    result = context.parallel([], name="empty")
    assert result.completion_reason.value == "ALL_COMPLETED", result.completion_reason
    assert result.total_count == 0, result.total_count
    return result.get_results()


@durable_execution
def parallel_fail_fast(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-6: tolerated-failure-count 0: branch 0 succeeds, branch 1 fails, branch 2 never starts."""
    branches = [_returns("b0", "ok"), _raises("b1"), _returns("b2", "never")]
    config = _sequential(CompletionConfig(tolerated_failure_count=0))
    return _projection(context.parallel(branches, name="failfast", config=config), *ALL_COUNTS)


@durable_execution
def parallel_throw_if_error(event: Any, context: DurableContext) -> None:
    """8-7: tolerated-failure-count 0: branch 0 fails, branch 1 never starts; throw_if_error fails the execution."""
    branches = [_raises("b0"), _returns("b1", "never")]
    config = _sequential(CompletionConfig(tolerated_failure_count=0))
    context.parallel(branches, name="throwing", config=config).throw_if_error()


@durable_execution
def parallel_min_successful(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-8: min-successful 2 over four branches: branches 2 and 3 never start."""
    branches = [_returns(f"b{index}", f"r{index}") for index in range(4)]
    config = _sequential(CompletionConfig(min_successful=2))
    result = context.parallel(branches, name="min-successful", config=config)
    return _projection(result, "completionReason", "successCount", "totalCount")


@durable_execution
def parallel_tolerated_failure(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-9: tolerated-failure-count 1: branch 1 fails within tolerance, all three branches run."""
    branches = [_returns("b0", "r0"), _raises("b1"), _returns("b2", "r2")]
    config = _sequential(CompletionConfig(tolerated_failure_count=1))
    return _projection(context.parallel(branches, name="tolerated", config=config), *ALL_COUNTS)


@durable_execution
def parallel_tolerance_exceeded(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-10: tolerated-failure-count 1: branches 0 and 1 fail, branch 2 never starts."""
    branches = [_raises("b0"), _raises("b1"), _returns("b2", "never")]
    config = _sequential(CompletionConfig(tolerated_failure_count=1))
    result = context.parallel(branches, name="tolerated-exceeded", config=config)
    return _projection(result, "completionReason", "successCount", "failureCount", "totalCount")


class WrappingSerDes(SerDes[Any]):
    """Serializes a value v as the envelope {"wrapped": v}, and reads the envelope back to v."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return json.loads(data)["wrapped"]


@durable_execution
def parallel_item_serdes(event: Any, context: DurableContext) -> list[str]:
    """8-15: a per-branch serde (item_serdes) records each result wrapped and reads it back unwrapped."""
    branches = [_returns("b0", "x"), _returns("b1", "y")]
    config = _sequential(item_serdes=WrappingSerDes())
    return context.parallel(branches, name="serde", config=config).get_results()


@durable_execution
def parallel_all_fail(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-16: tolerated-failure-count 3: all three branches fail, all run, ALL_COMPLETED with status FAILED."""
    branches = [_raises(f"b{index}") for index in range(3)]
    config = _sequential(CompletionConfig(tolerated_failure_count=3))
    return _projection(context.parallel(branches, name="all-fail", config=config), *ALL_COUNTS)


@durable_execution
def parallel_combined_completion(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-18: min-successful 3 and tolerated-failure-count 1: branches 0 and 1 fail, 2 and 3 never start."""
    branches = [_raises("b0"), _raises("b1"), _returns("b2", "never"), _returns("b3", "never")]
    config = _sequential(CompletionConfig(min_successful=3, tolerated_failure_count=1))
    result = context.parallel(branches, name="combined", config=config)
    return _projection(result, "completionReason", "successCount", "failureCount", "totalCount")


@durable_execution
def parallel_accessors(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-20: tolerated-failure-count 1, branch 1 fails; the projection uses the result's accessor methods."""
    branches = [_returns("b0", "r0"), _raises("b1"), _returns("b2", "r2")]
    config = _sequential(CompletionConfig(tolerated_failure_count=1))
    result = context.parallel(branches, name="accessors", config=config)
    return {
        "hasFailure": result.has_failure,
        "successCount": len(result.succeeded()),
        "failureCount": len(result.failed()),
        "errorCount": len(result.get_errors()),
    }


@durable_execution
def parallel_nested(event: Any, context: DurableContext) -> list[list[str]]:
    """8-21: the single outer branch runs an inner parallel of two steps and returns its results."""

    def outer_branch(branch_context: DurableContext) -> list[str]:
        runs["outer"] += 1
        inner = [_step_returning("i1", "i1"), _step_returning("i2", "i2")]
        return branch_context.parallel(inner, name="inner", config=_sequential()).get_results()

    return context.parallel([outer_branch], name="outer", config=_sequential()).get_results()


@durable_execution
def parallel_percentage_boundary(event: Any, context: DurableContext) -> dict[str, Any]:
    """8-22: tolerated-failure-percentage 25: branch 0 fails (25%, not above it), all four branches run."""
    branches = [_raises("b0"), _returns("b1", "r1"), _returns("b2", "r2"), _returns("b3", "r3")]
    config = _sequential(CompletionConfig(tolerated_failure_percentage=25))
    return _projection(context.parallel(branches, name="pct-boundary", config=config), *ALL_COUNTS)


HANDLERS = {
    "8-1": parallel_basic,
    "8-2": parallel_without_name,
    "8-3": parallel_named_branches,
    "8-5": parallel_empty,
    "8-6": parallel_fail_fast,
    "8-7": parallel_throw_if_error,
    "8-8": parallel_min_successful,
    "8-9": parallel_tolerated_failure,
    "8-10": parallel_tolerance_exceeded,
    "8-15": parallel_item_serdes,
    "8-16": parallel_all_fail,
    "8-18": parallel_combined_completion,
    "8-20": parallel_accessors,
    "8-21": parallel_nested,
    "8-22": parallel_percentage_boundary,
}

# How often each branch body ran: once for every branch the prose runs, 0 for one it says never starts.
EXPECTED_RUNS = {
    "8-1": {"task-1": 1, "task-2": 1},
    "8-2": {"alpha": 1, "beta": 1},
    "8-3": {"first": 1, "second": 1},
    "8-6": {"b0": 1, "b1": 1, "b2": 0},
    "8-7": {"b0": 1, "b1": 0},
    "8-8": {"b0": 1, "b1": 1, "b2": 0, "b3": 0},
    "8-9": {"b0": 1, "b1": 1, "b2": 1},
    "8-10": {"b0": 1, "b1": 1, "b2": 0},
    "8-15": {"b0": 1, "b1": 1},
    "8-16": {"b0": 1, "b1": 1, "b2": 1},
    "8-18": {"b0": 1, "b1": 1, "b2": 0, "b3": 0},
    "8-20": {"b0": 1, "b1": 1, "b2": 1},
    "8-21": {"outer": 1, "i1": 1, "i2": 1},
    "8-22": {"b0": 1, "b1": 1, "b2": 1, "b3": 1},
}
