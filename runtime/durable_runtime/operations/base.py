"""The template every operation follows: look up its record, check identity, replay or execute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import NonDeterministicExecutionError, SuspendExecution, TimedSuspendExecution, ValidationError
from ..journal.records import OperationRecord, OperationStatus, OperationType
from ..serdes import deserialize, serialize

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine.state import InvocationState
    from ..serdes import SerDes

T = TypeVar("T")


# The managed service's limit on operation names; a longer name would not fit the journal's records either.
MAX_OPERATION_NAME_LENGTH = 256


@dataclass(frozen=True)
class OperationIdentity:
    """What the code calls now; on replay it must match what was recorded."""

    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or len(self.name) > MAX_OPERATION_NAME_LENGTH):
            shown = self.name[:60] + "..." if isinstance(self.name, str) else repr(self.name)
            raise ValidationError(
                f"operation name {shown!r} is not a string of at most {MAX_OPERATION_NAME_LENGTH} characters "
                f"(got {len(self.name) if isinstance(self.name, str) else type(self.name).__name__}); "
                "use a short name that says what the operation does"
            )

    def describe(self) -> str:
        """A short human description for error messages."""
        label = f"{self.operation_type.value} {self.sub_type or ''}".strip()
        return f"{label} {self.name!r}" if self.name else label

    def new_record(self, status: OperationStatus, **fields: Any) -> OperationRecord:
        """A record of this operation in `status`."""
        return OperationRecord(
            operation_id=self.operation_id,
            operation_type=self.operation_type,
            sub_type=self.sub_type,
            name=self.name,
            parent_id=self.parent_id,
            status=status,
            **fields,
        )

    def verify(self, record: OperationRecord) -> None:
        """Raise NonDeterministicExecutionError when the journal recorded something else at this position."""
        recorded = (record.operation_type, record.sub_type, record.name, record.parent_id)
        current = (self.operation_type, self.sub_type, self.name, self.parent_id)
        if recorded == current:
            return
        raise NonDeterministicExecutionError(
            f"operation {self.operation_id} diverged on replay: the journal recorded "
            f"type={record.operation_type.value} sub_type={record.sub_type} name={record.name!r} "
            f"parent={record.parent_id}, but the code now calls type={self.operation_type.value} "
            f"sub_type={self.sub_type} name={self.name!r} parent={self.parent_id}. Durable handlers must call "
            "the same operations in the same order on every replay: move non-deterministic choices "
            "(time, randomness, external reads) into steps, or start a new execution for changed code.",
            step_id=self.operation_id,
        )


class ReplayBoundary(BaseException):
    """A replay-only invocation reached the operation it stops at, or one whose user code it would have to run.

    A BaseException so no operation's error handling records it: it unwinds the whole invocation.
    """

    def __init__(self, identity: OperationIdentity, record: OperationRecord | None) -> None:
        super().__init__(identity.describe())
        self.identity = identity
        self.record = record


def lookup(state: InvocationState, identity: OperationIdentity) -> OperationRecord | None:
    """The recorded state of the operation, identity-checked."""
    record = state.operation(identity.operation_id)
    stop_at = state.services.settings.replay_stop_at
    if stop_at is not None and stop_at in (identity.operation_id, identity.name):
        if record is not None:
            identity.verify(record)
        raise ReplayBoundary(identity, record)
    if record is not None:
        identity.verify(record)
        # Only a function with plugins has hooks (plugins/state.py); without, this is one attribute lookup.
        hooks = getattr(state, "plugin_hooks", None)
        if hooks is not None:
            hooks.saw_operation(record)
    return record


def run_user_function(
    state: InvocationState,
    identity: OperationIdentity,
    func: Callable[..., T],
    *args: Any,
    attempt: int | None = None,
    replay_children: bool = False,
) -> T:
    """Call an operation's user code; plugins see it start and end."""
    if state.services.settings.replay_only and identity.operation_type is not OperationType.CONTEXT:
        raise ReplayBoundary(identity, state.operation(identity.operation_id))
    hooks = getattr(state, "plugin_hooks", None)
    if hooks is None:
        return func(*args)
    result: T = hooks.run_user_function(identity, func, *args, attempt=attempt, replay_children=replay_children)
    return result


def suspend(
    state: InvocationState, due_at: float | None, reason: str, operation_id: str | None = None
) -> SuspendExecution:
    """Plan a wake-up (when something is due) and return the signal that unwinds the handler.

    The signal carries the due time, so a batch can resume a branch waiting on a timer in the same invocation.
    """
    if due_at is None:
        return SuspendExecution(f"suspended: {reason}")
    state.plan.wake_at(due_at, reason, operation_id)
    return TimedSuspendExecution(f"suspended: {reason}", scheduled_timestamp=due_at)


def encode(state: InvocationState, identity: OperationIdentity, serdes: SerDes | None, value: Any) -> str | None:
    """Serialize an operation's value with its serdes (the default one when None)."""
    return serialize(serdes, value, identity.operation_id, state.arn)


def decode(state: InvocationState, identity: OperationIdentity, serdes: SerDes | None, payload: str | None) -> Any:
    """Deserialize an operation's recorded value."""
    return deserialize(serdes, payload, identity.operation_id, state.arn)


def payload_details(payload: str | None) -> dict[str, Any]:
    """The `Result` part of a succeeded event."""
    return {} if payload is None else {"Result": {"Payload": payload}}
