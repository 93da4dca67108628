"""A document batch: process every document with `map` (some fail, within a tolerated percentage), then summarise.

Each document is its own map item, so a failed one is recorded and the others go on; up to 25 % may fail
before the batch stops starting new ones. Finished documents are never processed twice, even across replays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durable_runtime.config import CompletionConfig, MapConfig
from durable_runtime.context import durable_step
from durable_runtime.execution import durable_execution
from durable_runtime.retries import RetryPresets

if TYPE_CHECKING:
    from collections.abc import Sequence

    from durable_runtime.concurrency.models import BatchResult
    from durable_runtime.context import DurableContext, StepContext

BATCH = MapConfig(
    max_concurrency=4,
    completion_config=CompletionConfig(tolerated_failure_percentage=25),
    item_namer=lambda document, index: f"doc-{document['id']}",
)


class UnreadableDocumentError(ValueError):
    """The document's content cannot be parsed; retrying will not help."""


@durable_step
def extract(step_context: StepContext, document: dict[str, Any]) -> dict[str, Any]:
    """Parse one document into its word count."""
    text = document.get("text")
    if not isinstance(text, str):
        raise UnreadableDocumentError(f"document {document['id']} has no text")
    return {"id": document["id"], "words": len(text.split())}


def process(context: DurableContext, document: dict[str, Any], index: int, documents: Sequence[Any]) -> Any:
    """One map item: extract the document (no retries: an unreadable document stays unreadable)."""
    from durable_runtime.config import StepConfig

    return context.step(extract(document), config=StepConfig(retry_strategy=RetryPresets.none()))


@durable_step
def summarise(step_context: StepContext, batch: dict[str, Any]) -> dict[str, Any]:
    """Turn the batch's outcome into a report."""
    return {
        "processed": len(batch["results"]),
        "failed": batch["failed_ids"],
        "total_words": sum(item["words"] for item in batch["results"]),
        "completion": batch["reason"],
    }


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Process `event["documents"]` and return the summary."""
    documents = event["documents"]
    result: BatchResult[Any] = context.map(documents, process, name="process-documents", config=BATCH)
    failed_ids = [documents[item.index]["id"] for item in result.failed()]
    batch = {"results": result.get_results(), "failed_ids": failed_ids, "reason": result.completion_reason.value}
    return context.step(summarise(batch))
