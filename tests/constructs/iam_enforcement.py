"""Enforce a synthesized template's IAM policies on the runtime's calls in a local run.

Three parts: the principals (each role's identity-based policies, read from the template), who is calling (every
thread acts as one principal, inherited by the threads it starts, so a batch branch or a heartbeat acts as its
invocation), and the check itself, a FaultPlan whose hook sees every call of the runtime's clients and of the local
Lambda. A denied call raises the ClientError AWS would answer with; every denial, and every call that cannot be
attributed or mapped, is also recorded, because the runtime may handle an error quietly (a timer hold's failure
only logs a warning) and the test must still see it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iam_policy import Decision, Policy, UnsupportedPolicyError, evaluate
from iam_requests import Account, UnmappedCallError, authorizations

from durable_runtime.testing.faults import FaultPlan

if TYPE_CHECKING:
    from durable_runtime.testing.lambda_service import LocalLambda

_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_ATTRIBUTE = "_agreement_principal"
# What each service answers a denied request with (S3 has its own spelling).
_DENIED_CODES = {"s3": "AccessDenied"}


@dataclass(frozen=True)
class Principal:
    """A role of the template: its logical id, its ARN, and every identity-based policy attached to it."""

    name: str
    arn: str
    policies: tuple[Policy, ...]


def role_policies(
    resources: Mapping[str, Mapping[str, Any]], role_id: str, resolve: Callable[[Any], Any]
) -> tuple[Policy, ...]:
    """The role's inline policies, its template-defined managed policies, and the policies naming it in Roles.

    A managed policy defined outside the template (an AWS managed policy) cannot be evaluated: UnsupportedPolicyError.
    """
    properties = resources[role_id].get("Properties", {})
    documents = [inline["PolicyDocument"] for inline in properties.get("Policies", [])]
    for managed in properties.get("ManagedPolicyArns", []):
        target = resources.get(managed.get("Ref", "")) if isinstance(managed, dict) else None
        if target is None or target["Type"] != "AWS::IAM::ManagedPolicy":
            raise UnsupportedPolicyError(
                f"role {role_id} has the managed policy {managed!r}, not defined in the template"
            )
        documents.append(target["Properties"]["PolicyDocument"])
    for logical_id, resource in resources.items():
        if resource["Type"] not in _POLICY_TYPES:
            continue
        roles = resource["Properties"].get("Roles", [])
        if any(not isinstance(role, dict) or set(role) != {"Ref"} for role in roles):
            raise UnsupportedPolicyError(f"{logical_id} names a role other than by Ref: {roles!r}")
        if {"Ref": role_id} in roles:
            documents.append(resource["Properties"]["PolicyDocument"])
    return tuple(Policy.parse(_fully_resolved(resolve(document), role_id)) for document in documents)


def _fully_resolved(value: Any, where: str) -> Any:
    """Refuse a document with an intrinsic function left after resolution: its ARNs would be guesses."""
    if isinstance(value, list):
        return [_fully_resolved(item, where) for item in value]
    if isinstance(value, dict):
        unresolved = [key for key in value if key == "Ref" or key.startswith("Fn::")]
        if unresolved:
            raise UnsupportedPolicyError(f"a policy of {where} keeps the unresolved {unresolved[0]}: {value!r}")
        return {key: _fully_resolved(item, where) for key, item in value.items()}
    return value


class Principals:
    """Which principal each thread acts as. A new thread acts as the thread that started it.

    Use as a context manager: it wraps `threading.Thread.start` for the block (the probe's process only).
    """

    def __enter__(self) -> Principals:
        original = threading.Thread.start
        self._original_start = original
        current = self.current

        def start(thread: threading.Thread) -> None:
            if not hasattr(thread, _ATTRIBUTE):
                setattr(thread, _ATTRIBUTE, current())
            original(thread)

        threading.Thread.start = start  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_: object) -> None:
        threading.Thread.start = self._original_start  # type: ignore[method-assign]

    @staticmethod
    def current() -> Principal | None:
        """The principal this thread acts as (None: nobody, and any enforced call fails)."""
        principal: Principal | None = getattr(threading.current_thread(), _ATTRIBUTE, None)
        return principal

    @contextmanager
    def acting_as(self, principal: Principal | None) -> Iterator[None]:
        """Act as `principal` on this thread (and threads it starts) until the block ends."""
        thread = threading.current_thread()
        previous = getattr(thread, _ATTRIBUTE, None)
        setattr(thread, _ATTRIBUTE, principal)
        try:
            yield
        finally:
            setattr(thread, _ATTRIBUTE, previous)


class EnforcementError(AssertionError):
    """A call that could not be judged: nobody was acting, or the call has no IAM mapping."""


@dataclass
class Enforcer:
    """Judges each call with the acting principal's policies; records what was allowed and what was not."""

    account: Account
    principals: Principals
    denials: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    allowed: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Raise AWS's AccessDenied ClientError unless the acting principal may make this call."""
        principal = self.principals.current()
        try:
            if principal is None:
                raise EnforcementError(f"{service}.{operation} was called with no principal acting")
            requests = authorizations(self.account, service, operation, params)
        except (EnforcementError, UnmappedCallError) as error:
            with self._lock:
                self.failures.append(str(error))
            raise EnforcementError(str(error)) from error
        for request in requests:
            decision = evaluate(principal.policies, request)
            with self._lock:
                if decision is Decision.ALLOW:
                    self.allowed.setdefault(principal.name, set()).add(f"{request.action} {request.resource}")
                    continue
                self.denials.append(
                    {
                        "principal": principal.name,
                        "call": f"{service}.{operation}",
                        "action": request.action,
                        "resource": request.resource,
                        "context": {key: value for key, value in request.context.items()},
                        "decision": decision.value,
                    }
                )
            raise _access_denied(service, operation, principal, request.action, request.resource, decision)


def _access_denied(
    service: str, operation: str, principal: Principal, action: str, resource: str, decision: Decision
) -> Exception:
    from botocore.exceptions import ClientError

    reason = "an explicit deny" if decision is Decision.EXPLICIT_DENY else "no identity-based policy allows it"
    message = f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} ({reason})"
    body = {
        "Error": {"Code": _DENIED_CODES.get(service, "AccessDeniedException"), "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403 if service == "s3" else 400},
    }
    return ClientError(body, operation)  # type: ignore[arg-type]


@dataclass
class EnforcingPlan(FaultPlan):
    """A fault plan that also enforces IAM: its hook runs before every call of the runtime's clients.

    It extends `_before`, the one hook both the boto3 clients' before-call event and the local Lambda's `around`
    reach; the runner's own clients (its observer, the simulated event sources) carry no plan and stay unchecked.
    """

    enforcer: Enforcer | None = None

    def _before(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        super()._before(service, operation, params)
        if self.enforcer is not None:
            self.enforcer.check(service, operation, params)


def act_in(target: Any, method: str, principals: Principals, principal: Principal) -> None:
    """Make every call of `target.<method>` act as `principal` (the runner's callback posts: the handler's role)."""
    original = getattr(target, method)

    def acting(*args: Any, **kwargs: Any) -> Any:
        with principals.acting_as(principal):
            return original(*args, **kwargs)

    setattr(target, method, acting)


def attribute_invocations(local_lambda: LocalLambda, principals: Principals, roles: Mapping[str, Principal]) -> None:
    """Run each local invocation as the role of the function invoked (`roles`: local function name -> role).

    Every delivery (a queued invoke, a timer batch, a stream batch) goes through `invoke_on_worker`, which starts
    the invocation's threads from the caller's: acting as the role there makes them inherit it. (A plain function
    that a workflow invokes synchronously runs on its caller's thread in the local Lambda, so it would act as its
    caller; the example app has none.)
    """
    original = local_lambda.invoke_on_worker

    def invoke_on_worker(function: str, version: str, event: Any, request_id: str) -> tuple[bool, Any]:
        if function not in roles:
            raise EnforcementError(f"no role is known for the local function {function!r}")
        with principals.acting_as(roles[function]):
            return original(function, version, event, request_id)

    # An instance attribute: LocalLambda.run and the event sources all call it through the instance.
    local_lambda.invoke_on_worker = invoke_on_worker
