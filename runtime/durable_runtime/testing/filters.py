"""Lambda event filtering (``FilterCriteria``), so local event source mappings deliver what deployed ones would.

Filters are ORed and no filters pass everything [1]. Lambda takes EventBridge's pattern syntax [1][2]: keys AND
and nest like the record, whose other fields are ignored; a leaf lists alternatives. Literals match by JSON type
and text: ``null`` is not ``""``, ``true`` is not ``1``, and ``300`` is not ``300.0`` [1][2] (``{"numeric":
["=", 300]}`` compares values; parsed JSON cannot tell ``300.0`` from ``3.0e2``). A record array matches when any
element does [3]. Operators [4]: ``prefix`` and ``suffix`` (a string or ``{"equals-ignore-case": s}``),
``equals-ignore-case``, ``numeric`` (``=`` or bounds, JSON numbers only: never a DynamoDB ``"N"`` string),
``anything-but`` (a value, all-string or all-number list, or nested string operator; it needs a value present,
of any type), ``exists`` and ``$or`` (two or more sub-patterns). ``exists`` sees leaves only [4]: an object, an
empty array or an absent parent all count as absent, so ``exists: false`` matches them. DynamoDB event sources
filter on ``dynamodb`` only [5]; SQS matches a JSON-object ``body`` as an object [1].

[1] https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
[2] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
[3] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
[4] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
[5] https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Pattern = Mapping[str, Any]
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_IGNORE_CASE = "equals-ignore-case"


def matches(pattern: Pattern, event: Mapping[str, Any]) -> bool:
    """Whether one filter pattern matches one record.

    Args:
        pattern: A filter pattern parsed from JSON, already through ``validate_pattern``.
        event: A DynamoDB stream record, or an SQS message through ``sqs_filter_view``.

    Returns:
        True when Lambda would pass the record to the function.
    """
    for key, rule in pattern.items():
        if key == "$or":
            found = any(matches(branch, event) for branch in rule)
        elif isinstance(rule, Mapping):
            found = any(matches(rule, child) for child in _objects(event.get(key)))
        else:
            found = any(_match_rule(item, _leaves(event[key]) if key in event else []) for item in rule)
        if not found:
            return False
    return True


def matches_any(patterns: Sequence[Pattern], event: Mapping[str, Any]) -> bool:
    """Whether the record reaches the function: any filter matches it, or there are no filters [1]."""
    return not patterns or any(matches(pattern, event) for pattern in patterns)


def sqs_filter_view(message: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the SQS message to match (deliver the original), its ``body`` decoded if a JSON object.

    A plain body stays a string, so an object pattern for ``body`` drops it, and a decoded body is no leaf, so a
    plain pattern drops it: the format-mismatch rule of [1].
    """
    view = dict(message)
    if isinstance(view.get("body"), str):
        try:
            decoded = json.loads(view["body"])
        except ValueError:
            return view
        if isinstance(decoded, dict):
            view["body"] = decoded
    return view


def validate_pattern(pattern: Any) -> None:
    """Reject a filter pattern (parsed from JSON) that Lambda would refuse.

    Raises:
        ValueError: Naming the offending path and why.
    """
    _check_object(pattern, "pattern")


def validate_dynamodb_pattern(pattern: Any) -> None:
    """``validate_pattern``, plus a DynamoDB event source's rule: filter on the ``dynamodb`` key only [5].

    Raises:
        ValueError: When the pattern is malformed, or a top-level key (``$or`` branches too) is not ``dynamodb``.
    """
    validate_pattern(pattern)
    for key, rule in pattern.items():
        if key == "$or":
            for branch in rule:
                validate_dynamodb_pattern(branch)
        elif key != "dynamodb" or not isinstance(rule, Mapping):
            raise ValueError(f"pattern.{key}: a DynamoDB event source filters only on the 'dynamodb' object")


# region Matching
def _objects(value: Any) -> list[Mapping[str, Any]]:
    """What a nested pattern applies to: the object, an array's objects, else an empty object."""
    if isinstance(value, Mapping):
        return [value]
    found: list[Mapping[str, Any]] = []
    if isinstance(value, list):
        found = [item for item in value if isinstance(item, Mapping)]
    return found or [{}]


def _leaves(value: Any) -> list[Any]:
    """The leaf values of a field: itself, an array's scalars, none for an object."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [] if isinstance(value, Mapping) else [value]


def _match_rule(rule: Any, values: list[Any]) -> bool:
    if not isinstance(rule, Mapping):
        return any(_same(rule, value) for value in values)
    ((name, argument),) = rule.items()
    if name == "exists":
        return bool(values) == argument
    return any(_OPERATORS[name](argument, value) for value in values)


def _same(expected: Any, actual: Any) -> bool:
    # Same JSON type and value; int and float differ as 300 and 300.0 do in [1], and True is not 1.
    return type(expected) is type(actual) and expected == actual


def _text(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def run(argument: Any, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if isinstance(argument, Mapping):
            return test(value.lower(), argument[_IGNORE_CASE].lower())
        return test(value, argument)

    return run


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, Mapping):
        ((name, inner),) = argument.items()
        return not any(_OPERATORS[name](item, value) for item in (inner if isinstance(inner, list) else [inner]))
    return not any(_same(item, value) for item in (argument if isinstance(argument, list) else [argument]))


def _numeric(argument: list[Any], value: Any) -> bool:
    pairs = zip(argument[::2], argument[1::2], strict=True)
    return _finite(value) and all(_BOUNDS[op](value, bound) for op, bound in pairs)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": _text(str.startswith),
    "suffix": _text(str.endswith),
    _IGNORE_CASE: _text(lambda value, expected: value.lower() == expected.lower()),
    "anything-but": _anything_but,
    "numeric": _numeric,
}
# endregion


# region Validation
def _check_object(pattern: Any, path: str) -> None:
    if not isinstance(pattern, Mapping) or not pattern:
        raise ValueError(f"{path}: must be a non-empty JSON object, got {pattern!r}")
    for key, rule in pattern.items():
        where = f"{path}.{key}"
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                raise ValueError(f"{where}: must be a list of at least two patterns")
            for index, branch in enumerate(rule):
                _check_object(branch, f"{where}[{index}]")
        elif isinstance(rule, Mapping):
            _check_object(rule, where)
        elif isinstance(rule, list) and rule:
            for item in rule:
                _check_rule(item, where)
        else:
            raise ValueError(f"{where}: a leaf must be a non-empty list of match values, got {rule!r}")


def _check_rule(rule: Any, where: str) -> None:
    if rule is None or isinstance(rule, str | bool) or _finite(rule):
        return
    name = _only_key(rule)
    if name is None:
        raise ValueError(f"{where}: {rule!r} is neither a JSON scalar nor a one-operator object")
    if name not in _OPERATORS and name != "exists":
        raise ValueError(f"{where}: unknown or unsupported operator {name!r}")
    if not _argument_ok(name, rule[name]):
        raise ValueError(f"{where}: invalid argument for {name!r}: {rule[name]!r}")


def _argument_ok(name: str, argument: Any) -> bool:
    inner_name = _only_key(argument)
    inner = argument[inner_name] if inner_name else None
    if name == "exists":
        return isinstance(argument, bool)
    if name == "numeric":
        return _numeric_ok(argument)
    if name in ("prefix", "suffix"):
        return isinstance(argument, str) or (inner_name == _IGNORE_CASE and isinstance(inner, str))
    if name == _IGNORE_CASE:
        return isinstance(argument, str)
    if inner_name is not None:  # anything-but over prefix, suffix or equals-ignore-case
        return inner_name in ("prefix", "suffix", _IGNORE_CASE) and (isinstance(inner, str) or _all(inner, _is_str))
    return isinstance(argument, str) or _finite(argument) or _all(argument, _is_str) or _all(argument, _finite)


def _numeric_ok(argument: Any) -> bool:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        return False
    ops, bounds = argument[::2], argument[1::2]
    if not all(op in _BOUNDS for op in ops) or not all(_finite(bound) for bound in bounds):
        return False
    # One comparison, or a lower bound then an upper one, the lower below the upper.
    return len(ops) == 1 or (ops[0] in (">", ">=") and ops[1] in ("<", "<=") and bounds[0] < bounds[1])


def _only_key(value: Any) -> str | None:
    return next(iter(value)) if isinstance(value, Mapping) and len(value) == 1 else None


def _all(value: Any, test: Callable[[Any], bool]) -> bool:
    return isinstance(value, list) and bool(value) and all(test(item) for item in value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# endregion
