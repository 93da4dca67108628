"""Limits shared by the runtime and user code that sizes its payloads."""

from __future__ import annotations

from .contract import INLINE_PAYLOAD_LIMIT_BYTES

__all__ = ["CHECKPOINT_SIZE_LIMIT_BYTES"]

# The largest operation result recorded inline (256 KiB). A child context whose result is larger is re-run on
# replay (ReplayChildren) instead of having its result recorded.
CHECKPOINT_SIZE_LIMIT_BYTES: int = INLINE_PAYLOAD_LIMIT_BYTES
