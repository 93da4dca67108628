"""The `durable` CLI against AWS (moto): a function's engine found from the function's configuration.

Apart from test_cli.py: its module-wide dev server holds moto, and one runner at a time may.
"""

from __future__ import annotations

import json

import pytest

from durable_runtime.cli import EXIT_OK, main
from durable_runtime.devserver import load_handler

ORDER = {"order_id": "o-1", "items": [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]}


def test_against_aws_the_cli_finds_the_engine_from_the_functions_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import zipfile

    from durable_runtime.testing import DurableFunctionTestRunner

    handler = load_handler("examples.order_workflow:handler")
    with DurableFunctionTestRunner(handler, execution_timeout=7 * 86_400) as runner:
        arn = runner.run_async(input=json.dumps(ORDER), execution_name="aws-1")
        runner.wait_for_result(arn)
        # Lambda (moto's, inside the runner's mock) holds the function with the environment the constructs set.
        region = runner._aws["dynamodb"].meta.region_name
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as code:
            code.writestr("index.py", "def handler(event, context):\n    return event\n")
        import boto3

        iam = boto3.client("iam", region_name=region)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name=region).create_function(
            FunctionName="test-function",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": archive.getvalue()},
            Environment={"Variables": dict(runner.environment)},
        )
        monkeypatch.delenv("DURABLE_ENDPOINT", raising=False)
        code = main(["--region", region, "--json", "describe", arn])
        described = json.loads(capsys.readouterr().out)
        table_code = main(["--region", region, "history", arn])
        table = capsys.readouterr().out

    assert code == table_code == EXIT_OK
    assert described["Status"] == "SUCCEEDED" and described["DurableExecutionName"] == "aws-1"
    assert "ship_order" in table
