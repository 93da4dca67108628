"""The callback conformance specs (shared/conformance/callback), each run with its handler on the local runner."""

from __future__ import annotations

import pytest

from . import handlers_callback as handlers
from .spec import spec_params, verify_spec

FOLDER = "callback"

# Specs this runtime does not satisfy yet: spec id -> the exact divergence (strict, so a fix shows up).
KNOWN_DIVERGENCES: dict[str, str] = {}

# Specs whose ExpectedLogs need a "replay logging enabled" mode, which Durable Kit does not have.
LOGS_UNOBSERVABLE: dict[str, str] = {}


@pytest.mark.parametrize("spec_id", spec_params(FOLDER, handlers.HANDLERS, KNOWN_DIVERGENCES))
def test_callback(spec_id: str, caplog: pytest.LogCaptureFixture) -> None:
    verify_spec(FOLDER, spec_id, handlers, caplog, LOGS_UNOBSERVABLE.get(spec_id))
