"""Which plugin factories a handler runs with: those passed to `durable_execution(plugins=...)`, then those named
in `DURABLE_EXECUTION_PLUGINS` (comma-separated entry-point names of the `aws_durable_execution.plugins` group).

Everything is checked once, when the handler is decorated (a Lambda cold start), so a misconfiguration fails the
deployment's first invocation loudly instead of silently running without telemetry: an entry that is not a
factory (a plugin, a plugin class, a factory class, a bare callable), a name no installed package provides, two
providers of one name, or two factories of one `exclusive_group`. Importing this module is cheap: entry points
are only read when the environment variable names some.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._reexports import lazy_reexports
from .exceptions import PluginLoadError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .plugin import DurableInstrumentationPluginFactory

log = logging.getLogger("durable_runtime.plugin")

PLUGIN_ENTRY_POINT_GROUP = "aws_durable_execution.plugins"
PLUGIN_ENVIRONMENT_VARIABLE = "DURABLE_EXECUTION_PLUGINS"

__all__ = ["PLUGIN_ENTRY_POINT_GROUP", "PLUGIN_ENVIRONMENT_VARIABLE", "PluginLoadError", "load_configured_plugins"]

# The official module re-exports the factory protocol; the plugin module is imported only when read from here.
__getattr__, __dir__ = lazy_reexports(__name__, {"DurableInstrumentationPluginFactory": "plugin"})


def load_configured_plugins(
    explicit_plugins: Sequence[DurableInstrumentationPluginFactory] | None,
    *,
    environment: Mapping[str, str] | None = None,
) -> list[DurableInstrumentationPluginFactory]:
    """The explicit factories in their order, then the configured ones in configured order.

    A configured factory that is the very object already passed explicitly is not registered twice. Factories
    that opt in to registration metadata (`__durable_registration_api__ = 1`) are told the result through
    `on_registration_result(registered)`.

    Raises:
        PluginLoadError: See the module docstring.
    """
    factories = list(explicit_plugins or [])
    candidates: list[object] = list(factories)
    try:
        for index, factory in enumerate(factories):
            if not _is_plugin_factory(factory):
                raise PluginLoadError(
                    f"plugins[{index}] is {_describe(factory)}, not a plugin factory: pass an object with a "
                    "create_plugin(info) method that returns a DurableInstrumentationPlugin, e.g. "
                    "plugins=[MyPluginFactory()] (an instance, not the class; a factory, not a plugin)"
                )
        env = os.environ if environment is None else environment
        for name in _configured_names(env):
            factory = _load_entry_point(name, candidates)
            if any(factory is known for known in factories):
                log.warning("plugin %r is already registered explicitly; not registering it twice", name)
                continue
            factories.append(factory)
        _check_exclusive_groups(factories)
    except Exception:
        _notify(candidates, registered=False)
        raise
    _notify(factories, registered=True)
    return factories


def _configured_names(environment: Mapping[str, str]) -> list[str]:
    configured = environment.get(PLUGIN_ENVIRONMENT_VARIABLE, "")
    if not configured.strip():
        return []
    names = [name.strip() for name in configured.split(",")]
    if not all(names):
        raise PluginLoadError(
            f"{PLUGIN_ENVIRONMENT_VARIABLE}={configured!r} has an empty name; separate names by commas"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PluginLoadError(f"{PLUGIN_ENVIRONMENT_VARIABLE} names {', '.join(duplicates)} more than once")
    return names


def _load_entry_point(name: str, candidates: list[object]) -> DurableInstrumentationPluginFactory:
    from importlib import metadata

    # Packages built for the official SDK import its module names; they resolve to Durable Kit's.
    from .plugins.official_alias import alias_official_sdk

    try:
        alias_official_sdk()
    except ImportError as error:
        raise PluginLoadError(str(error)) from error
    try:
        found = [point for point in metadata.entry_points(group=PLUGIN_ENTRY_POINT_GROUP) if point.name == name]
    except Exception as error:
        raise PluginLoadError(f"could not read the {PLUGIN_ENTRY_POINT_GROUP!r} entry points: {error}") from error
    if not found:
        installed = sorted({point.name for point in metadata.entry_points(group=PLUGIN_ENTRY_POINT_GROUP)})
        raise PluginLoadError(
            f"no installed package provides plugin {name!r} (entry-point group {PLUGIN_ENTRY_POINT_GROUP!r}; "
            f"installed: {', '.join(installed) or 'none'}): add its package to the function or a layer"
        )
    if len(found) > 1:
        raise PluginLoadError(
            f"plugin {name!r} is provided by several packages ({', '.join(_distribution(p) for p in found)}); "
            "remove all but one"
        )
    try:
        factory = found[0].load()
    except Exception as error:
        raise PluginLoadError(
            f"plugin {name!r} ({found[0].value}, {_distribution(found[0])}) failed to load: {error}"
        ) from error
    candidates.append(factory)
    if not _is_plugin_factory(factory):
        raise PluginLoadError(
            f"plugin {name!r} resolves to {_describe(factory)}, not a plugin factory: the entry point must name a "
            "factory instance"
        )
    return cast("DurableInstrumentationPluginFactory", factory)


def _distribution(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return str(dist.metadata.get("Name", "an unknown package")) if dist is not None else "an unknown package"


def _is_plugin_factory(value: object) -> bool:
    """A factory has a `create_plugin` that the engine can call with one argument, the invocation's info."""
    create_plugin = getattr(value, "create_plugin", None)
    if not callable(create_plugin):
        return False
    if isinstance(value, type) and inspect.isfunction(create_plugin):
        # Read off a class, a plain function is an instance method (it would take the info as `self`), unless
        # it was declared a staticmethod.
        return isinstance(inspect.getattr_static(value, "create_plugin", None), staticmethod)
    try:
        inspect.signature(create_plugin).bind(object())
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): accepted on the member alone
        return True
    return True


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    if inspect.isroutine(value):
        return f"the function {getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
    return f"an instance of {type(value).__module__}.{type(value).__qualname__}"


def _factory_type(factory: object) -> type:
    return factory if isinstance(factory, type) else type(factory)


def _opted_in(kind: type) -> list[type]:
    """The classes in `kind`'s MRO that declare registration metadata (version 1)."""
    return [cls for cls in kind.__mro__ if vars(cls).get("__durable_registration_api__") == 1]


def _check_exclusive_groups(factories: Sequence[object]) -> None:
    owners: dict[str, type] = {}
    for factory in factories:
        kind = _factory_type(factory)
        for declaring in _opted_in(kind):
            group = vars(declaring).get("exclusive_group")
            if group is None:
                continue
            if not isinstance(group, str) or not group.strip():
                raise PluginLoadError(f"{kind.__qualname__}.exclusive_group must be None or a non-empty string")
            previous = owners.setdefault(group, kind)
            if previous is not kind:
                raise PluginLoadError(
                    f"plugins {previous.__qualname__} and {kind.__qualname__} are mutually exclusive (group "
                    f"{group!r}): keep one of them in plugins= and {PLUGIN_ENVIRONMENT_VARIABLE}"
                )
            if sum(1 for other in factories if _factory_type(other) is kind) > 1:
                raise PluginLoadError(f"{kind.__qualname__} is registered more than once (group {group!r})")


def _notify(factories: Sequence[object], *, registered: bool) -> None:
    """Tell opted-in factories whether they were registered; a failing callback is only logged."""
    told: set[int] = set()
    for factory in factories:
        if id(factory) in told or not _opted_in(_factory_type(factory)):
            continue
        told.add(id(factory))
        callback: Any = getattr(factory, "on_registration_result", None)
        try:
            if callable(callback):
                callback(registered)
        except Exception:
            log.exception("plugin registration callback of %s failed", _factory_type(factory).__qualname__)
