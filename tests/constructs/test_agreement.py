"""Constructs and runtime agree on every name and every permission: the example app, deployed into moto, runs.

The check runs in a fresh interpreter that imports the runtime from the synthesized layer asset and the
workflows from the functions' code asset (agreement_probe.py), so it exercises the files Lambda would load. Every
AWS call the runtime makes there is authorized against the synthesized policies of the role making it (the
function's, the outbox relay's, the callback handler's, the order desk's as a DurableClient): a missing grant is an
AccessDenied here, not in production.
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


# The stack's attributes for the functions the probe runs: the workflows, the renderer the report invokes, the desk.
EXAMPLES = ("order_workflow", "fraud_review", "monthly_report", "report_renderer", "order_desk")


@pytest.fixture(scope="module")
def report(example_app: Synthesized, layer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    stack: Any = example_app.stack
    functions = {name: example_app.logical_id(_function_of(getattr(stack, name))) for name in EXAMPLES}
    (code,) = {
        example_app.asset_directory(example_app.resources[logical_id]["Properties"]["Code"])
        for logical_id in functions.values()
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
                "functions": functions,
                "code": str(code),
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(layer_python), str(code)])}
    done = subprocess.run(
        [sys.executable, str(PROBE), str(request)], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _function_of(construct: Any) -> Any:
    """A DurableFunction's Lambda function, or the (plain) function itself."""
    return getattr(construct, "function", construct)


def test_runtime_is_loaded_from_the_layer_asset(report: dict[str, Any], layer_python: Path) -> None:
    assert Path(report["runtime_file"]) == layer_python / "durable_runtime" / "__init__.py"
    assert report["modules_outside_layer"] == []


def test_order_workflow_runs_with_its_role_enforced_and_the_desk_reads_it(report: dict[str, Any]) -> None:
    order = report["runs"]["order_workflow"]

    assert order["status"] == "SUCCEEDED", order
    assert order["result"]["status"] == "SHIPPED"
    assert order["described_status"] == "SUCCEEDED"
    assert order["history_events"] > 0
    assert order["operations"] > 0
    assert order["execution_arn"] in order["listed"]


def test_fraud_reviews_are_answered_through_the_endpoint_and_the_desk_and_stopped_at_the_desk(
    report: dict[str, Any],
) -> None:
    reviews = report["runs"]["fraud_review"]

    assert reviews["endpoint"]["status"] == "SUCCEEDED", reviews["endpoint"]
    assert reviews["endpoint"]["result"]["status"] == "FULFILLED"
    assert reviews["desk"]["status"] == "SUCCEEDED", reviews["desk"]
    assert reviews["desk"]["result"]["status"] == "FULFILLED"
    assert reviews["stopped"]["status"] == "STOPPED", reviews["stopped"]
    assert reviews["stopped"]["error"]["ErrorMessage"] == "customer cancelled"
    # Paused at the desk, the review took its decision and waited for the resume; deleted, the stopped one is gone.
    assert reviews["paused"]["while_paused"] == "PAUSED" and reviews["paused"]["status"] == "SUCCEEDED", reviews
    assert reviews["stopped"]["left"] == 0


def test_monthly_report_reads_the_renderers_result_from_the_payload_bucket(report: dict[str, Any]) -> None:
    from examples import monthly_report

    run = report["runs"]["monthly_report"]

    assert run["status"] == "SUCCEEDED", run
    assert run["result"]["lines"] == monthly_report.LINES
    # The renderer's result was over the journal's inline limit: the caller read it from the renderer's payloads,
    # and the desk read the report's history, with that result in it, back from the report's payloads.
    assert run["renderer_results_in_bucket"] == [True]
    (result_bytes,) = run["described_invoke_result_bytes"]
    assert result_bytes > contract.INLINE_PAYLOAD_LIMIT_BYTES


def test_no_call_of_the_runtime_was_denied_or_left_unjudged(report: dict[str, Any]) -> None:
    enforcement = report["enforcement"]

    assert enforcement["denials"] == []
    assert enforcement["failures"] == []


def test_each_role_was_enforced_on_the_calls_its_grants_exist_for(
    example_app: Synthesized, report: dict[str, Any]
) -> None:
    # Proof that the enforcement was not vacuous: every grant the workflows need was exercised, and allowed.
    stack: Any = example_app.stack
    allowed: dict[str, list[str]] = report["enforcement"]["allowed"]

    def calls(function: Any, action: str | None = None) -> set[str]:
        entries = (entry.split(" ", 1) for entry in allowed[example_app.logical_id(function)])
        return {resource if action else name for name, resource in entries if action in (None, name)}

    timers = {"sqs:SendMessage", "sqs:ChangeMessageVisibility", "scheduler:CreateSchedule", "iam:PassRole"}
    assert timers <= calls(stack.order_workflow.function)
    assert calls(stack.order_workflow.engine.outbox_relay) == {"lambda:InvokeFunction"}
    # The endpoint's s3:PutObject is for a failure over 32 KB (its error goes to the bucket); a result, even the
    # reviews' 200 KB note, is kept once, on the callback's record, so these workflows never need it.
    assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= calls(stack.order_workflow.engine.callback_handler)
    desk = {"lambda:GetFunction", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}  # likewise
    # ... and pausing, resuming and deleting a review: the delete's batches and its last DeleteItem.
    desk |= {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem"}
    assert desk <= calls(stack.order_desk)
    assert any(r.endswith(f"/index/{contract.LIST_INDEX_NAME}") for r in calls(stack.order_desk, "dynamodb:Query"))
    # context.invoke: the caller describes the renderer's alias and reads the renderer's result from its payloads.
    renderer = report["functions"]["report_renderer"]["function_arn"].rsplit(":", 1)[1]
    caller = stack.monthly_report.function
    assert f"{report['functions']['report_renderer']['function_arn']}:live" in calls(caller, "lambda:GetFunction")
    assert any(f"/payloads/{renderer}/" in r for r in calls(caller, "s3:GetObject"))
    assert "s3:PutObject" in calls(stack.report_renderer.function)


@pytest.mark.parametrize("name", ["order_workflow", "fraud_review", "monthly_report", "report_renderer"])
def test_journal_keys_written_are_exactly_those_the_leading_keys_grant_allows(
    report: dict[str, Any], name: str
) -> None:
    function = report["functions"][name]

    assert function["journal_keys"], "the workflow wrote no journal records"
    assert function["keys_outside_policy"] == []
    # The listing index's keys are the function's ARN and a shard: what grant_read_history's index grant allows.
    assert function["listing_keys"]
    assert all(
        key.startswith(function["function_arn"] + contract.LIST_INDEX_SHARD_SEPARATOR)
        for key in function["listing_keys"]
    )


def test_the_callback_handler_and_the_desk_build_the_runtimes_services_from_their_environments(
    report: dict[str, Any],
) -> None:
    assert report["services_build"] == {"callback_handler": "ok", "order_desk": "ok"}


def test_every_engine_handler_imports_from_the_layer(report: dict[str, Any]) -> None:
    assert report["engine_handlers"] == {contract.CALLBACK_HANDLER: "ok", contract.OUTBOX_HANDLER: "ok"}
