"""The README's Python examples run: each block compiles, and those that need no AWS account are executed."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

import pytest

from durable_runtime.testing import DurableFunctionTestRunner

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _block(first_line: str) -> str:
    """The README block that starts with `first_line` (a test names its block by its opening, not its place)."""
    found = [block for block in BLOCKS if block.lstrip().startswith(first_line)]
    assert len(found) == 1, f"expected one README block starting {first_line!r}, found {len(found)}"
    return found[0]


def _run(block: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    scope = {"__name__": "readme_example", **(namespace or {})}
    exec(compile(block, str(README), "exec"), scope)  # the README's own examples, on purpose
    return scope


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_compiles(index: int) -> None:
    compile(BLOCKS[index], f"README block {index}", "exec")


def test_the_first_durable_function_runs_with_a_payment_client_of_yours() -> None:
    payments = types.SimpleNamespace(charge=lambda order_id, amount_cents: f"ch_{order_id}_{amount_cents}")
    scope = _run(_block("from durable_runtime.config import Duration, StepConfig"), {"payments": payments})
    with DurableFunctionTestRunner(scope["handler"], execution_timeout=3 * 86_400) as runner:
        result = runner.run(input={"order_id": "o-1", "amount_cents": 1250})

    assert result.status.value == "SUCCEEDED" and json.loads(result.result or "") == {"charge_id": "ch_o-1_1250"}


def test_the_testing_section_example_passes() -> None:
    from examples import order_workflow

    # The example's stand-in payment provider fails each order's first charge; other tests may have charged o-1.
    order_workflow.payments.calls.clear()
    scope = _run(_block("import json\n\nfrom durable_runtime.testing import DurableFunctionTestRunner"))
    scope["test_order_ships"]()


def test_the_fixture_example_passes() -> None:
    scope = _run(_block("from durable_runtime import durable_execution"))
    with DurableFunctionTestRunner() as durable_runner:
        scope["test_greet"](durable_runner)


def test_the_replay_recipe_passes_on_an_exported_execution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from examples.order_workflow import handler

    order = {"order_id": "o-1", "items": [{"sku": "mug", "quantity": 1, "unit_price_cents": 1250}]}
    with DurableFunctionTestRunner(handler, execution_timeout=7 * 86_400) as runner:
        arn = runner.run_async(input=order)
        runner.wait_for_result(arn)
        exported = runner.client.export_durable_execution(DurableExecutionArn=arn)
    fixtures = tmp_path / "tests" / "fixtures" / "executions"
    fixtures.mkdir(parents=True)
    (fixtures / "order.json").write_text(json.dumps(exported, default=str))
    monkeypatch.chdir(tmp_path)
    scope = _run(_block("import json\nimport pathlib"))
    scope["test_in_flight_orders_still_replay"]()


def test_the_boto3_example_runs_against_the_dev_server() -> None:
    from durable_runtime.devserver import DevServer, load_handler

    block = _block("import boto3")
    with DevServer({"order-workflow": load_handler("examples.order_workflow:handler")}, port=0) as server:
        scope = _run(block.replace("http://127.0.0.1:8787", server.url), {})
        status = scope["lam"].get_durable_execution(DurableExecutionArn=scope["arn"])["Status"]

    assert status in ("RUNNING", "SUCCEEDED", "FAILED")  # an order of no items fails validation, as it should
