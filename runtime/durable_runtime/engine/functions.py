"""Lambda as the engine sees it: describe a function, invoke a version; a small interface with an AWS implementation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..contract import ENV_JOURNAL_TABLE
from ..exceptions import ValidationError


class FunctionNotFound(ValidationError):  # noqa: N818 - read as "the function was not found"
    """The function (or the version or alias) a caller named does not exist."""


@dataclass(frozen=True)
class FunctionDescription:
    """A function version as GetFunction describes it: its ARN, the version a name or alias resolved to, and its
    environment (for a durable function: its engine's resources and the limits of its executions)."""

    function_arn: str  # unqualified
    version: str
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_durable(self) -> bool:
        """True for a function deployed with a journal in its environment (DurableFunction sets it)."""
        return ENV_JOURNAL_TABLE in self.environment

    @property
    def qualified_arn(self) -> str:
        """The ARN of exactly this version."""
        return f"{self.function_arn}:{self.version}"


@dataclass(frozen=True)
class InvokeResponse:
    """What a synchronous invoke returned: the payload text, and the error type when the function failed."""

    payload: str
    function_error: str | None = None


class LambdaInvoker(Protocol):
    """Describes functions and invokes their versions."""

    def describe(self, function: str) -> FunctionDescription:
        """The version a function name or ARN (maybe version- or alias-qualified) points to, with its environment.

        Raises FunctionNotFound when there is no such function, version or alias.
        """
        ...

    def invoke_async(self, qualified_function_arn: str, event: dict[str, Any]) -> None:
        """Queue an asynchronous invoke of the exact version named."""
        ...

    def invoke_sync(self, qualified_function_arn: str, payload: str, tenant_id: str | None) -> InvokeResponse:
        """Invoke and wait for the response."""
        ...


class AwsLambdaInvoker:
    """LambdaInvoker on boto3's Lambda client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def describe(self, function: str) -> FunctionDescription:
        """One GetFunction: unqualified means $LATEST, an alias means the version it points to."""
        try:
            configuration = self._client.get_function(FunctionName=function)["Configuration"]
        except self._client.exceptions.ResourceNotFoundException as error:
            raise FunctionNotFound(f"no function {function!r}: {error}") from error
        arn = ":".join(configuration["FunctionArn"].split(":")[:7])
        environment = configuration.get("Environment", {}).get("Variables", {})
        return FunctionDescription(arn, configuration.get("Version", "$LATEST"), dict(environment))

    def invoke_async(self, qualified_function_arn: str, event: dict[str, Any]) -> None:
        """InvocationType=Event, so Lambda retries and the failure destination apply."""
        self._client.invoke(
            FunctionName=qualified_function_arn, InvocationType="Event", Payload=json.dumps(event).encode()
        )

    def invoke_sync(self, qualified_function_arn: str, payload: str, tenant_id: str | None) -> InvokeResponse:
        """RequestResponse invoke; a function error comes back in the FunctionError field."""
        extra = {"TenantId": tenant_id} if tenant_id else {}
        response = self._client.invoke(
            FunctionName=qualified_function_arn, InvocationType="RequestResponse", Payload=payload.encode(), **extra
        )
        return InvokeResponse(response["Payload"].read().decode(), response.get("FunctionError"))
