"""What the engine needs from the outside world, resolved once per process (or injected by the local runner)."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..exceptions import ValidationError

if TYPE_CHECKING:
    from ..journal.payloads import PayloadStore
    from ..journal.store import JournalStore
    from .clock import Clock
    from .functions import FunctionDescription, LambdaInvoker
    from .timers import TimerService


@dataclass(frozen=True)
class EngineSettings:
    """Tunables, resolved as: explicit argument, then environment variable (names in `contract`), then default."""

    execution_timeout_seconds: int = c.DEFAULT_EXECUTION_TIMEOUT_SECONDS
    retention_days: int = c.DEFAULT_RETENTION_DAYS
    # Suspend (and resume at once in a fresh invocation) when less than this is left before Lambda's limit.
    deadline_margin_seconds: float = 30.0
    start_linger_seconds: float = 0.25
    # A replay of an exported journal (testing.replay): user code of steps never runs; it stops at `replay_stop_at`
    # (an operation id or name) when that is given.
    replay_only: bool = False
    replay_stop_at: str | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> EngineSettings:
        """Read settings from the environment, validating each."""
        env = os.environ if environ is None else environ
        timeout = _int_setting(env, c.ENV_EXECUTION_TIMEOUT_SECONDS, c.DEFAULT_EXECUTION_TIMEOUT_SECONDS)
        if not 1 <= timeout <= c.MAX_EXECUTION_TIMEOUT_SECONDS:
            raise ValidationError(
                f"{c.ENV_EXECUTION_TIMEOUT_SECONDS}={timeout} is out of range: "
                f"use 1 to {c.MAX_EXECUTION_TIMEOUT_SECONDS} seconds"
            )
        retention = _int_setting(env, c.ENV_RETENTION_DAYS, c.DEFAULT_RETENTION_DAYS)
        if not 1 <= retention <= 90:
            raise ValidationError(f"{c.ENV_RETENTION_DAYS}={retention} is out of range: use 1 to 90 days")
        return cls(execution_timeout_seconds=timeout, retention_days=retention)


def _int_setting(env: Any, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class EngineServices:
    """The journal, payload store, timers, Lambda invoker and clock one process uses."""

    store: JournalStore
    payloads: PayloadStore
    timers: TimerService
    invoker: LambdaInvoker
    clock: Clock
    settings: EngineSettings

    def for_function(self, function: FunctionDescription) -> EngineServices:
        """The services for another durable function's executions: its engine's journal and payloads, its limits.

        A function on another engine (another table) keeps its executions there; its configuration bounds how
        long they may run and how long they are kept, whoever starts them.
        """
        env = function.environment
        if not function.is_durable:
            return self
        store = self.store.for_table(env[c.ENV_JOURNAL_TABLE])
        bucket = env.get(c.ENV_PAYLOAD_BUCKET)
        payloads = self.payloads.for_bucket(bucket) if bucket and self.payloads is not None else self.payloads
        limits = EngineSettings.from_environment(dict(env))
        settings = dataclasses.replace(
            self.settings,
            execution_timeout_seconds=limits.execution_timeout_seconds,
            retention_days=limits.retention_days,
        )
        return dataclasses.replace(self, store=store, payloads=payloads, settings=settings)


_lock = threading.Lock()
_process_services: EngineServices | None = None
_override: EngineServices | None = None
# A local runner with functions on several engines gives each invocation's thread its function's services.
_thread = threading.local()


def current_services() -> EngineServices:
    """The services for this process: an override installed by the local runner, else built from the environment."""
    global _process_services
    for_thread: EngineServices | None = getattr(_thread, "services", None)
    if for_thread is not None:
        return for_thread
    if _override is not None:
        return _override
    with _lock:
        if _process_services is None:
            _process_services = services_from_environment()
        return _process_services


_process_invoker: LambdaInvoker | None = None


def current_invoker() -> LambdaInvoker:
    """The Lambda invoker for this process, for code that needs nothing else (the outbox relay).

    The local runner's override when installed; otherwise one made from a Lambda client alone, so the relay needs
    no journal table or other resource in its environment.
    """
    global _process_invoker
    if _override is not None:
        return _override.invoker
    with _lock:
        if _process_invoker is None:
            import boto3

            from .functions import AwsLambdaInvoker

            _process_invoker = AwsLambdaInvoker(boto3.session.Session().client("lambda"))
        return _process_invoker


@contextmanager
def services_for_this_thread(services: EngineServices | None) -> Iterator[None]:
    """Use `services` for invocations on this thread until the block ends (None: no change)."""
    previous = getattr(_thread, "services", None)
    _thread.services = services or previous
    try:
        yield
    finally:
        _thread.services = previous


@contextmanager
def override_services(services: EngineServices) -> Iterator[EngineServices]:
    """Use `services` for every invocation in this process until the block ends (the local runner's hook)."""
    global _override
    previous, _override = _override, services
    try:
        yield services
    finally:
        _override = previous


def services_from_environment(session: Any = None, environment: Mapping[str, str] | None = None) -> EngineServices:
    """Build AWS-backed services from the environment the constructs set (this process's, or `environment`: a
    function's, as GetFunctionConfiguration reports it, for a client outside it)."""
    env = os.environ if environment is None else environment
    import boto3

    from ..journal.dynamodb import DynamoDBJournalStore
    from ..journal.payloads import S3PayloadStore
    from .clock import SystemClock
    from .functions import AwsLambdaInvoker
    from .pacing import JOURNAL_CLIENT_RETRIES
    from .timers import AwsTimerService, NoTimerQueue

    session = session or boto3.session.Session()
    table = _required(env, c.ENV_JOURNAL_TABLE)
    queue_url = env.get(c.ENV_TIMER_QUEUE_URL)
    # The callback handler and DurableClient never set timers; only a durable function has a timer queue.
    timers: TimerService = (
        AwsTimerService(
            sqs=_lazy_client(session, "sqs"),
            scheduler=_lazy_client(session, "scheduler"),
            queue_url=queue_url,
            queue_arn=env.get(c.ENV_TIMER_QUEUE_ARN, ""),
            schedule_group=env.get(c.ENV_SCHEDULE_GROUP, "default"),
            scheduler_role_arn=env.get(c.ENV_SCHEDULER_ROLE_ARN, ""),
            clock=SystemClock(),
        )
        if queue_url
        else NoTimerQueue()
    )
    return EngineServices(
        store=DynamoDBJournalStore(_lazy_client(session, "dynamodb", {"retries": JOURNAL_CLIENT_RETRIES}), table),
        payloads=S3PayloadStore(_lazy_client(session, "s3"), env.get(c.ENV_PAYLOAD_BUCKET, "")),
        timers=timers,
        invoker=AwsLambdaInvoker(_lazy_client(session, "lambda")),
        clock=SystemClock(),
        settings=EngineSettings.from_environment(),
    )


class _LazyClient:
    """A boto3 client made on first use: a cold start pays only for the services its invocation calls.

    Making a client loads its service model (tens of milliseconds each); a step-only invocation needs DynamoDB
    alone, and S3, Scheduler and Lambda are needed only for large payloads, long timers and invokes.
    """

    def __init__(self, session: Any, service: str, config: Mapping[str, Any] | None = None) -> None:
        self._session = session
        self._service = service
        self._config = config  # botocore Config's arguments, made into one with the client
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            # One boto3 session must not make clients on two threads at once; concurrent branches share this one.
            with _client_lock:
                if self._client is None:
                    self._client = self._session.client(self._service, config=_botocore_config(self._config))
                client = self._client
        return getattr(client, name)


def _lazy_client(session: Any, service: str, config: Mapping[str, Any] | None = None) -> Any:
    """A `_LazyClient` for `service`, typed as the client it stands for."""
    return _LazyClient(session, service, config)


def _botocore_config(arguments: Mapping[str, Any] | None) -> Any:
    if arguments is None:
        return None
    from botocore.config import Config

    return Config(**arguments)


# Serialises client creation across the process: boto3 sessions are not safe to use from several threads at once.
_client_lock = threading.Lock()


def _required(environment: Mapping[str, str], name: str) -> str:
    value = environment.get(name)
    if not value:
        raise ValidationError(
            f"environment variable {name} is not set: deploy the function with DurableFunction (durable_constructs), "
            "or set it to the engine's resource"
        )
    return value
