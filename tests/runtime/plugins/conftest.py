"""A plugin that records every hook it receives, for the plugin tests."""

from __future__ import annotations

import threading
from typing import Any

from durable_runtime.plugin import DurableInstrumentationPlugin, InvocationStartInfo


class RecordingPlugin(DurableInstrumentationPlugin):
    """Appends (hook name, info) to a list shared by every invocation of one factory."""

    def __init__(self, calls: list[tuple[str, Any]], lock: threading.Lock) -> None:
        self._calls = calls
        self._lock = lock

    def _add(self, hook: str, info: Any) -> None:
        with self._lock:
            self._calls.append((hook, info))

    def on_invocation_start(self, info: Any) -> None:
        self._add("invocation_start", info)

    def on_invocation_end(self, info: Any) -> None:
        self._add("invocation_end", info)

    def on_operation_start(self, info: Any) -> None:
        self._add("operation_start", info)

    def on_operation_end(self, info: Any) -> None:
        self._add("operation_end", info)

    def on_user_function_start(self, info: Any) -> None:
        self._add("user_function_start", info)

    def on_user_function_end(self, info: Any) -> None:
        self._add("user_function_end", info)


class RecordingFactory:
    """Builds one RecordingPlugin per invocation; all of them write to `calls`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.created = 0
        self._lock = threading.Lock()

    def create_plugin(self, info: InvocationStartInfo) -> RecordingPlugin:
        self.created += 1
        return RecordingPlugin(self.calls, self._lock)

    def hooks(self, hook: str) -> list[Any]:
        """The infos of every call of `hook`, in order."""
        return [info for name, info in self.calls if name == hook]

    def names(self, hook: str) -> list[str | None]:
        """The operation names of every call of `hook`, in order."""
        return [info.name for info in self.hooks(hook)]
