"""What a local run returns (kept for imports of `durable_runtime.testing.results`; see `operations`)."""

from .operations import (
    CallbackOperation,
    ContextOperation,
    DurableFunctionsTestError,
    DurableFunctionTestResult,
    ExecutionOperation,
    InvokeOperation,
    Operation,
    StepOperation,
    WaitOperation,
    build_operations,
    create_operation,
)

__all__ = [
    "CallbackOperation",
    "ContextOperation",
    "DurableFunctionTestResult",
    "DurableFunctionsTestError",
    "ExecutionOperation",
    "InvokeOperation",
    "Operation",
    "StepOperation",
    "WaitOperation",
    "build_operations",
    "create_operation",
]
