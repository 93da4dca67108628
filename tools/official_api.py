"""Write the manifest of the official SDKs' public API that `tests/runtime/test_official_api.py` checks us against.

Run it with an interpreter that has the official packages installed (it imports them to read signatures):

    /tmp/offsdk/bin/python tools/official_api.py > tests/runtime/official_api.json

The manifest records facts about the official API, not its code: for every module of
`aws_durable_execution_sdk_python` (3.0.0) and `aws_durable_execution_sdk_python_testing` (1.4.0), each public
name with its kind and, for functions and classes, each parameter's name, kind and whether it has a default;
for classes also their public methods and attributes; for enums their members and values.

A module's public names are those in its ``__all__`` when it has one, else the names its top level binds
(``def``, ``class``, assignments, and imports from the same package: users import ``InvocationStatus`` through
``execution``) that do not start with an underscore. Names imported from other distributions are left out.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import json
import logging
import pkgutil
import sys
import typing
from pathlib import Path
from typing import Any

PACKAGES = {
    "aws_durable_execution_sdk_python": "durable_runtime",
    "aws_durable_execution_sdk_python_testing": "durable_runtime.testing",
}


def module_names(package: str) -> list[str]:
    """The package and every module below it, sorted."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        names.append(info.name)
    return sorted(names)


def public_names(module: Any) -> dict[str, str | None]:
    """The public names of `module` (see the module docstring), each with the module it is imported from, if any."""
    path = getattr(module, "__file__", None)
    tree = ast.parse(Path(path).read_text(encoding="utf-8")) if path else ast.Module(body=[], type_ignores=[])
    bound: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[node.name] = None
        elif isinstance(node, ast.Assign):
            bound.update((target.id, None) for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound[node.target.id] = None
        elif isinstance(node, ast.ImportFrom) and _within_package(node, module.__name__):
            source = _absolute(node, module)
            bound.update((alias.asname or alias.name, source) for alias in node.names)
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return {name: bound.get(name) for name in sorted(set(exported))}
    return {name: source for name, source in sorted(bound.items()) if not name.startswith("_")}


def _absolute(node: ast.ImportFrom, module: Any) -> str:
    if not node.level:
        return node.module or ""
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _within_package(node: ast.ImportFrom, module_name: str) -> bool:
    # Users import names through the module that re-exports them (`execution.InvocationStatus`), so a name imported
    # from elsewhere in the same package counts; names from the stdlib or other distributions do not.
    return node.level > 0 or (node.module or "").split(".")[0] == module_name.split(".")[0]


def describe_parameters(target: Any, drop_first: bool = False) -> list[dict[str, Any]] | None:
    """Each parameter as ``{name, kind, has_default}``; None when Python cannot report a signature."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    if drop_first and parameters:
        parameters = parameters[1:]
    return [
        {"name": p.name, "kind": p.kind.name, "has_default": p.default is not inspect.Parameter.empty}
        for p in parameters
    ]


def describe_member(owner: type, name: str) -> dict[str, Any] | None:
    """A class member: its kind (method, classmethod, staticmethod, property, attribute) and signature."""
    raw = inspect.getattr_static(owner, name)
    if isinstance(raw, classmethod):
        return {"kind": "classmethod", "parameters": describe_parameters(getattr(owner, name))}
    if isinstance(raw, staticmethod):
        return {"kind": "staticmethod", "parameters": describe_parameters(raw.__func__)}
    if isinstance(raw, property):
        return {"kind": "property"}
    if inspect.isfunction(raw):
        return {"kind": "method", "parameters": describe_parameters(raw, drop_first=True)}
    if callable(raw) and not isinstance(raw, type):
        return {"kind": "method", "parameters": describe_parameters(raw)}
    return {"kind": "attribute"}


def own_public_members(cls: type) -> list[str]:
    """Public names the class or its bases in the same package define (not those inherited from the stdlib)."""
    package = cls.__module__.split(".")[0]
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.split(".")[0] != package:
            continue
        names.update(vars(base))
        names.update(getattr(base, "__annotations__", {}))
    return sorted(name for name in names if not name.startswith("_"))


def describe_class(cls: type) -> dict[str, Any]:
    """A class: its constructor, members, and for enums their values, for dataclasses their fields."""
    if issubclass(cls, enum.Enum):
        return {"kind": "enum", "members": {member.name: _jsonable(member.value) for member in cls}}
    entry: dict[str, Any] = {"kind": "exception" if issubclass(cls, BaseException) else "class"}
    entry["bases"] = [base.__name__ for base in cls.__bases__]
    if typing.is_protocol(cls) if hasattr(typing, "is_protocol") else getattr(cls, "_is_protocol", False):
        entry["kind"] = "protocol"
    else:
        entry["parameters"] = describe_parameters(cls)
    if dataclasses.is_dataclass(cls):
        entry["fields"] = [field.name for field in dataclasses.fields(cls)]
    members = {}
    for name in own_public_members(cls):
        if not hasattr(cls, name):
            members[name] = {"kind": "instance_attribute"}
            continue
        members[name] = describe_member(cls, name)
    entry["members"] = members
    return entry


def describe(name: str, value: Any) -> dict[str, Any]:
    """The entry of public name `name` bound to `value`."""
    if inspect.ismodule(value):
        return {"kind": "module"}
    if isinstance(value, type) and value.__module__ == "builtins" and name != value.__name__:
        return {"kind": "type_alias", "target": value.__name__}
    if isinstance(value, type):
        return describe_class(value)
    if isinstance(value, typing.TypeVar | typing.ParamSpec):
        return {"kind": "typevar"}
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return {"kind": "function", "parameters": describe_parameters(value)}
    if isinstance(value, logging.Logger):
        return {"kind": "logger"}
    if typing.get_origin(value) is not None or isinstance(value, typing._SpecialForm):
        return {"kind": "type_alias"}
    if callable(value):
        return {"kind": "callable", "parameters": describe_parameters(value)}
    if value is None or isinstance(value, bool | int | float | str | list | tuple | frozenset | set):
        return {"kind": "constant", "value": _jsonable(value)}
    return {"kind": "instance", "type": type(value).__name__}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | frozenset | set):
        return sorted((_jsonable(item) for item in value), key=repr)
    return repr(value)


def build_manifest() -> dict[str, Any]:
    """The manifest for every package in `PACKAGES`."""
    manifest: dict[str, Any] = {"packages": {}, "modules": {}}
    for package, ours in PACKAGES.items():
        root = importlib.import_module(package)
        manifest["packages"][package] = {"version": root.__version__, "ours": ours}
        for name in module_names(package):
            module = importlib.import_module(name)
            entries: dict[str, Any] = {}
            for public, source in public_names(module).items():
                if not hasattr(module, public):
                    continue
                value = getattr(module, public)
                if source is not None and source != "__future__":
                    target_kind = describe(public, value)["kind"]
                    entries[public] = {"kind": "reexport", "of": source, "target_kind": target_kind}
                else:
                    entries[public] = describe(public, value)
            manifest["modules"][name] = entries
    return manifest


if __name__ == "__main__":
    json.dump(build_manifest(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
