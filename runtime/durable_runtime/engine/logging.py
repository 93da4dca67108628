"""The engine's name for the context logger, which `durable_runtime.logger` implements (one implementation)."""

from __future__ import annotations

from ..logger import Logger as DurableLogger
from ..logger import default_target

__all__ = ["DurableLogger", "default_target"]
