"""Deterministic operation ids and the execution ARN's shape."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from ..exceptions import ValidationError

_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):function:(?P<function>[A-Za-z0-9_-]{1,64})"
    r":(?P<version>[A-Za-z0-9_$-]+)/durable-execution/(?P<name>[A-Za-z0-9_.-]{1,256})/(?P<id>[A-Za-z0-9-]{1,64})$"
)
_EXECUTION_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")


@dataclass(frozen=True)
class IdScheme:
    """How a journal's operation ids are derived: BLAKE2b of a seed, as 64 hex characters.

    The current scheme is the managed service's (the full 64-byte digest, cut to 64 hex characters), so its
    journals replay here. Journals written before issue 10 used a 32-byte digest (a different hash, not a prefix of
    it); an execution started then keeps replaying under the scheme it was started with (see `scheme_of`).
    """

    digest_size: int

    def operation_id(self, counter: int, parent_id: str | None) -> str:
        """The id of the `counter`-th operation (from 1) in a context."""
        return self._hex64(f"{parent_id}-{counter}" if parent_id else f"{counter}")

    def branch_id(self, op_id: str, index: int) -> str:
        """The id of map item / parallel branch `index` (from 0) of operation `op_id`."""
        return self._hex64(f"{op_id}-{index}")

    def _hex64(self, seed: str) -> str:
        return hashlib.blake2b(seed.encode(), digest_size=self.digest_size).hexdigest()[:64]


CURRENT_IDS = IdScheme(64)
LEGACY_IDS = IdScheme(32)


def scheme_of(operation_ids: Collection[str]) -> IdScheme:
    """The scheme a journal's operations were recorded under: the legacy one only if its first operation is there.

    Any journal with operations has the root context's first one, so one look-up tells the schemes apart.
    """
    if LEGACY_IDS.operation_id(1, None) in operation_ids and CURRENT_IDS.operation_id(1, None) not in operation_ids:
        return LEGACY_IDS
    return CURRENT_IDS


def operation_id(counter: int, parent_id: str | None) -> str:
    """Return the id of the `counter`-th operation (from 1) in a context, as the managed service derives it."""
    return CURRENT_IDS.operation_id(counter, parent_id)


def branch_id(op_id: str, index: int) -> str:
    """Return the id of map item / parallel branch `index` (from 0) of operation `op_id`."""
    return CURRENT_IDS.branch_id(op_id, index)


def validate_execution_name(name: str) -> str:
    """Check an execution name against the managed service's rules and return it."""
    if not isinstance(name, str) or not _EXECUTION_NAME_PATTERN.match(name):
        raise ValidationError(
            f"invalid execution name {name!r}: use 1-256 characters from letters, digits, '_', '.' and '-'"
        )
    return name


@dataclass(frozen=True)
class ExecutionArn:
    """A parsed durable execution ARN.

    Shape: `arn:aws:lambda:<region>:<account>:function:<fn>:<version>/durable-execution/<name>/<id>`.
    """

    partition: str
    region: str
    account: str
    function_name: str
    version: str
    execution_name: str
    execution_id: str

    @classmethod
    def parse(cls, arn: str) -> ExecutionArn:
        """Parse an execution ARN, raising ValidationError that shows the expected shape."""
        match = _ARN_PATTERN.match(arn) if isinstance(arn, str) else None
        if match is None:
            raise ValidationError(
                f"not a durable execution ARN: {arn!r}; expected "
                "arn:aws:lambda:<region>:<account>:function:<name>:<version>/durable-execution/<execution-name>/<id>"
            )
        return cls(
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            function_name=match["function"],
            version=match["version"],
            execution_name=match["name"],
            execution_id=match["id"],
        )

    @classmethod
    def for_new_execution(cls, function_arn: str, version: str, execution_name: str) -> ExecutionArn:
        """Build the ARN of an execution; its id derives from the name, so one name means one execution."""
        fn = FunctionArn.parse(function_arn)
        validate_execution_name(execution_name)
        execution_id = hashlib.blake2b(f"{fn.unqualified}/{execution_name}".encode(), digest_size=16).hexdigest()
        return cls(fn.partition, fn.region, fn.account, fn.function_name, version, execution_name, execution_id)

    @property
    def function_arn(self) -> str:
        """The unqualified ARN of the function the execution belongs to."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def qualified_function_arn(self) -> str:
        """The function ARN qualified with the version the execution is pinned to."""
        return f"{self.function_arn}:{self.version}"

    @property
    def journal_key(self) -> str:
        """The journal partition key: the ARN without its version, so a key prefix names one function."""
        return f"{self.function_arn}/durable-execution/{self.execution_name}/{self.execution_id}"

    def __str__(self) -> str:
        return f"{self.qualified_function_arn}/durable-execution/{self.execution_name}/{self.execution_id}"


_FUNCTION_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):function:(?P<function>[A-Za-z0-9_-]{1,64})"
    r"(?::(?P<qualifier>[A-Za-z0-9_$-]+))?$"
)


@dataclass(frozen=True)
class FunctionArn:
    """A parsed Lambda function ARN, optionally qualified with a version or alias."""

    partition: str
    region: str
    account: str
    function_name: str
    qualifier: str | None

    @classmethod
    def parse(cls, arn: str) -> FunctionArn:
        """Parse a function ARN, raising ValidationError that shows the expected shape."""
        match = _FUNCTION_ARN_PATTERN.match(arn) if isinstance(arn, str) else None
        if match is None:
            raise ValidationError(
                f"not a Lambda function ARN: {arn!r}; "
                "expected arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]"
            )
        return cls(match["partition"], match["region"], match["account"], match["function"], match["qualifier"])

    @property
    def unqualified(self) -> str:
        """The ARN without a qualifier."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.function_name}"
