"""`import durable_runtime` exposes the official SDK's top-level names, and resolves them only on first use."""

from __future__ import annotations

import subprocess
import sys

import durable_runtime
from durable_runtime.context import DurableContext
from durable_runtime.exceptions import StepError
from durable_runtime.execution import durable_execution


def test_top_level_names_are_the_module_objects() -> None:
    from durable_runtime import DurableContext as TopContext
    from durable_runtime import StepError as TopStepError
    from durable_runtime import durable_execution as top_durable_execution

    assert TopContext is DurableContext
    assert TopStepError is StepError
    assert top_durable_execution is durable_execution


def test_every_exported_name_resolves() -> None:
    missing = [name for name in durable_runtime.__all__ if not hasattr(durable_runtime, name)]
    assert missing == []
    assert set(durable_runtime.__all__) <= set(dir(durable_runtime))


def test_unknown_name_raises_attribute_error() -> None:
    try:
        durable_runtime.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "NoSuchName" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_no_submodule() -> None:
    """A cold start that imports the package pays only for the names it touches.

    The one submodule allowed is the lazy re-export helper, which itself imports only modules Python has loaded
    before any user code runs (importlib, sys).
    """
    probe = (
        "import sys, durable_runtime; "
        "print(sorted(m for m in sys.modules if m.startswith('durable_runtime.') or m in ('typing', 'boto3')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "['durable_runtime._reexports']"
