"""The local engine under the test runner: moto's AWS, the local Lambda and the event sources, on virtual time.

`LocalEngine` holds the machinery (production services on moto's clients, the timer queue's and the journal
stream's event sources, EventBridge Scheduler, the callback endpoint's handler) and steps it one delivery at a
time with `pump_once`. The official-facing API (`DurableFunctionTestRunner`) and its background driver build on it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..client import DurableClient
from ..engine.ids import ExecutionArn
from ..engine.services import EngineServices, EngineSettings, override_services
from ..engine.state import abandon_thread
from ..engine.timers import AwsTimerService
from ..exceptions import ErrorObject, NonDeterministicExecutionError, SerDesError
from ..journal.dynamodb import DynamoDBJournalStore
from ..journal.payloads import S3PayloadStore
from ..operations.callback import issued_callback_observers
from .clock import VirtualClock, moto_on_virtual_time
from .event_sources import MotoStreamReader, QueueEventSource, SchedulerService, StreamEventSource
from .exceptions import InvocationTimeoutExceededError, api_exception_for_status
from .faults import FaultPlan, moto_with_throttling
from .lambda_service import LocalLambda
from .memory_world import MEMORY_ENVIRONMENT, MemoryBackend, NoSchedules
from .moto_clients import moto_client, shared_moto_client
from .operations import DurableFunctionTestResult
from .resources import create_resources, journal_stream_arn

if TYPE_CHECKING:
    from collections.abc import Callable

# The local Lambda function that stands for the engine's outbox relay (the journal stream's consumer).
OUTBOX_FUNCTION = "durable-outbox"
_RUNTIME_SERVICES = ("dynamodb", "s3", "sqs", "scheduler")
# Timer reasons that are deadlines set for the world outside the execution: a callback's and the execution's.
_DEADLINE_REASONS = frozenset({c.REASON_CALLBACK, c.REASON_WATCHDOG})


class LocalEngine:
    """Durable functions on moto's DynamoDB, SQS, S3 and Scheduler, with a clock that stands still while work runs.

    Handlers run through the real invocation wrapper, journal, timer service, outbox relay and history code;
    only Lambda itself is simulated (versions, asynchronous invokes with Lambda's retries, and the event sources
    of the timer queue and the journal's stream, with their delivery semantics).
    """

    def __init__(
        self,
        *,
        function_name: str,
        execution_timeout: int,
        invocation_timeout: int,
        region: str,
        account_id: str,
        faults: FaultPlan | None,
        settings: EngineSettings | None,
        environment: Mapping[str, str] | None,
        backend: str = "moto",
    ) -> None:
        """Start moto (or the memory backend) and the local Lambda.

        Args:
            invocation_timeout: The functions' Lambda timeout.
            environment: The function environment the constructs would set (names in `contract`). Given, the
                engine uses the resources it names, which must already exist in moto; omitted, it creates a
                journal table, bucket, timer queue and schedule group of its own.
            backend: "moto" (the production code paths on moto's AWS) or "memory" (see `memory_world`).
        """
        self._clock = VirtualClock()
        self.faults = faults or FaultPlan()
        self.function_name = function_name
        self.region = region
        self.account_id = account_id
        self._execution_timeout = execution_timeout
        self._timeouts: dict[str, int] = {}
        self._retention: dict[str, int] = {}
        self._environments: dict[str, dict[str, str]] = {}
        self._stack = ExitStack()
        self._memory = _memory_backend(backend, self._clock, invocation_timeout, faults, environment)
        self._clients: dict[str, Any] = {}
        self._aws: dict[str, Any] = {}
        if self._memory is not None:
            self.environment = self._start_memory()
        else:
            created = self._start_aws(region, invocation_timeout if environment is None else None)
            self.environment = dict(environment) if environment is not None else created
        self.local_lambda = LocalLambda(self._clock, region, account_id, invocation_timeout, self.faults)
        # Invocations run one at a time here: a simulated crash is the death of the one running.
        self.faults.crash_listeners.append(abandon_thread)
        self.services = self._services(self._clients, account_id, settings, execution_timeout)
        self._stack.enter_context(override_services(self.services))
        self.client = DurableClient(self.services)
        # What the runner itself reads to follow and report a run: not the runtime's calls, so no faults.
        self._observer = DurableClient(self._services(self._aws, account_id, settings, execution_timeout))
        self._issued: list[tuple[str, str | None, str | None, str]] = []
        issued_callback_observers.append(self._on_callback_issued)
        self._stack.callback(issued_callback_observers.remove, self._on_callback_issued)
        # One step of the simulation at a time, and no reads of moto while a step writes.
        self._pump_lock = threading.RLock()
        self._start_event_sources()

    # region set-up
    def _services(
        self, clients: dict[str, Any], account_id: str, settings: EngineSettings | None, execution_timeout: int
    ) -> EngineServices:
        """The production services, on moto's clients, the virtual clock and the local Lambda."""
        env = self.environment
        self.queue_url = env[c.ENV_TIMER_QUEUE_URL]
        self.queue_arn = (
            env.get(c.ENV_TIMER_QUEUE_ARN)
            or self._aws["sqs"].get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )
        self.schedule_group = env.get(c.ENV_SCHEDULE_GROUP, "default")
        timers = AwsTimerService(
            sqs=clients["sqs"],
            scheduler=clients["scheduler"],
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            schedule_group=self.schedule_group,
            scheduler_role_arn=env.get(c.ENV_SCHEDULER_ROLE_ARN, f"arn:aws:iam::{account_id}:role/scheduler"),
            clock=self._clock,
        )
        defaults = EngineSettings.from_environment(dict(env))
        memory = self._memory
        return EngineServices(
            store=memory.store if memory else DynamoDBJournalStore(clients["dynamodb"], env[c.ENV_JOURNAL_TABLE]),
            payloads=memory.payloads if memory else S3PayloadStore(clients["s3"], env[c.ENV_PAYLOAD_BUCKET]),
            timers=timers,
            invoker=self.local_lambda,
            clock=self._clock,
            settings=settings or dataclasses.replace(defaults, execution_timeout_seconds=execution_timeout),
        )

    def _start_memory(self) -> dict[str, str]:
        assert self._memory is not None
        self._clients, self._aws = self._memory.clients, self._memory.clients
        return dict(MEMORY_ENVIRONMENT)

    def _start_aws(self, region: str, invocation_timeout: int | None) -> dict[str, str]:
        """Start moto and the clients; with `invocation_timeout`, create a journal table, bucket, timer queue and
        schedule group for functions of that timeout, and return their environment."""
        from botocore import UNSIGNED
        from botocore.config import Config
        from moto import mock_aws

        from ..engine.pacing import JOURNAL_CLIENT_RETRIES
        from . import moto_speedups

        moto_speedups.install()
        self._stack.enter_context(mock_aws())
        self._stack.enter_context(moto_on_virtual_time(self._clock))
        self._stack.enter_context(moto_with_throttling(self.faults))

        def client(service: str, config: Config | None = None) -> Any:
            return moto_client(service, region, config)

        def shared_client(service: str, config: Config | None = None) -> Any:
            return shared_moto_client(service, region, config)

        # The runtime's clients carry the fault plan; the simulation of AWS (event sources, Scheduler, set-up)
        # has clients of its own, so faults only ever hit the runtime. The journal's client retries as deployed
        # (adaptive pacing, see engine.pacing). DynamoDB requests go unsigned: moto checks no signature (it reads
        # the account from the access key, and these credentials map to its default account either way), and
        # SigV4 signing was an eighth of every journal write's CPU.
        unsigned = {"signature_version": UNSIGNED}
        self._clients = {
            service: client(
                service, Config(retries=JOURNAL_CLIENT_RETRIES, **unsigned) if service == "dynamodb" else None
            )
            for service in _RUNTIME_SERVICES
        }
        for service, runtime_client in self._clients.items():
            self.faults.install(runtime_client, service)
        self.dynamodb, self.s3 = self._clients["dynamodb"], self._clients["s3"]
        self.sqs, self.scheduler = self._clients["sqs"], self._clients["scheduler"]
        # The simulation's clients carry nothing of this runner: runners in one process share them.
        self._aws = {
            service: shared_client(service, Config(**unsigned) if service == "dynamodb" else None)
            for service in _RUNTIME_SERVICES
        }
        # moto serves DynamoDB Streams on the regional endpoint only, not the account-based one botocore prefers.
        self._aws["dynamodbstreams"] = shared_client("dynamodbstreams", Config(account_id_endpoint_mode="disabled"))
        aws = self._aws
        if invocation_timeout is None:
            return {}
        return create_resources(
            aws["dynamodb"], aws["s3"], aws["sqs"], aws["scheduler"], region, self.account_id, invocation_timeout
        )

    def _start_event_sources(self) -> None:
        from ..engine.outbox import handler as outbox_handler

        self.local_lambda.publish(OUTBOX_FUNCTION, outbox_handler, durable=False)
        # One stream (and relay) per engine's journal: the runner's own, and any a function is registered on.
        self._streams: dict[str, StreamEventSource] = {}
        self.local_lambda.services_of = self._services_of
        self._watch_journal(self.environment[c.ENV_JOURNAL_TABLE])
        peek = self._memory.queue.peek if self._memory else None
        self._queue = QueueEventSource(self._aws["sqs"], self.queue_url, self.queue_arn, self.local_lambda, peek=peek)
        self._schedules: SchedulerService | NoSchedules = (
            NoSchedules()
            if self._memory
            else SchedulerService(
                self._aws["scheduler"], self._aws["sqs"], self.schedule_group, self.queue_url, self._clock
            )
        )

    def _watch_journal(self, table: str) -> None:
        if table not in self._streams:
            read = (
                self._memory.read_outbox
                if self._memory
                else MotoStreamReader(self._aws["dynamodbstreams"], journal_stream_arn(self._aws["dynamodb"], table))
            )
            self._streams[table] = StreamEventSource(
                read,
                [c.OUTBOX_FILTER_PATTERN],
                self.local_lambda,
                OUTBOX_FUNCTION,
                self._clock,
            )

    @property
    def _stream_sources(self) -> list[StreamEventSource]:
        return list(self._streams.values())

    def _publish_durable(
        self,
        name: str,
        handler: Callable[[Any, Any], Any],
        execution_timeout: int | None,
        retention_days: int | None,
        environment: Mapping[str, str] | None,
    ) -> None:
        """Publish `handler` as the next version of durable function `name`.

        `execution_timeout`, as DurableFunction's, is how long its executions run by default and at most;
        without it they may run up to 366 days. `environment` overrides the engine's resources for this function,
        to put it on another engine (a journal table with a stream and a bucket that exist in moto).
        """
        require_durable_handler(name, handler)
        if execution_timeout is not None:
            self._timeouts[name] = execution_timeout
        if retention_days is not None:
            self._retention[name] = retention_days
        if environment is not None:
            self._environments[name] = dict(environment)
            self._watch_journal(environment.get(c.ENV_JOURNAL_TABLE, self.environment[c.ENV_JOURNAL_TABLE]))
        self.local_lambda.publish(name, handler, durable=True, environment=self._function_environment(name))

    def _function_environment(self, name: str) -> dict[str, str]:
        longest = self._timeouts.get(name, c.MAX_EXECUTION_TIMEOUT_SECONDS)
        environment = {**self.environment, **self._environments.get(name, {})}
        environment[c.ENV_EXECUTION_TIMEOUT_SECONDS] = str(longest)
        if name in self._retention:
            environment[c.ENV_RETENTION_DAYS] = str(self._retention[name])
        return environment

    def _services_of(self, function: str) -> EngineServices | None:
        """The services of a function on another engine than the runner's; None for the runner's own."""
        local = self.local_lambda.functions.get(function)
        environment = local.environment if local is not None else {}
        if (
            not local
            or not local.durable
            or environment.get(c.ENV_JOURNAL_TABLE) == self.environment[c.ENV_JOURNAL_TABLE]
        ):
            return None
        from ..engine.functions import FunctionDescription

        return self.services.for_function(FunctionDescription(self.local_lambda.arn(function), "1", environment))

    def deploy(self, name: str, handler: Callable[[Any, Any], Any]) -> str:
        """Publish a new version of `name`; executions already started stay on their version."""
        require_durable_handler(name, handler)
        return self.local_lambda.publish(name, handler, durable=True, environment=self._function_environment(name))

    def close(self) -> None:
        """Stop moto and restore the process's engine services."""
        self._stack.close()

    # endregion

    # region stepping
    def pump_once(self, *, advance_time: bool = True) -> bool:
        """Run one due invocation, deliver due stream records and timers, or jump virtual time.

        Returns False when nothing at all is pending.
        """
        with self._pump_lock:
            if self._step():
                return True
            if not advance_time:
                return False
            upcoming = self.upcoming()
            if not upcoming:
                return False
            self._jump_to(min(moment for moment, _ in upcoming))
            return True

    def _step(self) -> bool:
        """Do one piece of due work without moving virtual time; False when nothing is due now."""
        with self._pump_lock:
            # New outbox entries first: the relay queues the invocations they ask for, which then run at once.
            relayed = any([stream.poll() for stream in self._stream_sources])
            delivery = self.local_lambda.pop_ready()
            if delivery is not None:
                self.local_lambda.run(delivery)
                return True
            return relayed or self._queue.poll(self._clock.now()) or self._schedules.fire_due()

    def upcoming(self) -> list[tuple[float, bool]]:
        """Everything due later: when, and whether idle time before it may be skipped.

        Only a callback's timeout and an execution's timeout may not be skipped: they are deadlines for the
        outside world (a test answering a callback), which the official runner also lets run in real time. Waits,
        retries, redeliveries and Lambda's own retries are the execution's business and are skipped.
        """
        with self._pump_lock:
            moments = [
                (moment, True)
                for moment in (
                    self.local_lambda.next_due(),
                    *(stream.next_due() for stream in self._stream_sources),
                )
                if moment is not None
            ]
            for moment, reason in [*self._queue.pending(), *self._schedules.pending()]:
                moments.append((moment, reason not in _DEADLINE_REASONS))
            return moments

    def _jump_to(self, moment: float) -> None:
        # A millisecond past the moment: SQS shows a message only once its visibility time has passed.
        self._clock.advance_to(max(moment, self._clock.now()) + 0.001)

    def _delivery_failure(self, execution_arn: str) -> BaseException | None:
        for delivery, error in self.local_lambda.failures:
            if execution_arn in json.dumps(delivery.event):
                return error
        for event, error in self.local_lambda.errors:
            # Code that diverges on replay, or a value its serdes cannot handle, fails every retry alike: say so
            # now rather than after the retries and the execution's timeout.
            if isinstance(error, NonDeterministicExecutionError | SerDesError) and execution_arn in json.dumps(event):
                return error
        for record in (given_up for stream in self._stream_sources for given_up in stream.given_up):
            if execution_arn in json.dumps(record):
                return RuntimeError(f"the outbox relay gave up on a resume of {execution_arn} after its retries")
        return None

    # endregion

    # region callbacks: through the real API Gateway handler
    def _on_callback_issued(
        self, execution_arn: str, callback_name: str | None, parent_name: str | None, callback_id: str
    ) -> None:
        self._issued.append((execution_arn, callback_name, parent_name, callback_id))

    def issued_callback_ids(self, execution_arn: str, name: str | None = None) -> list[str]:
        """Every callback id the execution issued so far (oldest first), optionally those named `name`."""
        return [
            callback_id
            # A copy: invocations on other threads append while a test reads.
            for arn, callback_name, parent_name, callback_id in list(self._issued)
            if arn == execution_arn and (name is None or name in (callback_name, parent_name))
        ]

    def send_callback_success(self, callback_id: str, result: bytes | str | None = None) -> None:
        """Complete a callback through the callback endpoint's handler, as an HTTP client would."""
        body = result.decode() if isinstance(result, bytes) else result
        self._post_callback(callback_id, "succeed", body)

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None = None) -> None:
        """Fail a callback through the callback endpoint's handler."""
        self._post_callback(callback_id, "fail", json.dumps((error or ErrorObject(None, None, None, None)).to_dict()))

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Heartbeat a callback through the callback endpoint's handler."""
        self._post_callback(callback_id, "heartbeat", None)

    def post_callback_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Hand a raw API Gateway proxy event to the callback handler and return its response."""
        from ..callbacks.api import handle

        return handle(event, self.services)

    def _post_callback(self, callback_id: str, action: str, body: str | None) -> None:
        response = self.post_callback_event(callback_proxy_event(callback_id, action, body))
        if response["statusCode"] != 200:
            refusal = json.loads(response["body"])
            raise api_exception_for_status(response["statusCode"], f"{refusal.get('error')}: {refusal.get('message')}")

    # endregion

    # region inspection and holding back
    def execution_status(self, execution_arn: str) -> str | None:
        """The execution's status as the journal has it (RUNNING, SUCCEEDED, ...); None before it exists."""
        with self._pump_lock:
            record = self._observer.services.store.get_execution(ExecutionArn.parse(execution_arn).journal_key)
        return None if record is None else record.status.value

    def history_wire(self, execution_arn: str, *, include_execution_data: bool) -> dict[str, Any]:
        """The execution's history in the managed service's wire shape (boto3's), callback ids whole.

        The service's history shows callback ids redacted; the runner, which saw them issued, shows them whole,
        so a test can answer a callback it found in the history.
        """
        with self._pump_lock:
            wire = self._observer.get_durable_execution_history(
                DurableExecutionArn=execution_arn, IncludeExecutionData=include_execution_data
            )
        self._restore_callback_ids(execution_arn, wire["Events"])
        return wire

    def _restore_callback_ids(self, execution_arn: str, events: list[dict[str, Any]]) -> None:
        whole = self._whole_callback_ids(execution_arn)
        for event in events:
            details = event.get("CallbackStartedDetails")
            if details and details.get("CallbackId") in whole:
                details["CallbackId"] = whole[details["CallbackId"]]

    def _whole_callback_ids(self, execution_arn: str) -> dict[str, str]:
        from ..callbacks.ids import MalformedCallbackId, decode

        whole = {}
        for arn, _, _, callback_id in list(self._issued):
            if arn != execution_arn:
                continue
            try:
                whole[decode(callback_id).public_reference()] = callback_id
            except MalformedCallbackId:
                continue
        return whole

    def result(self, execution_arn: str) -> DurableFunctionTestResult:
        """The result of a closed execution, its operations in the order they started.

        Raises InvocationTimeoutExceededError if an invocation of it ran past its function's timeout: the result
        is not what Lambda, which stops such an invocation, would have given.
        """
        self._refuse_overruns(execution_arn)
        with self._pump_lock:
            # One read of the journal for all three views: most of a result's cost is moto serializing it.
            record = self._observer.get_durable_execution_record(DurableExecutionArn=execution_arn)
        self._restore_callback_ids(execution_arn, record["Events"])
        return DurableFunctionTestResult.from_execution_state(
            {"DurableExecutionArn": execution_arn, **record["Execution"]}, record["Operations"], record["Events"]
        )

    def _refuse_overruns(self, execution_arn: str) -> None:
        overrun = next((over for over in self.local_lambda.overruns if over.concerns(execution_arn)), None)
        if overrun is None:
            return
        timeout = self.local_lambda.timeout_seconds
        raise InvocationTimeoutExceededError(
            f"invocation {overrun.request_id} of {overrun.function} ran {overrun.seconds:.0f} s of virtual time, "
            f"past the function's {timeout:.0f} s timeout: Lambda would have stopped it there, and an at-least-once "
            "step it was running would run again on each retry. Give the function a longer timeout "
            "(invocation_timeout here, the function's timeout when deployed) or split the work into steps that "
            "each finish well within it (the engine suspends between operations before the time runs out)",
            overrun.request_id,
            overrun.seconds,
        )

    def hold(self, execution_arn: str) -> None:
        """Hold back new invocations of the execution (timers still come due; their invocations wait)."""
        with self._pump_lock:
            self.local_lambda.held.add(execution_arn)
            self._queue.held.add(execution_arn)

    def release(self, execution_arn: str) -> None:
        """Let the execution's held-back invocations run."""
        with self._pump_lock:
            self.local_lambda.held.discard(execution_arn)
            self._queue.release(execution_arn)

    def scan_table(self) -> list[dict[str, Any]]:
        """Every journal item, sorted: for tests that prove a rejected input changed nothing."""
        items = []
        scan = self._aws["dynamodb"].get_paginator("scan")
        for page in scan.paginate(TableName=self.environment[c.ENV_JOURNAL_TABLE]):
            items.extend(page["Items"])
        return sorted(items, key=lambda item: (item[c.PARTITION_KEY]["S"], item[c.SORT_KEY]["S"]))

    # endregion


def require_durable_handler(name: str, handler: Any) -> None:
    """Refuse a handler that is not a durable one: run as one, it would never record anything, and every test
    would end in a timeout that says nothing of the cause."""
    if not callable(handler) or not hasattr(handler, "durable_handler"):
        what = getattr(handler, "__qualname__", repr(handler))
        raise TypeError(
            f"{what} (function {name!r}) is not a durable handler: decorate it with @durable_execution "
            "(from durable_runtime import durable_execution), or use register_function for a plain one"
        )


def callback_proxy_event(callback_id: str, action: str, body: str | None, method: str = "POST") -> dict[str, Any]:
    """An API Gateway REST proxy event for the callback route, as API Gateway would send it."""
    return {
        "resource": f"{c.CALLBACK_ROUTE_PREFIX}/{{CallbackId}}/{action}",
        "path": f"{c.CALLBACK_ROUTE_PREFIX}/{callback_id}/{action}",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "pathParameters": {"CallbackId": callback_id},
        "queryStringParameters": None,
        "requestContext": {
            "stage": "prod",
            "httpMethod": method,
            "resourcePath": f"{c.CALLBACK_ROUTE_PREFIX}/{{CallbackId}}/{action}",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _memory_backend(
    backend: str, clock: VirtualClock, function_timeout: int, faults: FaultPlan | None, environment: Any
) -> MemoryBackend | None:
    """The memory backend's parts when `backend` asks for it; None for moto. Refuses what it cannot honour."""
    if backend not in ("moto", "memory"):
        raise ValueError(f'backend must be "moto" or "memory", not {backend!r}')
    if backend == "moto":
        return None
    if faults is not None or environment is not None:
        raise ValueError(
            'backend="memory" cannot inject faults or use given resources (both act on AWS clients): '
            'use the default backend="moto" for those tests'
        )
    return MemoryBackend(clock, function_timeout)
