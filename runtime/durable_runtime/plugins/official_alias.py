"""Third-party plugins built for the official SDK run on Durable Kit unchanged: its module names, our modules.

A package such as `aws-durable-execution-sdk-python-otel` does `from aws_durable_execution_sdk_python.plugin import
DurableInstrumentationPlugin, OperationType, ...`, subclasses that base class, and compares what hooks hand it
by identity (`info.operation_type is OperationType.CONTEXT`, `info.status in {InvocationStatus.SUCCEEDED, ...}`).
Three ways to make such a package work here were weighed:

- Duck typing: accept any object with the hook methods and hand it our infos. It breaks on the identity
  comparisons above: our `OperationType.CONTEXT` is not the official one, however equal the values, so the
  plugin silently drops spans. Making our enums compare equal to foreign ones would be a lie every user could
  trip over.
- An adapter: convert each of our infos into the official dataclasses and back for propagation metadata. It
  needs the official SDK installed and kept in step with ours, doubles every hook's allocations, and breaks
  when a field is added on either side.
- An alias (chosen): with `alias_official_sdk()`, importing `aws_durable_execution_sdk_python` or any of its
  submodules gives the `durable_runtime` module of the same path (they mirror the official modules name for
  name). The plugin then subclasses *our* base class and compares against *our* enums: the objects are the
  same, so identity holds, isinstance holds, and nothing is converted. Nothing of the official SDK is needed or
  loaded, even when pip installed it as the plugin's dependency: the alias takes precedence over it.

It is opt-in, because it changes what a module name means for the whole process. `plugin_discovery` turns it on
before loading plugins named in `DURABLE_EXECUTION_PLUGINS` (every plugin of that entry-point group is built for
the official SDK). A handler that passes such a plugin explicitly calls it before importing the package::

    from durable_runtime.plugins.official_alias import alias_official_sdk
    alias_official_sdk()
    from aws_durable_execution_sdk_python_otel import InvocationOtelPluginFactory

It refuses when the official SDK was imported already: the process would hold two incompatible copies.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

OFFICIAL_PACKAGE = "aws_durable_execution_sdk_python"
OUR_PACKAGE = "durable_runtime"

_lock = threading.Lock()


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves the official SDK's module names to the Durable Kit modules of the same path."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != OFFICIAL_PACKAGE and not fullname.startswith(OFFICIAL_PACKAGE + "."):
            return None
        ours = OUR_PACKAGE + fullname[len(OFFICIAL_PACKAGE) :]
        try:
            importlib.util.find_spec(ours)
        except ModuleNotFoundError:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin=ours)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # The very module object: classes and enum members are shared, not copied. The import system stamps the
        # alias's spec on it next; keep the module's own spec to put back (find_spec and the layer build read it).
        module = importlib.import_module(str(spec.origin))
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the Durable Kit module is already initialised; give it back its own spec."""
        alias_spec = module.__spec__
        if alias_spec is not None and alias_spec.loader is self:
            module.__spec__ = alias_spec.loader_state


_finder = _AliasFinder()


def is_aliased() -> bool:
    """True while the official module names resolve to Durable Kit's."""
    return _finder in sys.meta_path


def alias_official_sdk() -> None:
    """Make `aws_durable_execution_sdk_python[.module]` import `durable_runtime[.module]` (idempotent).

    Raises:
        ImportError: The official SDK is already imported in this process.
    """
    with _lock:
        if is_aliased():
            return
        loaded = [name for name in sys.modules if name == OFFICIAL_PACKAGE or name.startswith(OFFICIAL_PACKAGE + ".")]
        if loaded:
            raise ImportError(
                f"the official SDK ({', '.join(sorted(loaded)[:3])}) is already imported, so its plugins were built "
                "on its classes: call alias_official_sdk() before importing the plugin package"
            )
        sys.meta_path.insert(0, _finder)


def remove_official_sdk_alias() -> None:
    """Undo `alias_official_sdk()`; modules imported through it keep what they bound (for tests)."""
    with _lock:
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        for name in [n for n in sys.modules if n == OFFICIAL_PACKAGE or n.startswith(OFFICIAL_PACKAGE + ".")]:
            del sys.modules[name]
