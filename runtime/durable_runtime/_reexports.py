"""Names a module offers at the official SDK's path but defines elsewhere, resolved on first use (PEP 562).

The official SDK re-exports many names from several modules (``from aws_durable_execution_sdk_python.context import
StepError``). Importing them eagerly would pull the engine into modules a Lambda cold start imports for one name, and
would make import cycles of modules that only mention each other; so each such module declares where its re-exports
live and resolves them when first read.
"""

from __future__ import annotations

import importlib
import sys

# Not `typing.TYPE_CHECKING`: the package root uses this module, and importing typing is most of its import cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_PACKAGE = __name__.rpartition(".")[0]


def lazy_reexports(module_name: str, sources: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for `sources`: each name -> where it is defined.

    A source is a module within the package (``"exceptions"``), or ``"module:name"`` where the name differs there
    (``"types:Callback"`` for the official ``CallbackProtocol``). A resolved name is stored in the module's
    namespace, so later reads are plain attribute reads.
    """

    def resolve(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        source_module, _, source_name = source.partition(":")
        value = getattr(importlib.import_module(f"{_PACKAGE}.{source_module}"), source_name or name)
        setattr(sys.modules[module_name], name, value)
        return value

    def names() -> list[str]:
        return sorted({*vars(sys.modules[module_name]), *sources})

    return resolve, names
