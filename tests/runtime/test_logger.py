"""The context logger (`durable_runtime.logger`): official API, execution fields, replay suppression, replay logging."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from durable_runtime.config import Duration
from durable_runtime.context import DurableContext
from durable_runtime.engine.logging import DurableLogger
from durable_runtime.execution import InvocationStatus, durable_execution
from durable_runtime.identifier import OperationIdentifier
from durable_runtime.lambda_service import OperationType
from durable_runtime.logger import Logger, LogInfo
from durable_runtime.testing import DurableFunctionTestRunner

USER_LOGGER = "durable_runtime.user"
LARGE_RESULT_BYTES = 300 * 1024


class _Recorder:
    """A LoggerInterface target that keeps (level, message, extra)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def _keep(self, level: str, msg: object, *args: object, extra: Any = None) -> None:
        self.lines.append((level, str(msg) % args if args else str(msg), dict(extra or {})))

    def debug(self, msg: object, *args: object, extra: Any = None) -> None:
        self._keep("debug", msg, *args, extra=extra)

    def info(self, msg: object, *args: object, extra: Any = None) -> None:
        self._keep("info", msg, *args, extra=extra)

    def warning(self, msg: object, *args: object, extra: Any = None) -> None:
        self._keep("warning", msg, *args, extra=extra)

    def error(self, msg: object, *args: object, extra: Any = None) -> None:
        self._keep("error", msg, *args, extra=extra)

    def exception(self, msg: object, *args: object, extra: Any = None) -> None:
        self._keep("exception", msg, *args, extra=extra)


class _State:
    durable_execution_arn = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/n/id"


def test_engine_logger_is_the_public_logger() -> None:
    """One implementation: what the engine hands to contexts and steps is `durable_runtime.logger.Logger`."""
    assert DurableLogger is Logger


def test_from_log_info_adds_the_operation_fields_to_every_record() -> None:
    target = _Recorder()
    identifier = OperationIdentifier(
        "op-1", "Step", parent_id="parent-1", name="charge", operation_type=OperationType.STEP
    )
    logger = Logger.from_log_info(target, LogInfo.from_operation_identifier(_State(), identifier, attempt=2))

    logger.info("charging %s", "card", extra={"amount": 5})

    assert target.lines == [
        (
            "info",
            "charging card",
            {
                "executionArn": _State.durable_execution_arn,
                "parentId": "parent-1",
                "operationName": "charge",
                "attempt": 2,
                "operationId": "op-1",
                "amount": 5,
            },
        )
    ]


def test_records_are_dropped_while_the_owning_context_replays() -> None:
    target = _Recorder()
    replaying = True
    logger = Logger(target, {"executionArn": "arn"}, is_replaying=lambda: replaying)

    logger.info("during replay")
    replaying = False
    logger.warning("new code")

    assert [line[1] for line in target.lines] == ["new code"]


def test_with_is_replaying_follows_the_new_source_and_keeps_fields() -> None:
    target = _Recorder()
    parent = Logger(target, {"executionArn": "arn"}, is_replaying=lambda: True)
    child = parent.with_is_replaying(lambda: False)

    parent.info("parent replays")
    child.info("child runs new code")

    assert target.lines == [("info", "child runs new code", {"executionArn": "arn"})]
    assert child.get_logger() is target


def test_replay_logging_writes_replayed_records_and_is_inherited() -> None:
    target = _Recorder()
    logger = Logger(target, {}, is_replaying=lambda: True).with_replay_logging()

    logger.info("root replays")
    logger.with_is_replaying(lambda: True).info("child replays")
    logger.with_log_info(LogInfo(_State(), operation_id="op")).info("step replays")
    logger.bind(operationName="x").info("bound replays")

    assert [line[1] for line in target.lines] == ["root replays", "child replays", "step replays", "bound replays"]


def _run_child_handler(handler: Any, caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.set_level(logging.INFO, logger=USER_LOGGER)
    with DurableFunctionTestRunner(durable_execution(handler)) as runner:
        result = runner.run(input='"abc12345"')
    assert result.status == InvocationStatus.SUCCEEDED
    return [record.getMessage() for record in caplog.records if hasattr(record, "executionArn")]


def test_completed_child_context_does_not_log_again_on_replay(caplog: pytest.LogCaptureFixture) -> None:
    """Conformance 3-17: with replay logging on, a finished child is not re-run, so its line appears once."""

    def handler(event: str, context: DurableContext) -> str:
        context.logger = context.logger.with_replay_logging()

        def body(child: DurableContext) -> str:
            child.logger.info(f"child received {event}")
            return event

        value = context.run_in_child_context(body, name="logging_child")
        context.wait(Duration.from_seconds(1))
        return value

    assert _run_child_handler(handler, caplog) == ["child received abc12345"]


def test_replay_children_rerun_is_visible_with_replay_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Conformance 3-11: a child whose result is too large to record re-runs on replay; replay logging shows it."""

    def handler(event: str, context: DurableContext) -> int:
        context.logger = context.logger.with_replay_logging()

        def body(child: DurableContext) -> str:
            child.logger.info(f"building from {event}")
            small = child.step(lambda _: event, name="small")
            return small * (LARGE_RESULT_BYTES // len(small) + 1)

        large = context.run_in_child_context(body, name="large_child")
        context.wait(Duration.from_seconds(1))
        return len(large)

    assert _run_child_handler(handler, caplog) == ["building from abc12345", "building from abc12345"]


def test_replay_children_rerun_is_silent_by_default(caplog: pytest.LogCaptureFixture) -> None:
    """Without replay logging the re-run child is replaying, so its line is written once."""

    def handler(event: str, context: DurableContext) -> int:
        def body(child: DurableContext) -> str:
            child.logger.info(f"building from {event}")
            small = child.step(lambda _: event, name="small")
            return small * (LARGE_RESULT_BYTES // len(small) + 1)

        large = context.run_in_child_context(body, name="large_child")
        context.wait(Duration.from_seconds(1))
        return len(large)

    assert _run_child_handler(handler, caplog) == ["building from abc12345"]
