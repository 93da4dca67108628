"""DurableRuntimeLayer: the installed `durable_runtime` package as a Lambda layer, built at synth time."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from constructs import Construct

PACKAGE = "durable_runtime"
# Local-only parts of the package: the test runner needs moto, which Lambda does not have.
EXCLUDED_DIRECTORIES = frozenset({"__pycache__", "testing"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

DEFAULT_COMPATIBLE_RUNTIMES = (
    lambda_.Runtime.PYTHON_3_11,
    lambda_.Runtime.PYTHON_3_12,
    lambda_.Runtime.PYTHON_3_13,
    lambda_.Runtime.PYTHON_3_14,
)


class DurableRuntimeLayer(lambda_.LayerVersion):
    """The Durable Kit runtime (`python/durable_runtime/...`) as a layer for Python 3.11+ on arm64 and x86_64.

    The layer is copied from the installed package at synth time: no Docker and no network. Lambda's Python
    runtimes already include boto3, the runtime's only dependency.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        compatible_runtimes: Sequence[lambda_.Runtime] | None = None,
        description: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        """Define the layer.

        Args:
            compatible_runtimes: Default: Python 3.11 to 3.14.
            description: Default: names the runtime version.
            removal_policy: Default: the layer version is deleted with the stack; functions already using it
                keep working (Lambda keeps deleted layer versions for functions that reference them).
        """
        super().__init__(
            scope,
            id,
            code=lambda_.Code.from_asset(str(build_layer_directory())),
            compatible_runtimes=list(compatible_runtimes or DEFAULT_COMPATIBLE_RUNTIMES),
            compatible_architectures=[lambda_.Architecture.ARM_64, lambda_.Architecture.X86_64],
            description=description or f"Durable Kit runtime {_runtime_version()} (durable_runtime)",
            removal_policy=removal_policy,
        )


def runtime_package_directory() -> Path:
    """Where the installed `durable_runtime` package lives, found without importing it (it imports boto3)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed: run `pip install durable-kit` (or `make setup`)")
    return Path(next(iter(spec.submodule_search_locations)))


def _runtime_version() -> str:
    init = (runtime_package_directory() / "__init__.py").read_text(encoding="utf-8")
    for line in init.splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "unknown"


def _layer_files(package: Path) -> Iterator[Path]:
    for root, directories, files in os.walk(package):
        directories[:] = sorted(d for d in directories if d not in EXCLUDED_DIRECTORIES)
        for name in sorted(files):
            if not name.endswith(EXCLUDED_SUFFIXES):
                yield Path(root, name)


@functools.cache
def build_layer_directory() -> Path:
    """Copy the package into `<tmp>/durable-kit-layer/<content hash>/python/durable_runtime` and return the root.

    The directory is named after its content, so repeated synths (and parallel test workers) reuse one copy and
    the asset hash changes only when the runtime does.
    """
    package = runtime_package_directory()
    # Read each file once: the directory's name and its content come from the same bytes.
    contents = {path.relative_to(package).as_posix(): path.read_bytes() for path in _layer_files(package)}
    digest = hashlib.sha256()
    for relative, data in contents.items():
        digest.update(relative.encode() + b"\0" + data + b"\0")
    cache = Path(tempfile.gettempdir(), "durable-kit-layer")
    target = cache / digest.hexdigest()[:32]
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache))
    for relative, data in contents.items():
        destination = staging / "python" / PACKAGE / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
    try:
        staging.rename(target)
    except OSError:  # another process finished the same copy first
        shutil.rmtree(staging, ignore_errors=True)
    return target
