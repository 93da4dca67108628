"""Property: no malformed request, however generated, is accepted or changes the journal."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_runtime.testing.runner import callback_proxy_event

from .conftest import Waiting

_REJECTED = {400, 404, 405, 409, 413}


def _mutations(real: str) -> st.SearchStrategy[str]:
    """Ids close to the real one: truncated, extended, a character changed, re-encoded with other secrets."""
    index = st.integers(0, len(real) - 1)
    return st.one_of(
        index.map(lambda i: real[:i]),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=4).map(
            lambda tail: real + tail
        ),
        st.tuples(index, st.sampled_from("AQgw-_9z")).map(
            lambda pair: (
                real[: pair[0]] + pair[1] + real[pair[0] + 1 :]
                if real[pair[0]] != pair[1]
                else real[: pair[0]] + "B" + real[pair[0] + 1 :]
            )
        ),
        st.binary(min_size=1, max_size=400).map(lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")),
        st.text(max_size=60),
    )


def test_malformed_requests_are_rejected_and_change_nothing(waiting: Waiting) -> None:
    before = waiting.runner.scan_table()
    seen: set[int] = set()

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        callback_id=_mutations(waiting.callback_id),
        action=st.sampled_from(["succeed", "fail", "heartbeat", "approve", ""]),
        method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
        body=st.one_of(st.none(), st.text(max_size=80), st.just("{" * 10)),
    )
    def request_is_rejected(callback_id: str, action: str, method: str, body: str | None) -> None:
        response = waiting.runner.post_callback_event(callback_proxy_event(callback_id, action, body, method))
        assert response["statusCode"] in _REJECTED, (callback_id, action, method, body, response)
        assert set(json.loads(response["body"])) == {"error", "message"}
        seen.add(response["statusCode"])

    request_is_rejected()
    assert waiting.runner.scan_table() == before
    assert {404, 405} <= seen


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
_ANSWERED = {200, 400, 404, 405, 409, 413}


def test_structurally_malformed_events_get_a_json_answer_and_a_rejection_changes_nothing(waiting: Waiting) -> None:
    """Any shape of event (wrong types anywhere, the real id or not) is answered, never raised (the audit's r10)."""
    real = waiting.callback_id
    statuses: set[int] = set()

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        path_parameters=st.one_of(_JSON, st.just({"CallbackId": real}), st.just({"CallbackId": [real]})),
        path=st.one_of(_JSON, st.sampled_from([f"/durable-execution-callbacks/{real}/heartbeat", "/x/y/z"])),
        method=st.one_of(_JSON, st.just("POST")),
        body=st.one_of(_JSON, st.just('"ok"')),
        encoded=_JSON,
        whole=st.one_of(st.none(), _JSON),
    )
    def answered(path_parameters: object, path: object, method: object, body: object, encoded: object, whole: object):
        event = {
            "pathParameters": path_parameters,
            "path": path,
            "httpMethod": method,
            "body": body,
            "isBase64Encoded": encoded,
        }
        before = waiting.runner.scan_table()
        response = waiting.runner.post_callback_event(whole if whole is not None else event)  # type: ignore[arg-type]
        statuses.add(response["statusCode"])
        assert response["statusCode"] in _ANSWERED, (event, response)
        assert isinstance(json.loads(response["body"]), dict)
        if response["statusCode"] != 200:
            assert waiting.runner.scan_table() == before, (event, response)

    answered()
    assert {400, 404} <= statuses
