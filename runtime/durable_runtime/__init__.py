"""Durable Kit runtime: durable, checkpoint-and-replay AWS Lambda workflows on your own account.

The package exports the same top-level names as the official SDK (``from durable_runtime import
durable_execution, DurableContext, StepError``), and every official module has its counterpart under the same path
(`durable_runtime.execution`, `durable_runtime.context`, `durable_runtime.config`, ...). The top-level names are
resolved on first use (PEP 562), so ``import durable_runtime`` on a Lambda cold start loads nothing but this file.
"""

from __future__ import annotations

from ._reexports import lazy_reexports

# Not `typing.TYPE_CHECKING`: importing typing would be most of this module's cold-start cost.
TYPE_CHECKING = False

__version__ = "0.1.0"

# Where each top-level name lives: the official SDK's own module for it.
_EXPORTS: dict[str, str] = {
    "BatchCompletionError": "concurrency.models",
    "BatchResult": "concurrency.models",
    "BatchItemStatus": "config",
    "CompletionDecision": "config",
    "CompletionItemStatus": "config",
    "CompletionOutcome": "config",
    "CompletionStatus": "config",
    "ParallelBranch": "config",
    "complete_batch": "config",
    "continue_batch": "config",
    "DurableContext": "context",
    "durable_parallel_branch": "context",
    "durable_step": "context",
    "durable_wait_for_callback": "context",
    "durable_with_child_context": "context",
    "CallbackError": "exceptions",
    "CallbackExternalError": "exceptions",
    "CallbackSubmitterError": "exceptions",
    "CallbackTimeoutError": "exceptions",
    "ChildContextError": "exceptions",
    "DurableExecutionsError": "exceptions",
    "DurableOperationError": "exceptions",
    "ExecutionError": "exceptions",
    "InvocationError": "exceptions",
    "InvokeError": "exceptions",
    "PluginLoadError": "exceptions",
    "RetryableSerDesError": "exceptions",
    "SerDesError": "exceptions",
    "StepError": "exceptions",
    "ValidationError": "exceptions",
    "WaitForConditionError": "exceptions",
    "durable_execution": "execution",
    "WithRetryConfig": "retries",
    "with_retry": "retries",
    "StepContext": "types",
}

__all__ = [
    "BatchCompletionError",
    "BatchItemStatus",
    "BatchResult",
    "CallbackError",
    "CallbackExternalError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "ChildContextError",
    "CompletionDecision",
    "CompletionItemStatus",
    "CompletionOutcome",
    "CompletionStatus",
    "DurableContext",
    "DurableExecutionsError",
    "DurableOperationError",
    "ExecutionError",
    "InvocationError",
    "InvokeError",
    "ParallelBranch",
    "PluginLoadError",
    "RetryableSerDesError",
    "SerDesError",
    "StepContext",
    "StepError",
    "ValidationError",
    "WaitForConditionError",
    "WithRetryConfig",
    "__version__",
    "complete_batch",
    "continue_batch",
    "durable_execution",
    "durable_parallel_branch",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
    "with_retry",
]

if TYPE_CHECKING:
    from .concurrency.models import BatchCompletionError, BatchResult
    from .config import (
        BatchItemStatus,
        CompletionDecision,
        CompletionItemStatus,
        CompletionOutcome,
        CompletionStatus,
        ParallelBranch,
        complete_batch,
        continue_batch,
    )
    from .context import (
        DurableContext,
        durable_parallel_branch,
        durable_step,
        durable_wait_for_callback,
        durable_with_child_context,
    )
    from .exceptions import (
        CallbackError,
        CallbackExternalError,
        CallbackSubmitterError,
        CallbackTimeoutError,
        ChildContextError,
        DurableExecutionsError,
        DurableOperationError,
        ExecutionError,
        InvocationError,
        InvokeError,
        PluginLoadError,
        RetryableSerDesError,
        SerDesError,
        StepError,
        ValidationError,
        WaitForConditionError,
    )
    from .execution import durable_execution
    from .retries import WithRetryConfig, with_retry
    from .types import StepContext


__getattr__, __dir__ = lazy_reexports(__name__, _EXPORTS)
