"""pytest plugin: the `durable_runner` fixture (a fresh local runner per test) and `--durable-backend`.

`pytest --durable-backend=memory` runs every runner of the session, the fixture's and those tests build
themselves, on the in-memory backend (see `memory_world`); the default is moto. The option sets
`DURABLE_TEST_BACKEND`, which runners read when they are not given `backend=`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .runner import DurableFunctionTestRunner

_BACKEND_VARIABLE = "DURABLE_TEST_BACKEND"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add `--durable-backend`."""
    parser.getgroup("durable").addoption(
        "--durable-backend",
        choices=("moto", "memory"),
        default=None,
        help="backend of Durable Kit's local runners: moto (the production code paths, default) or memory (fast)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Apply `--durable-backend` to the session's runners."""
    backend = config.getoption("--durable-backend", default=None)
    if backend:
        os.environ[_BACKEND_VARIABLE] = backend


@pytest.fixture
def durable_runner() -> Iterator[DurableFunctionTestRunner]:
    """A DurableFunctionTestRunner with no function registered; use `register_durable_function`."""
    with DurableFunctionTestRunner() as runner:
        yield runner
