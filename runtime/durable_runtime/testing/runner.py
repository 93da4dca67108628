"""The official testing SDK's runners, on Durable Kit's production code paths.

`DurableFunctionTestRunner` has the official constructor and methods (`run`, `run_async`, `wait_for_result`,
`wait_for_callback`, `send_callback_*`, `get_execution_history`, `pause_execution`/`resume_execution`,
`register_durable_function`, `register_function`) and runs handlers on the local engine (moto, the real invocation
wrapper, journal and timers; see `local_engine`). After `run_async` a background driver keeps the execution going
on its own, so a test written for the official runner can poll, sleep and answer callbacks as it would there.

A test that steps the engine itself (`pump_once`) or moves its clock (`clock`) takes over: the background
driver stands down for the rest of the runner's life and the waits drive the engine from the test's thread, so
hand-made interleavings stay deterministic.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .cloud import DurableFunctionCloudTestRunner
from .driver import BackgroundDriver
from .exceptions import (
    DurableFunctionsLocalRunnerError,
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from .history import GetDurableExecutionHistoryResponse
from .local_engine import LocalEngine, callback_proxy_event, require_durable_handler
from .operations import (
    OPERATION_FACTORIES,
    CallbackOperation,
    ContextOperation,
    DurableFunctionsTestError,
    DurableFunctionTestResult,
    ExecutionOperation,
    InvokeOperation,
    Operation,
    OperationFactory,
    StepOperation,
    WaitOperation,
    create_operation,
)

if TYPE_CHECKING:
    from ..context import DurableContext
    from ..engine.services import EngineSettings
    from .clock import VirtualClock
    from .faults import FaultPlan

__all__ = [
    "OPERATION_FACTORIES",
    "CallbackOperation",
    "ContextOperation",
    "DurableChildContextTestRunner",
    "DurableFunctionCloudTestRunner",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableFunctionsLocalRunnerError",
    "DurableFunctionsTestError",
    "ExecutionOperation",
    "InvalidParameterValueException",
    "InvokeOperation",
    "Operation",
    "OperationFactory",
    "ResourceNotFoundException",
    "StepOperation",
    "WaitOperation",
    "callback_proxy_event",
    "create_operation",
    "normalize_input",
]

# The official runner's defaults for a durable function registered as a chained-invoke target.
DEFAULT_CHILD_EXECUTION_TIMEOUT_SECONDS = 120
DEFAULT_CHILD_RETENTION_PERIOD_DAYS = 1
# Real seconds the driver lets a test that started an execution step it by hand before it starts on its own.
_DRIVER_START_GRACE_SECONDS = 0.25
_WAIT_SLICE_SECONDS = 0.05
# An execution in these states has not closed yet (a paused one waits for its resume).
_OPEN_STATUSES = frozenset({"RUNNING", "PAUSING", "PAUSED"})
_COMPLETED_CALLBACK_EVENTS = frozenset({"CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"})


def normalize_input(value: Any) -> str | None:
    """The execution input as JSON text: JSON text as given, any other string, a dict or a list JSON-encoded."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return json.dumps(value)
        return value
    return json.dumps(value)


class DurableFunctionTestRunner(LocalEngine):
    """Runs durable handlers locally, through production code, with the official testing SDK's API."""

    def __init__(
        self,
        handler: Callable[[Any, Any], Any] | None = None,
        poll_interval: float = 1.0,
        max_invocation_page_bytes: int | None = None,
        execution_timeout: int = 300,
        invocation_timeout: int = 900,
        store: object | None = None,
        skip_time: bool = True,
        region: str = "us-west-2",
        *,
        function_name: str = "test-function",
        account_id: str = "123456789012",
        faults: FaultPlan | None = None,
        settings: EngineSettings | None = None,
        environment: Mapping[str, str] | None = None,
        backend: str | None = None,
    ) -> None:
        """Start moto, the local Lambda and (once an execution starts) the background driver.

        Args:
            poll_interval: Real seconds between looks while `wait_for_callback` waits with a driver running.
            max_invocation_page_bytes: The official runner's store paging; executions live in the journal here,
                so only None is accepted.
            store: The official runner's in-memory store; only None is accepted, as above.
            execution_timeout: Executions' timeout when `run` names none.
            invocation_timeout: The functions' Lambda timeout.
            skip_time: Skip idle time (True) or let it pass in real time.
            handler: The durable handler registered as `function_name` (None: register functions yourself).
            region: The region of the functions' ARNs.
            function_name: The name `handler` is registered under.
            account_id: The account of the functions' ARNs.
            faults: A fault plan: crash, duplicate or throttle around AWS calls (see `testing.faults`).
            settings: Engine settings for the functions (see `EngineSettings`).
            environment: Resources of another engine for the functions (see `LocalEngine`).
            backend: "moto" (the default: the production code paths on moto's AWS) or "memory" (journal, queue
                and payloads in process memory: several times faster, without AWS request shapes or fault
                injection; see `memory_world`). Defaults to the `DURABLE_TEST_BACKEND` environment variable.
        """
        if store is not None or max_invocation_page_bytes is not None:
            raise InvalidParameterValueException(
                "store and max_invocation_page_bytes configure the official runner's in-memory store; this runner "
                "keeps executions in the journal on moto (pass environment= to use other resources)"
            )
        if handler is not None:
            require_durable_handler(function_name, handler)  # before moto starts: nothing to clean up
        super().__init__(
            function_name=function_name,
            execution_timeout=execution_timeout,
            invocation_timeout=invocation_timeout,
            region=region,
            account_id=account_id,
            faults=faults,
            settings=settings,
            environment=environment,
            backend=backend or os.environ.get("DURABLE_TEST_BACKEND", "moto"),
        )
        self.poll_interval = poll_interval
        self.skip_time = skip_time
        self._driver = BackgroundDriver(self, skip_time=skip_time, start_grace=_DRIVER_START_GRACE_SECONDS)
        self._manual = False
        if handler is not None:
            self._publish_durable(function_name, handler, None, None, None)

    # region set-up
    def register_durable_function(
        self,
        function_name: str,
        handler: Callable[[Any, Any], Any],
        execution_timeout: int = DEFAULT_CHILD_EXECUTION_TIMEOUT_SECONDS,
        retention_period_days: int = DEFAULT_CHILD_RETENTION_PERIOD_DAYS,
        *,
        environment: Mapping[str, str] | None = None,
    ) -> DurableFunctionTestRunner:
        """Publish `handler` as durable function `function_name` (e.g. a chained-invoke target).

        Its executions run `execution_timeout` seconds by default and at most, and are kept
        `retention_period_days` after they close. `environment` puts it on another engine (see `LocalEngine`).
        """
        self._publish_durable(function_name, handler, execution_timeout, retention_period_days, environment)
        return self

    def register_function(self, function_name: str, handler: Callable[[Any, Any], Any]) -> DurableFunctionTestRunner:
        """Publish a plain (non-durable) function, e.g. a chained-invoke target."""
        self.local_lambda.publish(function_name, handler, durable=False)
        return self

    def __enter__(self) -> DurableFunctionTestRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the background driver, then moto, and restore the process's engine services."""
        self._driver.stop()
        super().close()

    # endregion

    # region manual stepping: the test takes over from the driver
    @property
    def clock(self) -> VirtualClock:
        """The virtual clock. A test that reaches for it steps time itself: the background driver stands down."""
        self.take_over()
        return self._clock

    def pump_once(self, *, advance_time: bool = True) -> bool:
        """Step the engine by hand (see `LocalEngine.pump_once`); the background driver stands down."""
        self.take_over()
        return super().pump_once(advance_time=advance_time)

    def scan_table(self) -> list[dict[str, Any]]:
        """Every journal item, sorted (see `LocalEngine.scan_table`). A test comparing raw tables needs the engine
        still: the background driver stands down."""
        self.take_over()
        return super().scan_table()

    def take_over(self) -> None:
        """Step the engine by hand from now on (`pump_once`): the background driver stops and never restarts.

        For tests that need every AWS call in the same order on every run, such as a fault sweep.
        """
        if not self._manual:
            self._manual = True
            self._driver.stop()

    def _wait_a_little(self, execution_arn: str, *, fast_forward: bool = False) -> None:
        """Let the execution progress a little: by the driver when it runs, else one step from this thread.

        Raises TimeoutError when nothing at all is pending and the test did nothing since: it never will be.
        """
        if self._driver.error is not None:
            raise self._driver.error
        failure = self._delivery_failure(execution_arn)
        if failure is not None:
            raise failure
        if self._manual:
            if not super().pump_once():
                self._raise_unless_held(execution_arn)
            return
        self._driver.start()
        self._driver.kick()
        # Only a stall found by a turn that began after this call counts: the test may have created work the
        # driver has not looked at yet (a function it invoked itself, say), and an older stall says nothing of it.
        self._driver.poke()
        if fast_forward:
            with self._driver.fast_forward():
                self._driver.wait_for_change(_WAIT_SLICE_SECONDS)
        else:
            self._driver.wait_for_change(_WAIT_SLICE_SECONDS)
        if self._driver.stalled_at == self._driver.generation:
            self._raise_unless_held(execution_arn)

    def waiting_on(self, execution_arn: str) -> str:
        """What the execution waits for, in words, for a timeout's message."""
        with self._pump_lock:
            execution = self.client.get_durable_execution(DurableExecutionArn=execution_arn)
            operations = self.client.get_durable_execution_state(DurableExecutionArn=execution_arn)["Operations"]
        return describe_waiting(execution, operations)

    def _raise_unless_held(self, execution_arn: str) -> None:
        # The driver may have closed the execution after the caller last looked, then found nothing left to do:
        # that is an end for the caller's loop to see, not a stall.
        status = self.execution_status(execution_arn)
        if execution_arn not in self.local_lambda.held and status in (None, "RUNNING"):
            raise TimeoutError(
                f"execution {execution_arn} is waiting for something that will never happen: "
                f"{self.waiting_on(execution_arn)}"
            )

    # endregion

    # region running
    def run(
        self,
        input: Any = None,  # noqa: A002 - the official runner's parameter name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str | None = None,
        execution_name: str | None = None,
        account_id: str | None = None,
        tenant_id: str | None = None,
    ) -> DurableFunctionTestResult:
        """Start an execution and wait for its end; `timeout` (real seconds) bounds the wait."""
        arn = self.run_async(input, execution_timeout, None, function_name, execution_name, account_id, tenant_id)
        return self.wait_for_result(arn, timeout=timeout or 60)

    def run_async(
        self,
        input: Any = None,  # noqa: A002 - the official runner's parameter name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str | None = None,
        execution_name: str | None = None,
        account_id: str | None = None,
        tenant_id: str | None = None,
    ) -> str:
        """Start an execution and return its ARN; the background driver keeps it going from here.

        `input` is JSON text, or any other string, dict or list (JSON-encoded). `timeout` stands for
        `execution_timeout` when that is not given, as in the official runner. The account is the runner's
        (`account_id` must match it); tenants are not modelled (`tenant_id` must be None).
        """
        if account_id not in (None, self.account_id):
            raise InvalidParameterValueException(
                f"this runner's functions live in account {self.account_id}, not {account_id}"
            )
        if tenant_id is not None:
            raise InvalidParameterValueException(
                "tenant isolation is not modelled by the local runner; tenant_id must be None"
            )
        function = function_name or self.function_name
        with self._pump_lock:
            started = self.client.start_execution(
                function,
                normalize_input(input),
                execution_name or f"run-{uuid.uuid4().hex[:12]}",
                execution_timeout=execution_timeout or timeout or self._timeouts.get(function, self._execution_timeout),
            )
        self.drive()
        return str(started["DurableExecutionArn"])

    def drive(self) -> None:
        """Let the background driver carry on with work the caller made through `client` or the callback API
        (a start, an answered callback, a resume): the local dev server calls this after each request."""
        with self._pump_lock:
            # The journal's stream hands new outbox entries to the relay, which queues the invocations they ask for.
            for stream in self._stream_sources:
                stream.poll()
        self._driver.poke()
        if not self._manual:
            self._driver.start()

    def wait_for_result(self, execution_arn: str, timeout: int = 60) -> DurableFunctionTestResult:
        """Wait until the execution closes (at most `timeout` real seconds) and return its result."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.execution_status(execution_arn)
            if status is not None and status not in _OPEN_STATUSES:
                return self.result(execution_arn)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"execution {execution_arn} did not finish within {timeout}s of real time; "
                    f"{self.waiting_on(execution_arn)}"
                )
            self._wait_a_little(execution_arn, fast_forward=True)

    # endregion

    # region callbacks: through the real API Gateway handler
    def wait_for_callback(self, execution_arn: str, name: str | None = None, timeout: int = 60) -> str:
        """Wait until the execution has a callback to answer (at most `timeout` real seconds); return its id.

        With `name`, the first callback of that name (or of the wait_for_callback holding it); without, the
        latest callback not completed yet. Waits and retries before it pass in skipped time.
        """
        deadline = time.monotonic() + timeout
        while True:
            callback_id = self._callback_to_answer(execution_arn, name)
            if callback_id is not None:
                return callback_id
            status = self.execution_status(execution_arn)
            if status is not None and status not in _OPEN_STATUSES:
                raise TimeoutError(f"execution {execution_arn} ended ({status}) and issued no callback named {name!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Callback did not become available within {timeout}s")
            self._wait_a_little(execution_arn)

    def _callback_to_answer(self, execution_arn: str, name: str | None) -> str | None:
        events = self.get_execution_history(execution_arn).events
        started = [event for event in events if event.event_type == "CallbackStarted"]
        completed = {event.id for event in events if event.event_type in _COMPLETED_CALLBACK_EVENTS}
        context_names = {event.id: event.name for event in events if event.event_type == "ContextStarted"}
        if name is not None:
            for event in started:
                if name in (event.name, context_names.get(event.parent_id)):
                    if event.id in completed:
                        raise DurableFunctionsTestError(f"Callback {name} has already completed")
                    return event.callback_started_details.callback_id
            return None
        active = [event for event in started if event.id not in completed]
        return active[-1].callback_started_details.callback_id if active else None

    def _post_callback(self, callback_id: str, action: str, body: str | None) -> None:
        try:
            with self._pump_lock:
                super()._post_callback(callback_id, action, body)
        finally:
            self._driver.poke()

    # endregion

    # region inspection and pausing
    def get_execution_history(
        self,
        execution_arn: str,
        include_execution_data: bool = False,
    ) -> GetDurableExecutionHistoryResponse:
        """The execution's history (typed `.events`, and the wire shape as `["Events"]`), callback ids whole."""
        self._driver.kick()
        return GetDurableExecutionHistoryResponse(
            self.history_wire(execution_arn, include_execution_data=include_execution_data)
        )

    def pause_execution(self, execution_arn: str, timeout: float = 60) -> None:
        """Hold back new invocations of the execution; returns once none of its invocations is running.

        Timers still come due while paused; the invocations they ask for wait for `resume_execution`.
        """
        if not timeout > 0 or timeout == float("inf"):
            raise ValueError("timeout must be finite and positive")
        if self.execution_status(execution_arn) is None:
            raise ResourceNotFoundException(f"no execution {execution_arn}")
        # Holding the step lock means no invocation runs: the one running (if any) has finished.
        if not self._pump_lock.acquire(timeout=timeout):
            raise TimeoutError(f"Execution {execution_arn} did not become idle within {timeout:g} seconds")
        try:
            self.hold(execution_arn)
        finally:
            self._pump_lock.release()

    def resume_execution(self, execution_arn: str) -> None:
        """Release the invocations held back since `pause_execution`."""
        self.release(execution_arn)
        self._driver.poke()

    # endregion


class DurableChildContextTestRunner(DurableFunctionTestRunner):
    """Runs one `@durable_with_child_context` function, called with the given arguments, as a whole execution."""

    def __init__(
        self,
        context_function: Callable[..., Callable[[DurableContext], Any]],
        *args: Any,
        skip_time: bool = True,
        **kwargs: Any,
    ) -> None:
        from ..execution import durable_execution

        @durable_execution
        def handler(event: Any, context: DurableContext) -> Any:
            return context_function(*args, **kwargs)(context)

        super().__init__(handler, skip_time=skip_time)


def describe_waiting(execution: dict[str, Any], operations: list[dict[str, Any]]) -> str:
    """The operations an open execution waits on (callbacks not answered, waits and retries not due), in words."""
    if execution["Status"] in ("PAUSED", "PAUSING"):
        return "it is paused: resume_durable_execution lets it go on"
    waiting = []
    for op in operations:
        if op["Status"] not in ("STARTED", "PENDING"):
            continue
        name = op.get("Name") or op["Id"][:12]
        if op["Type"] == "CALLBACK":
            waiting.append(f"callback {name!r} has no answer (send_callback_success/failure with its id)")
        elif op["Type"] == "WAIT":
            waiting.append(f"wait {name!r} until {op.get('WaitDetails', {}).get('ScheduledEndTimestamp')}")
        elif op["Type"] == "STEP" and op["Status"] == "PENDING":
            waiting.append(f"step {name!r} retries at {op.get('StepDetails', {}).get('NextAttemptTimestamp')}")
        elif op["Type"] == "CHAINED_INVOKE":
            waiting.append(f"invoke {name!r} waits for its child execution")
    if not waiting:
        return "no operation is pending (is the handler decorated with @durable_execution, and does it return?)"
    return "waiting on " + "; ".join(waiting)
