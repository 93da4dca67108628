"""Constructs and runtime agree on every name: the example app's template, deployed into moto, runs the workflows.

The check runs in a fresh interpreter that imports the runtime from the synthesized layer asset and the
workflows from the functions' code asset (agreement_probe.py), so it exercises the files Lambda would load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from durable_constructs.layer import runtime_package_directory
from durable_runtime import contract

if TYPE_CHECKING:
    from conftest import Synthesized

PROBE = Path(__file__).with_name("agreement_probe.py")


@pytest.fixture(scope="module")
def layer_python(example_app: Synthesized) -> Path:
    (layer,) = example_app.of_type("AWS::Lambda::LayerVersion").values()
    return example_app.asset_directory(layer["Properties"]["Content"]) / "python"


@pytest.fixture(scope="module")
def report(example_app: Synthesized, layer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    stack = example_app.stack
    functions = {
        example_app.logical_id(durable.function): example_app.asset_directory(
            example_app.resources[example_app.logical_id(durable.function)]["Properties"]["Code"]
        )
        for durable in (stack.order_workflow, stack.fraud_review)  # type: ignore[attr-defined]
    }
    workdir = tmp_path_factory.mktemp("agreement")
    request = workdir / "request.json"
    request.write_text(
        json.dumps(
            {
                "template": str(example_app.outdir / f"{stack.artifact_id}.template.json"),
                "stack_name": stack.stack_name,
                "layer_python": str(layer_python),
                "runtime_source": str(runtime_package_directory()),
                "functions": {logical_id: str(code) for logical_id, code in functions.items()},
            }
        )
    )
    code_dirs = sorted({str(code) for code in functions.values()})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(layer_python), *code_dirs])}
    done = subprocess.run(
        [sys.executable, str(PROBE), str(request)], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _function(example_app: Synthesized, report: dict[str, Any], name: str) -> dict[str, Any]:
    durable = getattr(example_app.stack, name)
    return report["functions"][example_app.logical_id(durable.function)]


def test_runtime_is_loaded_from_the_layer_asset(report: dict[str, Any], layer_python: Path) -> None:
    assert Path(report["runtime_file"]) == layer_python / "durable_runtime" / "__init__.py"
    assert report["modules_outside_layer"] == []


def test_order_workflow_runs_end_to_end_on_the_templates_resources(
    example_app: Synthesized, report: dict[str, Any]
) -> None:
    order = _function(example_app, report, "order_workflow")

    assert order["status"] == "SUCCEEDED", order
    assert order["result"]["status"] == "SHIPPED"


def test_fraud_review_runs_end_to_end_through_a_callback(example_app: Synthesized, report: dict[str, Any]) -> None:
    review = _function(example_app, report, "fraud_review")

    assert review["status"] == "SUCCEEDED", review
    assert review["result"]["status"] == "FULFILLED"


@pytest.mark.parametrize("name", ["order_workflow", "fraud_review"])
def test_journal_keys_written_are_exactly_those_the_leading_keys_grant_allows(
    example_app: Synthesized, report: dict[str, Any], name: str
) -> None:
    function = _function(example_app, report, name)

    assert function["journal_keys"], "the workflow wrote no journal records"
    assert function["keys_outside_policy"] == []
    # The listing index's keys are the function's ARN and a shard: what grant_read_history's index grant allows.
    assert function["listing_keys"]
    assert all(
        key.startswith(function["function_arn"] + contract.LIST_INDEX_SHARD_SEPARATOR)
        for key in function["listing_keys"]
    )


def test_callback_handler_environment_builds_the_runtimes_services(report: dict[str, Any]) -> None:
    assert report["callback_handler_services"] == "ok"


def test_every_engine_handler_imports_from_the_layer(report: dict[str, Any]) -> None:
    from durable_runtime import contract

    assert report["engine_handlers"] == {contract.CALLBACK_HANDLER: "ok", contract.OUTBOX_HANDLER: "ok"}
