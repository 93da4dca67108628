"""A local stand-in for Lambda: published versions, async invokes with Lambda's retries, SQS event sources."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine.functions import FunctionDescription, FunctionNotFound, InvokeResponse
from ..engine.ids import FunctionArn
from .clock import VirtualClock
from .faults import FaultPlan

if TYPE_CHECKING:
    from ..engine.services import EngineServices

log = logging.getLogger("durable_runtime.testing")

# Lambda retries a failed asynchronous invoke twice, about one and then two minutes later.
ASYNC_RETRY_DELAYS = (60.0, 120.0)


@dataclass
class LocalFunction:
    """A registered function and its published versions."""

    name: str
    durable: bool
    versions: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    # What GetFunction reports as its environment: for a durable function, the engine's resources and limits.
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def latest(self) -> str:
        """The newest published version (what the function's alias points to)."""
        return str(max(int(version) for version in self.versions))


@dataclass
class LambdaContext:
    """The parts of Lambda's context object the runtime reads, on virtual time."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    clock: VirtualClock
    memory_limit_in_mb: int = 512
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda would stop the invocation."""
        return max(0, int((self.deadline - self.clock.now()) * 1000))


@dataclass(order=True)
class Delivery:
    """An invocation waiting to happen."""

    due_at: float
    order: int
    function: str = field(compare=False)
    version: str | None = field(compare=False)
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


@dataclass(frozen=True)
class Overrun:
    """An invocation that ran longer than its function's timeout: on Lambda it would have been stopped."""

    function: str
    request_id: str
    event_text: str
    seconds: float

    def concerns(self, execution_arn: str) -> bool:
        """True if the invocation ran `execution_arn` (named in its event, or by its request id for a direct start)."""
        return execution_arn in self.event_text or f"/durable-execution/{self.request_id}/" in execution_arn


class LocalLambda:
    """Implements the engine's LambdaInvoker for local runs, and holds the invocations waiting to run."""

    def __init__(
        self, clock: VirtualClock, region: str, account: str, timeout_seconds: float, faults: FaultPlan
    ) -> None:
        self.clock = clock
        self.region = region
        self.account = account
        self.timeout_seconds = timeout_seconds
        # The runtime's calls to Lambda go through the same fault plan as its calls to moto's services.
        self.faults = faults
        self.functions: dict[str, LocalFunction] = {}
        # Asynchronous invokes that failed after Lambda's retries, and every invocation that failed at all.
        self.failures: list[tuple[Delivery, BaseException]] = []
        self.errors: list[tuple[Any, BaseException]] = []
        # Invocations that ran past the function's timeout in virtual time, which Lambda would have stopped.
        self.overruns: list[Overrun] = []
        # The services an invocation of a function uses, when not the runner's (a function on another engine).
        self.services_of: Callable[[str], EngineServices | None] = lambda function: None
        # Invocations counted from 0 across every source (see FaultPlan.duplicate_delivery), and per function.
        self.invocations = 0
        self.invocations_of: Counter[str] = Counter()
        self._queue: list[Delivery] = []
        # Executions whose invocations are held back while paused (by ARN).
        self.held: set[str] = set()
        self._order = itertools.count()
        self._lock = threading.Lock()

    def arn(self, name: str) -> str:
        """The unqualified ARN of a local function."""
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def publish(
        self, name: str, handler: Callable[[Any, Any], Any], *, durable: bool, environment: dict[str, str] | None = None
    ) -> str:
        """Register `handler` as the next version of `name` (with `environment`, if given, for every version)."""
        function = self.functions.setdefault(name, LocalFunction(name, durable))
        if environment is not None:
            function.environment = dict(environment)
        version = str(len(function.versions) + 1)
        function.versions[version] = handler
        return version

    # region LambdaInvoker
    def describe(self, function: str) -> FunctionDescription:
        """Name or ARN (maybe qualified) to the version it means (no qualifier: the latest) and its environment."""
        with self.faults.around("lambda", "GetFunction", {"FunctionName": function}):
            arn, version = self._resolve(function)
            environment = self.functions[FunctionArn.parse(arn).function_name].environment
            return FunctionDescription(arn, version, dict(environment))

    def _resolve(self, function: str) -> tuple[str, str]:
        name, qualifier = function, None
        if function.startswith("arn:"):
            parsed = FunctionArn.parse(function)
            name, qualifier = parsed.function_name, parsed.qualifier
        elif ":" in function:
            name, qualifier = function.split(":", 1)
        local = self.functions.get(name)
        if local is None:
            raise FunctionNotFound(f"no function {name!r} is registered with the local runner; register it first")
        version = qualifier if qualifier and qualifier.isdigit() else local.latest
        if version not in local.versions:
            raise FunctionNotFound(f"function {name!r} has no version {version}")
        return self.arn(name), version

    def invoke_async(self, qualified_function_arn: str, event: dict[str, Any]) -> None:
        """Queue an asynchronous invoke; it runs when the runner's loop gets to it."""
        params = {"FunctionName": qualified_function_arn, "InvocationType": "Event", "Payload": event}
        with self.faults.around("lambda", "Invoke", params):
            parsed = FunctionArn.parse(qualified_function_arn)
            if parsed.function_name not in self.functions:
                raise FunctionNotFound(f"no function {parsed.function_name!r} is registered with the local runner")
            self.enqueue(parsed.function_name, parsed.qualifier, event, str(uuid.uuid4()))

    def invoke_sync(self, qualified_function_arn: str, payload: str, tenant_id: str | None) -> InvokeResponse:
        """Run a plain function now; an exception becomes Lambda's `Unhandled` error response."""
        params = {"FunctionName": qualified_function_arn, "InvocationType": "RequestResponse", "Payload": payload}
        with self.faults.around("lambda", "Invoke", params):
            return self._invoke_sync(qualified_function_arn, payload)

    def _invoke_sync(self, qualified_function_arn: str, payload: str) -> InvokeResponse:
        parsed = FunctionArn.parse(qualified_function_arn)
        function = self.functions[parsed.function_name]
        version = parsed.qualifier or function.latest
        context = self.context_for(parsed.function_name, version, str(uuid.uuid4()))
        try:
            result = function.versions[version](json.loads(payload), context)
        except Exception as error:  # noqa: BLE001 - reported the way Lambda reports an unhandled error
            body = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []}
            return InvokeResponse(json.dumps(body), "Unhandled")
        return InvokeResponse(json.dumps(result))

    # endregion

    def enqueue(
        self,
        function: str,
        version: str | None,
        event: Any,
        request_id: str,
        *,
        delay: float = 0.0,
        attempt: int = 1,
    ) -> None:
        """Queue an invocation `delay` virtual seconds from now."""
        with self._lock:
            heapq.heappush(
                self._queue,
                Delivery(self.clock.now() + delay, next(self._order), function, version, event, request_id, attempt),
            )

    def next_due(self) -> float | None:
        """When the earliest queued invocation that is not held back is due."""
        with self._lock:
            due = [delivery.due_at for delivery in self._queue if not self._is_held(delivery)]
            return min(due) if due else None

    def pop_ready(self) -> Delivery | None:
        """The next invocation due now, if any; invocations of held-back executions stay queued."""
        with self._lock:
            now = self.clock.now()
            for delivery in sorted(self._queue):
                if delivery.due_at > now:
                    return None
                if not self._is_held(delivery):
                    self._queue.remove(delivery)
                    heapq.heapify(self._queue)
                    return delivery
            return None

    def _is_held(self, delivery: Delivery) -> bool:
        if not self.held:
            return False
        text = json.dumps(delivery.event)
        return any(arn in text for arn in self.held)

    def context_for(self, function: str, version: str, request_id: str) -> LambdaContext:
        """A Lambda context for one invocation of a version."""
        return LambdaContext(
            function_name=function,
            function_version=version,
            invoked_function_arn=f"{self.arn(function)}:{version}",
            aws_request_id=request_id,
            deadline=self.clock.now() + self.timeout_seconds,
            clock=self.clock,
        )

    def run(self, delivery: Delivery) -> Any:
        """Invoke the delivery's handler; a failure is retried as Lambda retries asynchronous invokes."""
        function = self.functions[delivery.function]
        version = delivery.version or function.latest
        failed, value = self.invoke_on_worker(delivery.function, version, delivery.event, delivery.request_id)
        if not failed:
            return value
        if delivery.attempt <= len(ASYNC_RETRY_DELAYS):
            self.enqueue(
                delivery.function,
                delivery.version,
                delivery.event,
                delivery.request_id,
                delay=ASYNC_RETRY_DELAYS[delivery.attempt - 1],
                attempt=delivery.attempt + 1,
            )
        else:
            self.failures.append((delivery, value))
        return None

    def invoke_on_worker(self, function: str, version: str, event: Any, request_id: str) -> tuple[bool, Any]:
        """Run one invocation to its end on a thread of its own; return (failed, response or error).

        Each invocation runs on its own thread, as a Lambda process would: a simulated crash stops it there. An
        invocation the fault plan duplicates is delivered twice at once, with the same event and request id, as
        an at-least-once queue may do; the first copy's outcome is returned. One it redelivers late is queued
        again, the same event and id, for later.
        """
        with self._lock:
            number = self.invocations
            self.invocations += 1
            self.invocations_of[function] += 1
        copies = 2 if number in self.faults.duplicated else 1
        context = self.context_for(function, version, request_id)
        outcomes: list[list[tuple[bool, Any]]] = [[] for _ in range(copies)]
        services = self.services_of(function)
        workers = [
            threading.Thread(
                target=self._invoke,
                args=(self.functions[function].versions[version], event, context, outcomes[copy], services),
                name=f"lambda-{function}-{request_id[:8]}-{copy}",
            )
            for copy in range(copies)
        ]
        started = self.clock.now()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        ran = self.clock.now() - started
        if ran > self.timeout_seconds:
            self.overruns.append(Overrun(function, request_id, json.dumps(event, default=str), ran))
            log.warning("invocation %s of %s ran %.0f s, past its %.0f s timeout", request_id, function, ran,
                        self.timeout_seconds)  # fmt: skip
        for failed, value in (outcome[0] for outcome in outcomes):
            if failed:
                self.errors.append((event, value))
        if number in self.faults.redelivered:
            self.enqueue(function, version, event, request_id, delay=self.faults.redelivered[number])
        return outcomes[0][0]

    @staticmethod
    def _invoke(
        handler: Callable[[Any, Any], Any],
        event: Any,
        context: Any,
        outcome: list[tuple[bool, Any]],
        services: EngineServices | None,
    ) -> None:
        from ..engine.services import services_for_this_thread
        from ..engine.state import abandon_thread

        try:
            with services_for_this_thread(services):
                outcome.append((False, handler(event, context)))
        except BaseException as error:  # noqa: BLE001 - a crash of the invocation, reported like Lambda
            abandon_thread(threading.get_ident())
            outcome.append((True, error))
