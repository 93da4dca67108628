"""The `durable` CLI against a dev server: in this process, and as a user runs it (two processes, a real port)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable_runtime.cli import EXIT_EXECUTION_FAILED, EXIT_OK, EXIT_REFUSED, main
from durable_runtime.devserver import DevServer, load_handler

REPO = Path(__file__).resolve().parents[3]
ORDER = {"order_id": "o-1", "items": [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    functions = {
        "order-workflow": load_handler("examples.order_workflow:handler"),
        "fraud-review": load_handler("examples.fraud_review:handler"),
    }
    with DevServer(functions, port=0, virtual_time=True) as server:
        yield server.url


def _run(capsys: pytest.CaptureFixture[str], endpoint: str, *args: str) -> tuple[int, str, str]:
    code = main(["--endpoint", endpoint, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_start_watch_describe_history_and_list(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    from examples import order_workflow

    # The example's stand-in payment provider fails each order's first charge; other tests may have charged o-1.
    order_workflow.payments.calls.clear()
    code, out, _ = _run(
        capsys,
        endpoint,
        "start",
        "order-workflow",
        "--input",
        json.dumps(ORDER),
        "--name",
        "o-1",
        "--business-key",
        "customer-7",
    )
    arn = out.strip()
    watched = _run(capsys, endpoint, "watch", arn, "--interval", "0.05", "--timeout", "60")
    described = _run(capsys, endpoint, "--json", "describe", arn)
    table = _run(capsys, endpoint, "history", arn)
    raw = _run(capsys, endpoint, "--json", "history", arn)
    listed = _run(capsys, endpoint, "list", "order-workflow", "--business-key", "customer-7")

    assert code == EXIT_OK and arn.startswith("arn:aws:lambda:") and "/durable-execution/o-1/" in arn
    assert watched[0] == EXIT_OK and watched[1].rstrip().splitlines()[-1].startswith("SUCCEEDED")
    assert json.loads(described[1])["Status"] == "SUCCEEDED" and json.loads(described[1])["BusinessKey"] == "customer-7"
    assert "charge_card" in table[1] and "retry in 2s" in table[1] and "Execution o-1" in table[1]
    assert json.loads(raw[1])["Events"][-1]["EventType"] == "ExecutionSucceeded"
    assert arn in listed[1]


def test_a_callback_pause_resume_from_the_cli(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    from durable_runtime.cli.backends import EndpointBackend

    _, out, _ = _run(capsys, endpoint, "start", "fraud-review", "--input", '{"order_id": "r-1", "amount_cents": 5}')
    arn = out.strip()
    callback_id = _callback_id(EndpointBackend(endpoint), arn)
    paused = _run(capsys, endpoint, "pause", arn, "--reason", "checking")
    answered = _run(capsys, endpoint, "callback", "succeed", callback_id, "--payload", '{"decision": "approve"}')
    resumed = _run(capsys, endpoint, "resume", arn)
    watched = _run(capsys, endpoint, "watch", arn, "--interval", "0.05", "--timeout", "60")

    assert paused[0] == answered[0] == resumed[0] == EXIT_OK
    assert watched[0] == EXIT_OK and "FULFILLED" in watched[1]


def test_failures_exit_with_the_documented_codes(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    _, out, _ = _run(capsys, endpoint, "start", "fraud-review", "--input", '{"order_id": "r-2", "amount_cents": 5}')
    arn = out.strip()
    bad_json = _run(capsys, endpoint, "start", "order-workflow", "--input", "{nope")
    missing = _run(capsys, endpoint, "describe", arn.replace("/durable-execution/", "/durable-execution/x"))
    conflict = _run(capsys, endpoint, "resume", arn)
    _run(capsys, endpoint, "stop", arn, "--reason", "customer left")
    stopped = _run(capsys, endpoint, "watch", arn, "--interval", "0.05", "--timeout", "60")

    assert bad_json[0] == EXIT_REFUSED and "--input is not JSON" in bad_json[2]
    assert missing[0] == EXIT_REFUSED and "ResourceNotFoundException" in missing[2]
    assert conflict[0] == EXIT_REFUSED and "ResourceConflictException" in conflict[2]
    assert stopped[0] == EXIT_EXECUTION_FAILED and stopped[1].rstrip().endswith("STOPPED")


def test_export_then_replay_the_file(capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path) -> None:
    _, out, _ = _run(capsys, endpoint, "start", "order-workflow", "--input", json.dumps(ORDER), "--wait")
    arn = out.splitlines()[0]
    exported = tmp_path / "order.json"
    _run(capsys, endpoint, "export", arn, "--output", str(exported))
    code, replayed, _ = _run(capsys, endpoint, "replay", str(exported), "--handler", "examples.order_workflow:handler")

    assert code == EXIT_OK and "replay: SUCCEEDED" in replayed and "SHIPPED" in replayed


def _callback_id(backend: Any, arn: str) -> str:
    for _ in range(200):
        for event in backend.call("get_durable_execution_history", DurableExecutionArn=arn)["Events"]:
            if event["EventType"] == "CallbackStarted":
                return str(event["CallbackStartedDetails"]["CallbackId"])
        time.sleep(0.05)
    raise AssertionError("no callback was issued")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_as_a_user_runs_it_durable_dev_in_one_process_and_the_cli_in_others() -> None:
    """The issue's acceptance, as the README gives it: `durable dev` in real time (its default), start with
    --endpoint, describe until SUCCEEDED, then the history ends with ExecutionSucceeded."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-m", "durable_runtime.cli"]
    dev = subprocess.Popen(
        [*cli, "dev", "examples.order_workflow:handler", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    order = {**ORDER, "order_id": "o-7", "cancellation_window_seconds": 2}

    def durable(*args: str) -> str:
        done = subprocess.run(
            [*cli, "--endpoint", endpoint, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    try:
        assert dev.stdout is not None
        banner = dev.stdout.readline()
        started_at = time.monotonic()
        arn = durable("start", "order-workflow", "--input", json.dumps(order), "--name", "o-7").strip()
        status = ""
        while time.monotonic() - started_at < 60 and status != "SUCCEEDED":
            status = json.loads(durable("--json", "describe", arn))["Status"]
            time.sleep(0.25)
        took = time.monotonic() - started_at
        history = durable("history", arn)
        raw = json.loads(durable("--json", "history", arn))
    finally:
        dev.terminate()
        dev.wait(timeout=30)

    assert f"http://127.0.0.1:{port}" in banner and "real time" in banner
    assert status == "SUCCEEDED"
    # Real time: the 2 s retry backoff and the 2 s window passed on the clock.
    assert took >= 4
    assert "Execution o-7" in history and "SUCCEEDED" in history.splitlines()[-1]
    assert raw["Events"][-1]["EventType"] == "ExecutionSucceeded"
