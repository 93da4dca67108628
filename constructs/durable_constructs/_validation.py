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
# One invocation must hold a cold start (the runtime layer and boto3 clients: 1 to 3 s), the journal read and the
# lease write, some work, and the write that suspends before Lambda's limit (the runtime keeps back up to a fifth of
# the invocation for it). Below 10 s a cold invocation has little or nothing left for the handler and an execution
# ends without progress; the default, 5 minutes, is what the kit is tested with.
MIN_FUNCTION_TIMEOUT_SECONDS = 10
MAX_FUNCTION_TIMEOUT_SECONDS = 900
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


def execution_age_alarm_seconds(age: cdk.Duration | None, execution_timeout_seconds: int | float) -> int:
    """The ExecutionAgeAlarm's threshold: `age`, or 80% of the execution timeout (of the default one when the
    timeout is a deploy-time value, which an alarm threshold cannot be computed from)."""
    if age is not None:
        seconds = age.to_seconds(integral=False)
        if _unresolved(seconds) or seconds < 1:
            raise DurableValidationError(
                f"execution_age_alarm must be a fixed duration of at least 1 second, not {seconds}"
            )
        return int(seconds)
    timeout = execution_timeout_seconds
    if _unresolved(timeout):
        timeout = contract.DEFAULT_EXECUTION_TIMEOUT_SECONDS
    return max(1, int(timeout * 0.8))


def function_timeout(timeout: cdk.Duration) -> cdk.Duration:
    """The function (invocation) timeout, checked against 10 seconds .. 15 minutes."""
    seconds = timeout.to_seconds(integral=False)
    if _unresolved(seconds):
        return timeout
    if not MIN_FUNCTION_TIMEOUT_SECONDS <= seconds <= MAX_FUNCTION_TIMEOUT_SECONDS:
        raise DurableValidationError(
            f"timeout is {timeout.to_human_string()} ({seconds:g} s): a durable function's invocations need "
            f"{MIN_FUNCTION_TIMEOUT_SECONDS} seconds to {MAX_FUNCTION_TIMEOUT_SECONDS // 60} minutes "
            f"(use e.g. timeout=Duration.seconds({MIN_FUNCTION_TIMEOUT_SECONDS}) or more, or leave the default of 5 "
            "minutes; the timeout bounds one invocation, and the runtime suspends and resumes long executions)"
        )
    return timeout


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


def log_levels(
    logging_format: lambda_.LoggingFormat | None,
    application_log_level: lambda_.ApplicationLogLevel | None,
    system_log_level: lambda_.SystemLogLevel | None,
) -> None:
    """Log levels filter JSON logs only: Lambda refuses them with the text format."""
    if (application_log_level or system_log_level) and logging_format != lambda_.LoggingFormat.JSON:
        raise DurableValidationError(
            f"logging_format is {_enum_name(logging_format) or 'not set (text)'} with a log level set: Lambda filters "
            "log levels only in JSON logs; add logging_format=LoggingFormat.JSON"
        )


def _enum_name(value: object) -> str | None:
    return None if value is None else str(getattr(value, "name", value))


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


# region imported attributes
def unqualified_function_arn(arn: str) -> str:
    """A function ARN without a version or alias: journal keys and grants are built on it."""
    parts = arn.split(":")
    if not _unresolved(arn) and (len(parts) != 7 or parts[2] != "lambda" or parts[5] != "function"):
        raise DurableValidationError(
            f"function_arn is {arn!r}: give the unqualified function ARN, "
            "arn:<partition>:lambda:<region>:<account>:function:<name> (no version or alias)"
        )
    return arn


def table_arn(arn: str) -> str:
    """A DynamoDB table ARN (the durable engine's journal)."""
    if not _unresolved(arn) and not re.fullmatch(r"arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+", arn):
        raise DurableValidationError(
            f"journal_table_arn is {arn!r}: give the engine's journal table ARN, "
            "arn:<partition>:dynamodb:<region>:<account>:table/<name> (engine.journal.table_arn)"
        )
    return arn


def bucket_arn(arn: str) -> str:
    """An S3 bucket ARN (the durable engine's payload bucket)."""
    if not _unresolved(arn) and not re.fullmatch(r"arn:[^:]+:s3:::[^/]+", arn):
        raise DurableValidationError(
            f"payload_bucket_arn is {arn!r}: give the engine's payload bucket ARN, arn:<partition>:s3:::<name> "
            "(engine.payload_bucket.bucket_arn)"
        )
    return arn


# endregion
