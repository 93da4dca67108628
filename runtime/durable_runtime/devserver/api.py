"""The dev server's machine routes: Lambda's durable-execution API in the HTTP shape boto3 uses, and the callback
endpoint as API Gateway delivers it.

`boto3.client("lambda", endpoint_url=DEV_URL)` works against these: Invoke (starts an execution),
GetFunctionConfiguration, Get/List/Stop/Pause/Resume/DeleteDurableExecution, its history and state, and
SendDurableExecutionCallback*. Durable Kit's own calls (redrive, export, start with a business key) are under
`/durable-kit/`, in the same JSON style.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from .. import contract as c
from ..callbacks.completion import CallbackConflict, CallbackNotFound, CallbackPayloadTooLarge
from ..engine.functions import FunctionNotFound
from ..engine.ids import ExecutionArn
from ..engine.lifecycle import ResourceConflictException, ResourceNotFoundException
from ..engine.starting import DurableExecutionAlreadyStartedException
from ..exceptions import ValidationError

if TYPE_CHECKING:
    from ..testing.runner import DurableFunctionTestRunner

DURABLE_API = "/2025-12-01"
FUNCTIONS_API = "/2015-03-31/functions"
OURS = "/durable-kit"
# How long a synchronous Invoke waits for its execution to close before answering PENDING (real seconds).
SYNC_INVOKE_WAIT_SECONDS = 30


@dataclass(frozen=True)
class _AwaitResult:
    """A synchronous Invoke's answer, made once its execution closed (or after a while), outside the lock."""

    arn: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reply:
    """An HTTP response: status, headers, body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


def json_reply(document: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A JSON body; datetimes as epoch seconds, as Lambda's REST API sends timestamps."""
    body = json.dumps(document, default=_epoch).encode()
    return Reply(status, body, (("Content-Type", "application/json"), *headers))


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def error_reply(status: int, code: str, message: str) -> Reply:
    """An error as AWS's REST-JSON services send it: the code in a header and the body, the message in the body."""
    return json_reply({"__type": code, "Type": "User", "message": message}, status, (("x-amzn-ErrorType", code),))


_ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (CallbackNotFound, 404, "ResourceNotFoundException"),
    (CallbackConflict, 409, "ResourceConflictException"),
    (CallbackPayloadTooLarge, 413, "RequestTooLargeException"),
    (ResourceNotFoundException, 404, "ResourceNotFoundException"),
    (FunctionNotFound, 404, "ResourceNotFoundException"),
    (ResourceConflictException, 409, "ResourceConflictException"),
    (DurableExecutionAlreadyStartedException, 409, "DurableExecutionAlreadyStartedException"),
    (ValidationError, 400, "InvalidParameterValueException"),
    (json.JSONDecodeError, 400, "InvalidRequestContentException"),
)


def reply_for_error(error: BaseException) -> Reply | None:
    """The API's answer to an error of the engine's, or None for one that is a server fault."""
    for kind, status, code in _ERRORS:
        if isinstance(error, kind):
            return error_reply(status, code, str(error))
    refused = getattr(error, "status_code", None)  # the runner's callback refusals carry the API's status
    if isinstance(refused, int):
        return error_reply(refused, type(error).__name__, str(error))
    return None


class LambdaApi:
    """Routes one request to the runner's DurableClient (under the runner's lock) and shapes the answer."""

    def __init__(self, runner: DurableFunctionTestRunner) -> None:
        self.runner = runner
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply | _AwaitResult]]] = [
            ("POST", re.compile(rf"{FUNCTIONS_API}/([^/]+)/invocations"), self._invoke),
            ("GET", re.compile(rf"{FUNCTIONS_API}/([^/]+)/configuration"), self._configuration),
            ("GET", re.compile(rf"{DURABLE_API}/functions/([^/]+)/durable-executions"), self._list),
            ("GET", re.compile(rf"{DURABLE_API}/durable-executions/([^/]+)"), self._get),
            ("GET", re.compile(rf"{DURABLE_API}/durable-executions/([^/]+)/history"), self._history),
            ("GET", re.compile(rf"{DURABLE_API}/durable-executions/([^/]+)/state"), self._state),
            ("POST", re.compile(rf"{DURABLE_API}/durable-executions/([^/]+)/(stop|pause|resume)"), self._change),
            ("DELETE", re.compile(rf"{DURABLE_API}/durable-executions/([^/]+)"), self._delete),
            (
                "POST",
                re.compile(rf"{DURABLE_API}/durable-execution-callbacks/([^/]+)/(succeed|fail|heartbeat)"),
                self._callback,
            ),
            ("POST", re.compile(rf"{OURS}/functions/([^/]+)/executions"), self._start),
            ("POST", re.compile(rf"{OURS}/executions/([^/]+)/redrive"), self._redrive),
            ("GET", re.compile(rf"{OURS}/executions/([^/]+)/export"), self._export),
        ]

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply to a request on one of these routes; None when the path is not one of them."""
        for route_method, pattern, action in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                params = {key: values[-1] for key, values in parse_qs(query).items()}
                args = [unquote(group) for group in match.groups()]
                try:
                    with self.runner._pump_lock:
                        reply = action(*args, params=params, headers=headers, body=body)
                except Exception as error:  # the API's errors become its error replies; others propagate
                    shaped = reply_for_error(error)
                    if shaped is None:
                        raise
                    return shaped
                self.runner.drive()
                return self._sync_result(reply) if isinstance(reply, _AwaitResult) else reply
        if path.startswith((DURABLE_API, FUNCTIONS_API, OURS)):
            return error_reply(404, "UnknownOperationException", f"no such operation: {method} {path}")
        return None

    # region Lambda's functions API
    def _invoke(
        self, function: str, *, params: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply | _AwaitResult:
        client = self.runner.client
        name = headers.get("x-amz-durable-execution-name") or str(uuid.uuid4())
        qualified = f"{function}:{params['Qualifier']}" if "Qualifier" in params else function
        started = client.start_execution(qualified, body.decode() or "{}", name)
        arn = started["DurableExecutionArn"]
        version = ExecutionArn.parse(arn).version
        arn_headers = (("X-Amz-Durable-Execution-Arn", arn), ("X-Amz-Executed-Version", version))
        if headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
            return Reply(202, b"", arn_headers)
        return _AwaitResult(arn, arn_headers)

    def _sync_result(self, waiting: _AwaitResult) -> Reply:
        """A synchronous invoke answers with the result if the execution closes soon, else PENDING (as Lambda)."""
        arn, headers = waiting.arn, waiting.headers
        execution = _wait_closed(self.runner, arn, SYNC_INVOKE_WAIT_SECONDS)
        if execution["Status"] == "SUCCEEDED":
            payload = (execution.get("Result") or "null").encode()
            return Reply(200, payload, (("Content-Type", "application/json"), *headers))
        document: dict[str, Any] = {"Status": execution["Status"], "DurableExecutionArn": arn}
        if "Error" in execution:
            document["Error"] = execution["Error"]
        return json_reply(document, 200, headers)

    def _configuration(self, function: str, **_: Any) -> Reply:
        described = self.runner.client.services.invoker.describe(function)
        return json_reply(
            {
                "FunctionName": described.function_arn.rsplit(":", 1)[-1],
                "FunctionArn": described.qualified_arn,
                "Version": described.version,
                "Environment": {"Variables": dict(described.environment)},
            }
        )

    # endregion

    # region durable executions
    def _list(self, function: str, *, params: dict[str, str], **_: Any) -> Reply:
        statuses = params.get("Statuses")
        listed = self.runner.client.list_durable_executions_by_function(
            FunctionName=function,
            Statuses=statuses.split(",") if statuses else None,
            ReverseOrder=params.get("ReverseOrder") == "true",
            Marker=params.get("Marker"),
            MaxItems=int(params.get("MaxItems", "50")),
            DurableExecutionName=params.get("DurableExecutionName"),
            BusinessKey=params.get("BusinessKey"),
        )
        return json_reply(listed)

    def _get(self, arn: str, **_: Any) -> Reply:
        return json_reply(self.runner.client.get_durable_execution(DurableExecutionArn=arn))

    def _history(self, arn: str, *, params: dict[str, str], **_: Any) -> Reply:
        history = self.runner.client.get_durable_execution_history(
            DurableExecutionArn=arn,
            IncludeExecutionData=params.get("IncludeExecutionData") == "true",
            MaxItems=int(params["MaxItems"]) if "MaxItems" in params else None,
            Marker=params.get("Marker"),
            ReverseOrder=params.get("ReverseOrder") == "true",
        )
        # Locally the history shows callback ids whole (the service shows them redacted), so whoever looks can
        # answer a callback from it: the dev server's user is its owner.
        self.runner._restore_callback_ids(arn, history["Events"])
        return json_reply(history)

    def _state(self, arn: str, *, params: dict[str, str], **_: Any) -> Reply:
        state = self.runner.client.get_durable_execution_state(
            DurableExecutionArn=arn,
            Marker=params.get("Marker"),
            MaxItems=int(params["MaxItems"]) if "MaxItems" in params else None,
        )
        return json_reply(state)

    def _change(self, arn: str, action: str, *, body: bytes, **_: Any) -> Reply:
        request = json.loads(body or b"{}")
        client = self.runner.client
        if action == "stop":
            # StopDurableExecution's body is the error itself (its payload member), not an object holding it.
            return json_reply(client.stop_durable_execution(DurableExecutionArn=arn, Error=request or None))
        if action == "pause":
            paused = request.get("ExecutionTimeoutPaused", True)
            client.pause_durable_execution(
                DurableExecutionArn=arn, Reason=request.get("Reason"), ExecutionTimeoutPaused=paused
            )
            return json_reply({}, 202)
        client.resume_durable_execution(DurableExecutionArn=arn, Reason=request.get("Reason"))
        return json_reply({}, 202)

    def _delete(self, arn: str, **_: Any) -> Reply:
        return json_reply(self.runner.client.delete_durable_execution(DurableExecutionArn=arn), 202)

    def _callback(self, callback_id: str, action: str, *, body: bytes, **_: Any) -> Reply:
        client = self.runner.client
        if action == "succeed":
            client.send_durable_execution_callback_success(CallbackId=callback_id, Result=body)
        elif action == "fail":
            client.send_durable_execution_callback_failure(CallbackId=callback_id, Error=json.loads(body or b"{}"))
        else:
            client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
        return json_reply({})

    # endregion

    # region Durable Kit's own
    def _start(self, function: str, *, body: bytes, **_: Any) -> Reply:
        request = json.loads(body or b"{}")
        started = self.runner.client.start_execution(
            function,
            request.get("Input", "{}"),
            request.get("DurableExecutionName"),
            execution_timeout=request.get("ExecutionTimeout"),
            business_key=request.get("BusinessKey"),
        )
        return json_reply(started)

    def _redrive(self, arn: str, *, body: bytes, **_: Any) -> Reply:
        qualifier = json.loads(body or b"{}").get("Qualifier")
        return json_reply(self.runner.client.redrive_durable_execution(DurableExecutionArn=arn, Qualifier=qualifier))

    def _export(self, arn: str, **_: Any) -> Reply:
        return json_reply(self.runner.client.export_durable_execution(DurableExecutionArn=arn))

    # endregion


def _wait_closed(runner: DurableFunctionTestRunner, arn: str, seconds: float) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + seconds
    while True:
        with runner._pump_lock:
            execution = runner.client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] not in ("RUNNING", "PAUSING", "PAUSED") or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def callback_route(path: str) -> tuple[str, str] | None:
    """(callback id, action) of a callback endpoint path, as API Gateway routes it; None for other paths."""
    match = re.fullmatch(rf"{c.CALLBACK_ROUTE_PREFIX}/([^/]+)/(succeed|fail|heartbeat)", path)
    return None if match is None else (unquote(match.group(1)), match.group(2))
