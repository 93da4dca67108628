"""Durable Kit runtime: durable, checkpoint-and-replay AWS Lambda workflows on your own account.

Import the public API from its modules, as with the official SDK: `durable_runtime.execution`,
`durable_runtime.context`, `durable_runtime.config`, and so on. This package module stays empty so a cold start
imports only what a handler uses.
"""

__version__ = "0.1.0"
