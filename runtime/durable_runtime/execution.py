"""`@durable_execution`: turns a handler `(event, context: DurableContext)` into a durable Lambda handler."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, MutableMapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from ._reexports import lazy_reexports
from .contract import REASON_START, REASON_WATCHDOG, SQS_MAX_DELAY_SECONDS
from .engine.envelope import is_envelope, parse_envelope, sqs_envelopes
from .engine.ids import FunctionArn
from .engine.services import EngineServices, current_services

if TYPE_CHECKING:
    from .plugins.executor import PluginHost

log = logging.getLogger("durable_runtime")

# A direct start's watchdog fires this long after a dead invocation's lease would have lapsed.
_WATCHDOG_MARGIN_SECONDS = 30

__all__ = ["InvocationStatus", "durable_execution"]

# The official module re-exports these for code that imports them from here; resolved on first use, so the handler
# wrapper's import stays as cheap as it is.
_REEXPORTS = {
    "BackgroundThreadError": "exceptions",
    "BotoClientError": "exceptions",
    "CheckpointError": "exceptions",
    "ExecutionError": "exceptions",
    "InvocationError": "exceptions",
    "SuspendExecution": "exceptions",
    "DurableContext": "context",
    "DurableExecutionInvocationOutput": "lambda_service",
    "DurableServiceClient": "lambda_service",
    "ErrorObject": "lambda_service",
    "LambdaClient": "lambda_service",
    "Operation": "lambda_service",
    "OperationUpdate": "lambda_service",
    "DurableInstrumentationPluginFactory": "plugin",
    "PluginExecutor": "plugins.executor",
    "load_configured_plugins": "plugin_discovery",
    "DurableExecutionInvocationInput": "managed_protocol",
    "DurableExecutionInvocationInputWithClient": "managed_protocol",
    "InitialExecutionState": "managed_protocol",
    "LAMBDA_RESPONSE_SIZE_LIMIT": "managed_protocol",
    "handle_checkpoint_error": "managed_protocol",
}
__getattr__, __dir__ = lazy_reexports(__name__, _REEXPORTS)


class InvocationStatus(Enum):
    """How an invocation ended, as the managed service reports it."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    # The official service's "failed, invoke again"; Durable Kit's handler never returns it (a failed invocation is
    # redelivered by its queue or retried by Lambda), but it is part of the vocabulary plugins and tests match on.
    RETRY = "RETRY"


def durable_execution(
    func: Callable[[Any, Any], Any] | None = None,
    *,
    boto3_client: Any = None,
    plugins: list[Any] | None = None,
    services: EngineServices | None = None,
) -> Any:
    """Make `func(event, context)` a durable Lambda handler; usable bare or with keyword options.

    Args:
        func: The handler; it receives the execution input and a DurableContext.
        boto3_client: Accepted for compatibility with the official SDK; Durable Kit talks to its own journal.
        plugins: Instrumentation plugin factories (`durable_runtime.plugin`); those named in the
            `DURABLE_EXECUTION_PLUGINS` environment variable are added after them.
        services: The engine services to use instead of those built from the environment.

    Raises:
        PluginLoadError: A plugin is not a factory, or a configured one cannot be found or loaded.
    """
    if func is None:
        return functools.partial(durable_execution, boto3_client=boto3_client, plugins=plugins, services=services)
    host = _plugin_host(plugins)

    @functools.wraps(func)
    def handler(event: Any, lambda_context: Any) -> Any:
        return _dispatch(func, event, lambda_context, services or current_services(), host)

    handler.durable_handler = func  # type: ignore[attr-defined]
    return handler


def _plugin_host(plugins: list[Any] | None) -> PluginHost | None:
    """The handler's plugin factories, resolved once; None (nothing loaded) when there are none."""
    from .plugin_discovery import PLUGIN_ENVIRONMENT_VARIABLE, load_configured_plugins

    if not plugins and not os.environ.get(PLUGIN_ENVIRONMENT_VARIABLE, "").strip():
        return None
    from .plugins.executor import PluginHost

    factories = load_configured_plugins(plugins)
    return PluginHost(factories) if factories else None


def _dispatch(
    func: Callable[[Any, Any], Any],
    event: Any,
    lambda_context: Any,
    services: EngineServices,
    plugins: PluginHost | None = None,
) -> Any:
    from .engine.invocation import run_invocation

    if is_envelope(event):
        request = parse_envelope(event)
        outcome = run_invocation(func, request, _request_id(lambda_context), lambda_context, services, plugins)
        return outcome.to_response()
    batch = sqs_envelopes(event)
    if batch is not None:
        return _consume_timer_batch(func, batch, lambda_context, services, plugins)
    return _start_directly(func, event, lambda_context, services, plugins)


def _request_id(lambda_context: Any) -> str:
    return str(getattr(lambda_context, "aws_request_id", "") or "local")


def _identity(lambda_context: Any) -> tuple[str, str]:
    invoked = getattr(lambda_context, "invoked_function_arn", None)
    if not invoked:
        from .exceptions import ValidationError

        raise ValidationError("the Lambda context has no invoked_function_arn; invoke the handler through Lambda")
    version = getattr(lambda_context, "function_version", None) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"
    )
    return FunctionArn.parse(invoked).unqualified, str(version)


def _start_directly(
    func: Callable[[Any, Any], Any],
    event: Any,
    lambda_context: Any,
    services: EngineServices,
    plugins: PluginHost | None,
) -> Any:
    """An ordinary event starts an execution named after the request, so Lambda's retries don't start twice."""
    from .engine.envelope import ResumeRequest
    from .engine.functions import FunctionDescription
    from .engine.ids import ExecutionArn
    from .engine.invocation import run_invocation
    from .engine.ownership import LEASE_SECONDS
    from .engine.starting import start_execution, validate_input

    function_arn, version = _identity(lambda_context)
    request_id = _request_id(lambda_context)
    payload = validate_input(json.dumps(event))
    arn = ExecutionArn.for_new_execution(function_arn, version, request_id)
    # This invocation runs the execution it creates; if it dies (and a synchronous caller never retries), only a
    # timer set before the execution exists can resume it. It fires once a dead holder's lease would have lapsed
    # (or after this invocation's deadline, if sooner); if this invocation still works, the watchdog finds the
    # lease renewed and looks again later, or finds nothing new to do.
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", lambda: 900_000)() / 1000
    delay = min(remaining + 5, LEASE_SECONDS + _WATCHDOG_MARGIN_SECONDS, SQS_MAX_DELAY_SECONDS)
    services.timers.schedule(ResumeRequest(arn, REASON_WATCHDOG), services.clock.now() + delay)
    # The function's own configuration (services.settings) bounds what it starts for itself.
    start_execution(services, FunctionDescription(function_arn, version), request_id, payload, invoke=False)
    outcome = run_invocation(func, ResumeRequest(arn, REASON_START), request_id, lambda_context, services, plugins)
    if outcome.status == InvocationStatus.SUCCEEDED.value and outcome.result is not None:
        return json.loads(outcome.result)
    return outcome.to_response()


def _consume_timer_batch(
    func: Callable[[Any, Any], Any],
    batch: list[tuple[str, str, str]],
    lambda_context: Any,
    services: EngineServices,
    plugins: PluginHost | None,
) -> MutableMapping[str, Any]:
    """Resume each execution whose timer fired; forward those pinned to another version to that version."""
    _, my_version = _identity(lambda_context)
    # Held while this invocation lives: if it dies, every message of the batch is delivered again within minutes.
    with services.timers.hold([handle for _, handle, _ in batch if handle]):
        return _consume_timers(func, batch, (my_version, lambda_context), services, plugins)


def _consume_timers(
    func: Callable[[Any, Any], Any],
    batch: list[tuple[str, str, str]],
    invoked: tuple[str, Any],
    services: EngineServices,
    plugins: PluginHost | None,
) -> MutableMapping[str, Any]:
    from .engine.invocation import UnknownExecutionError, run_invocation
    from .exceptions import ValidationError

    my_version, lambda_context = invoked
    failures: list[dict[str, str]] = []
    first_error: Exception | None = None
    for message_id, _, body in batch:
        try:
            request = parse_envelope(json.loads(body))
        except (ValidationError, json.JSONDecodeError) as error:
            log.error("dropping malformed timer message %s: %s", message_id, error)
            continue
        try:
            if request.execution_arn.version != my_version:
                services.invoker.invoke_async(request.execution_arn.qualified_function_arn, request.to_event())
            else:
                run_invocation(func, request, message_id, lambda_context, services, plugins)
        except UnknownExecutionError as error:
            log.error("dropping timer message %s: %s", message_id, error)
        except Exception as error:
            log.exception("timer message %s failed; SQS will deliver it again", message_id)
            failures.append({"itemIdentifier": message_id})
            first_error = first_error or error
    if first_error is not None and len(failures) == len(batch):
        # Every message failed: raising returns them all, as a partial report would, and shows in Lambda's
        # error metrics and alarms with the typed error.
        raise first_error
    return {"batchItemFailures": failures}
