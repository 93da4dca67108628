"""A monthly report: a durable workflow calls another durable function with `context.invoke` and waits for it.

`handler` (the request) invokes `render` (the renderer) as a child execution; the caller suspends and is resumed
when the child closes. The rendered report is about 300 KB, over what a journal item holds inline, so the child's
result lives in the engine's payload bucket and the caller reads it from there: the caller needs read access to the
renderer's payloads, which `DurableFunction.grant_invoke` gives (see app.py).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from durable_runtime.context import durable_step
from durable_runtime.execution import durable_execution

if TYPE_CHECKING:
    from durable_runtime.context import DurableContext, StepContext

# The renderer's function name (or ARN), set by app.py from the renderer's DurableFunction.
RENDERER_ENV = "REPORT_RENDERER_FUNCTION"
LINES = 3500


@durable_step
def render_lines(step_context: StepContext, month: str) -> list[str]:
    """One line per account: a stand-in for the real rendering work (about 100 bytes a line)."""
    return [
        f"{month} account-{number:05d} {hashlib.sha256(f'{month}/{number}'.encode()).hexdigest()}"
        for number in range(LINES)
    ]


@durable_execution
def render(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """The renderer: the month's full report."""
    month = event["month"]
    return {"month": month, "lines": context.step(render_lines(month))}


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Render the month's report in the renderer and return its summary."""
    report = context.invoke(os.environ[RENDERER_ENV], {"month": event["month"]}, name="render")
    digest = hashlib.sha256("\n".join(report["lines"]).encode()).hexdigest()
    return {"month": report["month"], "lines": len(report["lines"]), "sha256": digest}
