"""Dispatch of plugin hooks: one `PluginExecutor` per invocation, built from the handler's factories.

Only imported once a plugin is configured (the engine checks for factories first), so a function without
plugins never loads it.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import ErrorObject
from ..plugin import (
    DurableInstrumentationPlugin,
    DurableInstrumentationPluginFactory,
    InvocationEndInfo,
    InvocationStartInfo,
    InvocationStatus,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    OperationStartInfo,
    PropagationInput,
    PropagationMetadata,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
)

log = logging.getLogger("durable_runtime.plugin")

# Raised by plugin code, these tell the running thread to stop: they are passed on, never contained.
_THREAD_CONTROL = (KeyboardInterrupt, SystemExit, GeneratorExit)

_HOOK_BY_INFO: list[tuple[type, str]] = [
    # Subclasses before their bases: a UserFunctionStartInfo is also an OperationInfo.
    (InvocationStartInfo, "on_invocation_start"),
    (InvocationEndInfo, "on_invocation_end"),
    (OperationStartInfo, "on_operation_start"),
    (OperationEndInfo, "on_operation_end"),
    (OperationChangeInfo, "on_operation_change"),
    (UserFunctionStartInfo, "on_user_function_start"),
    (UserFunctionEndInfo, "on_user_function_end"),
]


def _hook_name(info: object) -> str:
    for info_type, hook in _HOOK_BY_INFO:
        if isinstance(info, info_type):
            return hook
    raise TypeError(f"no plugin hook takes a {type(info).__name__}")


def _contain(error: BaseException, message: str, *args: object) -> None:
    """Log a plugin's failure; re-raise only what tells the thread to stop."""
    control: BaseException | None
    rest: BaseException | None
    if isinstance(error, BaseExceptionGroup):
        control, rest = error.split(_THREAD_CONTROL)
    elif isinstance(error, _THREAD_CONTROL):
        control, rest = error, None
    else:
        control, rest = None, error
    if rest is not None:
        log.error(message, *args, exc_info=rest)
    if control is not None:
        raise control from None


def _official_class_hint(plugin: object) -> str:
    """Why a plugin built against the official SDK's own classes is refused, and the fix."""
    modules = {getattr(cls, "__module__", "") for cls in type(plugin).__mro__}
    if "aws_durable_execution_sdk_python.plugin" in modules:
        return (
            " (it subclasses the official SDK's class: call "
            "durable_runtime.plugins.official_alias.alias_official_sdk() before importing its package)"
        )
    return ""


class PluginExecutor:
    """One invocation's plugin instances and the dispatch of its hooks (single use: one `run()`)."""

    def __init__(self, plugins: Sequence[DurableInstrumentationPluginFactory] | None):
        self._plugin_factories = list(plugins or [])
        self._plugins: list[DurableInstrumentationPlugin] = []
        # Only plugins that received their invocation start get the later hooks.
        self._started: list[DurableInstrumentationPlugin] = []
        self._invocation_status: InvocationStartInfo | None = None
        self._operations_provider: Callable[[], Mapping[str, OperationInfo]] | None = None
        self._ended: set[str] = set()
        self._lock = threading.Lock()
        self._run_entered = False

    @property
    def has_plugins(self) -> bool:
        """True when the invocation has plugin factories."""
        return bool(self._plugin_factories)

    @property
    def wants_changes(self) -> bool:
        """True when a plugin overrides `on_operation_change` (building its info lists every operation)."""
        return any(
            type(plugin).on_operation_change is not DurableInstrumentationPlugin.on_operation_change
            for plugin in self._started
        )

    @contextlib.contextmanager
    def run(self) -> Iterator[PluginExecutor]:
        """The invocation's scope; its plugin instances are dropped when it closes."""
        if self._run_entered:
            raise RuntimeError("a PluginExecutor serves one invocation; build a new one for the next")
        self._run_entered = True
        try:
            yield self
        finally:
            self._plugins, self._started = [], []
            self._invocation_status = None
            self._operations_provider = None

    def execute_plugins(self, info: Any, *, finish_fan_out: bool = False) -> None:
        """Call the hook that takes `info` on every started plugin, in registration order.

        An invocation end (or any hook with `finish_fan_out`) reaches every plugin even when one of them raises a
        thread-control exception; the first such exception is raised afterwards.
        """
        if not self._plugin_factories:
            return
        starting = isinstance(info, InvocationStartInfo)
        finish = finish_fan_out or isinstance(info, InvocationEndInfo)
        hook = _hook_name(info)
        held: BaseException | None = None
        for plugin in list(self._plugins if starting else self._started):
            if starting:
                # Counted before the call: a start that failed half-way may hold what its end releases.
                self._started.append(plugin)
            try:
                self._dispatch(plugin, hook, info)
            except BaseException as control:
                if not finish:
                    raise
                held = held or control
        if held is not None:
            raise held

    @staticmethod
    def _dispatch(plugin: DurableInstrumentationPlugin, hook: str, info: Any) -> None:
        try:
            getattr(plugin, hook)(info)
        except BaseException as error:  # noqa: BLE001 - a plugin must not fail the execution
            _contain(error, "plugin %s failed in %s; ignored", type(plugin).__qualname__, hook)

    def _create_plugins(self, info: InvocationStartInfo) -> None:
        plugins: list[DurableInstrumentationPlugin] = []
        for factory in self._plugin_factories:
            name = type(factory).__qualname__
            try:
                plugin = factory.create_plugin(info)
            except BaseException as error:  # noqa: BLE001 - a factory must not fail the execution
                _contain(error, "plugin factory %s failed; no plugin from it in this invocation", name)
                continue
            if not isinstance(plugin, DurableInstrumentationPlugin):
                log.error(
                    "plugin factory %s returned %s, not a DurableInstrumentationPlugin; ignored%s",
                    name,
                    type(plugin).__qualname__,
                    _official_class_hint(plugin),
                )
                continue
            plugins.append(plugin)
        self._plugins = plugins

    def on_invocation_start(
        self,
        execution_arn: str,
        is_first_invocation: bool,
        execution_start_time: datetime.datetime | None,
        lambda_context: Any,
        execution_input: Any = None,
        operations_provider: Callable[[], Mapping[str, OperationInfo]] | None = None,
        updated_operation_ids: Sequence[str] | None = None,
    ) -> None:
        """Build this invocation's plugins and fire their invocation start."""
        self._operations_provider = operations_provider
        operations = self._snapshot()
        self._invocation_status = InvocationStartInfo(
            request_id=getattr(lambda_context, "aws_request_id", None),
            execution_arn=execution_arn,
            is_first_invocation=is_first_invocation,
            execution_start_time=execution_start_time,
            execution_input=_copy_input(execution_input),
            operations=operations,
            updated_operations={key: operations[key] for key in updated_operation_ids or () if key in operations},
        )
        self._create_plugins(self._invocation_status)
        self.execute_plugins(self._invocation_status)

    def _snapshot(self) -> dict[str, OperationInfo]:
        if self._operations_provider is None:
            return {}
        try:
            return dict(self._operations_provider())
        except Exception:
            log.exception("could not list the operations for a plugin hook")
            return {}

    def on_invocation_end(self, output: Any) -> None:
        """Fire the invocation end; `output` has the invocation's `status`, `result` and `error`."""
        start = self._invocation_status
        if start is None:
            return
        status = getattr(output.status, "value", output.status)
        end = InvocationEndInfo(
            request_id=start.request_id,
            execution_arn=start.execution_arn,
            is_first_invocation=start.is_first_invocation,
            execution_start_time=start.execution_start_time,
            execution_input=start.execution_input,
            operations=self._snapshot(),
            status=_invocation_status(status),
            error=output.error,
            execution_result=output.result,
        )
        self.execute_plugins(end)

    def on_operation_start(self, info: OperationStartInfo) -> None:
        """Fire an operation's start."""
        self.execute_plugins(info)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """Fire an operation's end, unless this invocation already did for that operation."""
        with self._lock:
            if info.operation_id in self._ended:
                return
            self._ended.add(info.operation_id)
        self.execute_plugins(info)

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        """Fire a change notification."""
        self.execute_plugins(info)

    def on_user_function_start(self, info: UserFunctionStartInfo) -> UserFunctionStartInfo:
        """Fire the start of user code; returns the info its end is built from."""
        self.execute_plugins(info)
        return info

    def on_user_function_end(
        self, start_info: UserFunctionStartInfo, error: ErrorObject | None, *, outcome: Any = None
    ) -> None:
        """Fire the end of user code started with `start_info`."""
        self.execute_plugins(UserFunctionEndInfo.from_start_info(start_info, error, outcome=outcome))

    def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata:
        """Ask every plugin for a chained invoke's metadata; the first non-blank trace id wins."""
        for plugin in self._started:
            try:
                metadata = plugin.provide_propagation_metadata(info)
            except BaseException as error:  # noqa: BLE001 - a plugin must not fail the execution
                _contain(error, "plugin %s failed to provide propagation metadata", type(plugin).__qualname__)
                continue
            trace_id = getattr(metadata, "x_amzn_trace_id", None)
            if isinstance(trace_id, str) and trace_id.strip():
                return PropagationMetadata(x_amzn_trace_id=trace_id)
        return PropagationMetadata()


def _invocation_status(value: str) -> InvocationStatus:
    # An execution closed by a timeout or a stop failed, as far as the invocation is concerned.
    try:
        return InvocationStatus(value)
    except ValueError:
        return InvocationStatus.FAILED


def _copy_input(execution_input: Any) -> Any:
    # Plugins get their own copy: a plugin changing it must not change what the handler sees, nor the reverse.
    try:
        return copy.deepcopy(execution_input)
    except Exception:  # noqa: BLE001 - an input that cannot be copied is left out
        return None


class PluginHost:
    """The handler's plugin factories; hands each invocation a fresh executor."""

    def __init__(self, plugins: Sequence[DurableInstrumentationPluginFactory] | None):
        self._plugin_factories = list(plugins or [])

    @property
    def has_plugins(self) -> bool:
        """True when any factory is configured."""
        return bool(self._plugin_factories)

    @contextlib.contextmanager
    def invocation(self) -> Iterator[PluginExecutor]:
        """One invocation's executor, closed with the scope."""
        with PluginExecutor(self._plugin_factories).run() as executor:
            yield executor
