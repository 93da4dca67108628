"""Operation identity: deterministic operation ids and the identity check replay runs before using a record."""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine.ids import operation_id
from .exceptions import NonDeterministicExecutionError
from .journal.records import OperationType
from .lambda_service import Operation

__all__ = ["Operation", "OperationIdNamespace", "OperationIdentifier", "OperationType"]


@dataclass(frozen=True)
class OperationIdNamespace:
    """The ids of one context's operations: the n-th operation's id depends only on the context and n."""

    prefix: str | None = None

    def create_id_for_step(self, step: int) -> str:
        """The id of operation number `step` (from 1) in this context."""
        return operation_id(step, self.prefix)


@dataclass(frozen=True)
class OperationIdentifier:
    """Who an operation is: id, recorded sub-type, parent context, name and kind."""

    operation_id: str
    sub_type: str
    parent_id: str | None = None
    name: str | None = None
    operation_type: OperationType = field(kw_only=True)

    @property
    def type(self) -> OperationType:
        """The operation's kind."""
        return self.operation_type

    def validate_checkpoint(self, checkpoint: Operation | None) -> None:
        """Raise `NonDeterministicExecutionError` when `checkpoint` was recorded by a different operation."""
        if not isinstance(checkpoint, Operation):
            return
        recorded = (
            checkpoint.operation_type,
            checkpoint.sub_type,
            checkpoint.name or None,
            checkpoint.parent_id or None,
        )
        current = (self.operation_type, self.sub_type, self.name or None, self.parent_id or None)
        differences = [
            f"{label} recorded={was!r} now={now!r}"
            for label, was, now in zip(("type", "sub_type", "name", "parent_id"), recorded, current, strict=True)
            if was != now
        ]
        if differences:
            raise NonDeterministicExecutionError(
                f"Operation {self.operation_id!r} does not match its recorded identity: {', '.join(differences)}",
                step_id=self.operation_id,
            )
