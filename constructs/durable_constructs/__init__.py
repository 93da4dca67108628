"""Durable Kit's AWS CDK constructs: `DurableEngine`, `DurableFunction` and `DurableRuntimeLayer`.

This package runs at synth time only and shares nothing with the Lambda-side runtime except the constants in
`durable_runtime.contract`.
"""

from ._grants import DurableFunctionBase
from ._validation import DurableValidationError
from .engine import DurableEngine
from .function import DurableFunction
from .layer import DurableRuntimeLayer

__all__ = ["DurableEngine", "DurableFunction", "DurableFunctionBase", "DurableRuntimeLayer", "DurableValidationError"]
