"""Durable Kit's AWS CDK constructs: `DurableEngine`, `DurableFunction` and `DurableRuntimeLayer`.

Placeholder: the constructs arrive in a later issue (see DESIGN.md §9). This package runs at synth time only and
shares nothing with the Lambda-side runtime except the constants in `durable_runtime.contract`.
"""
