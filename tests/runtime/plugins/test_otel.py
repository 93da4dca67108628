"""The official OpenTelemetry plugin package, unchanged, traces a durable execution on Durable Kit."""

from __future__ import annotations

import pytest

from durable_runtime.config import Duration
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.plugins.official_alias import alias_official_sdk
from durable_runtime.testing import DurableFunctionTestRunner

pytest.importorskip("opentelemetry.sdk")
alias_official_sdk()
otel = pytest.importorskip("aws_durable_execution_sdk_python_otel")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
factory = otel.InvocationOtelPluginFactory(otel.OtelPluginConfig(tracer_provider=provider, enrich_logger=False))


@durable_execution(plugins=[factory])
def _order(event: dict, ctx) -> str:
    charged = ctx.step(lambda _: "charged", name="charge")
    ctx.wait(Duration.from_seconds(5), name="cool-down")

    def ship(child) -> str:
        return child.step(lambda _: "shipped", name="label")

    shipped = ctx.run_in_child_context(ship, name="ship")
    return f"{charged}/{shipped}"


def test_plugin_from_the_official_package_binds_to_durable_runtime_classes() -> None:
    from durable_runtime import plugin

    assert issubclass(otel.InvocationOtelPlugin, plugin.DurableInstrumentationPlugin)


def test_one_span_per_operation_with_parents_and_execution_arn() -> None:
    exporter.clear()
    with DurableFunctionTestRunner(_order) as runner:
        result = runner.run(input="{}")
    assert result.status is InvocationStatus.SUCCEEDED
    provider.force_flush()
    spans = exporter.get_finished_spans()
    by_name: dict[str, list] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    # Each operation that ran has exactly one span, although the step "charge" was replayed twice.
    for name in ("charge", "ship", "label"):
        assert len(by_name.get(name, [])) == 1, (name, sorted(by_name))
    # The wait spans two invocations: its span in the first, the plugin's continuation span in the one that
    # sees it finish (the official plugin's design), and nothing more on later replays.
    assert len(by_name["cool-down"]) == 2
    label, ship = by_name["label"][0], by_name["ship"][0]
    assert label.parent is not None and label.parent.span_id == ship.context.span_id
    assert len({span.context.trace_id for span in spans}) == 1
    arns = {span.attributes.get(key) for span in spans for key in span.attributes if "arn" in key.lower()}
    assert result.execution_arn in arns or any(result.execution_arn in str(a) for a in arns), sorted(span.attributes)
