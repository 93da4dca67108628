"""Batch results of ``map`` and ``parallel``; the names live in :mod:`durable_runtime.concurrency.models`."""

from __future__ import annotations

from durable_runtime.concurrency.models import (
    BatchCompletionError,
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionPolicy,
    CompletionReason,
)

__all__ = [
    "BatchCompletionError",
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "CompletionPolicy",
    "CompletionReason",
]
