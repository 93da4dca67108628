"""Every conformance spec runs on both of the local runner's backends: moto (the production code paths) and memory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, params=["moto", "memory"])
def runner_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend the spec's runner uses (`DURABLE_TEST_BACKEND`, which the runner reads)."""
    monkeypatch.setenv("DURABLE_TEST_BACKEND", request.param)
    return str(request.param)
