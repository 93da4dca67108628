"""The managed service's invocation payload, as data: what AWS Lambda durable functions send a handler.

Durable Kit's handlers are invoked by its own queue, scheduler and stream (DESIGN §5) and never receive this
payload. These classes exist under the official names (re-exported by `execution`) so code that builds, parses
or forwards the managed payload (fixtures, adapters, tests written for the official SDK) keeps working: they
read and write its JSON shape, and nothing in the engine depends on them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import CheckpointError, ErrorObject
from .lambda_service import DurableExecutionInvocationOutput, InvocationStatus, Operation

# The largest response a synchronous Lambda invocation may return (6 MB less the envelope), in bytes.
LAMBDA_RESPONSE_SIZE_LIMIT = 6 * 1024 * 1024 - 50


@dataclass(frozen=True)
class InitialExecutionState:
    """The first page of an execution's operations, sent with the invocation; `next_marker` pages the rest."""

    operations: list[Operation]
    next_marker: str

    @staticmethod
    def from_dict(input_dict: Mapping[str, Any]) -> InitialExecutionState:
        """Parse the service's shape, timestamps as datetimes (as boto3 returns them)."""
        operations = [Operation.from_dict(item) for item in input_dict.get("Operations") or []]
        return InitialExecutionState(operations, input_dict.get("NextMarker", ""))

    @staticmethod
    def from_json_dict(input_dict: Mapping[str, Any]) -> InitialExecutionState:
        """Parse the service's JSON shape, timestamps as epoch milliseconds (as the invocation payload has them)."""
        operations = [Operation.from_json_dict(item) for item in input_dict.get("Operations") or []]
        return InitialExecutionState(operations, input_dict.get("NextMarker", ""))

    def to_dict(self) -> MutableMapping[str, Any]:
        """The service's shape, timestamps as datetimes."""
        return {"Operations": [op.to_dict() for op in self.operations], "NextMarker": self.next_marker}

    def to_json_dict(self) -> MutableMapping[str, Any]:
        """The service's JSON shape, timestamps as epoch milliseconds."""
        return {"Operations": [op.to_json_dict() for op in self.operations], "NextMarker": self.next_marker}


@dataclass(frozen=True)
class DurableExecutionInvocationInput:
    """What the managed service invokes a durable handler with."""

    durable_execution_arn: str
    checkpoint_token: str
    initial_execution_state: InitialExecutionState
    updated_operation_ids: list[str] = field(default_factory=list, kw_only=True)

    @staticmethod
    def from_dict(input_dict: Mapping[str, Any]) -> DurableExecutionInvocationInput:
        """Parse the payload with datetime timestamps; raises KeyError without an ARN or checkpoint token."""
        return DurableExecutionInvocationInput(
            input_dict["DurableExecutionArn"],
            input_dict["CheckpointToken"],
            InitialExecutionState.from_dict(input_dict.get("InitialExecutionState", {})),
            updated_operation_ids=list(input_dict.get("UpdatedOperationIds", [])),
        )

    @staticmethod
    def from_json_dict(input_dict: Mapping[str, Any]) -> DurableExecutionInvocationInput:
        """Parse the payload as it arrives in the Lambda event (epoch-millisecond timestamps)."""
        return DurableExecutionInvocationInput(
            input_dict["DurableExecutionArn"],
            input_dict["CheckpointToken"],
            InitialExecutionState.from_json_dict(input_dict.get("InitialExecutionState", {})),
            updated_operation_ids=list(input_dict.get("UpdatedOperationIds", [])),
        )

    def to_dict(self) -> MutableMapping[str, Any]:
        """The payload with datetime timestamps."""
        return self._shape(self.initial_execution_state.to_dict())

    def to_json_dict(self) -> MutableMapping[str, Any]:
        """The payload as the Lambda event carries it."""
        return self._shape(self.initial_execution_state.to_json_dict())

    def _shape(self, state: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {
            "DurableExecutionArn": self.durable_execution_arn,
            "CheckpointToken": self.checkpoint_token,
            "InitialExecutionState": state,
            "UpdatedOperationIds": list(self.updated_operation_ids),
        }


@dataclass(frozen=True)
class DurableExecutionInvocationInputWithClient(DurableExecutionInvocationInput):
    """The invocation payload together with the client that checkpoints it."""

    service_client: Any

    @staticmethod
    def from_durable_execution_invocation_input(
        invocation_input: DurableExecutionInvocationInput, service_client: Any
    ) -> DurableExecutionInvocationInputWithClient:
        """`invocation_input` paired with `service_client`."""
        return DurableExecutionInvocationInputWithClient(
            invocation_input.durable_execution_arn,
            invocation_input.checkpoint_token,
            invocation_input.initial_execution_state,
            service_client,
            updated_operation_ids=list(invocation_input.updated_operation_ids),
        )


def handle_checkpoint_error(error: CheckpointError) -> DurableExecutionInvocationOutput:
    """A FAILED invocation output for a checkpoint failure that cannot heal; re-raises one that can.

    Re-raising ends the invocation with an error, so Lambda invokes it again; a client-side failure (a 4xx other
    than throttling) would fail again, so it ends the invocation FAILED with the error recorded.
    """
    if error.is_retryable():
        raise error from None
    return DurableExecutionInvocationOutput(InvocationStatus.FAILED, error=ErrorObject.from_exception(error))
