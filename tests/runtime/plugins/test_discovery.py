"""Plugins are found by environment variable and entry point, refused loudly when misconfigured, and contained when
they fail: a broken plugin never breaks an execution."""

from __future__ import annotations

import logging
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.plugin import DurableInstrumentationPlugin
from durable_runtime.plugin_discovery import (
    PLUGIN_ENTRY_POINT_GROUP,
    PLUGIN_ENVIRONMENT_VARIABLE,
    PluginLoadError,
    load_configured_plugins,
)
from durable_runtime.testing import DurableFunctionTestRunner

from .conftest import RecordingFactory

if TYPE_CHECKING:
    from pathlib import Path


class _BrokenPlugin(DurableInstrumentationPlugin):
    """Every hook raises, as a plugin with a bug in it would."""

    def _fail(self, info: Any) -> None:
        raise RuntimeError("plugin bug")

    on_invocation_start = on_invocation_end = _fail
    on_operation_start = on_operation_end = _fail
    on_user_function_start = on_user_function_end = _fail


class _BrokenPluginFactory:
    def create_plugin(self, info: Any) -> DurableInstrumentationPlugin:
        return _BrokenPlugin()


class _FailingFactory:
    def create_plugin(self, info: Any) -> DurableInstrumentationPlugin:
        raise RuntimeError("factory bug")


def _two_steps(event: dict, ctx) -> str:
    return ctx.step(lambda _: "a", name="one") + ctx.step(lambda _: "b", name="two")


@pytest.mark.parametrize("factory", [_BrokenPluginFactory(), _FailingFactory()], ids=["hooks", "factory"])
def test_a_failing_plugin_is_logged_and_the_execution_carries_on(
    factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    handler = durable_execution(plugins=[factory])(_two_steps)
    with caplog.at_level(logging.ERROR), DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status is InvocationStatus.SUCCEEDED and result.result == '"ab"'
    assert "bug" in caplog.text


def test_a_class_instead_of_a_factory_instance_is_refused_when_the_handler_is_decorated() -> None:
    with pytest.raises(PluginLoadError, match=r"plugins\[0\] is the class .*RecordingFactory.*an instance"):
        durable_execution(plugins=[RecordingFactory])(_two_steps)


def test_an_unknown_plugin_name_in_the_environment_is_refused_with_what_is_installed() -> None:
    with pytest.raises(PluginLoadError, match=r"no installed package provides plugin 'not-a-plugin'"):
        load_configured_plugins(None, environment={PLUGIN_ENVIRONMENT_VARIABLE: "not-a-plugin"})


@pytest.mark.parametrize("configured", ["a,,b", "a,a"])
def test_a_malformed_plugin_list_is_refused(configured: str) -> None:
    with pytest.raises(PluginLoadError, match=PLUGIN_ENVIRONMENT_VARIABLE):
        load_configured_plugins(None, environment={PLUGIN_ENVIRONMENT_VARIABLE: configured})


def test_an_entry_point_named_in_the_environment_is_loaded_and_its_hooks_fire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real installed distribution, as pip would leave it: a module and a dist-info with the entry point.
    (tmp_path / "audit_plugin.py").write_text(
        textwrap.dedent(
            """
            from tests.runtime.plugins.conftest import RecordingFactory
            FACTORY = RecordingFactory()
            """
        )
    )
    dist_info = tmp_path / "audit_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: audit-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{PLUGIN_ENTRY_POINT_GROUP}]\naudit = audit_plugin:FACTORY\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(PLUGIN_ENVIRONMENT_VARIABLE, "audit")

    handler = durable_execution(_two_steps)
    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    import audit_plugin

    assert result.status is InvocationStatus.SUCCEEDED
    assert audit_plugin.FACTORY.names("operation_end") == ["one", "two"]


def test_the_official_otel_package_is_found_through_its_entry_point() -> None:
    pytest.importorskip("opentelemetry.sdk")
    pytest.importorskip("aws_durable_execution_sdk_python_otel")
    (factory,) = load_configured_plugins(None, environment={PLUGIN_ENVIRONMENT_VARIABLE: "otel-invocation"})

    assert type(factory).__module__.startswith("aws_durable_execution_sdk_python_otel")
    assert callable(factory.create_plugin)


def test_two_factories_of_one_exclusive_group_are_refused() -> None:
    class _Tracing:
        __durable_registration_api__ = 1
        exclusive_group = "tracing"

        def create_plugin(self, info: Any) -> DurableInstrumentationPlugin:
            return DurableInstrumentationPlugin()

    class _OtherTracing(_Tracing):
        __durable_registration_api__ = 1
        exclusive_group = "tracing"

    with pytest.raises(PluginLoadError, match=r"mutually exclusive \(group 'tracing'\)"):
        load_configured_plugins([_Tracing(), _OtherTracing()], environment={})
