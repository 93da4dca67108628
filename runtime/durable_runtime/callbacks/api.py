"""The callback endpoint: API Gateway proxy events for POST /durable-execution-callbacks/{CallbackId}/<action>.

Deployed as its own function (the engine's callback handler, handler string
`durable_runtime.callbacks.api.handler`). Answers 200 on success; 404 for an unknown or forged id; 409 when the
callback or its execution is closed; 400 for a malformed body; 405 for another method; 413 for a body over the
limit. Every answer has a JSON body, and a rejection changes nothing.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from .. import contract as c
from ..exceptions import ErrorObject
from .completion import (
    MAX_RESULT_BYTES,
    CallbackNotFound,
    CallbackPayloadTooLarge,
    CallbackRejected,
    send_failure,
    send_heartbeat,
    send_success,
)

log = logging.getLogger("durable_runtime.callbacks")

_FAILURE_FIELDS = ("ErrorType", "ErrorMessage", "ErrorData")


class _MethodNotAllowed(CallbackRejected):
    status = 405
    code = "MethodNotAllowed"


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _route(event: dict[str, Any]) -> tuple[str, str]:
    """The callback id and action, from the path parameters or the path itself."""
    params = event.get("pathParameters")
    params = params if isinstance(params, dict) else {}
    path = str(event.get("path") or "")
    parts = [part for part in path.split("/") if part]
    callback_id, action = params.get("CallbackId"), None
    if len(parts) == 3 and "/" + parts[0] == c.CALLBACK_ROUTE_PREFIX:
        callback_id, action = callback_id or parts[1], parts[2]
    if not callback_id or action not in c.CALLBACK_ACTIONS:
        raise CallbackNotFound(
            f"no such route {path!r}: use POST {c.CALLBACK_ROUTE_PREFIX}/{{CallbackId}}/succeed|fail|heartbeat"
        )
    return str(callback_id), str(action)


def _body(event: dict[str, Any]) -> str | None:
    body = event.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise CallbackRejected("the request body must be text")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode()
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text (which b64decode refuses)
            raise CallbackRejected("the request body is not valid base64-encoded UTF-8") from None
    if len(body.encode()) > MAX_RESULT_BYTES:
        raise CallbackPayloadTooLarge(f"the body is {len(body.encode())} bytes; the limit is {MAX_RESULT_BYTES}")
    return body


def _failure(body: str | None) -> ErrorObject:
    """Read `{"ErrorType", "ErrorMessage", "ErrorData", "StackTrace"}` (all optional) from a fail body."""
    if not body:
        return ErrorObject(None, None, None, None)
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise CallbackRejected(
            'a fail body must be JSON: {"ErrorType", "ErrorMessage", "ErrorData", "StackTrace"}'
        ) from None
    if not isinstance(document, dict):
        raise CallbackRejected("a fail body must be a JSON object")
    for field in _FAILURE_FIELDS:
        if field in document and not isinstance(document[field], str | type(None)):
            raise CallbackRejected(f"{field} must be a string")
    trace = document.get("StackTrace")
    if trace is not None and not (isinstance(trace, list) and all(isinstance(line, str) for line in trace)):
        raise CallbackRejected("StackTrace must be a list of strings")
    return ErrorObject.from_dict(document)


def handle(event: Any, services: Any) -> dict[str, Any]:
    """Answer one proxy event with the given engine services."""
    try:
        if not isinstance(event, dict):
            raise CallbackRejected("not an API Gateway proxy event")
        callback_id, action = _route(event)
        if str(event.get("httpMethod", "")).upper() != "POST":
            raise _MethodNotAllowed(f"use POST, not {event.get('httpMethod')!r}")
        body = _body(event)
        if action == "succeed":
            send_success(services, callback_id, body)
        elif action == "fail":
            send_failure(services, callback_id, _failure(body))
        else:
            send_heartbeat(services, callback_id)
    except CallbackRejected as rejected:
        log.info("callback request rejected: %s %s", rejected.status, rejected.code)
        return _response(rejected.status, {"error": rejected.code, "message": str(rejected)})
    return _response(200, {"status": "OK"})


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    from ..engine.services import current_services

    return handle(event, current_services())
