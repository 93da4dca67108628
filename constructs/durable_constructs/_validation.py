"""Synth-time validation of construct input: one error type, messages that show the value and the allowed range."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from durable_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Mapping

MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
MAX_RETENTION_DAYS = 90
# The runtime layer uses Python 3.11 syntax and standard library (datetime.UTC, ExceptionGroup).
MIN_PYTHON = (3, 11)
_DAY = 86_400


class DurableValidationError(ValueError):
    """A Durable Kit construct was given a value it cannot deploy; the message shows the value and the fix."""


def _unresolved(value: object) -> bool:
    return cdk.Token.is_unresolved(value)


def execution_timeout_seconds(timeout: cdk.Duration) -> int | float:
    """The execution timeout in seconds, checked against 1 second .. 366 days."""
    seconds = timeout.to_seconds(integral=False)
    if _unresolved(seconds):
        return seconds
    if not 1 <= seconds <= contract.MAX_EXECUTION_TIMEOUT_SECONDS:
        raise DurableValidationError(
            f"execution_timeout is {timeout.to_human_string()} ({seconds:g} s): allowed range is 1 second to "
            f"{contract.MAX_EXECUTION_TIMEOUT_SECONDS // _DAY} days "
            f"(1 to {contract.MAX_EXECUTION_TIMEOUT_SECONDS} seconds)"
        )
    return int(seconds)


def retention_days(retention: cdk.Duration) -> int | float:
    """The retention in whole days, checked against 1 .. 90 days."""
    seconds = retention.to_seconds(integral=False)
    if _unresolved(seconds):
        return retention.to_days()
    if not _DAY <= seconds <= MAX_RETENTION_DAYS * _DAY or seconds % _DAY:
        raise DurableValidationError(
            f"retention is {retention.to_human_string()}: allowed range is 1 to {MAX_RETENTION_DAYS} whole days "
            "(use Duration.days(n))"
        )
    return int(seconds // _DAY)


def python_runtime(runtime: lambda_.Runtime) -> lambda_.Runtime:
    """The runtime, checked to be Python 3.11 or later (the runtime layer is a Python package)."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime.name)
    if runtime.family != lambda_.RuntimeFamily.PYTHON or match is None:
        raise DurableValidationError(
            f"runtime is {runtime.name}: a durable function needs a Python runtime, "
            f"{_python_name(MIN_PYTHON)} or later (e.g. Runtime.PYTHON_3_13)"
        )
    if (int(match[1]), int(match[2])) < MIN_PYTHON:
        raise DurableValidationError(
            f"runtime is {runtime.name}: the Durable Kit runtime needs {_python_name(MIN_PYTHON)} or later"
        )
    return runtime


def _python_name(version: tuple[int, int]) -> str:
    return f"python{version[0]}.{version[1]}"


def memory_size(megabytes: int) -> int:
    """The memory size, checked against Lambda's 128 .. 10240 MB."""
    if not _unresolved(megabytes) and not MIN_MEMORY_MB <= megabytes <= MAX_MEMORY_MB:
        raise DurableValidationError(
            f"memory_size is {megabytes} MB: allowed range is {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB"
        )
    return megabytes


# The variables DurableFunction sets from its engine; a user's environment may not replace them.
DURABLE_ENVIRONMENT = frozenset(
    getattr(contract, name)
    for name in dir(contract)
    if name.startswith("ENV_") and isinstance(getattr(contract, name), str)
)


def user_environment(environment: Mapping[str, str] | None) -> dict[str, str]:
    """The user's extra variables, checked not to replace a durable one."""
    extra = dict(environment or {})
    clashes = sorted(set(extra) & DURABLE_ENVIRONMENT)
    if clashes:
        raise DurableValidationError(
            f"environment sets {', '.join(clashes)}: DurableFunction sets these from its engine and props; "
            "remove them (configure the engine, execution_timeout or retention instead)"
        )
    return extra
