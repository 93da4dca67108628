"""pytest fixture: `durable_runner` gives each test a fresh local runner (moto + virtual time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .runner import DurableFunctionTestRunner


@pytest.fixture
def durable_runner() -> Iterator[DurableFunctionTestRunner]:
    """A DurableFunctionTestRunner with no function registered; use `register_durable_function`."""
    with DurableFunctionTestRunner() as runner:
        yield runner
