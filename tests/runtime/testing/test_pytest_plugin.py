"""The pytest plugin's `--durable-backend` option picks the backend of every runner in the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SESSION_TEST = """
from durable_runtime.testing import DurableFunctionTestRunner


def test_fixture(durable_runner):
    print("FIXTURE", type(durable_runner.services.store).__name__)


def test_own_runner():
    with DurableFunctionTestRunner() as own:
        print("OWN", type(own.services.store).__name__)
"""


@pytest.mark.parametrize(
    ("option", "store"), [([], "DynamoDBJournalStore"), (["--durable-backend=memory"], "InMemoryJournalStore")]
)
def test_the_option_sets_the_backend_of_the_fixture_and_of_runners_tests_build(
    tmp_path: Path, option: list[str], store: str
) -> None:
    (tmp_path / "test_session.py").write_text(SESSION_TEST)
    env = {key: value for key, value in os.environ.items() if key != "DURABLE_TEST_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *option, str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"FIXTURE {store}" in done.stdout and f"OWN {store}" in done.stdout
