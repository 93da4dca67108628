"""The document batch example: failures within the tolerated percentage are reported, not fatal."""

from __future__ import annotations

import json

from durable_runtime.testing import DurableFunctionTestRunner
from examples import document_batch


def _documents(broken: set[int], count: int = 8) -> list[dict]:
    return [{"id": index, "text": None if index in broken else "word " * (index + 1)} for index in range(count)]


def test_batch_reports_failures_within_tolerance() -> None:
    with DurableFunctionTestRunner(document_batch.handler) as runner:
        result = runner.run(input=json.dumps({"documents": _documents({2, 5})}))
        names = {op.name for op in result.get_context("process-documents").child_operations}

    summary = json.loads(result.result or "")
    assert summary == {"processed": 6, "failed": [2, 5], "total_words": 36 - 3 - 6, "completion": "ALL_COMPLETED"}
    assert {"doc-0", "doc-7"} <= names


def test_too_many_failures_stop_the_batch_early() -> None:
    with DurableFunctionTestRunner(document_batch.handler) as runner:
        result = runner.run(input=json.dumps({"documents": _documents({0, 1, 2, 3, 4})}))

    summary = json.loads(result.result or "")
    assert summary["completion"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert len(summary["failed"]) >= 3 and summary["processed"] + len(summary["failed"]) < 8
