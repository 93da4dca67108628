"""The durable context logger: execution fields on every record, and silence while the code replays.

``context.logger``, ``step_context.logger`` and the loggers handed to wait-for-condition checks and callback
submitters are all `Logger`s. Each wraps a target logger (Powertools' ``Logger`` when the function ships it,
otherwise the standard ``durable_runtime.user`` logger, or whatever ``context.set_logger`` installed) and:

- adds ``executionArn``, and where known ``parentId``, ``operationId``, ``operationName`` and ``attempt``, to each
  record's ``extra`` fields;
- drops records while its own context is replaying operations the journal already holds, so each line is written
  once even though replay re-runs the handler code. The replay status belongs to the context the logger was made
  for (a child context may be running new code while its parent replays), which is why it is a callable.

Replay logging. Tests and debugging sometimes need to see the re-runs themselves (a ReplayChildren child context
re-executes on every replay; a completed child must not). ``context.logger = context.logger.with_replay_logging()``
turns suppression off for that context and for every context, step and check created from it afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .types import LoggerInterface

if TYPE_CHECKING:
    from .identifier import OperationIdentifier

__all__ = ["LogInfo", "Logger", "LoggerInterface"]

_stdlib_logger = logging.getLogger("durable_runtime.user")
_powertools_logger: Any = None


def default_target() -> Any:
    """The logger user records go to unless a context was given another one."""
    # Powertools' Logger is preferred when the function ships it: it writes structured JSON CloudWatch can query.
    # Looked up once per process: a failed import is not cached by Python and would be retried every invocation.
    global _powertools_logger
    if _powertools_logger is None:
        try:
            from aws_lambda_powertools import Logger as PowertoolsLogger
        except ImportError:
            _powertools_logger = _stdlib_logger
        else:
            # Configured as users configure Powertools: service name, level and sampling from its environment
            # (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, ...). A Logger the function made for the same service
            # shares this one's handler, so keys it appends show on these records too.
            _powertools_logger = PowertoolsLogger()
    return _powertools_logger


# Frames between the caller and the target's method: `Logger.info` (or its sibling) and `Logger._log`.
_OWN_FRAMES = 2


def _caller_stacklevel(target: Any) -> int | None:
    """The `stacklevel` that makes `target` report the caller's source line; None for a target that takes none.

    The standard library counts from the frame that called it; Powertools' Logger adds one frame of its own (its
    default stacklevel is 2).
    """
    if isinstance(target, logging.Logger | logging.LoggerAdapter):
        return 1 + _OWN_FRAMES
    if type(target).__module__.startswith("aws_lambda_powertools"):
        return 2 + _OWN_FRAMES
    return None


def _never() -> bool:
    return False


@dataclass(frozen=True)
class LogInfo:
    """Where a log record comes from: the execution and, when inside one, the operation and its attempt.

    Attributes:
        execution_state: The invocation's state; only its execution ARN is read (``durable_execution_arn``, or
            ``arn`` on Durable Kit's own invocation state).
        parent_id: The id of the enclosing child context, if any.
        operation_id: The id of the operation whose code is running.
        name: That operation's name.
        attempt: The step attempt, counted from 1.
    """

    execution_state: Any
    parent_id: str | None = None
    operation_id: str | None = None
    name: str | None = None
    attempt: int | None = None

    @classmethod
    def from_operation_identifier(
        cls, execution_state: Any, op_id: OperationIdentifier, attempt: int | None = None
    ) -> LogInfo:
        """The info of the operation `op_id` identifies, at `attempt`."""
        return cls(execution_state, op_id.parent_id, op_id.operation_id, op_id.name, attempt)

    def with_parent_id(self, parent_id: str) -> LogInfo:
        """The same info under another parent context."""
        return LogInfo(self.execution_state, parent_id, self.operation_id, self.name, self.attempt)

    def fields(self) -> dict[str, Any]:
        """The ``extra`` fields these facts become."""
        state = self.execution_state
        arn = getattr(state, "durable_execution_arn", None) or getattr(state, "arn", None)
        # "operationName", not "name": a LogRecord reserves `name` for the logger's own name.
        pairs = (
            ("executionArn", None if arn is None else str(arn)),
            ("parentId", self.parent_id),
            ("operationName", self.name),
            ("attempt", self.attempt),
            ("operationId", self.operation_id),
        )
        return {key: value for key, value in pairs if value is not None and value != ""}


class Logger(LoggerInterface):
    """A logger that adds execution fields to each record and drops records while its context replays.

    Args:
        logger: Where records go: anything with ``debug``/``info``/``warning``/``error``/``exception``.
        default_extra: Fields added to every record (a record's own ``extra`` wins on a clash).
        is_replaying: Tells whether the owning context is replaying now; records are dropped while it is.
        replay_logging: Write records while replaying too (see the module docstring).
    """

    def __init__(
        self,
        logger: LoggerInterface,
        default_extra: Mapping[str, object],
        is_replaying: Callable[[], bool] = _never,
        *,
        replay_logging: bool = False,
    ) -> None:
        self._logger = logger
        self._default_extra = dict(default_extra)
        self._is_replaying = is_replaying
        self._replay_logging = replay_logging

    @classmethod
    def from_log_info(cls, logger: LoggerInterface, info: LogInfo, is_replaying: Callable[[], bool] = _never) -> Logger:
        """A logger writing to `logger` with the fields of `info`."""
        return cls(logger, info.fields(), is_replaying)

    @classmethod
    def for_execution(cls, execution_arn: str, is_replaying: Callable[[], bool]) -> Logger:
        """The root context's logger, writing to the default target."""
        return cls(default_target(), {"executionArn": execution_arn}, is_replaying)

    def _derive(self, extra: Mapping[str, object], is_replaying: Callable[[], bool]) -> Logger:
        return Logger(self._logger, extra, is_replaying, replay_logging=self._replay_logging)

    def with_log_info(self, info: LogInfo) -> Logger:
        """The same target and replay source with the fields of `info` instead of the current ones."""
        return self._derive(info.fields(), self._is_replaying)

    def with_is_replaying(self, is_replaying: Callable[[], bool]) -> Logger:
        """The same target and fields, following another context's replay status (a child context's own)."""
        return self._derive(self._default_extra, is_replaying)

    def with_replay_logging(self, enabled: bool = True) -> Logger:
        """The same logger, writing records while replaying too when `enabled`; loggers derived from it inherit."""
        return Logger(self._logger, self._default_extra, self._is_replaying, replay_logging=enabled)

    def bind(self, is_replaying: Callable[[], bool] | None = None, **fields: Any) -> Logger:
        """A logger with more fields (operation id, name, attempt; None values are skipped), and optionally
        another replay source."""
        merged = {**self._default_extra, **{key: value for key, value in fields.items() if value is not None}}
        return self._derive(merged, is_replaying or self._is_replaying)

    def get_logger(self) -> LoggerInterface:
        """The target logger records are written to."""
        return self._logger

    def set_target(self, target: LoggerInterface) -> None:
        """Write records to `target` from now on, keeping fields and replay source."""
        self._logger = target

    @property
    def replay_logging(self) -> bool:
        """Whether records are written while replaying."""
        return self._replay_logging

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any) -> None:
        """Log at DEBUG unless replaying."""
        self._log("debug", msg, args, extra, kwargs)

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any) -> None:
        """Log at INFO unless replaying."""
        self._log("info", msg, args, extra, kwargs)

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any) -> None:
        """Log at WARNING unless replaying."""
        self._log("warning", msg, args, extra, kwargs)

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any) -> None:
        """Log at ERROR unless replaying."""
        self._log("error", msg, args, extra, kwargs)

    def exception(self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any) -> None:
        """Log at ERROR with the exception being handled, unless replaying."""
        self._log("exception", msg, args, extra, kwargs)

    def _log(
        self, level: str, msg: object, args: tuple[object, ...], extra: Mapping[str, object] | None, kwargs: Any
    ) -> None:
        if self._is_replaying() and not self._replay_logging:
            return
        # `exc_info`, `stack_info` and `stacklevel` pass through to targets that take them (the stdlib, Powertools);
        # for those the caller's own stacklevel counts from its own line, past this wrapper's frames.
        stacklevel = _caller_stacklevel(self._logger)
        if stacklevel is not None:
            kwargs["stacklevel"] = stacklevel + kwargs.get("stacklevel", 1) - 1
        getattr(self._logger, level)(msg, *args, extra={**self._default_extra, **(extra or {})}, **kwargs)
