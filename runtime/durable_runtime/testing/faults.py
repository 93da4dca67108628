"""Fault injection: crash an invocation before or after an AWS call, or throttle DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class ProcessExit(BaseException):
    """The simulated death of the Lambda process (os._exit, out of memory); Lambda reports Runtime.ExitError."""


def simulate_process_exit(message: str = "process exited") -> None:
    """Call from a handler or step to kill the current invocation as `os._exit` would, in a local run."""
    raise ProcessExit(message)


class InjectedFault(RuntimeError):  # noqa: N818 - names what it is: a fault the test injected
    """An error the fault plan raised from an AWS call, as a failing dependency would."""


# A predicate on a call's parameters (boto3's keyword arguments), to aim a fault at one kind of request.
Where = Callable[[Mapping[str, Any]], bool]


@dataclass
class _Rule:
    service: str
    operation: str
    when: str  # "before" or "after"
    remaining_skips: int
    remaining_hits: int
    kills_process: bool = True
    where: Where | None = None


@dataclass
class FaultPlan:
    """The faults a runner injects into the AWS calls the runtime makes.

    Operations are boto3 operation names (`UpdateItem`, `PutItem`, `Query`, `SendMessage`, `CreateSchedule`),
    or the local Lambda's (`lambda` `Invoke`, `GetFunction`). `skip` counts only calls that `where` accepts.
    """

    _rules: list[_Rule] = field(default_factory=list)
    _throttles: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Every fault injected so far, described ("crash after dynamodb.PutItem"): a test can check its fault struck.
    fired: list[str] = field(default_factory=list)
    # Called on a simulated crash, from the crashing thread, before it unwinds: the runner stops every write of
    # the invocation at once, as the death of its process would, even from its other threads (batch branches).
    crash_listeners: list[Callable[[], None]] = field(default_factory=list)
    # Invocations (numbered from 0 across every source, in the order they start) delivered twice at once.
    duplicated: set[int] = field(default_factory=set)
    # Invocations delivered once more, this many virtual seconds after their first delivery ended.
    redelivered: dict[int, float] = field(default_factory=dict)

    def crash_before(
        self, service: str, operation: str, *, skip: int = 0, times: int = 1, where: Where | None = None
    ) -> FaultPlan:
        """Kill the invocation just before its (skip+1)-th call of `operation`."""
        self._rules.append(_Rule(service, operation, "before", skip, times, where=where))
        return self

    def crash_after(
        self, service: str, operation: str, *, skip: int = 0, times: int = 1, where: Where | None = None
    ) -> FaultPlan:
        """Kill the invocation just after its (skip+1)-th call of `operation` succeeded."""
        self._rules.append(_Rule(service, operation, "after", skip, times, where=where))
        return self

    def fail_before(
        self, service: str, operation: str, *, skip: int = 0, times: int = 1, where: Where | None = None
    ) -> FaultPlan:
        """Make the (skip+1)-th call of `operation` raise InjectedFault (an exception, not a process death)."""
        self._rules.append(_Rule(service, operation, "before", skip, times, kills_process=False, where=where))
        return self

    def duplicate_delivery(self, number: int) -> FaultPlan:
        """Deliver the `number`-th invocation (from 0) twice at the same moment, with the same event and id."""
        self.duplicated.add(number)
        return self

    def redeliver_late(self, number: int, after_seconds: float = 600.0) -> FaultPlan:
        """Deliver the `number`-th invocation (from 0) again, with the same event and id, `after_seconds` after
        its first delivery ended: an at-least-once source's late duplicate."""
        self.redelivered[number] = after_seconds
        return self

    def throttle(self, operation: str, times: int = 1) -> FaultPlan:
        """Answer the next `times` DynamoDB `operation` calls with ProvisionedThroughputExceededException."""
        self._throttles[operation] = self._throttles.get(operation, 0) + times
        return self

    @contextmanager
    def around(self, service: str, operation: str, params: Mapping[str, Any] | None = None) -> Iterator[None]:
        """Apply the plan to a call that does not go through a boto3 client (the local Lambda's API)."""
        self._before(service, operation, params or {})
        yield
        self._after(service, operation, params or {})

    def count(self, service: str, operation: str) -> int:
        """How many calls of `operation` the runtime made."""
        return sum(1 for call in self.calls if call == (service, operation))

    # region hooks installed on each client
    def install(self, client: Any, service: str) -> None:
        """Attach the hooks to a boto3 client."""
        events = client.meta.events

        def keep_params(params: Any, context: Any, **_: Any) -> None:
            # The call's own keyword arguments: later events only see the serialized HTTP request.
            context["fault_params"] = dict(params)

        def before(model: Any, context: Any, **_: Any) -> None:
            self._before(service, model.name, context.get("fault_params", {}))

        def after(model: Any, context: Any, **_: Any) -> None:
            self._after(service, model.name, context.get("fault_params", {}))

        events.register_first(f"before-parameter-build.{_event_name(client)}", keep_params)
        events.register_first(f"before-call.{_event_name(client)}", before)
        events.register(f"after-call.{_event_name(client)}", after)

    def _before(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        with self._lock:
            self.calls.append((service, operation))
        self._fire(service, operation, "before", params)

    def _after(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        self._fire(service, operation, "after", params)

    def _fire(self, service: str, operation: str, when: str, params: Mapping[str, Any]) -> None:
        rule = self._strike(service, operation, when, params)
        if rule is None:
            return
        if not rule.kills_process:
            raise InjectedFault(f"injected failure of {service}.{operation}")
        # Outside the plan's lock: a listener stops writes under the engine's locks, which a thread waiting for
        # the plan's lock (another invocation's call, a throttle check) may hold.
        for listener in self.crash_listeners:
            listener()
        raise ProcessExit(f"injected crash {when} {service}.{operation}")

    def _strike(self, service: str, operation: str, when: str, params: Mapping[str, Any]) -> _Rule | None:
        """The rule that strikes this call, counted as fired; None if none does."""
        with self._lock:
            for rule in self._rules:
                if (rule.service, rule.operation, rule.when) != (service, operation, when) or rule.remaining_hits <= 0:
                    continue
                if rule.where is not None and not rule.where(params):
                    continue
                if rule.remaining_skips > 0:
                    rule.remaining_skips -= 1
                    continue
                rule.remaining_hits -= 1
                kind = "crash" if rule.kills_process else "failure"
                self.fired.append(f"{kind} {when} {service}.{operation}")
                return rule
        return None

    def throttle_response(self, request: Any) -> Any:
        """A ProvisionedThroughputExceededException response if this DynamoDB request is to be throttled."""
        target = request.headers.get("X-Amz-Target", b"") or b""
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        with self._lock:
            if self._throttles.get(operation, 0) <= 0:
                return None
            self._throttles[operation] -= 1
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse

        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow"}'
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 400, headers, MockRawResponse(body))

    # endregion


@contextmanager
def moto_with_throttling(plan: FaultPlan) -> Iterator[None]:
    """Stand in front of moto's DynamoDB: throttle as `plan` says, and make each request atomic.

    botocore gives every before-send handler the request, so a throttle must stand in front of moto's own
    handler rather than beside it; otherwise moto would apply a write the client is told failed. And moto
    checks a condition and applies the write in separate Python steps, so two threads could both pass a
    condition DynamoDB would let only one pass: one request at a time restores DynamoDB's per-item atomicity.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__
    one_at_a_time = threading.Lock()

    def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if not event_name.startswith("before-send.dynamodb"):
            return original(self, event_name, request, **kwargs)
        response = plan.throttle_response(request)
        if response is not None:
            return response
        with one_at_a_time:
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def _event_name(client: Any) -> str:
    return str(client.meta.service_model.service_id.hyphenize())
