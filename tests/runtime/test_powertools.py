"""Powertools for AWS Lambda as users configure it: the context logger rides on its Logger, replay-aware."""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

import pytest

import durable_runtime.logger as durable_logger
from durable_runtime.config import Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

powertools = pytest.importorskip("aws_lambda_powertools")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"message"' in line]


def _next_line() -> int:
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


def test_context_logger_writes_through_powertools_once_per_line_with_the_callers_location(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders-logging-test")
    monkeypatch.setattr(durable_logger, "_powertools_logger", None)
    user_logger = powertools.Logger()  # as the function's own module would make it
    user_logger.append_keys(tenant="acme")
    lines: dict[str, int] = {}

    @durable_execution
    def handler(event: dict, ctx: Any) -> str:
        lines["placing"] = _next_line()
        ctx.logger.info("placing order %s", event["order"])
        ctx.step(lambda step: step.logger.info("charging"), name="charge")
        ctx.wait(Duration.from_seconds(5), name="nap")
        ctx.logger.warning("order placed", extra={"total": 42})
        return "ok"

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input='{"order": "o-1"}')
    records = [line for line in _json_lines(capsys.readouterr().out) if "executionArn" in line]

    assert result.status.value == "SUCCEEDED"
    # Two invocations (the wait suspends the first); each line is written once, by the invocation that ran it.
    assert [line["message"] for line in records] == ["placing order o-1", "charging", "order placed"]
    placing, charging, placed = records
    assert placing["service"] == "orders-logging-test" and placing["tenant"] == "acme"
    assert placing["location"] == f"handler:{lines['placing']}"
    assert placing["executionArn"] == result.execution_arn
    assert charging["operationName"] == "charge" and charging["attempt"] == 1 and "operationId" in charging
    assert placed["level"] == "WARNING" and placed["total"] == 42


def test_a_standard_library_target_reports_the_callers_line_too(caplog: pytest.LogCaptureFixture) -> None:
    target = logging.getLogger("durable_runtime.test.stdlib")
    lines: dict[str, int] = {}

    @durable_execution
    def handler(event: dict, ctx: Any) -> str:
        ctx.set_logger(target)
        lines["here"] = _next_line()
        ctx.logger.info("hello")
        return "ok"

    caplog.set_level(logging.INFO, logger=target.name)
    with DurableFunctionTestRunner(handler) as runner:
        runner.run(input="{}")
    record = next(record for record in caplog.records if record.name == target.name)

    assert (record.funcName, record.lineno) == ("handler", lines["here"])


def _shop(placed_plainly: list[int]) -> Any:
    @durable_execution
    def handler(event: dict, ctx: Any) -> str:
        ctx.metrics.add_dimension("channel", "web")
        ctx.metrics.add_metric("OrdersPlaced", "Count", 1)
        placed_plainly.append(1)  # what a plain metrics call at this line would emit: once per invocation
        for index in range(3):
            ctx.step(lambda _: None, name=f"work-{index}")
            ctx.wait(Duration.from_seconds(5), name=f"pause-{index}")
        ctx.metrics.add_metric("OrdersShipped", "Count", 1)
        return "ok"

    return handler


def _emitted(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.parametrize("target", ["powertools", "emf"])
def test_handler_metrics_are_emitted_once_per_execution_not_once_per_invocation(
    target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from durable_runtime import metrics as durable_metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    if target == "emf":
        monkeypatch.setattr(durable_metrics, "_default_target", durable_metrics.EmfMetrics)
    placed_plainly: list[int] = []
    with DurableFunctionTestRunner(_shop(placed_plainly)) as runner:
        result = runner.run(input="{}")
    lines = _emitted(capsys.readouterr().out)
    names = [name for line in lines for metric in line["_aws"]["CloudWatchMetrics"] for name in _names(metric)]

    assert result.status.value == "SUCCEEDED"
    assert len(placed_plainly) == 4  # four invocations ran the handler's first line
    assert sorted(names) == ["OrdersPlaced", "OrdersShipped"]
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop" for line in lines)
    assert all(line["channel"] == "web" and line["service"] == "orders" for line in lines)


def _names(directive: dict[str, Any]) -> list[str]:
    return [metric["Name"] for metric in directive["Metrics"]]


class _RecordingSegment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.closed = False

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value


def _recording_tracer() -> tuple[Any, list[_RecordingSegment]]:
    import contextlib

    from aws_lambda_powertools.tracing.base import BaseProvider

    segments: list[_RecordingSegment] = []

    class RecordingProvider(BaseProvider):
        @contextlib.contextmanager
        def in_subsegment(self, name: Any = None, **kwargs: Any) -> Any:
            segment = _RecordingSegment(name)
            segments.append(segment)
            yield segment
            segment.closed = True

        @contextlib.asynccontextmanager
        async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
            yield _RecordingSegment(name)

        def put_annotation(self, key: str, value: Any) -> None: ...

        def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

        def patch(self, modules: Any) -> None: ...

        def patch_all(self) -> None: ...

    return powertools.Tracer(service="orders", provider=RecordingProvider()), segments


def test_tracing_opens_one_subsegment_per_executed_operation_and_none_on_replay() -> None:
    from durable_runtime.plugins.powertools_tracing import PowertoolsTracing

    tracer, segments = _recording_tracer()
    attempts = {"flaky": 0}

    def flaky(_: Any) -> str:
        attempts["flaky"] += 1
        if attempts["flaky"] == 1:
            raise RuntimeError("try again")
        return "ok"

    @durable_execution(plugins=[PowertoolsTracing(tracer)])
    def handler(event: dict, ctx: Any) -> str:
        ctx.step(lambda _: "charged", name="charge")
        ctx.wait(Duration.from_seconds(5), name="nap")
        return ctx.step(flaky, name="ship")

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status.value == "SUCCEEDED"
    # "charge" ran once, in the first invocation; the replays after the wait and the retry open nothing for it.
    assert [segment.name for segment in segments] == ["## charge", "## ship", "## ship"]
    assert all(segment.closed for segment in segments)
    first_ship, second_ship = segments[1:]
    assert first_ship.annotations["attempt"] == 1 and first_ship.annotations["outcome"] == "FAILED"
    assert first_ship.metadata["error"]["ErrorMessage"] == "try again"
    assert second_ship.annotations["attempt"] == 2 and second_ship.annotations["outcome"] == "SUCCEEDED"
    assert all(segment.annotations["durable_execution_arn"] == result.execution_arn for segment in segments)
