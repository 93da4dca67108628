"""The context logger: structured fields, and silence while replaying so each line appears once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

_stdlib_logger = logging.getLogger("durable_runtime.user")


_powertools_logger: Any = None


def _default_target() -> Any:
    # Powertools' Logger is preferred when the function ships it: it writes structured JSON CloudWatch can query.
    # Looked up once per process: a failed import is not cached by Python and would be retried every invocation.
    global _powertools_logger
    if _powertools_logger is None:
        try:
            from aws_lambda_powertools import Logger
        except ImportError:
            _powertools_logger = _stdlib_logger
        else:
            _powertools_logger = Logger(service="durable-function")
    return _powertools_logger


class DurableLogger:
    """A logger that adds execution fields to each record and drops records while its context replays."""

    def __init__(
        self,
        target: Any,
        fields: Mapping[str, Any],
        is_replaying: Callable[[], bool] = lambda: False,
    ) -> None:
        self._target = target
        self._fields = dict(fields)
        self._is_replaying = is_replaying

    @classmethod
    def for_execution(cls, execution_arn: str, is_replaying: Callable[[], bool]) -> DurableLogger:
        """The root context's logger."""
        return cls(_default_target(), {"executionArn": execution_arn}, is_replaying)

    def bind(self, is_replaying: Callable[[], bool] | None = None, **fields: Any) -> DurableLogger:
        """A logger with more fields (operation id, name, attempt) and optionally another replay source."""
        merged = {**self._fields, **{key: value for key, value in fields.items() if value is not None}}
        return DurableLogger(self._target, merged, is_replaying or self._is_replaying)

    def set_target(self, target: Any) -> None:
        """Send records to another logger (anything with debug/info/warning/error/exception)."""
        self._target = target

    def _emit(self, level: str, msg: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._is_replaying():
            return
        extra = {**self._fields, **kwargs.pop("extra", {})}
        getattr(self._target, level)(msg, *args, extra=extra, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at DEBUG unless replaying."""
        self._emit("debug", msg, args, kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at INFO unless replaying."""
        self._emit("info", msg, args, kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at WARNING unless replaying."""
        self._emit("warning", msg, args, kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR unless replaying."""
        self._emit("error", msg, args, kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR with the current exception unless replaying."""
        self._emit("exception", msg, args, kwargs)
