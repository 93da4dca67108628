"""The fault sweep: run a workflow cleanly, then once per fault, and compare.

A fault is one of: the process dies just before, or just after, the i-th AWS call of the clean run (boto3's calls
and the local Lambda's Invoke/GetFunction); that call fails once with an error; or the d-th invocation is delivered
twice at the same moment, or once more ten minutes after it ended. After the execution ends, what is still on its
way arrives too, and must change nothing. The caller (the test, starting the execution and answering callbacks) is
a process too: when it dies or its call fails, it retries only if its call did not land, as a caller that got an
error would; whatever landed must then be carried through by the engine alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from durable_runtime.callbacks.ids import decode
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.exceptions import ErrorObject
from durable_runtime.journal.records import OperationStatus
from durable_runtime.testing import DurableFunctionTestRunner, FaultPlan, InjectedFault, ProcessExit
from durable_runtime.testing.exceptions import AwsApiException

from .probe import PROBE
from .workflows import Workflow, input_text

# After any single fault an execution finishes at most this much (virtual time) later than it does without one: the
# function timeout (5 minutes, DurableFunction's default; the runner's own default is the official 15) plus two minutes.
FUNCTION_TIMEOUT_SECONDS = 300
RECOVERY_BOUND_SECONDS = FUNCTION_TIMEOUT_SECONDS + 2 * 60
EXECUTION_NAME = "sweep"
CALL_KINDS = ("crash-before", "crash-after", "fail")
DELIVERY_KINDS = ("duplicate", "late-duplicate")
KINDS = (*CALL_KINDS, *DELIVERY_KINDS)
# A late duplicate comes this long after its first delivery ended (SQS redelivers after a visibility timeout).
LATE_DUPLICATE_SECONDS = 600.0


@dataclass(frozen=True)
class Fault:
    """One fault: `kind` at call (or delivery) number `index` of the clean run."""

    kind: str
    index: int
    service: str = ""
    operation: str = ""
    skip: int = 0

    def describe(self) -> str:
        """A readable name for reports."""
        if self.kind in DELIVERY_KINDS:
            return f"{self.kind} delivery #{self.index}"
        return f"{self.kind} call #{self.index} ({self.service}.{self.operation}, skip {self.skip})"

    def arm(self, runner: DurableFunctionTestRunner) -> None:
        """Install the fault in the runner."""
        plan = runner.faults
        if self.kind == "duplicate":
            plan.duplicate_delivery(self.index)
        elif self.kind == "late-duplicate":
            plan.redeliver_late(self.index, LATE_DUPLICATE_SECONDS)
        elif self.kind == "crash-before":
            plan.crash_before(self.service, self.operation, skip=self.skip)
        elif self.kind == "crash-after":
            plan.crash_after(self.service, self.operation, skip=self.skip)
        else:
            plan.fail_before(self.service, self.operation, skip=self.skip)


@dataclass
class Outcome:
    """How a run ended, and what it cost."""

    status: str
    result: Any
    operations: list[tuple[str, str, str]]
    elapsed: float
    calls: list[tuple[str, str]] = field(default_factory=list)
    deliveries: int = 0
    probe: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # what is wrong with its history (history_problems)


def run(workflow: Workflow, *faults: Fault) -> Outcome:
    """Run the workflow once, with `faults` armed (or none), to its end."""
    PROBE.reset()
    workflow.reset()
    with DurableFunctionTestRunner(
        function_name=workflow.main,
        execution_timeout=workflow.execution_timeout,
        invocation_timeout=FUNCTION_TIMEOUT_SECONDS,
        faults=FaultPlan(),
    ) as runner:
        for name, handler in workflow.functions.items():
            # Registration sets a function's execution timeout (the official default is two minutes): give every
            # function the workflow's, so a recovery that waits out a visibility timeout is not cut short.
            runner.register_durable_function(name, handler, execution_timeout=workflow.execution_timeout)
        for name, handler in workflow.plain_functions.items():
            runner.register_function(name, handler)
        # Stepped by hand, so that the calls (the faults' boundaries) come in the same order on every run.
        runner.take_over()
        for fault in faults:
            fault.arm(runner)
        arn = str(ExecutionArn.for_new_execution(runner.local_lambda.arn(workflow.main), "1", EXECUTION_NAME))
        if workflow.start == "event":
            # The request id names the execution started by an ordinary event.
            runner.local_lambda.enqueue(workflow.main, "1", workflow.input, EXECUTION_NAME)
        else:
            _as_caller(
                lambda: runner.run_async(
                    input_text(workflow), function_name=workflow.main, execution_name=EXECUTION_NAME
                ),
                landed=lambda: _execution_exists(runner, arn),
            )
        workflow.drive(Outside(runner, arn))
        result = runner.wait_for_result(arn, timeout=120)
        # What is still on its way (a late duplicate, timers set before the end) arrives, and must change nothing.
        Outside(runner, arn).idle(LATE_DUPLICATE_SECONDS + 60)
        return Outcome(
            status=result.status.value,
            result=json.loads(result.result) if result.result else None,
            operations=_operations(runner, arn),
            history=history_problems(runner._observer.get_durable_execution_history(DurableExecutionArn=arn)["Events"]),
            elapsed=_elapsed(runner, arn),
            calls=list(runner.faults.calls),
            deliveries=runner.local_lambda.invocations,
            probe=PROBE.violations(),
            fired=list(runner.faults.fired),
        )


_CLOSINGS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped")


def history_problems(events: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a closed execution's history, whatever faults it went through: ids in sequence, time
    never going back, the execution's start first and its close last (an earlier close only if a redrive followed
    it), each operation starting before anything else of it and nothing of it after its success, and nothing
    inside a context before the context started."""
    problems: list[str] = []
    types = [event["EventType"] for event in events]
    if [event["EventId"] for event in events] != list(range(1, len(events) + 1)):
        problems.append("event ids are not 1..n in order")
    times = [event["EventTimestamp"] for event in events]
    problems += [f"event {n + 2} ({types[n + 1]}) is earlier than the one before" for n in range(len(times) - 1)
                 if times[n + 1] < times[n]]  # fmt: skip
    if not types or types[0] != "ExecutionStarted" or types[-1] not in _CLOSINGS:
        problems.append(f"the history runs {types[:1]} .. {types[-1:]}")
    early = [n for n, kind in enumerate(types[:-1]) if kind in _CLOSINGS and types[n + 1] != "ExecutionRedriven"]
    problems += [f"event {n + 1} ({types[n]}) closes the execution early, and no redrive follows" for n in early]
    seen: dict[str, str] = {}
    for event in events:
        kind, operation = event["EventType"], event.get("Id")
        if kind.startswith(("Execution", "Invocation")) or operation is None:
            continue
        if operation not in seen and not kind.endswith("Started"):
            problems.append(f"event {event['EventId']} ({kind} {event.get('Name')}) before its operation started")
        # A wait_for_condition records each check as a success of its step; only its last one ends it.
        if seen.get(operation, "").endswith("Succeeded") and event.get("SubType") != "WaitForCondition":
            problems.append(f"event {event['EventId']} ({kind} {event.get('Name')}) after its operation succeeded")
        parent = event.get("ParentId")
        if parent is not None and parent not in seen:
            problems.append(f"event {event['EventId']} ({kind} {event.get('Name')}) before its context started")
        seen[operation] = kind
    return problems


def faults_of(clean: Outcome, kind: str) -> list[Fault]:
    """Every fault of `kind` the clean run allows: one per call, or one per delivery."""
    if kind in DELIVERY_KINDS:
        return [Fault(kind, index) for index in range(clean.deliveries)]
    faults = []
    for index, (service, operation) in enumerate(clean.calls):
        skip = clean.calls[:index].count((service, operation))
        faults.append(Fault(kind, index, service, operation, skip))
    return faults


def violations(clean: Outcome, faulted: Outcome, faults: int = 1) -> list[str]:
    """How the faulted run differs from the clean one where it must not (each fault may cost one recovery)."""
    found = [f"probe: {problem}" for problem in faulted.probe]
    found += [f"history: {problem}" for problem in faulted.history[:3]]
    if (faulted.status, faulted.result) != (clean.status, clean.result):
        found.append(f"ended {faulted.status} {str(faulted.result)[:200]}, clean run {clean.status}")
    if faulted.operations != clean.operations:
        different = sorted(set(faulted.operations) ^ set(clean.operations))[:6]
        found.append(f"operations differ: {different}")
    if faulted.elapsed > clean.elapsed + faults * RECOVERY_BOUND_SECONDS:
        found.append(f"took {faulted.elapsed:.0f}s, clean run {clean.elapsed:.0f}s")
    return found


def _as_caller(call: Callable[[], Any], landed: Callable[[], bool]) -> Any:
    """Make a call as an external caller: if its process dies or the call fails, retry unless it landed."""
    for _ in range(3):
        try:
            return call()
        except (ProcessExit, InjectedFault):
            if landed():
                return None
    raise AssertionError("the caller's call failed three times")


class Outside:
    """What the outside world does while an execution runs: answer, refuse or heartbeat its callbacks by name (once
    each is issued, moving virtual time until it is), pause, resume, stop or redrive it as an operator, and let time
    pass. A call that fails is retried unless it landed, as a caller that got an error would."""

    def __init__(self, runner: DurableFunctionTestRunner, arn: str) -> None:
        self._runner, self._arn = runner, arn

    def answer(self, name: str, payload: bytes) -> None:
        """Complete the callback `name` with `payload`."""
        callback_id = self._issued(name)
        self._call(lambda: self._runner.send_callback_success(callback_id, payload), self._completed(callback_id))

    def refuse(self, name: str, message: str) -> None:
        """Fail the callback `name` with an error saying `message`."""
        callback_id = self._issued(name)
        error = ErrorObject(message, "Refused", None, None)
        self._call(lambda: self._runner.send_callback_failure(callback_id, error), self._completed(callback_id))

    def heartbeat(self, name: str) -> None:
        """Tell the callback `name` that its answer is on its way (a repeated heartbeat does no harm)."""
        callback_id = self._issued(name)
        self._call(lambda: self._runner.send_callback_heartbeat(callback_id), lambda: False)

    def pause(self) -> None:
        """Pause the execution (as an operator would, through the client)."""
        client = self._runner.client
        self._call(lambda: client.pause_durable_execution(self._arn), lambda: self._status() in ("PAUSING", "PAUSED"))

    def resume(self) -> None:
        """Resume the paused execution."""
        client = self._runner.client
        self._call(lambda: client.resume_durable_execution(self._arn), lambda: self._status() == "RUNNING")

    def stop(self) -> None:
        """Stop the execution."""
        client = self._runner.client
        self._call(lambda: client.stop_durable_execution(self._arn), lambda: self._status() == "STOPPED")

    def redrive_when_failed(self, fix: Callable[[], None]) -> None:
        """Once the execution has failed, apply `fix` (a deployment, say) and redrive it."""
        while self._status() != "FAILED":
            if not self._runner.pump_once():
                raise AssertionError(f"execution stuck {self._status()} before failing")
        fix()
        client = self._runner.client
        self._call(lambda: client.redrive_durable_execution(self._arn), lambda: self._status() == "RUNNING")

    def idle(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, running whatever falls due meanwhile."""
        until = self._runner.clock.now() + seconds
        while True:
            while self._runner.pump_once(advance_time=False):
                pass
            upcoming = [moment for moment, _ in self._runner.upcoming()]
            if not upcoming or min(upcoming) > until:
                self._runner.clock.advance_to(until)
                return
            self._runner.pump_once()

    def _issued(self, name: str) -> str:
        runner = self._runner
        while not runner.issued_callback_ids(self._arn, name):
            if _closed(runner, self._arn) or not runner.pump_once():
                raise AssertionError(f"execution closed or stuck before issuing callback {name!r}")
        return runner.issued_callback_ids(self._arn, name)[-1]

    def _status(self) -> str:
        record = self._runner._observer.services.store.get_execution(ExecutionArn.parse(self._arn).journal_key)
        return "" if record is None else record.status.value

    def _completed(self, callback_id: str) -> Callable[[], bool]:
        capability = decode(callback_id)

        def landed() -> bool:
            store = self._runner._observer.services.store
            record = store.get_operation(capability.journal_key, capability.operation_id)
            return record is not None and record.status != OperationStatus.STARTED

        return landed

    @staticmethod
    def _call(call: Callable[[], Any], landed: Callable[[], bool]) -> None:
        try:
            _as_caller(call, landed)
        except AwsApiException as refused:
            raise AssertionError(f"a valid call was refused: {refused}") from refused


def _execution_exists(runner: DurableFunctionTestRunner, arn: str) -> bool:
    return runner._observer.services.store.get_execution(ExecutionArn.parse(arn).journal_key) is not None


def _closed(runner: DurableFunctionTestRunner, arn: str) -> bool:
    record = runner._observer.services.store.get_execution(ExecutionArn.parse(arn).journal_key)
    return record is not None and record.status.value != "RUNNING"


def _operations(runner: DurableFunctionTestRunner, arn: str) -> list[tuple[str, str, str]]:
    state = runner._observer.get_durable_execution_state(DurableExecutionArn=arn)
    return sorted((op["Id"], op["Type"], op["Status"]) for op in state["Operations"])


def _elapsed(runner: DurableFunctionTestRunner, arn: str) -> float:
    execution = runner._observer.get_durable_execution(DurableExecutionArn=arn)
    return float((execution["EndTimestamp"] - execution["StartTimestamp"]).total_seconds())
