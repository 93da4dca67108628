"""Time-travel replay: an exported execution replayed against current code, with no side effects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_runtime.config import Duration
from durable_runtime.exceptions import NonDeterministicExecutionError, ValidationError
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner, replay

side_effects: list[str] = []


def _order(ship_name: str = "ship", extra_step: bool = False) -> Any:
    @durable_execution
    def handler(event: dict, ctx: Any) -> dict:
        charged = ctx.step(lambda _: side_effects.append("charge") or event["amount"], name="charge")
        ctx.wait(Duration.from_seconds(30), name="cool-off")
        tens = ctx.map([1, 2], lambda c, item, index, items: item * 10, name="tens").get_results()
        shipped = ctx.step(lambda _: side_effects.append("ship") or "shipped", name=ship_name)
        if extra_step:
            ctx.step(lambda _: side_effects.append("email") or "sent", name="email")
        return {"charged": charged, "tens": tens, "shipped": shipped}

    return handler


def _exported(handler: Any, **runner: Any) -> dict[str, Any]:
    with DurableFunctionTestRunner(handler, **runner) as local:
        result = local.run(input=json.dumps({"amount": 42}))
        document = local.client.export_durable_execution(DurableExecutionArn=result.execution_arn)
    side_effects.clear()
    return json.loads(json.dumps(document))  # what a fixture file holds


@pytest.mark.parametrize("backend", ["moto", "memory"])
def test_unchanged_code_replays_to_the_same_result_without_running_a_step(backend: str) -> None:
    document = _exported(_order(), backend=backend)

    replayed = replay(_order(), document)

    assert replayed.status == "SUCCEEDED"
    assert replayed.result == {"charged": 42, "tens": [10, 20], "shipped": "shipped"}
    assert side_effects == []
    assert [op["Name"] for op in replayed.replayed if op["Type"] == "STEP"] == ["charge", "ship"]


def test_a_renamed_step_is_named_with_what_was_recorded_and_what_the_code_does_now() -> None:
    document = _exported(_order())

    with pytest.raises(NonDeterministicExecutionError) as diverged:
        replay(_order(ship_name="dispatch"), document)

    assert "name='ship'" in str(diverged.value) and "name='dispatch'" in str(diverged.value)
    assert side_effects == []


def test_a_step_added_after_the_recorded_ones_stops_the_replay_before_it_runs() -> None:
    document = _exported(_order())

    replayed = replay(_order(extra_step=True), document)

    assert replayed.status == "STOPPED"
    assert replayed.stopped_at is not None and replayed.stopped_at["Name"] == "email"
    assert "Status" not in replayed.stopped_at  # the journal has no record of it
    assert side_effects == []


def test_stop_at_hands_back_the_operation_and_everything_before_it() -> None:
    document = _exported(_order())

    replayed = replay(_order(), document, stop_at="cool-off")

    assert replayed.status == "STOPPED"
    assert replayed.stopped_at is not None
    assert (replayed.stopped_at["Name"], replayed.stopped_at["Status"]) == ("cool-off", "SUCCEEDED")
    assert [(op["Name"], op["Result"]) for op in replayed.replayed] == [("charge", "42")]


def test_an_execution_exported_while_it_waits_replays_up_to_that_wait() -> None:
    @durable_execution
    def approval(event: dict, ctx: Any) -> str:
        ctx.step(lambda _: side_effects.append("reserve") or "reserved", name="reserve")
        return ctx.create_callback("approval").result()

    with DurableFunctionTestRunner(approval) as local:
        arn = local.run_async(input="{}")
        local.wait_for_callback(arn, "approval")
        document = json.loads(json.dumps(local.client.export_durable_execution(DurableExecutionArn=arn)))
    side_effects.clear()

    replayed = replay(approval, document)

    assert replayed.status == "PENDING"
    assert side_effects == []
    assert [op["Name"] for op in replayed.replayed] == ["reserve", "approval"]


def test_a_document_that_is_not_an_export_is_refused_with_what_to_pass() -> None:
    with pytest.raises(ValidationError, match="export_durable_execution"):
        replay(_order(), {"Events": []})
    document = _exported(_order())
    del document["Operations"]
    with pytest.raises(ValidationError, match="damaged"):
        replay(_order(), document)


def test_the_export_carries_the_history_and_payloads_kept_in_the_bucket() -> None:
    @durable_execution
    def big(event: dict, ctx: Any) -> int:
        blob = ctx.step(lambda _: "x" * 300_000, name="render")
        return len(blob)

    document = _exported(big)

    assert json.dumps("x" * 300_000) in document["Payloads"].values()
    assert document["History"][0]["EventType"] == "ExecutionStarted"
    assert replay(big, document).result == 300_000


@durable_execution
def _doubler(event: Any, ctx: Any) -> int:
    return ctx.step(lambda _: side_effects.append("double") or event * 2, name="double")


def _caller(extra_invoke: bool = False) -> Any:
    @durable_execution
    def handler(event: dict, ctx: Any) -> list:
        first = ctx.invoke("doubler", 21, name="first")
        if extra_invoke:
            ctx.invoke("doubler", 5, name="second")
        return [first]

    return handler


def test_a_recorded_invoke_replays_its_result_and_a_new_one_stops_before_calling_out() -> None:
    with DurableFunctionTestRunner(_caller()) as local:
        local.register_durable_function("doubler", _doubler)
        result = local.run(input="{}")
        document = json.loads(
            json.dumps(local.client.export_durable_execution(DurableExecutionArn=result.execution_arn))
        )
    side_effects.clear()

    assert replay(_caller(), document).result == [42]
    stopped = replay(_caller(extra_invoke=True), document)

    assert stopped.status == "STOPPED" and "doubler" in (stopped.stopped_at or {}).get("Reason", "")
    assert side_effects == []
