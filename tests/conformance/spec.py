"""Load the conformance specs from the shared folder, resolve their Variables, run and check one spec.

The shared folder sits beside the repository (`<repo>/../shared`), as it does in CI. Without it the tests skip
with a clear reason instead of erroring.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from durable_runtime.exceptions import ErrorObject
from durable_runtime.logger import default_target
from durable_runtime.testing import DurableFunctionTestRunner

from .matcher import match_history

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable, Iterable
    from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CONFORMANCE = SHARED / "conformance"
USER_LOGGER = "durable_runtime.user"
# Where `context.logger` writes: the standard logger above, or Powertools' Logger (named after its service) when
# aws-lambda-powertools is installed.
USER_LOGGERS = frozenset({USER_LOGGER, getattr(default_target(), "name", USER_LOGGER)})

_GEN_STR = re.compile(r"\$\{GEN_STR:(?P<length>\d+)\}")
_NAME = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
_ALPHANUMERIC = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Spec:
    """One conformance spec with its Variables substituted."""

    id: str
    path: Path
    data: dict[str, Any]
    variables: dict[str, str]

    @property
    def input_json(self) -> str | None:
        """The execution input as JSON text (None when the spec gives no input)."""
        value = self.data.get("Input")
        return None if value is None else json.dumps(value)

    @property
    def expected_result(self) -> dict[str, Any]:
        """`ExpectedResult`: `ExecutionStatus`, and `Result` when the spec states one (a bare `Result:` is null)."""
        return dict(self.data.get("ExpectedResult") or {})

    @property
    def expected_history(self) -> list[dict[str, Any]]:
        """`ExpectedExecutionHistory`, event by event."""
        return list(self.data.get("ExpectedExecutionHistory") or [])

    @property
    def expected_logs(self) -> list[dict[str, Any]]:
        """`ExpectedLogs`: each a `match` and a `count`."""
        return list(self.data.get("ExpectedLogs") or [])

    @property
    def callback_actions(self) -> list[dict[str, Any]]:
        """`CallbackActions`: what an external system sends to the execution's callbacks, in order."""
        return list(self.data.get("CallbackActions") or [])


# region loading
def _natural(spec_id: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[-.]", spec_id))


def spec_ids(folder: str, handler_ids: Iterable[str]) -> list[str]:
    """Every spec id of `folder` (shared/conformance/<folder>) and every id with a handler, naturally sorted.

    Ids come from both sides so that a spec without a handler, or a handler whose spec vanished, fails loudly.
    """
    found = {path.stem for path in (CONFORMANCE / folder).glob("*.yaml")} if CONFORMANCE.is_dir() else set()
    return sorted(found | set(handler_ids), key=_natural)


def load_spec(folder: str, spec_id: str) -> Spec:
    """Load `<folder>/<spec_id>.yaml` from the shared conformance folder; skip when the folder is absent."""
    if not CONFORMANCE.is_dir():
        pytest.skip(f"the shared conformance specs are not at {CONFORMANCE} (CI checks shared/ out beside the repo)")
    path = CONFORMANCE / folder / f"{spec_id}.yaml"
    if not path.is_file():
        pytest.fail(f"a handler exists for spec {spec_id}, but {path} does not")
    return parse_spec(path.read_text(), spec_id, path)


def parse_spec(text: str, spec_id: str = "spec", path: Path | None = None) -> Spec:
    """Parse a spec's YAML and substitute its Variables everywhere (generators like ${GEN_STR:8} included)."""
    data = yaml.safe_load(text) or {}
    variables = {name: _generate(str(template)) for name, template in (data.pop("Variables", None) or {}).items()}
    return Spec(spec_id, path or Path(f"{spec_id}.yaml"), _substitute(data, variables), variables)


def _generate(text: str) -> str:
    return _GEN_STR.sub(lambda found: "".join(secrets.choice(_ALPHANUMERIC) for _ in range(int(found["length"]))), text)


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace `${NAME}` of declared variables; other `${NAME}` are history bindings left for the matcher."""
    if isinstance(value, str):
        replaced = _NAME.sub(lambda found: variables.get(found["name"], found[0]), value)
        return _generate(replaced)
    if isinstance(value, dict):
        return {key: _substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


# endregion


# region running and checking
@dataclass(frozen=True)
class Outcome:
    """What running a spec's handler produced."""

    status: str
    result: Any
    error: Any
    history: list[dict[str, Any]]


def run_spec(
    spec: Spec,
    handler: Callable[[Any, Any], Any],
    *,
    timeout: int = 60,
    durable_targets: Mapping[str, Callable[[Any, Any], Any]] | None = None,
) -> Outcome:
    """Run the handler on a fresh local runner with the spec's input, to the end of the execution.

    Only the official testing SDK's runner API is used (run_async, get_execution_history, send_callback_*,
    wait_for_result), as a test written for that SDK would: the runner's background driver keeps the execution
    going meanwhile. `durable_targets` are registered as durable functions first (what `context.invoke` calls).
    """
    with DurableFunctionTestRunner(handler) as runner:
        for name, target in (durable_targets or {}).items():
            runner.register_durable_function(name, target)
        arn = runner.run_async(input=spec.input_json)
        if spec.callback_actions:
            play_callback_actions(runner, arn, spec.callback_actions, timeout=timeout)
        result = runner.wait_for_result(arn, timeout=timeout)
        history = runner.get_execution_history(arn, include_execution_data=True)["Events"]
    value = None if result.result is None else json.loads(result.result)
    return Outcome(result.status.value, value, result.error, history)


# region callback actions
_TERMINAL_OPERATIONS = frozenset({"success", "failure"})
_OPERATIONS = _TERMINAL_OPERATIONS | {"heartbeat"}
_COMPLETED = frozenset({"CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"})
# Real seconds between looks at the history while actions wait for their callback or their delay.
_POLL_SECONDS = 0.05


@dataclass
class _Action:
    """One CallbackActions entry and, once a callback matched it, that callback and the moment to send."""

    index: int
    callback_name: str | None  # None for '*': any callback
    operation: str
    payload: Any
    delay: float
    callback_id: str | None = None
    due: float | None = None

    @classmethod
    def parse(cls, index: int, entry: Mapping[str, Any]) -> _Action:
        operation = entry["Operation"]
        assert operation in _OPERATIONS, f"CallbackActions[{index}]: unknown Operation {operation!r}"
        name = entry.get("CallbackName", "*")
        return cls(index, None if name == "*" else str(name), operation, entry.get("Payload"), entry.get("Delay") or 0)

    def __str__(self) -> str:
        return f"CallbackActions[{self.index}] ({self.operation} to {self.callback_name or '*'!r})"


def play_callback_actions(
    runner: DurableFunctionTestRunner, arn: str, entries: Iterable[Mapping[str, Any]], *, timeout: int = 60
) -> None:
    """Play a spec's CallbackActions against a running execution, as the README describes them.

    Each action waits for a started callback (in the execution's history) whose name, or the name of the
    wait_for_callback holding it, matches its CallbackName, then is sent `Delay` real seconds later, as a test of
    the official SDK would sleep. Actions wait concurrently, so callback/4-19 (B after 4 s, A after 1 s)
    completes A first. A success or failure claims its callback: a later action wanting the same name waits for
    another callback (wait_for_callback/7-9: two '*' successes go to the two operations in turn), while a
    heartbeat leaves it to the action that completes it (4-5).
    """
    actions = [_Action.parse(index, entry) for index, entry in enumerate(entries)]
    claimed: set[str] = set()
    deadline = time.monotonic() + timeout
    while actions:
        assert time.monotonic() < deadline, f"CallbackActions not done within {timeout}s: {[str(a) for a in actions]}"
        events = runner.get_execution_history(arn).events
        now = time.monotonic()
        for action in actions:
            if action.callback_id is None:
                _match(events, action, claimed, now)
        ready = [action for action in actions if action.due is not None and action.due <= now]
        if ready:
            action = min(ready, key=lambda action: (action.due, action.index))
            _send(runner, action)
            actions.remove(action)
            continue
        if not any(action.due is not None for action in actions) and _closed(events):
            raise AssertionError(f"no callback matches {[str(action) for action in actions]} and the execution ended")
        time.sleep(_POLL_SECONDS)


def _closed(events: list[Any]) -> bool:
    return any(event.event_type.startswith("Execution") and event.event_type != "ExecutionStarted" for event in events)


def _match(events: list[Any], action: _Action, claimed: set[str], now: float) -> None:
    """Give `action` the latest open callback matching its name, unless a completing action claimed it."""
    completed = {event.id for event in events if event.event_type in _COMPLETED}
    contexts = {event.id: event.name for event in events if event.event_type == "ContextStarted"}
    matching = [
        event.callback_started_details.callback_id
        for event in events
        if event.event_type == "CallbackStarted"
        and event.id not in completed
        and (action.callback_name is None or action.callback_name in (event.name, contexts.get(event.parent_id)))
    ]
    if not matching or matching[-1] in claimed:
        return
    action.callback_id, action.due = matching[-1], now + action.delay
    if action.operation in _TERMINAL_OPERATIONS:
        claimed.add(matching[-1])


def _send(runner: DurableFunctionTestRunner, action: _Action) -> None:
    """Send the action through the runner: success as json.dumps(Payload) (none when null)."""
    assert action.callback_id is not None
    if action.operation == "success":
        body = None if action.payload is None else json.dumps(action.payload).encode()
        runner.send_callback_success(action.callback_id, result=body)
    elif action.operation == "failure":
        runner.send_callback_failure(action.callback_id, error=ErrorObject.from_dict(action.payload or {}))
    else:
        runner.send_callback_heartbeat(action.callback_id)


# endregion


def check_result(spec: Spec, outcome: Outcome) -> None:
    """ExecutionStatus always; Result, compared as a JSON value, when the spec states it."""
    expected = spec.expected_result
    assert outcome.status == expected["ExecutionStatus"], (
        f"status {outcome.status}, expected {expected['ExecutionStatus']} (error: {outcome.error})"
    )
    if "Result" in expected:
        assert outcome.result == expected["Result"], f"result {outcome.result!r}, expected {expected['Result']!r}"


def check_history(spec: Spec, outcome: Outcome) -> dict[str, Any]:
    """The history against `ExpectedExecutionHistory`, by the README's rules; returns the bindings."""
    return match_history(spec.expected_history, outcome.history)


def log_lines(records: list[logging.LogRecord]) -> list[str]:
    """The user logger's records as Lambda prints them: `[LEVEL] message`."""
    return [f"[{record.levelname}] {record.getMessage()}" for record in records if record.name in USER_LOGGERS]


def _line_matches(pattern: str, line: str) -> bool:
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], line) is not None
    return line.split("] ", 1)[-1] == pattern


def check_logs(spec: Spec, records: list[logging.LogRecord]) -> None:
    """Each `ExpectedLogs` entry: the number of user log lines whose message matches equals its count."""
    lines = log_lines(records)
    for expectation in spec.expected_logs:
        match = dict(expectation["match"])
        pattern = match.pop("message")
        assert not match, f"log match keys {sorted(match)} are not supported by these tests"
        count = sum(1 for line in lines if _line_matches(pattern, line))
        assert count == expectation["count"], (
            f"{count} log lines match {pattern!r}, expected {expectation['count']}; lines: {lines}"
        )


def verify(
    spec: Spec,
    handlers: ModuleType,
    records: Callable[[], list[logging.LogRecord]],
    *,
    logs_unobservable: str | None = None,
) -> None:
    """Run the spec's handler from `handlers.HANDLERS` and check result, history, logs and body-run counts.

    Every check runs and all failures are reported together. `logs_unobservable` names why the spec's
    ExpectedLogs cannot be observed with this runtime; they are then left unchecked (the body-run counts of
    `handlers.EXPECTED_RUNS` still show what ran).
    """
    handler = handlers.HANDLERS.get(spec.id)
    assert handler is not None, f"spec {spec.id} has no handler in {handlers.__name__}.HANDLERS"
    handlers.reset()
    outcome = run_spec(spec, handler, durable_targets=getattr(handlers, "DURABLE_TARGETS", None))
    failures = []
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("result", lambda: check_result(spec, outcome)),
        ("history", lambda: check_history(spec, outcome)),
    ]
    if logs_unobservable is None:
        checks.append(("logs", lambda: check_logs(spec, records())))
    expected_runs = handlers.EXPECTED_RUNS.get(spec.id, {})
    checks.append(("body runs", lambda: _check_runs(expected_runs, handlers.runs)))
    for label, check in checks:
        try:
            check()
        except AssertionError as failure:
            failures.append(f"[{label}] {failure}")
    assert not failures, "\n".join(failures)


def _check_runs(expected: dict[str, int], runs: Counter[str]) -> None:
    actual = {name: runs[name] for name in expected}
    assert actual == expected, f"bodies ran {actual} times, expected {expected}"


# endregion


def spec_params(folder: str, handler_ids: Iterable[str], known_divergences: dict[str, str]) -> list[Any]:
    """One pytest param per spec of `folder`; a known divergence is a strict xfail, so a fix shows up."""
    import pytest

    params = []
    for spec_id in spec_ids(folder, handler_ids):
        divergence = known_divergences.get(spec_id)
        marks = [pytest.mark.xfail(strict=True, reason=divergence)] if divergence else []
        params.append(pytest.param(spec_id, id=spec_id, marks=marks))
    return params


def verify_spec(folder: str, spec_id: str, handlers: Any, caplog: Any, logs_unobservable: str | None) -> None:
    """Load a spec, run its handler and check result, history, logs and body-run counts."""
    caplog.set_level(logging.INFO, logger=USER_LOGGER)
    verify(load_spec(folder, spec_id), handlers, lambda: caplog.records, logs_unobservable=logs_unobservable)


def batch_projection(result: Any, *keys: str) -> dict[str, Any]:
    """The named fields of a map or parallel BatchResult, as the specs spell them."""
    fields = {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }
    return {key: fields[key] for key in keys}


ALL_COUNTS = ("completionReason", "status", "successCount", "failureCount", "totalCount")
