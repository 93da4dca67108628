"""Compact previews of recorded values: a few chosen fields, masked where secret, within a byte budget.

A serdes that keeps a value outside the journal (`durable_runtime.filesystem_serdes`, or your own) can record a
preview next to the pointer so the key fields show in histories and the console without fetching the value.

Rules, for the dict a preview is built from (paths use dots: ``customer.email``):

- `PreviewMode.INCLUDE_ALL` shows every leaf field except those in ``exclude``; `PreviewMode.EXCLUDE_ALL` shows
  only those in ``include``. A field in ``mask`` is shown with ``mask_string`` in place of its value.
- ``exclude`` beats everything, including ``mask``; ``mask`` makes a field visible even in ``EXCLUDE_ALL`` mode.
- A `PreviewField` matches by name at any depth (`FieldMatchMode.ANYWHERE`) or by exact path (`FieldMatchMode.PATH`).
- List elements are merged into one object at the list's path (later elements win on a clash); keys that contain
  dots are skipped, as they cannot be told apart from paths.
- Fields are kept in document order until the JSON preview would exceed ``max_preview_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["FieldMatchMode", "PreviewConfig", "PreviewField", "PreviewMode", "build_preview"]


class PreviewMode(StrEnum):
    """Whether fields are shown unless excluded, or hidden unless included."""

    INCLUDE_ALL = "INCLUDE_ALL"
    EXCLUDE_ALL = "EXCLUDE_ALL"


class FieldMatchMode(StrEnum):
    """How a `PreviewField` names fields: a key at any depth, or one exact dotted path from the root."""

    ANYWHERE = "ANYWHERE"
    PATH = "PATH"


@dataclass(frozen=True)
class PreviewField:
    """A field selector: a key name (``ANYWHERE``) or a dotted path from the root (``PATH``)."""

    name: str
    match: FieldMatchMode = FieldMatchMode.ANYWHERE

    def matches(self, path: str) -> bool:
        """Whether the field at dotted `path` is selected."""
        if self.match is FieldMatchMode.PATH:
            return path == self.name
        return self.name in path.split(".")


@dataclass(frozen=True)
class PreviewConfig:
    """What `build_preview` shows (see the module docstring for the rules).

    Attributes:
        mode: Start from every field shown (``INCLUDE_ALL``) or none (``EXCLUDE_ALL``).
        include: Fields shown in ``EXCLUDE_ALL`` mode.
        exclude: Fields never shown.
        mask: Fields shown as ``mask_string``.
        mask_string: The stand-in for masked values.
        max_preview_bytes: Budget for the preview's JSON; fields past it are left out.
    """

    mode: PreviewMode
    include: list[PreviewField] = field(default_factory=list)
    exclude: list[PreviewField] = field(default_factory=list)
    mask: list[PreviewField] = field(default_factory=list)
    mask_string: str = "***"
    max_preview_bytes: int = 4096


def _selected(path: str, fields: list[PreviewField]) -> bool:
    return any(selector.matches(path) for selector in fields)


def _visible_leaves(node: Any, prefix: str, config: PreviewConfig) -> Iterator[tuple[str, Any]]:
    if isinstance(node, list):
        for element in node:
            yield from _visible_leaves(element, prefix, config)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if "." in str(key):
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if _selected(path, config.exclude):
            continue
        masked = _selected(path, config.mask)
        if masked:
            yield path, config.mask_string
        elif isinstance(value, dict | list):
            # A container is never a leaf: its children decide for themselves (a hidden parent can have shown
            # children in EXCLUDE_ALL mode, selected by name or path).
            yield from _visible_leaves(value, path, config)
        elif config.mode is PreviewMode.INCLUDE_ALL or _selected(path, config.include):
            yield path, value


def _within_budget(leaves: Iterator[tuple[str, Any]], budget: int) -> list[tuple[str, Any]]:
    kept: list[tuple[str, Any]] = []
    size = len(b"{}")
    for path, value in leaves:
        # Estimated as flat "path":value pairs: nesting shares key prefixes, so the real preview is no larger.
        cost = len(f'"{path}":{json.dumps(value)},'.encode())
        if size + cost > budget:
            break
        kept.append((path, value))
        size += cost
    return kept


def build_preview(value: Any, config: PreviewConfig) -> dict[str, Any] | None:
    """The preview of `value` under `config`, as a nested dict; None when `value` is not a dict or shows nothing."""
    if not isinstance(value, dict):
        return None
    preview: dict[str, Any] = {}
    for path, leaf in _within_budget(_visible_leaves(value, "", config), config.max_preview_bytes):
        *parents, last = path.split(".")
        node = preview
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = leaf
    return preview or None
