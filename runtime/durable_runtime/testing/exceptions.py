"""The errors the test runner raises, under the official testing SDK's names.

Two families, as the official runner has them: `DurableFunctionsTestError` when a test's look-up or run cannot be
followed (no operation by that name, a run that did not end), and the `AwsApiException`s a service call answers
with when a test asks for something the service would refuse (`ResourceNotFoundException` for an unknown callback,
`InvalidParameterValueException` for a malformed or already-settled one). Each API exception knows its HTTP status
and its AWS-shaped body (`to_dict()`), so a test can assert on what a deployed API would have answered.
"""

# The service API names its errors "...Exception"; keeping those names is the point of this module.
# ruff: noqa: N818

from __future__ import annotations

from typing import Any

__all__ = [
    "AwsApiException",
    "CallbackTimeoutException",
    "DurableFunctionsLocalRunnerError",
    "DurableFunctionsTestError",
    "ExecutionAlreadyStartedException",
    "ExecutionConflictException",
    "IllegalArgumentException",
    "IllegalStateException",
    "InvalidInvocationOutputError",
    "InvalidParameterValueException",
    "InvocationTimeoutExceededError",
    "ResourceNotFoundException",
    "RuntimeException",
    "SerializationError",
    "ServiceException",
    "TooManyRequestsException",
    "UnknownRouteError",
    "api_exception_for_status",
]


class DurableFunctionsLocalRunnerError(Exception):
    """The local runner or its emulated service refused or could not do something."""


class UnknownRouteError(DurableFunctionsLocalRunnerError):
    """A request named a method and path no route answers."""

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(f"no route for {method} {path}")


class SerializationError(DurableFunctionsLocalRunnerError):
    """A request or response could not be encoded or decoded."""


class DurableFunctionsTestError(Exception):
    """A test's look-up found nothing, or a run could not be followed to its end."""


class InvocationTimeoutExceededError(DurableFunctionsTestError):
    """An invocation ran longer than its function's timeout in virtual time (a step that advanced the runner's
    clock past it, say). Lambda would have stopped it there, so the run did not go as it would on AWS."""

    def __init__(self, message: str, request_id: str, seconds: float) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.seconds = seconds


class InvalidInvocationOutputError(DurableFunctionsTestError):
    """A handler returned something that is not an invocation output."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message)


class AwsApiException(DurableFunctionsLocalRunnerError):
    """An error a service API answers with: its HTTP status and its AWS-shaped body."""

    http_status_code: int = 500
    # The body's message key: the service's models spell it "message" for some errors and "Message" for others.
    _message_key = "message"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """The error as the service's JSON body: its type and message."""
        return {"Type": type(self).__name__, self._message_key: self.message}


class InvalidParameterValueException(AwsApiException, ValueError):
    """A parameter is malformed, or names something in a state that does not allow the request."""

    http_status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ResourceNotFoundException(AwsApiException):
    """The execution, callback or function named does not exist."""

    http_status_code = 404
    _message_key = "Message"

    def __init__(self, Message: str) -> None:  # noqa: N803 - the service model's field name
        self.Message = Message
        super().__init__(Message)


class ServiceException(AwsApiException):
    """The service failed on its side."""

    http_status_code = 500
    _message_key = "Message"

    def __init__(self, Message: str) -> None:  # noqa: N803 - the service model's field name
        self.Message = Message
        super().__init__(Message)


class ExecutionAlreadyStartedException(AwsApiException):
    """An execution with this name was already started with different input."""

    http_status_code = 409

    def __init__(self, message: str, DurableExecutionArn: str) -> None:  # noqa: N803 - the service model's field
        self.DurableExecutionArn = DurableExecutionArn
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """The error as the service's JSON body, with the ARN of the execution already started."""
        return {**super().to_dict(), "DurableExecutionArn": self.DurableExecutionArn}


class ExecutionConflictException(AwsApiException):
    """The request conflicts with the execution's current state."""

    http_status_code = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CallbackTimeoutException(AwsApiException):
    """The callback timed out before the request arrived."""

    http_status_code = 408

    def __init__(self, message: str) -> None:
        super().__init__(message)


class TooManyRequestsException(AwsApiException):
    """The request was throttled."""

    http_status_code = 429

    def __init__(self, message: str) -> None:
        super().__init__(message)


class IllegalStateException(AwsApiException):
    """The service reached a state it should not have."""

    http_status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RuntimeException(AwsApiException):
    """An unexpected failure inside the service."""

    http_status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)


class IllegalArgumentException(AwsApiException):
    """An argument is not allowed."""

    http_status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)


_BY_STATUS: dict[int, type[AwsApiException]] = {
    404: ResourceNotFoundException,
    408: CallbackTimeoutException,
    409: InvalidParameterValueException,  # the callback already settled: the official runner's answer
    429: TooManyRequestsException,
}


def api_exception_for_status(status: int, message: str) -> AwsApiException:
    """The exception a service answering `status` with `message` raises in a test (4xx: the caller's mistake)."""
    kind = _BY_STATUS.get(status) or (InvalidParameterValueException if 400 <= status < 500 else ServiceException)
    return kind(message)
