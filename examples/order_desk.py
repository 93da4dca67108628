"""The order desk: an ordinary Lambda function that looks after the example workflows through DurableClient.

Reviewers answer fraud reviews with it; operators start workflows, look an execution up (status, history, the state
of its operations), list a workflow's executions, stop, pause, resume, redrive and delete one. It is not durable itself:
`DurableFunction.grant_client` gives it the permissions each of these calls needs and the environment DurableClient
reads (see app.py).

Events, one per action:
- `{"action": "start", "function": ..., "input": {...}, "name": ...}`
- `{"action": "review", "callback_id": ..., "decision": "approve" | "reject", "note": ...}`
- `{"action": "describe", "execution_arn": ...}` (status, result, history with data, operations)
- `{"action": "list", "function": ...}` (newest first)
- `{"action": "stop", "execution_arn": ..., "reason": ...}`
- `{"action": "pause" | "resume", "execution_arn": ..., "reason": ...}` (a paused review takes no decision's
  effect until it is resumed), `{"action": "redrive" | "delete", "execution_arn": ...}`
"""

from __future__ import annotations

import json
from typing import Any

from durable_runtime.client import DurableClient


def handle(client: DurableClient, request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one desk request with `client`."""
    action = request.get("action")
    if action == "start":
        return client.start_execution(request["function"], json.dumps(request.get("input")), request.get("name"))
    if action == "review":
        decision = json.dumps({"decision": request["decision"], "note": request.get("note", "")})
        return client.send_durable_execution_callback_success(CallbackId=request["callback_id"], Result=decision)
    if action == "describe":
        arn = request["execution_arn"]
        return {
            **client.get_durable_execution(DurableExecutionArn=arn),
            "Events": client.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)[
                "Events"
            ],
            "Operations": client.get_durable_execution_state(DurableExecutionArn=arn)["Operations"],
        }
    if action == "list":
        return client.list_durable_executions_by_function(FunctionName=request["function"], ReverseOrder=True)
    if action == "stop":
        error = {"ErrorType": "StoppedByDesk", "ErrorMessage": request.get("reason", "stopped at the order desk")}
        return client.stop_durable_execution(DurableExecutionArn=request["execution_arn"], Error=error)
    return _operate(client, action, request)


def _operate(client: DurableClient, action: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Pause, resume, redrive or delete an execution."""
    arn = request.get("execution_arn", "")
    if action == "pause":
        return client.pause_durable_execution(DurableExecutionArn=arn, Reason=request.get("reason"))
    if action == "resume":
        return client.resume_durable_execution(DurableExecutionArn=arn, Reason=request.get("reason"))
    if action == "redrive":
        return client.redrive_durable_execution(DurableExecutionArn=arn)
    if action == "delete":
        return client.delete_durable_execution(DurableExecutionArn=arn)
    raise ValueError(
        f"unknown action {action!r}: use start, review, describe, list, stop, pause, resume, redrive or delete"
    )


def handler(event: dict[str, Any], context: Any) -> Any:
    """Lambda's entry point: DurableClient on the engine named in this function's environment."""
    import boto3

    response = handle(DurableClient(session=boto3.session.Session()), event)
    # Timestamps come back as datetimes, as boto3's do; Lambda returns JSON.
    return json.loads(json.dumps(response, default=str))
