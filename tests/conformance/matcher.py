"""Match an execution history against a conformance spec's `ExpectedExecutionHistory`.

The rules are those of shared/conformance/README.md, and only those:

* events are compared by `EventId`: every id from 2 up to the last expected id must hold exactly the expected
  event, with nothing extra in between; event 1 (ExecutionStarted) and anything after the last expected id are
  not compared;
* an id the spec skips between listed ones (wait_for_condition/6-2 lists 2, 3 and then 5) constrains nothing
  but that the history holds an event there: ids run without gaps, so an extra or missing event before the
  next listed id still shifts that one and fails it;
* within an event every expected key must be present; extra keys are ignored;
* `'*'` and `{}` accept any value but still require the key;
* `${NAME}` binds on first sight and must then match the same value everywhere;
* `${/regex/}` is a regular-expression search;
* anything else (payload strings in particular) is compared exactly.

`EventTimestamp` is a `datetime` in Durable Kit's output where the service returns ISO text: a literal or a
regex is compared with its ISO 8601 form.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

WILDCARD = "*"
_REGEX = re.compile(r"^\$\{/(?P<pattern>.*)/\}$", re.DOTALL)
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
_FIRST_COMPARED_EVENT_ID = 2


class HistoryMismatchError(AssertionError):
    """The actual history breaks the spec; the message names the event, the path and both values."""


def _text(value: Any) -> str:
    """The textual form a regex or literal string is compared with."""
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def _show(value: Any) -> str:
    return json.dumps(value, default=_text, sort_keys=True)


class Matcher:
    """Compares values under the spec rules, holding the `${NAME}` bindings made so far."""

    def __init__(self) -> None:
        self.bindings: dict[str, Any] = {}

    # region values
    def match(self, expected: Any, actual: Any, path: str) -> None:
        """Raise HistoryMismatchError unless `actual` satisfies `expected`."""
        if expected == WILDCARD or (isinstance(expected, dict) and not expected):
            return
        if isinstance(expected, str):
            self._match_string(expected, actual, path)
        elif isinstance(expected, Mapping):
            self._match_mapping(expected, actual, path)
        elif isinstance(expected, Sequence):
            self._match_sequence(expected, actual, path)
        elif isinstance(expected, bool) or isinstance(actual, bool):
            self._require(expected is actual, expected, actual, path)
        elif isinstance(expected, int | float):
            self._require(isinstance(actual, int | float) and expected == actual, expected, actual, path)
        elif expected is None:
            self._require(actual is None, expected, actual, path)
        else:
            raise TypeError(f"{path}: the spec holds a {type(expected).__name__}, which the rules do not cover")

    def _match_mapping(self, expected: Mapping[str, Any], actual: Any, path: str) -> None:
        self._require(isinstance(actual, Mapping), expected, actual, path)
        for key, value in expected.items():
            if key not in actual:
                raise HistoryMismatchError(f"{path}.{key}: key missing (expected {_show(value)})")
            self.match(value, actual[key], f"{path}.{key}")

    def _match_sequence(self, expected: Sequence[Any], actual: Any, path: str) -> None:
        ok = isinstance(actual, Sequence) and not isinstance(actual, str) and len(actual) == len(expected)
        self._require(ok, expected, actual, path)
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            self.match(want, got, f"{path}[{index}]")

    def _match_string(self, expected: str, actual: Any, path: str) -> None:
        regex = _REGEX.match(expected)
        if regex is not None:
            ok = not isinstance(actual, Mapping | list) and re.search(regex["pattern"], _text(actual)) is not None
            self._require(ok, expected, actual, path)
            return
        whole = _VARIABLE.fullmatch(expected)
        if whole is not None:
            self._match_variable(whole["name"], actual, path)
            return
        if _VARIABLE.search(expected):
            self._match_template(expected, actual, path)
            return
        ok = isinstance(actual, str | datetime.datetime) and _text(actual) == expected
        self._require(ok, expected, actual, path)

    def _match_variable(self, name: str, actual: Any, path: str) -> None:
        if name not in self.bindings:
            self.bindings[name] = actual
            return
        bound = self.bindings[name]
        if type(bound) is not type(actual) or bound != actual:
            raise HistoryMismatchError(
                f"{path}: ${{{name}}} was bound to {_show(bound)} earlier, but here the value is {_show(actual)}"
            )

    def _match_template(self, expected: str, actual: Any, path: str) -> None:
        """A string with `${NAME}` inside other text: bound names must appear as bound, unbound ones bind."""
        self._require(isinstance(actual, str), expected, actual, path)
        pattern, groups, position = [], [], 0
        for found in _VARIABLE.finditer(expected):
            pattern.append(re.escape(expected[position : found.start()]))
            name = found["name"]
            if name in self.bindings:
                pattern.append(re.escape(_text(self.bindings[name])))
            elif name in groups:
                pattern.append(f"(?P={name})")
            else:
                pattern.append(f"(?P<{name}>.*?)")
                groups.append(name)
            position = found.end()
        pattern.append(re.escape(expected[position:]))
        found_all = re.fullmatch("".join(pattern), actual, re.DOTALL)
        self._require(found_all is not None, expected, actual, path)
        for name in groups:
            self.bindings[name] = found_all[name]  # type: ignore[index]

    @staticmethod
    def _require(ok: bool, expected: Any, actual: Any, path: str) -> None:
        if not ok:
            raise HistoryMismatchError(f"{path}: expected {_show(expected)}, got {_show(actual)}")

    # endregion

    # region histories
    def match_history(self, expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]) -> None:
        """Raise HistoryMismatchError unless `actual` (a list of events) satisfies the expected events."""
        wanted = _by_event_id(expected, "expected")
        got = _by_event_id(actual, "actual")
        if not wanted:
            return
        for event_id in range(_FIRST_COMPARED_EVENT_ID, max(wanted) + 1):
            want, have = wanted.get(event_id), got.get(event_id)
            if want is None and have is None:
                raise HistoryMismatchError(f"event {event_id}: the spec skips this id and the history ends before it")
            if want is None:
                continue  # an id the spec does not list is not constrained
            if have is None:
                raise HistoryMismatchError(f"event {event_id}: missing, expected {_show(want)}")
            try:
                self.match(want, have, f"event {event_id}")
            except HistoryMismatchError as mismatch:
                raise HistoryMismatchError(
                    f"{mismatch}\n  expected event: {_show(want)}\n  actual event:   {_show(have)}"
                ) from None

    # endregion


def _by_event_id(events: Sequence[Mapping[str, Any]], which: str) -> dict[int, Mapping[str, Any]]:
    indexed: dict[int, Mapping[str, Any]] = {}
    for event in events:
        event_id = event.get("EventId")
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            raise ValueError(f"{which} event without an integer EventId: {_show(event)}")
        if event_id in indexed:
            raise ValueError(f"{which} history holds EventId {event_id} twice")
        indexed[event_id] = event
    return indexed


def match_history(expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Match a whole history with fresh bindings; return the bindings made (for further checks)."""
    matcher = Matcher()
    matcher.match_history(expected, actual)
    return matcher.bindings
