"""A small, exact evaluator of IAM identity-based policies, for the subset Durable Kit's templates use.

The agreement probe enforces a function's synthesized policy on every call the runtime makes; moto's own IAM
enforcement cannot do that (it authorizes most services against resource "*" and ignores DynamoDB's condition
keys). Anything outside the subset below raises UnsupportedPolicyError when the policy is parsed or a condition is
evaluated, never a silent allow or deny.

Supported:
- Effect Allow/Deny (an applicable Deny wins; no applicable Allow is an implicit deny), Action/NotAction
  (case-insensitive, `*` and `?` wildcards), Resource/NotResource (ARNs matched segment by segment, as ArnLike).
- Condition operators StringEquals, StringLike, ArnEquals, ArnLike, Bool, each optionally `...IfExists`, and the
  set prefixes `ForAllValues:` / `ForAnyValue:`. Several operators, and several keys under one, must all hold;
  several values for one key are alternatives. Condition key names are case-insensitive.
- A key missing from the request makes a plain operator false (true with IfExists); `ForAllValues` over a missing
  or empty key is true (which is why Durable Kit never grants Scan under a LeadingKeys condition), `ForAnyValue`
  over one is false.

Not supported (UnsupportedPolicyError): policy variables (`${...}`), Principal/NotPrincipal (resource policies),
negated, numeric, date, IP and Null operators, and a plain operator on a multi-valued request key.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# A request context value: one string or boolean, or a list of strings for a multi-valued key.
ContextValue = str | bool | Sequence[str]

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
_OPERATORS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool"}
_SET_PREFIXES = ("ForAllValues", "ForAnyValue")


class UnsupportedPolicyError(ValueError):
    """The policy uses something this evaluator does not implement: evaluating it would be a guess."""


class Decision(enum.Enum):
    """IAM's three outcomes for one request against identity-based policies."""

    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> ContextValue | None:
        """The context value of `key` (condition key names are case-insensitive), None when absent."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: `*` is any run of characters (also none), `?` exactly one."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_like(pattern: str, value: str) -> bool:
    """StringLike: case-sensitive, with `*` and `?` wildcards."""
    return _wildcard(pattern, ignore_case=False).match(value) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike (and Resource): each of the six colon-separated parts matched on its own, wildcards within a part.

    The sixth part (the resource) keeps its own colons and slashes, so `function:name:*` matches every version of
    a function, while `*` in an earlier part cannot reach into the next one. A bare `*` matches every ARN.
    """
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(string_like(part, value) for part, value in zip(wanted, actual, strict=True))


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive, with wildcards (`dynamodb:*`, `s3:Get*`)."""
    return _wildcard(pattern, ignore_case=True).match(action) is not None


@dataclass(frozen=True)
class Condition:
    """One operator applied to one key: `ForAllValues:StringLike {"dynamodb:LeadingKeys": [...]}`."""

    operator: str
    set_operator: str | None
    if_exists: bool
    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, operator: str, key: str, values: Any) -> Condition:
        """Validate one operator/key/values entry of a Condition block."""
        set_operator, _, base = operator.rpartition(":")
        if set_operator and set_operator not in _SET_PREFIXES:
            raise UnsupportedPolicyError(f"condition set operator {set_operator!r} in {operator!r}")
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise UnsupportedPolicyError(f"condition operator {operator!r} (supported: {sorted(_OPERATORS)})")
        listed = values if isinstance(values, list) else [values]
        if not listed or not all(isinstance(value, str | bool) for value in listed):
            raise UnsupportedPolicyError(f"condition {operator} {key}: values must be strings, got {values!r}")
        texts = tuple(str(value).lower() if isinstance(value, bool) else value for value in listed)
        _refuse_variables(texts)
        return cls(base, set_operator or None, if_exists, key, texts)

    def holds(self, request: Request) -> bool:
        """Whether the request satisfies this condition."""
        value = request.value(self.key)
        if self.set_operator is not None:
            members = _members(value)
            if not members:
                # ForAllValues over nothing is vacuously true; ForAnyValue over nothing has no member that matches.
                return self.if_exists or self.set_operator == "ForAllValues"
            matched = [self._matches_any(member) for member in members]
            return all(matched) if self.set_operator == "ForAllValues" else any(matched)
        if value is None:
            return self.if_exists
        if not isinstance(value, str | bool):
            raise UnsupportedPolicyError(
                f"{self.operator} on the multi-valued key {self.key} needs ForAllValues: or ForAnyValue:"
            )
        return self._matches_any(value)

    def _matches_any(self, value: str | bool) -> bool:
        if self.operator == "Bool":
            text = str(value).lower()
            return any(text == wanted.lower() for wanted in self.values)
        if not isinstance(value, str):
            return False
        if self.operator == "StringEquals":
            return value in self.values
        if self.operator == "StringLike":
            return any(string_like(pattern, value) for pattern in self.values)
        # ArnEquals and ArnLike are documented alike: per-part matching with wildcards.
        return any(arn_like(pattern, value) for pattern in self.values)


def _members(value: ContextValue | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, bool):
        return (str(value).lower(),)
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Statement:
    """One statement of an identity-based policy."""

    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    @classmethod
    def parse(cls, statement: Mapping[str, Any]) -> Statement:
        """Validate one statement; anything this evaluator cannot judge exactly raises UnsupportedPolicyError."""
        unknown = set(statement) - _STATEMENT_KEYS
        if unknown:
            raise UnsupportedPolicyError(f"statement keys {sorted(unknown)} (an identity policy has no Principal)")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicyError(f"Effect {effect!r}")
        actions, not_action = _one_of(statement, "Action", "NotAction")
        resources, not_resource = _one_of(statement, "Resource", "NotResource")
        _refuse_variables(resources)
        conditions = tuple(
            Condition.parse(operator, key, values)
            for operator, block in _mapping(statement.get("Condition", {}), "Condition").items()
            for key, values in _mapping(block, operator).items()
        )
        return cls(effect, actions, not_action, resources, not_resource, conditions)

    def applies(self, request: Request) -> bool:
        """Action, resource and every condition match the request."""
        action_listed = any(action_matches(pattern, request.action) for pattern in self.actions)
        resource_listed = any(arn_like(pattern, request.resource) for pattern in self.resources)
        return (
            action_listed != self.not_action
            and resource_listed != self.not_resource
            and all(condition.holds(request) for condition in self.conditions)
        )


def _one_of(statement: Mapping[str, Any], positive: str, negative: str) -> tuple[tuple[str, ...], bool]:
    if (positive in statement) == (negative in statement):
        raise UnsupportedPolicyError(f"a statement needs exactly one of {positive} and {negative}: {dict(statement)}")
    negated = negative in statement
    value = statement[negative if negated else positive]
    listed = value if isinstance(value, list) else [value]
    if not listed or not all(isinstance(item, str) for item in listed):
        raise UnsupportedPolicyError(f"{negative if negated else positive} must be strings (resolved), got {value!r}")
    return tuple(listed), negated


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnsupportedPolicyError(f"{where} must be an object, got {value!r}")
    return value


def _refuse_variables(values: Iterable[str]) -> None:
    for value in values:
        if "${" in value:
            raise UnsupportedPolicyError(f"policy variable in {value!r}")


@dataclass(frozen=True)
class Policy:
    """A parsed identity-based policy document."""

    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Policy:
        """Validate a policy document (Version 2012-10-17, one statement or a list of them)."""
        if document.get("Version") != "2012-10-17":
            raise UnsupportedPolicyError(f"policy Version {document.get('Version')!r}; only 2012-10-17 is evaluated")
        unknown = set(document) - {"Version", "Id", "Statement"}
        if unknown:
            raise UnsupportedPolicyError(f"policy keys {sorted(unknown)}")
        statements = document.get("Statement", [])
        listed = statements if isinstance(statements, list) else [statements]
        return cls(tuple(Statement.parse(_mapping(statement, "Statement")) for statement in listed))


def evaluate(policies: Iterable[Policy], request: Request) -> Decision:
    """IAM's decision for `request` given a principal's identity-based policies (no resource policy, no SCP)."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies(request):
                continue
            if statement.effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
