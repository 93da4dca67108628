"""DurableRuntimeLayer: the installed runtime, copied at synth time into python/durable_runtime, small."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest

from durable_constructs import DurableRuntimeLayer
from durable_constructs.layer import runtime_package_directory

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Synthesized

MAX_ZIPPED_BYTES = 500 * 1024


def _build(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(app, "Layer")
    return stack, {"layer": DurableRuntimeLayer(stack, "Runtime")}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("layer"), _build)


@pytest.fixture(scope="module")
def asset(synth: Synthesized) -> Path:
    (layer,) = synth.of_type("AWS::Lambda::LayerVersion").values()
    return synth.asset_directory(layer["Properties"]["Content"])


def _files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_layer_is_for_python_311_and_later_on_both_architectures(synth: Synthesized) -> None:
    (layer,) = synth.of_type("AWS::Lambda::LayerVersion").values()

    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11", "python3.12", "python3.13", "python3.14"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64", "x86_64"]
    assert layer["Properties"]["Description"].startswith("Durable Kit runtime 0.")


def test_layer_holds_the_installed_runtime_without_local_only_parts(asset: Path) -> None:
    source = runtime_package_directory()
    expected = {
        f"python/durable_runtime/{path}"
        for path in _files(source)
        if not path.startswith("testing/") and "__pycache__" not in path and not path.endswith(".pyc")
    }

    assert _files(asset) == expected
    assert {
        "python/durable_runtime/__init__.py",
        "python/durable_runtime/contract.py",
        "python/durable_runtime/py.typed",
    } <= expected
    for path in expected:
        assert (asset / path).read_bytes() == (source / path.removeprefix("python/durable_runtime/")).read_bytes()


def test_layer_zips_small(asset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(_files(asset)):
            archive.write(asset / path, path)
    size = len(buffer.getvalue())

    with capsys.disabled():
        print(f"\nruntime layer: {len(_files(asset))} files, {size / 1024:.1f} KiB zipped")
    assert size < MAX_ZIPPED_BYTES
