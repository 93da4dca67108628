"""Bad input gets a typed error that says what was wrong and how to fix it, and leaves the journal as it was."""

from __future__ import annotations

import pytest

from durable_runtime.config import Duration
from durable_runtime.engine.invocation import UnknownExecutionError
from durable_runtime.exceptions import NonDeterministicExecutionError, SerDesError, ValidationError
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner


@durable_execution
def _two_steps(event: dict, ctx) -> str:
    ctx.step(lambda _: "a", name="a")
    ctx.wait(Duration.from_seconds(5), name="pause")
    return ctx.step(lambda _: "b", name="b")


def _suspended_execution(runner: DurableFunctionTestRunner) -> str:
    arn = runner.run_async(input='{"order": 1}')
    runner.local_lambda.run(runner.local_lambda.pop_ready())
    return arn


def _invoke(runner: DurableFunctionTestRunner, event: object) -> object:
    handler = runner.local_lambda.functions["test-function"].versions["1"]
    return handler(event, runner.local_lambda.context_for("test-function", "1", "req-bad"))


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"DurableKit": "resume please"}, "must be an object"),
        ({"DurableKit": {"action": "explode", "executionArn": "x"}}, "action 'explode'"),
        ({"DurableKit": {"action": "resume", "executionArn": 42}}, "executionArn 42"),
        ({"DurableKit": {"action": "resume", "executionArn": "arn:aws:lambda:nowhere"}}, "not a durable execution ARN"),
    ],
)
def test_malformed_resume_envelope_is_rejected_and_changes_nothing(event: object, fragment: str) -> None:
    with DurableFunctionTestRunner(_two_steps) as runner:
        _suspended_execution(runner)
        before = runner.scan_table()
        with pytest.raises(ValidationError, match=fragment):
            _invoke(runner, event)
        assert runner.scan_table() == before


def test_resume_of_unknown_execution_is_rejected_and_changes_nothing() -> None:
    with DurableFunctionTestRunner(_two_steps) as runner:
        arn = _suspended_execution(runner)
        before = runner.scan_table()
        unknown = arn.rsplit("/", 2)[0] + "/no-such-run/0123456789abcdef"
        with pytest.raises(UnknownExecutionError, match="never started, or its retention ended"):
            _invoke(runner, {"DurableKit": {"action": "resume", "executionArn": unknown, "reason": "test"}})
        assert runner.scan_table() == before


@pytest.mark.parametrize("payload", ["{bad json", "World", "{'single': 'quotes'}"])
def test_input_that_is_not_json_is_rejected_and_changes_nothing(payload: str) -> None:
    with DurableFunctionTestRunner(_two_steps) as runner:
        before = runner.scan_table()
        with pytest.raises(ValidationError, match=r"not valid JSON.*json.dumps"):
            runner.client.start_execution("test-function", payload, "bad-input")
        assert runner.scan_table() == before


def test_unserializable_step_result_fails_the_invocation_and_changes_nothing() -> None:
    @durable_execution
    def handler(event: dict, ctx) -> object:
        ctx.step(lambda _: "fine", name="fine")
        ctx.wait(Duration.from_seconds(5), name="pause")
        return ctx.step(lambda _: object(), name="opaque")

    with DurableFunctionTestRunner(handler) as runner:
        arn = _suspended_execution(runner)
        before = runner.scan_table()
        with pytest.raises(SerDesError, match=r"type object.*StepConfig\(serdes=...\)"):
            runner.wait_for_result(arn)
        assert runner.scan_table() == before
        assert runner.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"


def test_divergent_replay_raises_non_determinism_and_changes_nothing() -> None:
    calls = {"invocations": 0}

    @durable_execution
    def handler(event: dict, ctx) -> str:
        calls["invocations"] += 1
        name = "charge" if calls["invocations"] == 1 else "refund"
        ctx.step(lambda _: "x", name=name)
        ctx.wait(Duration.from_seconds(5), name="pause")
        return "done"

    with DurableFunctionTestRunner(handler) as runner:
        arn = _suspended_execution(runner)
        before = runner.scan_table()
        with pytest.raises(NonDeterministicExecutionError, match=r"name='charge'.*name='refund'.*into steps") as caught:
            runner.wait_for_result(arn)
        assert runner.scan_table() == before
    assert caught.value.step_id


def test_a_handler_without_durable_execution_is_refused_with_the_fix() -> None:
    def plain(event: dict, ctx: object) -> str:
        return "not durable"

    with pytest.raises(TypeError, match=r"decorate it with @durable_execution"):
        DurableFunctionTestRunner(plain)
    with (
        DurableFunctionTestRunner() as runner,
        pytest.raises(TypeError, match=r"function 'orders'\) is not a durable handler"),
    ):
        runner.register_durable_function("orders", plain)


def test_a_runner_timeout_says_which_operation_waits_and_for_what() -> None:
    from durable_runtime.execution import durable_execution

    @durable_execution
    def handler(event: dict, ctx: object) -> str:
        return str(ctx.wait_for_callback(lambda callback_id, _: None, name="manager approval"))  # type: ignore[attr-defined]

    with DurableFunctionTestRunner(handler) as runner:
        arn = runner.run_async(input="{}")
        runner.wait_for_callback(arn)
        # What wait_for_result's and the stall check's TimeoutError carry.
        waiting = runner.waiting_on(arn)

    assert "callback 'manager approval create callback id' has no answer" in waiting


def test_a_missing_journal_table_says_which_and_how_to_get_one() -> None:
    from durable_runtime.exceptions import ValidationError
    from durable_runtime.journal.dynamodb import DynamoDBJournalStore

    with DurableFunctionTestRunner() as runner:
        store = DynamoDBJournalStore(runner._aws["dynamodb"], "no-such-journal")
        with pytest.raises(ValidationError, match=r"'no-such-journal' does not exist.*DurableFunction"):
            store.load("arn:aws:lambda:us-west-2:123456789012:function:f/durable-execution/n/1")
