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
