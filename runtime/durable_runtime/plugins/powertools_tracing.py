"""X-Ray tracing through Powertools' Tracer: one subsegment per operation whose code runs, none for replayed ones.

    from aws_lambda_powertools import Tracer
    from durable_runtime.plugins.powertools_tracing import PowertoolsTracing

    tracer = Tracer()

    @tracer.capture_lambda_handler
    @durable_execution(plugins=[PowertoolsTracing(tracer)])
    def handler(event, context): ...

Each step attempt, wait-for-condition check, callback submitter and child context body that actually runs gets a
subsegment named ``## <operation name>`` with the execution ARN, operation id, type and attempt as annotations
(searchable in X-Ray). Operations answered from the journal on replay run no code and get none, so a trace shows
the work each invocation did. Turn on active tracing on the function (``DurableFunction(tracing=...)``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..plugin import DurableInstrumentationPlugin

if TYPE_CHECKING:
    from ..plugin import InvocationStartInfo, UserFunctionEndInfo, UserFunctionStartInfo

__all__ = ["PowertoolsTracing"]


class PowertoolsTracing:
    """A plugin factory (`durable_execution(plugins=[...])`) tracing executed operations with a Powertools Tracer.

    Args:
        tracer: The function's ``aws_lambda_powertools.Tracer``; by default one made with Powertools' environment
            (``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_TRACE_DISABLED``).
    """

    def __init__(self, tracer: Any = None) -> None:
        self._tracer = tracer

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        """The invocation's plugin, bound to its execution."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer()
        return _TracingPlugin(self._tracer.provider, info.execution_arn)


class _TracingPlugin(DurableInstrumentationPlugin):
    def __init__(self, provider: Any, execution_arn: str | None) -> None:
        self._provider = provider
        self._execution_arn = execution_arn
        # Open subsegments by operation; map branches run user code on several threads at once.
        self._open: dict[tuple[str, int | None], tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        if info.is_replayed or info.is_replay_children:
            return
        scope = self._provider.in_subsegment(name=f"## {info.name or info.operation_type.value.lower()}")
        segment = scope.__enter__()
        annotations = {
            "durable_execution_arn": self._execution_arn,
            "operation_id": info.operation_id,
            "operation_type": info.operation_type.value,
            "operation_name": info.name,
            "attempt": info.attempt,
        }
        for key, value in annotations.items():
            if value is not None:
                segment.put_annotation(key=key, value=value)
        with self._lock:
            self._open[(info.operation_id, info.attempt)] = (scope, segment)

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        with self._lock:
            opened = self._open.pop((info.operation_id, info.attempt), None)
        if opened is None:
            return
        scope, segment = opened
        segment.put_annotation(key="outcome", value=info.outcome.name)
        if info.error is not None:
            segment.put_metadata(key="error", value=info.error.to_dict(), namespace="durable")
        scope.__exit__(None, None, None)
