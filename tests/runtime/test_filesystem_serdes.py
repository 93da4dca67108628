"""`durable_runtime.filesystem_serdes`: values kept in files (or S3 objects), pointers recorded, values read back."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from durable_runtime import filesystem_serdes
from durable_runtime.config import StepConfig
from durable_runtime.context import DurableContext
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.filesystem_serdes import (
    FileSystemPathEncoding,
    FileSystemSerDes,
    FileSystemSerDesConfig,
    FileSystemSerDesMode,
)
from durable_runtime.preview import PreviewConfig, PreviewField, PreviewMode, build_preview
from durable_runtime.serdes import SerDesContext
from durable_runtime.testing import DurableFunctionTestRunner

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST/durable-execution/run-1/abc-123"
CONTEXT = SerDesContext(operation_id="op/1", durable_execution_arn=ARN)
VALUE = {"when": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC), "amount": Decimal("1.50"), "email": "a@x"}


def test_always_mode_writes_a_readable_path_and_records_a_pointer_with_preview(tmp_path: Path) -> None:
    preview = PreviewConfig(PreviewMode.EXCLUDE_ALL, mask=[PreviewField("email")])
    serdes = FileSystemSerDes(
        str(tmp_path), FileSystemSerDesConfig(generate_preview=lambda v: build_preview(v, preview))
    )

    recorded = serdes.serialize(VALUE, CONTEXT)

    expected_file = tmp_path / "orders" / "run-1" / "abc-123" / "op%2F1.json"
    assert json.loads(recorded) == {"file": str(expected_file), "preview": {"email": "***"}}
    assert expected_file.exists()
    assert serdes.deserialize(recorded, CONTEXT) == VALUE


def test_hash_encoding_uses_fixed_length_names(tmp_path: Path) -> None:
    serdes = FileSystemSerDes(str(tmp_path), FileSystemSerDesConfig(path_encoding=FileSystemPathEncoding.HASH))
    path = Path(json.loads(serdes.serialize("x", CONTEXT))["file"])
    assert len(path.parent.name) == 64 and len(path.stem) == 64


def test_overflow_mode_records_small_values_inline_and_large_ones_in_files(tmp_path: Path) -> None:
    serdes = FileSystemSerDes(str(tmp_path), FileSystemSerDesConfig(storage_mode=FileSystemSerDesMode.OVERFLOW))
    small, large = serdes.serialize({"n": 1}, CONTEXT), serdes.serialize("x" * 300_000, CONTEXT)

    assert set(json.loads(small)) == {"data"} and set(json.loads(large)) == {"file"}
    assert len(list(tmp_path.rglob("*.json"))) == 1
    assert serdes.deserialize(small, CONTEXT) == {"n": 1}
    assert serdes.deserialize(large, CONTEXT) == "x" * 300_000


def test_s3_base_path_stores_objects_under_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filesystem_serdes, "_s3", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="payloads")
        serdes = FileSystemSerDes("s3://payloads/values/")
        recorded = serdes.serialize(VALUE, CONTEXT)

        assert json.loads(recorded) == {"file": "s3://payloads/values/orders/run-1/abc-123/op%2F1.json"}
        keys = [obj["Key"] for obj in boto3.client("s3").list_objects_v2(Bucket="payloads")["Contents"]]
        assert keys == ["values/orders/run-1/abc-123/op%2F1.json"]
        assert serdes.deserialize(recorded, CONTEXT) == VALUE
    monkeypatch.setattr(filesystem_serdes, "_s3", None)


def test_step_results_survive_replay_through_the_files(tmp_path: Path) -> None:
    """A step's result lives in a file; the replay after the wait reads it back instead of re-running the step."""
    runs = {"step": 0}
    serdes = FileSystemSerDes(str(tmp_path))

    def charge(_: Any) -> dict[str, Any]:
        runs["step"] += 1
        return {"amount": Decimal("9.99")}

    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        receipt = context.step(charge, name="charge", config=StepConfig(serdes=serdes))
        context.wait(duration=_one_second())
        return str(receipt["amount"])

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run(input="{}")

    assert result.status == InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == "9.99"
    assert runs["step"] == 1
    assert len(list(tmp_path.rglob("*.json"))) == 1


def _one_second() -> Any:
    from durable_runtime.config import Duration

    return Duration.from_seconds(1)
