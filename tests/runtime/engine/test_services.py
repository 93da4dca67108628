"""Services from the environment, execution metrics, and where payloads are kept."""

from __future__ import annotations

import contextlib
import json

import pytest

from durable_runtime import contract
from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.engine.metrics import emit
from durable_runtime.engine.timers import NoTimerQueue
from durable_runtime.exceptions import ValidationError
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

ARN = "arn:aws:lambda:us-west-2:123456789012:function:orders:3/durable-execution/o-1/abc123"


def test_metrics_are_embedded_metric_lines_inside_lambda(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emit(contract.METRIC_EXECUTIONS_SUCCEEDED, "orders")
    assert capsys.readouterr().out == ""  # outside Lambda nothing reads them, so nothing is written
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    emit(contract.METRIC_EXECUTIONS_SUCCEEDED, "orders")
    line = json.loads(capsys.readouterr().out)
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == contract.METRIC_NAMESPACE
    assert directive["Dimensions"] == [[contract.METRIC_DIMENSION]]
    assert line[contract.METRIC_DIMENSION] == "orders" and line[contract.METRIC_EXECUTIONS_SUCCEEDED] == 1


def test_a_process_without_a_timer_queue_refuses_to_set_timers_clearly() -> None:
    with pytest.raises(ValidationError, match=contract.ENV_TIMER_QUEUE_URL):
        NoTimerQueue().schedule(ResumeRequest(ExecutionArn.parse(ARN), "timer"), 0.0)


def test_large_payloads_are_kept_under_the_functions_own_prefix() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> int:
        return len(ctx.step(lambda _: "x" * 300_000, name="big"))

    with DurableFunctionTestRunner(handler, function_name="reports") as runner:
        result = runner.run(input="{}")
        keys = [
            obj["Key"]
            for obj in runner.s3.list_objects_v2(Bucket=runner.environment[contract.ENV_PAYLOAD_BUCKET])["Contents"]
        ]

    assert json.loads(result.result or "") == 300_000
    assert keys and all(key.startswith(f"{contract.PAYLOAD_PREFIX}reports/") for key in keys)


def test_services_from_the_environment_make_each_client_on_first_use_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold start pays for the clients its invocation calls: a journal read makes the DynamoDB client alone."""
    import threading

    import boto3
    from moto import mock_aws

    from durable_runtime.engine.services import services_from_environment
    from durable_runtime.testing.resources import create_resources

    made: list[str] = []

    class CountingSession:
        def __init__(self) -> None:
            self._session = boto3.session.Session(region_name="us-west-2")

        def client(self, service: str, **kwargs: object) -> object:
            made.append(service)
            return self._session.client(service, **kwargs)

    with mock_aws():
        setup = boto3.session.Session(region_name="us-west-2")
        environment = create_resources(
            *(setup.client(name) for name in ("dynamodb", "s3", "sqs", "scheduler")),
            region="us-west-2",
            account_id="123456789012",
            function_timeout=300,
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        services = services_from_environment(CountingSession())
        assert made == []

        key = ExecutionArn.parse(ARN).journal_key
        readers = [threading.Thread(target=services.store.get_execution, args=(key,)) for _ in range(8)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()

    assert made == ["dynamodb"]  # once, though eight threads asked at the same moment


def test_the_engine_reports_the_managed_services_metric_set_per_function(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from durable_runtime.config import CallbackConfig, Duration, StepConfig
    from durable_runtime.exceptions import CallbackError
    from durable_runtime.execution import durable_execution
    from durable_runtime.retries import RetryStrategyConfig, create_retry_strategy
    from durable_runtime.testing import DurableFunctionTestRunner

    no_retries = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=1)))

    @durable_execution
    def handler(event: dict, ctx) -> None:
        with contextlib.suppress(CallbackError):  # it times out; the handler carries on
            ctx.create_callback("approval", config=CallbackConfig(timeout=Duration.from_seconds(10))).result()
        ctx.step(lambda _: 1 / 0, name="divide", config=no_retries)

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "test-function")
    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    ours = [line for line in lines if line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == contract.METRIC_NAMESPACE]
    by_metric: dict[str, list[dict]] = {}
    for line in ours:
        by_metric.setdefault(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], []).append(line)

    assert result.status.value == "FAILED"
    assert len(by_metric[contract.METRIC_EXECUTIONS_STARTED]) == 1
    assert len(by_metric[contract.METRIC_CALLBACK_TIMEOUTS]) == 1
    (failed_step,) = by_metric[contract.METRIC_STEPS_FAILED]
    assert failed_step[contract.METRIC_STEP_NAME_PROPERTY] == "divide"
    assert len(by_metric[contract.METRIC_EXECUTIONS_FAILED]) == 1
    (duration,) = by_metric[contract.METRIC_EXECUTION_DURATION]
    assert duration[contract.METRIC_EXECUTION_DURATION] >= 10
    ages = [line[contract.METRIC_EXECUTION_AGE] for line in by_metric[contract.METRIC_EXECUTION_AGE]]
    assert len(ages) >= 2 and ages == sorted(ages)  # one per invocation, growing
    assert all(line[contract.METRIC_DIMENSION] == "test-function" for line in ours)
    # Operation records written, per invocation: the step, the callback (started, then timed out), its context.
    written = [line[contract.METRIC_OPERATIONS_WRITTEN] for line in by_metric[contract.METRIC_OPERATIONS_WRITTEN]]
    assert sum(written) >= 3 and all(count >= 1 for count in written)
