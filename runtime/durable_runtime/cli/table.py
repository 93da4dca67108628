"""The readable history table: one line per event, with time since the start, operation, status and attempt.

Used by `durable history`, `durable watch` and `make demo`. Events are in the managed service's history shape
(boto3's: `EventTimestamp` a datetime, or epoch seconds as the HTTP API sends them).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

DAY = 86_400
_STATUS = re.compile(r"(Started|Succeeded|Failed|TimedOut|Stopped|Cancelled|Completed|Paused|Resumed|Redriven)$")


def header(time_label: str = "time") -> str:
    """The table's column titles."""
    return f"{time_label:>13}  {'operation':<38} {'status':<10} {'attempt':<9} note"


def span(seconds: float) -> str:
    """`1d 00:00:02` or `00:00:02`."""
    days, rest = divmod(round(seconds), DAY)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def _epoch(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


class HistoryTable:
    """Turns history events into lines; keeps what it saw, so `new_lines` can follow a live execution."""

    def __init__(self) -> None:
        self.seen = 0
        self.started_at: float | None = None
        self._attempts: dict[str, int] = {}

    def new_lines(self, events: list[dict[str, Any]]) -> list[str]:
        """The lines of the events not shown yet."""
        lines = [self.line(event) for event in events[self.seen :]]
        self.seen = len(events)
        return lines

    def line(self, event: dict[str, Any]) -> str:
        """One event as a table line."""
        moment = _epoch(event["EventTimestamp"])
        if self.started_at is None:
            self.started_at = moment
        elapsed = "+" + span(moment - self.started_at)
        event_type = event["EventType"]
        details = event.get(f"{event_type}Details") or {}
        if event_type == "InvocationCompleted":
            error = (details.get("Error") or {}).get("Payload") or {}
            ended = f" ({error.get('ErrorType')})" if error else ""
            return f"{elapsed:>13}  -- invocation ends{ended}: the function is not running now"
        if event_type == "StepStarted":
            self._attempts[event["Id"]] = self._attempts.get(event["Id"], 0) + 1
        match = _STATUS.search(event_type)
        status = match.group(1).upper() if match else event_type
        kind = event_type[: match.start()] if match else ""
        attempt = f"attempt {self._attempts.get(event.get('Id', ''), 1)}" if kind == "Step" else ""
        operation = f"{kind:<9} {event.get('Name') or '':<28}"
        return f"{elapsed:>13}  {operation} {status:<10} {attempt:<9} {_note(event_type, details)}".rstrip()


def _note(event_type: str, details: dict[str, Any]) -> str:
    retry = details.get("RetryDetails") or {}
    error = (details.get("Error") or {}).get("Payload") or {}
    if "NextAttemptDelaySeconds" in retry:
        error_type = str(error.get("ErrorType", "error")).rsplit(".", 1)[-1]
        return f"{error_type}; retry in {retry['NextAttemptDelaySeconds']}s"
    if event_type == "WaitStarted":
        return f"sleeping {details.get('Duration')}s"
    if error:
        return f"{error.get('ErrorType')}: {error.get('ErrorMessage')}"
    return ""
