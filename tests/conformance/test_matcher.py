"""The conformance matcher and spec loader, on hand-made histories: what they accept and what they reject."""

from __future__ import annotations

import copy
import datetime
import logging
from typing import Any

import pytest

from .matcher import HistoryMismatchError, match_history
from .spec import USER_LOGGER, check_logs, parse_spec

STEP_ID = "92cdf578c47085a5992256f0dcf97d0b19f1f1c9de4d5fe30c3ace6191b6e5db"
WAIT_ID = "31237cdb79ae1dfa7ffb87cde7ea8a80352d300ee5ac758a6cddd19d671925ec"
NOW = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def _event(event_id: int, event_type: str, **fields: Any) -> dict[str, Any]:
    details = fields.pop("details", {})
    return {
        "EventType": event_type,
        "EventId": event_id,
        "EventTimestamp": NOW,
        **fields,
        f"{event_type}Details": details,
    }


def actual_history() -> list[dict[str, Any]]:
    return [
        _event(1, "ExecutionStarted", Id="exec", Name="run-1", details={"Input": {"Payload": '"World"'}}),
        _event(2, "StepStarted", Id=STEP_ID, Name="greet", SubType="Step"),
        _event(
            3,
            "StepSucceeded",
            Id=STEP_ID,
            Name="greet",
            SubType="Step",
            details={"Result": {"Payload": '"Hello, World!"'}, "RetryDetails": {"CurrentAttempt": 1}},
        ),
        _event(4, "WaitStarted", Id=WAIT_ID, SubType="Wait", details={"Duration": 2}),
        _event(5, "InvocationCompleted", details={"StartTimestamp": 1.0, "EndTimestamp": 1.0}),
        _event(6, "ExecutionSucceeded", Id="exec", details={"Result": {"Payload": '"Hello, World!"'}}),
    ]


def expected_history() -> list[dict[str, Any]]:
    return [
        {
            "EventType": "StepStarted",
            "SubType": "Step",
            "EventId": 2,
            "Id": "${ID1}",
            "EventTimestamp": "*",
            "StepStartedDetails": {},
        },
        {
            "EventType": "StepSucceeded",
            "SubType": "Step",
            "EventId": 3,
            "Id": "${ID1}",
            "EventTimestamp": "*",
            "StepSucceededDetails": {"Result": {"Payload": '"Hello, World!"'}},
        },
        {
            "EventType": "WaitStarted",
            "SubType": "Wait",
            "EventId": 4,
            "Id": "${ID2}",
            "EventTimestamp": "*",
            "WaitStartedDetails": {"Duration": 2},
        },
        {"EventType": "InvocationCompleted", "EventId": 5, "EventTimestamp": "*", "InvocationCompletedDetails": {}},
    ]


def _mismatch(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> str:
    with pytest.raises(HistoryMismatchError) as raised:
        match_history(expected, actual)
    return str(raised.value)


# region what matches
def test_matches_and_binds_ids() -> None:
    bindings = match_history(expected_history(), actual_history())

    assert bindings == {"ID1": STEP_ID, "ID2": WAIT_ID}


def test_ignores_execution_started_and_events_after_the_last_expected_id() -> None:
    actual = actual_history()
    actual[0]["EventType"] = "SomethingElse"
    actual.append(_event(7, "Unexpected"))

    match_history(expected_history(), actual)


def test_ignores_extra_keys_in_an_event() -> None:
    actual = actual_history()
    actual[1]["Surprise"] = {"anything": 1}

    match_history(expected_history(), actual)


def test_wildcard_and_empty_mapping_accept_any_value() -> None:
    expected = expected_history()
    expected[2]["WaitStartedDetails"] = {"Duration": "*"}
    expected[1]["StepSucceededDetails"] = {"Result": {}, "RetryDetails": {}}

    match_history(expected, actual_history())


def test_regex_searches_the_value_as_text() -> None:
    expected = expected_history()
    expected[2]["WaitStartedDetails"] = {"Duration": "${/^[0-5]$/}"}
    expected[1]["Name"] = "${/re/}"

    match_history(expected, actual_history())


def test_wildcard_accepts_a_datetime_timestamp_and_a_literal_compares_its_iso_form() -> None:
    expected = expected_history()
    expected[0]["EventTimestamp"] = "2025-01-02T03:04:05Z"

    match_history(expected, actual_history())


def test_variable_inside_text_binds_the_part_it_stands_for() -> None:
    expected = expected_history()
    expected[1]["StepSucceededDetails"] = {"Result": {"Payload": '"Hello, ${WHO}!"'}}

    assert match_history(expected, actual_history())["WHO"] == "World"


# endregion


# region what does not match
def test_fails_on_a_wrong_event_type() -> None:
    expected = expected_history()
    expected[2]["EventType"] = "WaitSucceeded"

    assert "event 4.EventType" in _mismatch(expected, actual_history())


def test_fails_on_a_missing_key() -> None:
    actual = actual_history()
    del actual[2]["SubType"]

    assert "event 3.SubType: key missing" in _mismatch(expected_history(), actual)


def test_wildcard_still_requires_the_key() -> None:
    actual = actual_history()
    del actual[1]["EventTimestamp"]
    del actual[3]["WaitStartedDetails"]["Duration"]
    expected = expected_history()
    expected[2]["WaitStartedDetails"] = {"Duration": "*"}

    assert "event 2.EventTimestamp: key missing" in _mismatch(expected, actual)
    del expected[0]["EventTimestamp"]
    assert "event 4.WaitStartedDetails.Duration: key missing" in _mismatch(expected, actual)


def test_empty_mapping_still_requires_the_key() -> None:
    actual = actual_history()
    del actual[4]["InvocationCompletedDetails"]

    assert "event 5.InvocationCompletedDetails: key missing" in _mismatch(expected_history(), actual)


def test_fails_on_an_extra_event_in_between() -> None:
    actual = actual_history()
    actual.insert(2, _event(3, "StepFailed", Id=STEP_ID, SubType="Step"))
    for number, event in enumerate(actual, start=1):
        event["EventId"] = number

    assert "event 3" in _mismatch(expected_history(), actual)


def test_accepts_any_event_at_an_id_the_spec_skips() -> None:
    expected = [event for event in expected_history() if event["EventId"] != 4]
    actual = actual_history()
    actual[3] = _event(4, "AnythingAtAll", Id="whatever")

    match_history(expected, actual)


def test_a_skipped_id_still_needs_an_event_when_a_listed_one_follows() -> None:
    expected = [event for event in expected_history() if event["EventId"] != 4]

    assert "event 4: the spec skips this id and the history ends before it" in _mismatch(expected, actual_history()[:3])


def test_an_extra_event_before_a_skipped_id_shifts_the_next_listed_one() -> None:
    expected = [event for event in expected_history() if event["EventId"] != 4]
    actual = actual_history()
    actual.insert(3, _event(4, "StepStarted", Id=STEP_ID, SubType="Step"))
    for number, event in enumerate(actual, start=1):
        event["EventId"] = number

    assert "event 5.EventType" in _mismatch(expected, actual)


def test_fails_when_an_expected_event_is_missing() -> None:
    actual = actual_history()[:4]

    assert "event 5: missing" in _mismatch(expected_history(), actual)


def test_fails_when_a_bound_variable_meets_another_value() -> None:
    actual = actual_history()
    actual[2]["Id"] = WAIT_ID

    message = _mismatch(expected_history(), actual)
    assert "${ID1} was bound to" in message
    assert STEP_ID in message and WAIT_ID in message


def test_fails_when_an_unbound_variable_binds_a_value_that_later_differs() -> None:
    expected = expected_history()
    expected[2]["Id"] = "${ID1}"  # the wait claims the step's id

    assert "event 4.Id: ${ID1} was bound to" in _mismatch(expected, actual_history())


def test_fails_when_the_regex_does_not_match() -> None:
    expected = expected_history()
    expected[2]["WaitStartedDetails"] = {"Duration": "${/^1$/}"}

    assert "event 4.WaitStartedDetails.Duration" in _mismatch(expected, actual_history())


def test_compares_payload_strings_exactly() -> None:
    expected = expected_history()
    expected[1]["StepSucceededDetails"] = {"Result": {"Payload": "Hello, World!"}}

    assert "Payload" in _mismatch(expected, actual_history())


def test_numbers_booleans_and_strings_do_not_stand_for_each_other() -> None:
    for wrong in ("2", True, 2.5):
        expected = copy.deepcopy(expected_history())
        expected[2]["WaitStartedDetails"] = {"Duration": wrong}
        assert "Duration" in _mismatch(expected, actual_history())


def test_a_non_empty_mapping_needs_a_mapping() -> None:
    expected = expected_history()
    expected[2]["WaitStartedDetails"] = {"Duration": {"Seconds": 2}}

    assert "Duration" in _mismatch(expected, actual_history())


# endregion


# region specs: variables, results, logs
SPEC = """
Variables:
  INPUT_1: ${GEN_STR:8}
Input: ${INPUT_1}
ExpectedResult:
  ExecutionStatus: SUCCEEDED
  Result:
ExpectedExecutionHistory:
  - EventType: StepSucceeded
    EventId: 2
    Id: ${ID1}
    StepSucceededDetails:
      Result:
        Payload: '"${INPUT_1}"'
ExpectedLogs:
  - match:
      message: '/Hello, ${INPUT_1}!/'
    count: 1
  - match:
      message: '/\\[ERROR\\]/'
    count: 0
"""


def test_generates_variables_and_substitutes_them_everywhere() -> None:
    spec = parse_spec(SPEC)
    value = spec.variables["INPUT_1"]

    assert len(value) == 8 and value.isalnum()
    assert spec.input_json == f'"{value}"'
    assert spec.expected_history[0]["StepSucceededDetails"]["Result"]["Payload"] == f'"{value}"'
    assert spec.expected_history[0]["Id"] == "${ID1}"


def test_generates_a_new_value_for_each_load() -> None:
    assert parse_spec(SPEC).variables != parse_spec(SPEC).variables


def test_a_bare_result_means_null() -> None:
    spec = parse_spec(SPEC)

    assert "Result" in spec.expected_result and spec.expected_result["Result"] is None
    assert "Result" not in parse_spec("ExpectedResult:\n  ExecutionStatus: SUCCEEDED\n").expected_result


def _record(message: str, level: int = logging.INFO, name: str = USER_LOGGER) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_logs_are_counted_by_regex_on_the_user_logger_only() -> None:
    spec = parse_spec(SPEC)
    greeting = f"Hello, {spec.variables['INPUT_1']}!"

    check_logs(spec, [_record(greeting), _record(greeting, name="durable_runtime")])
    with pytest.raises(AssertionError, match="expected 1"):
        check_logs(spec, [_record(greeting), _record(greeting)])
    with pytest.raises(AssertionError, match="ERROR"):
        check_logs(spec, [_record(greeting), _record("boom", logging.ERROR)])


# endregion
