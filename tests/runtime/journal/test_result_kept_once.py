"""A step's result is kept once per journal item: its success event refers to the record's result."""

from __future__ import annotations

import json
from typing import Any

from durable_runtime.config import Duration
from durable_runtime.execution import durable_execution
from durable_runtime.testing import DurableFunctionTestRunner

REPORT = "r" * 5_000


@durable_execution
def _handler(event: dict, ctx: Any) -> int:
    report = ctx.step(lambda _: REPORT, name="render")
    polls = ctx.wait_for_condition(
        lambda state, _: state + 1,
        config=_until_three(),
        name="poll",
    )
    return len(report) + polls


def _until_three() -> Any:
    from durable_runtime.waits import WaitForConditionConfig, WaitForConditionDecision

    def decide(state: int, attempt: int) -> Any:
        return (
            WaitForConditionDecision.stop_polling()
            if state >= 3
            else WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))
        )

    return WaitForConditionConfig(wait_strategy=decide, initial_state=0)


def test_the_item_holds_the_result_once_and_the_history_shows_it_whole() -> None:
    with DurableFunctionTestRunner(_handler) as runner:
        result = runner.run(input="{}")
        items = runner.scan_table()
        history = runner.get_execution_history(result.execution_arn, include_execution_data=True)["Events"]

    assert json.loads(result.result or "") == 5_003
    (render,) = [item for item in items if '"name":"render"' in item.get("d", {}).get("S", "")]
    assert json.dumps(render).count(REPORT) == 1  # the record's result, and no copy in its events
    succeeded = [e for e in history if e["EventType"] == "StepSucceeded" and e.get("Name") == "render"]
    assert succeeded[0]["StepSucceededDetails"]["Result"]["Payload"] == json.dumps(REPORT)
    # A condition's polls each keep the state they produced: only a final result is shared with the record.
    states = [e["StepSucceededDetails"]["Result"]["Payload"] for e in history if e.get("Name") == "poll"
              and e["EventType"] == "StepSucceeded"]  # fmt: skip
    assert states == ["1", "2", "3"]
