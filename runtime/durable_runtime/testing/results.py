"""What a local run returns: the official testing SDK's result shape, read from the journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ErrorObject
from ..execution import InvocationStatus


class DurableFunctionsTestError(AssertionError):
    """A look-up in a test result found nothing."""


@dataclass(frozen=True)
class Operation:
    """One operation of a finished run, with its children."""

    operation_id: str
    operation_type: str
    status: str
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None
    attempt: int = 0
    result: str | None = None
    error: ErrorObject | None = None
    child_operations: list[Operation] = field(default_factory=list)

    def get_operation_by_name(self, name: str) -> Operation:
        """The child operation called `name`."""
        return _find(self.child_operations, name)

    get_step = get_wait = get_context = get_callback = get_invoke = get_operation_by_name


@dataclass(frozen=True)
class DurableFunctionTestResult:
    """How an execution ended, its result or error, and its operations as a tree."""

    status: InvocationStatus
    operations: list[Operation]
    result: str | None = None
    error: ErrorObject | None = None
    execution_arn: str = ""

    def get_operation_by_name(self, name: str) -> Operation:
        """The top-level operation called `name`."""
        return _find(self.operations, name)

    get_step = get_wait = get_context = get_callback = get_invoke = get_operation_by_name

    def get_all_operations(self) -> list[Operation]:
        """Every operation, nested ones included."""
        found, stack = [], list(self.operations)
        while stack:
            operation = stack.pop()
            found.append(operation)
            stack.extend(operation.child_operations)
        return found


def _find(operations: list[Operation], name: str) -> Operation:
    for operation in operations:
        if operation.name == name:
            return operation
    raise DurableFunctionsTestError(f"no operation named {name!r}; have {[op.name for op in operations]}")


def build_operations(shapes: list[dict[str, Any]]) -> list[Operation]:
    """Turn the API's flat operation list into a tree."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for shape in shapes:
        children.setdefault(shape.get("ParentId"), []).append(shape)

    def build(shape: dict[str, Any]) -> Operation:
        details = shape.get("StepDetails") or shape.get("ContextDetails") or {}
        error = details.get("Error")
        return Operation(
            operation_id=shape["Id"],
            operation_type=shape["Type"],
            status=shape["Status"],
            name=shape.get("Name"),
            parent_id=shape.get("ParentId"),
            sub_type=shape.get("SubType"),
            attempt=details.get("Attempt", 0),
            result=details.get("Result"),
            error=ErrorObject.from_dict(error) if error else None,
            child_operations=[build(child) for child in children.get(shape["Id"], [])],
        )

    return [build(shape) for shape in children.get(None, [])]
