"""`durable_runtime.lambda_service`: the service's operation model under the official names, in its wire shape."""

from __future__ import annotations

import datetime

import pytest

from durable_runtime.exceptions import ErrorObject, NonDeterministicExecutionError
from durable_runtime.execution import InvocationStatus
from durable_runtime.identifier import OperationIdentifier, OperationIdNamespace
from durable_runtime.journal import records
from durable_runtime.lambda_service import (
    CallbackOptions,
    CheckpointOutput,
    DurableExecutionInvocationOutput,
    LambdaClient,
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
    OperationUpdate,
    StateOutput,
    TimestampConverter,
)
from durable_runtime.lambda_service import ErrorObject as ServiceErrorObject
from durable_runtime.lambda_service import InvocationStatus as ServiceInvocationStatus

STARTED = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)


def test_one_class_per_concept() -> None:
    """The enums and error object the journal and the handler wrapper use are the service model's own."""
    assert OperationType is records.OperationType
    assert OperationStatus is records.OperationStatus
    assert ServiceErrorObject is ErrorObject
    assert ServiceInvocationStatus is InvocationStatus


def test_enum_values_are_the_service_strings() -> None:
    assert OperationType("CHAINED_INVOKE") is OperationType.CHAINED_INVOKE
    assert OperationStatus("TIMED_OUT") is OperationStatus.TIMED_OUT
    assert OperationSubType.WAIT_FOR_CALLBACK == "WaitForCallback"
    assert OperationAction.RETRY.value == "RETRY"


def test_operation_reads_the_wire_shape_with_details() -> None:
    wire = {
        "Id": "op-1",
        "ParentId": "ctx",
        "Name": "charge",
        "Type": "STEP",
        "SubType": "Step",
        "Status": "FAILED",
        "StartTimestamp": STARTED,
        "StepDetails": {"Attempt": 3, "Error": {"ErrorType": "ValueError", "ErrorMessage": "no funds"}},
    }
    operation = Operation.from_dict(wire)

    assert operation.operation_type is OperationType.STEP and operation.status is OperationStatus.FAILED
    assert operation.sub_type == OperationSubType.STEP
    assert operation.step_details is not None and operation.step_details.attempt == 3
    assert operation.step_details.error == ErrorObject("no funds", "ValueError", None, None)
    assert operation.callback_details is None
    assert operation.to_dict() == wire


def test_json_form_round_trips_timestamps_as_epoch_millis() -> None:
    scheduled = STARTED + datetime.timedelta(seconds=30)
    operation = Operation.from_dict(
        {
            "Id": "w",
            "Type": "WAIT",
            "Status": "STARTED",
            "StartTimestamp": STARTED,
            "WaitDetails": {"ScheduledEndTimestamp": scheduled},
        }
    )
    as_json = operation.to_json_dict()

    assert as_json["StartTimestamp"] == TimestampConverter.to_unix_millis(STARTED)
    assert as_json["WaitDetails"]["ScheduledEndTimestamp"] == int(scheduled.timestamp() * 1000)
    assert Operation.from_json_dict(as_json) == operation


def test_callback_details_carry_the_callback_id() -> None:
    operation = Operation.from_dict(
        {
            "Id": "c",
            "Type": "CALLBACK",
            "Status": "SUCCEEDED",
            "CallbackDetails": {"CallbackId": "cb-1", "Result": '"ok"'},
        }
    )
    assert operation.callback_details is not None
    assert (operation.callback_details.callback_id, operation.callback_details.result) == ("cb-1", '"ok"')


def test_operation_update_constructors_take_identity_from_the_identifier() -> None:
    identifier = OperationIdentifier(
        "op-2", "Callback", parent_id="p", name="approve", operation_type=OperationType.CALLBACK
    )
    update = OperationUpdate.create_callback(identifier, CallbackOptions(timeout_seconds=60))

    assert update.to_dict() == {
        "Id": "op-2",
        "Type": "CALLBACK",
        "Action": "START",
        "ParentId": "p",
        "Name": "approve",
        "SubType": "Callback",
        "CallbackOptions": {"TimeoutSeconds": 60, "HeartbeatTimeoutSeconds": 0},
    }
    assert OperationUpdate.from_dict(update.to_dict()) == update
    retry = OperationUpdate.create_step_retry(identifier, ErrorObject.from_message("boom"), 5)
    assert retry.action is OperationAction.RETRY and retry.to_dict()["StepOptions"] == {"NextAttemptDelaySeconds": 5}


def test_invocation_output_shapes() -> None:
    assert DurableExecutionInvocationOutput.create_succeeded('"done"').to_dict() == {
        "Status": "SUCCEEDED",
        "Result": '"done"',
    }
    assert DurableExecutionInvocationOutput.create_pending().to_dict() == {"Status": "PENDING"}
    failed = DurableExecutionInvocationOutput.from_dict({"Status": "FAILED", "Error": {"ErrorMessage": "x"}})
    assert failed.status is InvocationStatus.FAILED and failed.error == ErrorObject.from_message("x")


def test_checkpoint_and_state_outputs_read_operations() -> None:
    page = {"Operations": [{"Id": "a", "Type": "STEP", "Status": "SUCCEEDED"}], "NextMarker": "m"}
    assert [op.operation_id for op in StateOutput.from_dict(page).operations] == ["a"]
    output = CheckpointOutput.from_dict({"CheckpointToken": "t"})
    assert output.checkpoint_token == "t" and output.new_execution_state.operations == []


class _FakeLambda:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def checkpoint_durable_execution(self, **kwargs: object) -> dict:
        self.calls.append(kwargs)
        return {"CheckpointToken": "next", "NewExecutionState": {"Operations": []}}


def test_lambda_client_sends_updates_in_wire_shape() -> None:
    fake = _FakeLambda()
    identifier = OperationIdentifier("s", "Step", operation_type=OperationType.STEP)
    output = LambdaClient(fake).checkpoint("arn", "token", [OperationUpdate.create_step_start(identifier)], None)

    assert output.checkpoint_token == "next"
    assert fake.calls == [
        {
            "DurableExecutionArn": "arn",
            "CheckpointToken": "token",
            "Updates": [{"Id": "s", "Type": "STEP", "Action": "START", "SubType": "Step"}],
        }
    ]


def test_identifier_rejects_a_record_of_another_operation() -> None:
    identifier = OperationIdentifier("op", "Step", name="charge", operation_type=OperationType.STEP)
    identifier.validate_checkpoint(
        Operation("op", OperationType.STEP, OperationStatus.STARTED, name="charge", sub_type="Step")
    )
    with pytest.raises(NonDeterministicExecutionError, match="name recorded='refund' now='charge'"):
        identifier.validate_checkpoint(
            Operation("op", OperationType.STEP, OperationStatus.STARTED, name="refund", sub_type="Step")
        )


def test_id_namespace_is_deterministic_per_context() -> None:
    root, child = OperationIdNamespace(), OperationIdNamespace("parent")
    assert root.create_id_for_step(1) == OperationIdNamespace().create_id_for_step(1)
    assert len({root.create_id_for_step(1), root.create_id_for_step(2), child.create_id_for_step(1)}) == 3
