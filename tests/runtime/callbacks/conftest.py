"""A runner with one execution waiting on a callback (one-hour timeout), shared by the endpoint tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from durable_runtime.config import CallbackConfig, Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def awaiting_approval(event: dict, ctx) -> object:
    callback = ctx.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(1)))
    return callback.result()


@dataclass
class Waiting:
    runner: DurableFunctionTestRunner
    execution_arn: str
    callback_id: str


@pytest.fixture
def waiting() -> Iterator[Waiting]:
    with DurableFunctionTestRunner(awaiting_approval, execution_timeout=86_400) as runner:
        arn = runner.run_async(input='{"order": 1}')
        yield Waiting(runner, arn, runner.wait_for_callback(arn, "approval"))
