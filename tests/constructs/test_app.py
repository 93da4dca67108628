"""app.py: DurableWorkflowStack with the example workflows, its outputs, and cdk-nag with every finding explained."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from durable_constructs import DurableEngine

if TYPE_CHECKING:
    from conftest import Synthesized

REPO = Path(__file__).resolve().parents[2]
# Every rule the example stack acknowledges; a new one must be added here on purpose, with its reason in code.
ACKNOWLEDGED_RULES = {
    "AwsSolutions-APIG4",
    "AwsSolutions-IAM5",
    "AwsSolutions-L1",
    "AwsSolutions-S1",
    "AwsSolutions-SQS3",
}


def _rule(acknowledged_id: str) -> str:
    """`[Annotation::]AwsSolutions-IAM5[Resource::...]` -> `AwsSolutions-IAM5`."""
    match = re.match(r"(?:[\w-]+::)?(AwsSolutions-[A-Z0-9]+)", acknowledged_id)
    assert match, acknowledged_id
    return match[1]


def test_stack_outputs_the_callback_url_journal_table_aliases_and_desk(example_app: Synthesized) -> None:
    stack = example_app.stack
    outputs = example_app.template.to_json()["Outputs"]

    assert outputs["JournalTableName"]["Value"] == {"Ref": example_app.logical_id(stack.order_workflow.engine.journal)}  # type: ignore[attr-defined]
    assert outputs["OrderWorkflowAlias"]["Value"] == {"Ref": example_app.logical_id(stack.order_workflow.alias)}  # type: ignore[attr-defined]
    assert outputs["FraudReviewAlias"]["Value"] == {"Ref": example_app.logical_id(stack.fraud_review.alias)}  # type: ignore[attr-defined]
    assert outputs["MonthlyReportAlias"]["Value"] == {"Ref": example_app.logical_id(stack.monthly_report.alias)}  # type: ignore[attr-defined]
    assert outputs["OrderDeskFunctionName"]["Value"] == {"Ref": example_app.logical_id(stack.order_desk)}  # type: ignore[attr-defined]
    api = {"Ref": example_app.logical_id(stack.order_workflow.engine.api)}  # type: ignore[attr-defined]
    # The HTTP API's $default stage, at the API's root: no stage segment.
    assert outputs["CallbackBaseUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", api, ".execute-api.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
    }


def test_the_stacks_engine_has_the_default_id(example_app: Synthesized) -> None:
    engine = example_app.stack.order_workflow.engine  # type: ignore[attr-defined]

    # A public contract: the README tells users adopting this engine to define it under this id, or lose its table.
    assert DurableEngine.DEFAULT_ID == "DurableEngine"
    assert engine.node.path == f"DurableWorkflowStack/{DurableEngine.DEFAULT_ID}"


def test_every_workflow_and_the_desk_share_one_engine(example_app: Synthesized) -> None:
    handlers = sorted(
        f["Properties"]["Handler"]
        for f in example_app.of_type("AWS::Lambda::Function").values()
        if not f["Properties"]["Handler"].startswith("durable_runtime.")
    )

    assert handlers == [
        "fraud_review.handler",
        "monthly_report.handler",
        "monthly_report.render",
        "order_desk.handler",
        "order_workflow.handler",
    ]
    assert len(example_app.of_type("AWS::DynamoDB::Table")) == 1
    assert len(example_app.of_type("AWS::ApiGatewayV2::Api")) == 1


def test_workflow_code_holds_only_the_workflow_modules(example_app: Synthesized) -> None:
    stack: Any = example_app.stack
    code = example_app.asset_directory(
        example_app.resources[example_app.logical_id(stack.order_workflow.function)]["Properties"]["Code"]
    )

    files = {p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file()}
    assert "order_workflow.py" in files
    assert "fraud_review.py" in files, "examples/fraud_review.py is the fraud review workflow's handler module"
    assert {"monthly_report.py", "order_desk.py"} <= files
    assert not {"demo.py", "__init__.py"} & files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_cdk_nag_passes_with_every_acknowledgment_explained(
    example_app: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    report = json.loads((example_app.outdir / "validation-report.json").read_text())
    acknowledgments = example_app.acknowledgments()

    assert report["pluginReports"] == []  # plugins appear here only with violations
    assert {_rule(rule) for rules in acknowledgments.values() for rule in rules} == ACKNOWLEDGED_RULES
    # The pack ran: it copied every acknowledgment into the template as its audit trail.
    audited = {
        rule["id"]
        for resource in example_app.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert {_rule(rule) for rule in audited} == ACKNOWLEDGED_RULES
    with capsys.disabled():
        print("\ncdk-nag acknowledgments in the example stack:")
        for path, rules in sorted(acknowledgments.items()):
            for rule, reason in sorted(rules.items()):
                assert len(reason) > 40, (path, rule, reason)
                print(f"  {path}: {rule.removeprefix('Annotation::')}")


@pytest.mark.skipif(not (REPO / "node_modules" / ".bin" / "cdk").exists(), reason="run `make setup` for the CDK CLI")
def test_cdk_cli_synthesizes_the_app_offline_with_nag(tmp_path: Path) -> None:
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    npx = shutil.which("npx") or "npx"
    done = subprocess.run(
        [npx, "--no", "--", "cdk", "synth", "-c", "nag=true", "-q", "-o", str(tmp_path / "cdk.out")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "cdk.out" / "DurableWorkflowStack.template.json").is_file()
