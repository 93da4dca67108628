"""Replay-aware metrics for handler code: `context.metrics`.

A durable handler's code outside steps runs again on every replay, so a metric it adds with a plain metrics
object is emitted once per invocation (four times for an order that waits three times). `context.metrics` drops
what replayed code adds: each metric comes from the one invocation whose code actually ran past that point, so a
handler-level count is emitted once per execution. Code inside a step runs once per attempt and never replays.

Metrics go to Powertools' ``Metrics`` when aws-lambda-powertools is installed (its namespace and service from
``POWERTOOLS_METRICS_NAMESPACE`` and ``POWERTOOLS_SERVICE_NAME``), else to a small CloudWatch embedded-metric-format
writer with the same environment; ``context.set_metrics(metrics)`` sends them to a ``Metrics`` object of your own.
They are flushed when the invocation ends (a ``@metrics.log_metrics`` around the handler flushes them too).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_NAMESPACE", "DurableMetrics", "EmfMetrics", "MetricsSink"]

# The namespace when neither the caller nor POWERTOOLS_METRICS_NAMESPACE names one.
DEFAULT_NAMESPACE = "DurableFunctions"


class EmfMetrics:
    """CloudWatch embedded metric format without Powertools: metrics kept until `flush_metrics` writes one line."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self.namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
        service = service or os.environ.get("POWERTOOLS_SERVICE_NAME")
        self._default_dimensions = {"service": service} if service else {}
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._metrics: dict[str, tuple[str, list[float]]] = {}
        self._dimensions: dict[str, str] = dict(self._default_dimensions)
        self._metadata: dict[str, Any] = {}

    def add_metric(self, name: str, unit: Any, value: float, **_: Any) -> None:
        """Add `value` to the metric `name` (in `unit`: "Count", "Milliseconds", ...)."""
        with self._lock:
            unit_name = str(getattr(unit, "value", unit))
            self._metrics.setdefault(name, (unit_name, []))[1].append(float(value))

    def add_dimension(self, name: str, value: str) -> None:
        """Add a dimension to the metrics flushed next."""
        with self._lock:
            self._dimensions[name] = str(value)

    def add_metadata(self, key: str, value: Any) -> None:
        """Add a field to the log line that is not a metric (searchable in CloudWatch Logs)."""
        with self._lock:
            self._metadata[key] = value

    def clear_metrics(self) -> None:
        """Forget the metrics, dimensions and metadata added since the last flush."""
        with self._lock:
            self._reset()

    def flush_metrics(self, **_: Any) -> None:
        """Write the metrics as one EMF line on stdout (where Lambda's log stream carries them), then forget them."""
        with self._lock:
            metrics, dimensions, metadata = self._metrics, self._dimensions, self._metadata
            self._reset()
        if not metrics:
            return
        directive = {
            "Namespace": self.namespace,
            "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
        }
        values = {name: points[0] if len(points) == 1 else points for name, (_, points) in metrics.items()}
        line = {
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
            **metadata,
            **dimensions,
            **values,
        }
        sys.stdout.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")


def _default_target() -> Any:
    try:
        from aws_lambda_powertools import Metrics
    except ImportError:
        return EmfMetrics()
    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)


class MetricsSink:
    """Where one invocation's contexts send metrics; created with the invocation, flushed when it ends."""

    def __init__(self) -> None:
        self._target: Any = None
        self._added = False
        self._lock = threading.Lock()

    def target(self) -> Any:
        """The metrics object in use, made on first use (most invocations add no metric and pay nothing)."""
        with self._lock:
            if self._target is None:
                self._target = _default_target()
            return self._target

    def set_target(self, target: Any) -> None:
        """Send metrics to `target`: a Powertools ``Metrics``, or anything with its add_metric and flush_metrics."""
        with self._lock:
            self._target = target

    def added(self) -> None:
        """Note that a metric point was added (so the flush has something to write)."""
        self._added = True

    def flush(self) -> None:
        """Write what this invocation added; with no metric point, forget its dimensions instead.

        A warm Lambda process runs other executions next: dimensions added by replayed code, with no point to
        carry them, must not stay behind for them (Powertools keeps them process-wide until a flush or clear).
        """
        with self._lock:
            target, added, self._added = self._target, self._added, False
        if target is None:
            return
        if added:
            target.flush_metrics()
        elif hasattr(target, "clear_metrics"):
            target.clear_metrics()


class DurableMetrics:
    """`context.metrics`: add metrics from handler code, dropped while that code replays."""

    def __init__(self, sink: MetricsSink, is_replaying: Callable[[], bool]) -> None:
        self._sink = sink
        self._is_replaying = is_replaying

    def add_metric(self, name: str, unit: Any = "Count", value: float = 1, **kwargs: Any) -> None:
        """Add a metric point, unless the code adding it is replaying (it was emitted when that code first ran)."""
        if not self._is_replaying():
            self._sink.target().add_metric(name=name, unit=unit, value=value, **kwargs)
            self._sink.added()

    def add_dimension(self, name: str, value: str) -> None:
        """Add a dimension to this invocation's metrics (also while replaying: later points need it)."""
        self._sink.target().add_dimension(name=name, value=value)

    def add_metadata(self, key: str, value: Any) -> None:
        """Add a non-metric field to this invocation's metrics line."""
        self._sink.target().add_metadata(key=key, value=value)
