"""The child conformance specs (shared/conformance/child), each run with its handler on the local runner."""

from __future__ import annotations

import pytest

from . import handlers_child as handlers
from .spec import spec_params, verify_spec

FOLDER = "child"

# Specs this runtime does not satisfy yet: spec id -> the exact divergence (strict, so a fix shows up).
KNOWN_DIVERGENCES: dict[str, str] = {}

# Specs whose ExpectedLogs need a "replay logging enabled" mode, which Durable Kit does not have.
LOGS_UNOBSERVABLE: dict[str, str] = {
    "3-11": "ExpectedLogs counts the child's input log twice (first run and ReplayChildren re-run) under replay "
    "logging; Durable Kit's context logger is silent while replaying and has no such mode, so the re-run "
    "logs nothing. The re-run itself is checked instead: EXPECTED_RUNS wants the child body twice.",
}


@pytest.mark.parametrize("spec_id", spec_params(FOLDER, handlers.HANDLERS, KNOWN_DIVERGENCES))
def test_child(spec_id: str, caplog: pytest.LogCaptureFixture) -> None:
    verify_spec(FOLDER, spec_id, handlers, caplog, LOGS_UNOBSERVABLE.get(spec_id))
