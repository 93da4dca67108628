"""Typed operations of a test result, under the official testing SDK's names, and the result itself.

Each kind of operation (step, wait, callback, child context, chained invoke, execution) is a frozen dataclass
with the fields a test asserts on; operations that can hold others (contexts, steps, callbacks) carry their
children in `child_operations`, in the order they were started. The service-shaped `lambda_service.Operation`
is what they are read from, so the enums are the runtime's own (`OperationType`, `OperationStatus`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from ..exceptions import ErrorObject
from ..execution import InvocationStatus
from ..lambda_service import Operation as ServiceOperation
from ..lambda_service import OperationPayload, OperationStatus, OperationType
from .exceptions import DurableFunctionsTestError
from .history_operations import operations_from_history

__all__ = [
    "CallbackOperation",
    "ContextOperation",
    "DurableFunctionTestResult",
    "DurableFunctionsTestError",
    "ExecutionOperation",
    "InvokeOperation",
    "Operation",
    "StepOperation",
    "WaitOperation",
    "build_operations",
    "create_operation",
]


@dataclass(frozen=True)
class Operation:
    """What every operation has: identity, kind, status and when it started and ended."""

    operation_id: str
    operation_type: OperationType
    status: OperationStatus
    parent_id: str | None = field(default=None, kw_only=True)
    name: str | None = field(default=None, kw_only=True)
    sub_type: str | None = field(default=None, kw_only=True)
    start_timestamp: datetime.datetime | None = field(default=None, kw_only=True)
    end_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


class _LookupsByName:
    """Typed look-ups of the operations under something (a result's top level, a context's children) by name."""

    def get_operation_by_name(self, name: str) -> Operation:
        """The first operation called `name`."""
        raise NotImplementedError

    def get_step(self, name: str) -> StepOperation:
        """The step called `name`."""
        return cast(StepOperation, self.get_operation_by_name(name))

    def get_wait(self, name: str) -> WaitOperation:
        """The wait called `name`."""
        return cast(WaitOperation, self.get_operation_by_name(name))

    def get_context(self, name: str) -> ContextOperation:
        """The context called `name`."""
        return cast(ContextOperation, self.get_operation_by_name(name))

    def get_callback(self, name: str) -> CallbackOperation:
        """The callback called `name`."""
        return cast(CallbackOperation, self.get_operation_by_name(name))

    def get_invoke(self, name: str) -> InvokeOperation:
        """The chained invoke called `name`."""
        return cast(InvokeOperation, self.get_operation_by_name(name))

    def get_execution(self, name: str) -> ExecutionOperation:
        """The execution operation called `name`."""
        return cast(ExecutionOperation, self.get_operation_by_name(name))


@dataclass(frozen=True)
class ExecutionOperation(Operation):
    """The execution itself, with its input."""

    input_payload: str | None = None

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> ExecutionOperation:
        """The typed execution operation for a service operation."""
        details = operation.execution_details
        return ExecutionOperation(**_common(operation), input_payload=details.input_payload if details else None)


@dataclass(frozen=True)
class ContextOperation(Operation, _LookupsByName):
    """A child context (run_in_child_context, a map or parallel and their branches, wait_for_callback ...)."""

    child_operations: list[Operation]
    result: OperationPayload | None = None
    error: ErrorObject | None = None

    def get_operation_by_name(self, name: str) -> Operation:
        """The first child operation called `name`."""
        return _first_named(self.child_operations, name, "Child operation")

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> ContextOperation:
        """The typed context for a service operation, with its children from `all_operations`."""
        details = operation.context_details
        return ContextOperation(
            **_common(operation),
            child_operations=_children(operation, all_operations),
            result=details.result if details else None,
            error=details.error if details else None,
        )


@dataclass(frozen=True)
class StepOperation(ContextOperation):
    """A step: its attempt count, when the next attempt is due while retrying, and its outcome."""

    attempt: int = 0
    next_attempt_timestamp: datetime.datetime | None = None

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> StepOperation:
        """The typed step for a service operation, with its children from `all_operations`."""
        details = operation.step_details
        return StepOperation(
            **_common(operation),
            child_operations=_children(operation, all_operations),
            result=details.result if details else None,
            error=details.error if details else None,
            attempt=(details.attempt or 0) if details else 0,
            next_attempt_timestamp=details.next_attempt_timestamp if details else None,
        )


@dataclass(frozen=True)
class WaitOperation(Operation):
    """A wait, and when it is (or was) due to end."""

    scheduled_end_timestamp: datetime.datetime | None = None

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> WaitOperation:
        """The typed wait for a service operation."""
        details = operation.wait_details
        scheduled_end = details.scheduled_end_timestamp if details else None
        return WaitOperation(**_common(operation), scheduled_end_timestamp=scheduled_end)


@dataclass(frozen=True)
class CallbackOperation(ContextOperation):
    """A callback: the id an external system answers with, and the answer."""

    callback_id: str | None = None

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> CallbackOperation:
        """The typed callback for a service operation, with its children from `all_operations`."""
        details = operation.callback_details
        return CallbackOperation(
            **_common(operation),
            child_operations=_children(operation, all_operations),
            result=details.result if details else None,
            error=details.error if details else None,
            callback_id=details.callback_id if details else None,
        )


@dataclass(frozen=True)
class InvokeOperation(Operation):
    """A chained invoke of another function, and its outcome."""

    result: OperationPayload | None = None
    error: ErrorObject | None = None

    @staticmethod
    def from_svc_operation(
        operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
    ) -> InvokeOperation:
        """The typed chained invoke for a service operation."""
        details = operation.chained_invoke_details
        return InvokeOperation(
            **_common(operation),
            result=details.result if details else None,
            error=details.error if details else None,
        )


def _common(op: ServiceOperation) -> dict[str, Any]:
    return {
        "operation_id": op.operation_id,
        "operation_type": op.operation_type,
        "status": op.status,
        "parent_id": op.parent_id,
        "name": op.name,
        "sub_type": op.sub_type,
        "start_timestamp": op.start_timestamp,
        "end_timestamp": op.end_timestamp,
    }


def _children(op: ServiceOperation, every: list[ServiceOperation] | None) -> list[Operation]:
    children = _children_by_parent(every or []).get(op.operation_id, [])
    return [create_operation(child, every) for child in _in_branch_order(op.operation_id, children)]


# The last operation list indexed by parent, with its length when indexed: a tree is built from one list, and
# scanning the whole list for each operation's children made a 4,000-item map's result take seconds.
_indexed: tuple[list[ServiceOperation], int, dict[str | None, list[ServiceOperation]]] | None = None


def _children_by_parent(every: list[ServiceOperation]) -> dict[str | None, list[ServiceOperation]]:
    global _indexed
    cached = _indexed
    if cached is not None and cached[0] is every and cached[1] == len(every):
        return cached[2]
    index: dict[str | None, list[ServiceOperation]] = {}
    for operation in every:
        index.setdefault(operation.parent_id, []).append(operation)
    _indexed = (every, len(every), index)
    return index


def _in_branch_order(parent_id: str, children: list[ServiceOperation]) -> list[ServiceOperation]:
    """A map's or parallel's branches in item order, as the official runner lists them; other children as given.

    Branches run concurrently, so their start order (and timestamps) can differ from run to run; their ids say
    which item each is (under either id scheme, see `engine.ids`).
    """
    from ..engine.ids import CURRENT_IDS, LEGACY_IDS

    wanted = {child.operation_id for child in children}
    for scheme in (CURRENT_IDS, LEGACY_IDS):
        index: dict[str, int] = {}
        # Usually the first len(children) items; a batch that completed early may have skipped some.
        for position in range(_MAX_BRANCHES):
            branch = scheme.branch_id(parent_id, position)
            if branch in wanted:
                index[branch] = position
                if len(index) == len(wanted):
                    return sorted(children, key=lambda child: index[child.operation_id])
            elif position >= len(children) and not index:
                break  # not this scheme's branches (or not branches at all)
    return children


# How far to look for a branch's item number: beyond it, children keep their start order.
_MAX_BRANCHES = 100_000


class OperationFactory(Protocol):
    """Builds a typed operation from a service operation (the official runner's extension point)."""

    @staticmethod
    def from_svc_operation(operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None) -> Any:
        """The typed operation for `operation`; its children are looked up in `all_operations`."""
        ...


# The typed class for each operation type; `create_operation` builds through it, so replacing an entry changes
# how results present that type.
OPERATION_FACTORIES: MutableMapping[OperationType, type[OperationFactory]] = {
    OperationType.EXECUTION: ExecutionOperation,
    OperationType.CONTEXT: ContextOperation,
    OperationType.STEP: StepOperation,
    OperationType.WAIT: WaitOperation,
    OperationType.CALLBACK: CallbackOperation,
    OperationType.CHAINED_INVOKE: InvokeOperation,
}


def create_operation(
    svc_operation: ServiceOperation, all_operations: list[ServiceOperation] | None = None
) -> Operation:
    """The typed operation for a service operation; its children are looked up in `all_operations`."""
    factory = OPERATION_FACTORIES.get(svc_operation.operation_type)
    if factory is None:
        raise DurableFunctionsTestError(f"Unknown operation type: {svc_operation.operation_type}")
    return cast(Operation, factory.from_svc_operation(svc_operation, all_operations or []))


def build_operations(
    shapes: Iterable[Mapping[str, Any]], start_order: Mapping[str, int] | None = None
) -> list[Operation]:
    """The top-level typed operations (the execution left out) of the API's flat operation list, as a tree.

    Operations are ordered by start time; operations started at the same (virtual) instant keep the order in
    which they were started, given as `start_order` (operation id -> rank, from the history), so that order never
    depends on the ids' hash values.
    """
    rank = start_order or {}
    never = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    operations = [ServiceOperation.from_dict(shape) for shape in shapes]
    operations.sort(key=lambda op: (op.start_timestamp or never, rank.get(op.operation_id, len(rank))))
    return [
        create_operation(op, operations)
        for op in operations
        if op.parent_id is None and op.operation_type is not OperationType.EXECUTION
    ]


@dataclass(frozen=True)
class DurableFunctionTestResult(_LookupsByName):
    """How an execution ended, its result (JSON text) or error, and its operations as a tree."""

    status: InvocationStatus
    operations: list[Operation]
    result: OperationPayload | None = None
    error: ErrorObject | None = None
    # The execution's own status (SUCCEEDED, FAILED, TIMED_OUT, STOPPED): `status` folds the last three into FAILED.
    execution_status: str | None = None
    execution_arn: str = field(default="", kw_only=True)

    @classmethod
    def from_execution_state(
        cls,
        execution: Mapping[str, Any],
        state_operations: Iterable[Mapping[str, Any]],
        history_events: Iterable[Mapping[str, Any]],
    ) -> DurableFunctionTestResult:
        """The result of a closed execution from the API's views of it (`GetDurableExecution`, its state's
        operations and its history's events): operations in the order they started, with their callback ids."""
        start_order: dict[str, int] = {}
        callback_ids: dict[str, str] = {}
        for event in history_events:
            if event.get("Id") is not None:
                start_order.setdefault(event["Id"], len(start_order))
            if event.get("CallbackStartedDetails", {}).get("CallbackId"):
                callback_ids[event["Id"]] = event["CallbackStartedDetails"]["CallbackId"]
        shapes = [
            {**shape, "CallbackDetails": {**shape.get("CallbackDetails", {}), "CallbackId": callback_ids[shape["Id"]]}}
            if shape["Id"] in callback_ids
            else shape
            for shape in state_operations
        ]
        status = execution["Status"]
        return cls(
            status=InvocationStatus.SUCCEEDED if status == "SUCCEEDED" else InvocationStatus.FAILED,
            operations=build_operations(shapes, start_order),
            result=execution.get("Result"),
            error=ErrorObject.from_dict(execution["Error"]) if execution.get("Error") else None,
            execution_status=status,
            execution_arn=execution.get("DurableExecutionArn", ""),
        )

    @classmethod
    def from_execution_history(
        cls, execution_response: Mapping[str, Any], history_response: Mapping[str, Any]
    ) -> DurableFunctionTestResult:
        """The result of a closed execution from `GetDurableExecution` and `GetDurableExecutionHistory` responses
        alone (read the history with `IncludeExecutionData=True` to have results and errors in the operations)."""
        events = list(_as_mapping(history_response).get("Events", []))
        return cls.from_execution_state(_as_mapping(execution_response), operations_from_history(events), events)

    @classmethod
    def create(cls, execution: Mapping[str, Any]) -> DurableFunctionTestResult:
        """The result of a closed execution given as one document: the `GetDurableExecution` fields with the
        state's `Operations` and the history's `Events` (either may be missing; operations are then rebuilt from
        the events)."""
        execution = _as_mapping(execution)
        events = list(execution.get("Events", []))
        operations = execution.get("Operations")
        return cls.from_execution_state(
            execution, operations_from_history(events) if operations is None else operations, events
        )

    def get_operation_by_name(self, name: str) -> Operation:
        """The first top-level operation called `name`."""
        return _first_named(self.operations, name, "Operation")

    def get_all_operations(self) -> list[Operation]:
        """Every operation, nested ones included."""
        found: list[Operation] = []
        stack = list(self.operations)
        while stack:
            operation = stack.pop()
            found.append(operation)
            stack.extend(getattr(operation, "child_operations", None) or [])
        return found


def _as_mapping(response: Any) -> Mapping[str, Any]:
    # The official factories take the testing SDK's response models; their `to_dict()` is the API's shape.
    return cast("Mapping[str, Any]", response if isinstance(response, Mapping) else response.to_dict())


def _first_named(operations: list[Operation], name: str, what: str) -> Operation:
    for operation in operations:
        if operation.name == name:
            return operation
    raise DurableFunctionsTestError(f"{what} with name {name!r} not found; have {[op.name for op in operations]}")
