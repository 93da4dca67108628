"""An execution's history as the official testing SDK hands it out: objects with snake_case attributes.

`GetDurableExecutionHistoryResponse.events` are `HistoryEvent`s (`event_type`, `event_id`, `id`, `name`,
`parent_id`, `sub_type`, `event_timestamp`, and one `<kind>_details` object such as
`callback_started_details.callback_id` or `step_succeeded_details.result.payload`). The response also keeps a
read-only dict view of the service's wire shape (`response["Events"]`, `.get`, `.to_dict()`), so code written
against boto3's `get_durable_execution_history` keeps working.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ErrorObject

__all__ = ["EventDetails", "EventError", "EventPayload", "GetDurableExecutionHistoryResponse", "HistoryEvent"]

_CAMEL_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL_WORD.sub("_", name).lower()


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@dataclass(frozen=True)
class EventPayload:
    """A result or input recorded in an event: its JSON text, and whether the history truncated it."""

    payload: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class EventError:
    """An error recorded in an event."""

    payload: ErrorObject | None = None
    truncated: bool = False


class EventDetails:
    """One event's details, with the wire keys as snake_case attributes (absent keys read as None)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._data.get(_camel(name))
        if value is None:
            return None
        if name == "error" and isinstance(value, Mapping):
            payload = value.get("Payload")
            error = ErrorObject.from_dict(payload) if isinstance(payload, Mapping) else None
            return EventError(error, bool(value.get("Truncated", False)))
        if name in ("result", "input") and isinstance(value, Mapping):
            return EventPayload(value.get("Payload"), bool(value.get("Truncated", False)))
        if isinstance(value, Mapping):
            return EventDetails(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        """The wire shape of these details."""
        return dict(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventDetails) and other._data == self._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EventDetails({self._data!r})"


@dataclass(frozen=True)
class HistoryEvent:
    """One history event. Its `<kind>_details` attribute (e.g. `wait_started_details`) holds the details."""

    event_type: str
    event_timestamp: datetime.datetime
    event_id: int = 1
    id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None
    details: EventDetails | None = field(default=None, repr=False)

    @property
    def operation_id(self) -> str | None:
        """The id of the operation the event belongs to (the official model's name for `id`)."""
        return self.id

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEvent:
        """Read the service's wire shape of an event."""
        details = data.get(f"{data['EventType']}Details")
        return cls(
            event_type=data["EventType"],
            event_timestamp=data["EventTimestamp"],
            event_id=data.get("EventId", 1),
            id=data.get("Id"),
            name=data.get("Name"),
            parent_id=data.get("ParentId"),
            sub_type=data.get("SubType"),
            details=EventDetails(details) if isinstance(details, Mapping) else None,
        )

    def __getattr__(self, name: str) -> Any:
        # Every `<kind>_details` attribute of the official model: this event's for its own kind, None otherwise.
        if name.endswith("_details") and not name.startswith("_"):
            return self.details if name == f"{_snake(self.event_type)}_details" else None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class GetDurableExecutionHistoryResponse(Mapping[str, Any]):
    """An execution's history: `events` as objects, and a dict view of the wire shape (`["Events"]`)."""

    def __init__(self, wire: Mapping[str, Any]) -> None:
        self._wire = dict(wire)
        self.events: list[HistoryEvent] = [HistoryEvent.from_dict(event) for event in wire.get("Events", [])]
        self.next_marker: str | None = wire.get("NextMarker")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GetDurableExecutionHistoryResponse:
        """Read the service's wire shape of a history page."""
        return cls(data)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape."""
        return dict(self._wire)

    def __getitem__(self, key: str) -> Any:
        return self._wire[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._wire)

    def __len__(self) -> int:
        return len(self._wire)
