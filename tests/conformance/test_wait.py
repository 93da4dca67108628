"""The wait conformance specs (shared/conformance/wait), each run with its handler on the local runner."""

from __future__ import annotations

import logging

import pytest

from . import handlers_wait as handlers
from .spec import USER_LOGGER, load_spec, spec_ids, verify

FOLDER = "wait"

# Specs this runtime does not satisfy yet: spec id -> the exact divergence (strict, so a fix shows up).
KNOWN_DIVERGENCES: dict[str, str] = {}

# Specs whose ExpectedLogs need a "replay logging enabled" mode, which Durable Kit does not have.
LOGS_UNOBSERVABLE: dict[str, str] = {}


def _params() -> list[object]:
    params = []
    for spec_id in spec_ids(FOLDER, handlers.HANDLERS):
        divergence = KNOWN_DIVERGENCES.get(spec_id)
        marks = [pytest.mark.xfail(strict=True, reason=divergence)] if divergence else []
        params.append(pytest.param(spec_id, id=spec_id, marks=marks))
    return params


@pytest.mark.parametrize("spec_id", _params())
def test_wait(spec_id: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=USER_LOGGER)
    spec = load_spec(FOLDER, spec_id)
    verify(spec, handlers, lambda: caplog.records, logs_unobservable=LOGS_UNOBSERVABLE.get(spec_id))
