"""The `durable` commands: each parses its arguments, makes one or a few DurableClient calls, prints the answer."""

from __future__ import annotations

import datetime
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from .table import HistoryTable, header

EXIT_OK = 0
EXIT_REFUSED = 1  # the service refused the call: not found, conflict, invalid input
EXIT_EXECUTION_FAILED = 3  # watch/start --wait: the execution closed FAILED, TIMED_OUT or STOPPED
_OPEN = ("RUNNING", "PAUSING", "PAUSED")

Command = Callable[[Any], int]


def backend_of(args: Any) -> Any:
    """The backend the global options choose: the dev server at --endpoint, else AWS."""
    from .backends import AwsBackend, EndpointBackend

    if args.endpoint:
        return EndpointBackend(args.endpoint, args.region)
    return AwsBackend(args.function, args.region)


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    if hasattr(value, "read"):
        return value.read().decode()
    raise TypeError(type(value).__name__)


def _json_arg(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    from .backends import CliError

    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        message = f"InvalidParameterValueException: {what} is not JSON ({error.msg}); quote strings: '\"x\"'"
        raise CliError(message) from None
    return text


def _when(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC).isoformat(timespec="seconds")
    return ""


# region commands
def start(args: Any) -> int:
    backend = backend_of(args)
    payload = _json_arg(args.input, "--input") or "{}"
    options = {"execution_timeout": args.timeout, "business_key": args.business_key}
    started = backend.call(
        "start_execution",
        function=args.function_name,
        input=payload,
        execution_name=args.name,
        **{k: v for k, v in options.items() if v},
    )
    arn = started["DurableExecutionArn"]
    if args.json and not args.wait:
        _print_json(started)
    else:
        print(arn)
    return _watch(backend, arn, args, quiet=True) if args.wait else EXIT_OK


def list_executions(args: Any) -> int:
    params: dict[str, Any] = {"FunctionName": args.function_name, "ReverseOrder": True, "MaxItems": args.max}
    if args.status:
        params["Statuses"] = args.status
    if args.business_key:
        params["BusinessKey"] = args.business_key
    listed = backend_of(args).call("list_durable_executions_by_function", **params)
    if args.json:
        _print_json(listed)
        return EXIT_OK
    for execution in listed.get("DurableExecutions", []):
        print(
            f"{execution['Status']:<10} {_when(execution.get('StartTimestamp')):<26} {execution['DurableExecutionArn']}"
        )
    return EXIT_OK


def describe(args: Any) -> int:
    execution = backend_of(args).call("get_durable_execution", DurableExecutionArn=args.arn)
    if args.json:
        _print_json(execution)
        return EXIT_OK
    print(f"{execution['DurableExecutionName']}  {execution['Status']}")
    print(f"  arn      {execution['DurableExecutionArn']}")
    print(f"  started  {_when(execution.get('StartTimestamp'))}")
    if execution.get("EndTimestamp"):
        print(f"  ended    {_when(execution.get('EndTimestamp'))}")
    for label, key in (("input", "InputPayload"), ("result", "Result"), ("business", "BusinessKey")):
        if execution.get(key) is not None:
            print(f"  {label:<8} {execution[key]}")
    if execution.get("Error"):
        error = execution["Error"]
        print(f"  error    {error.get('ErrorType')}: {error.get('ErrorMessage')}")
    return EXIT_OK


def history(args: Any) -> int:
    events = _events(backend_of(args), args.arn, include_data=args.json)
    if args.json:
        _print_json({"Events": events})
        return EXIT_OK
    print(header())
    for line in HistoryTable().new_lines(events):
        print(line)
    return EXIT_OK


def _events(backend: Any, arn: str, *, include_data: bool = False) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    marker = None
    while True:
        params = {"DurableExecutionArn": arn, "IncludeExecutionData": include_data}
        page = backend.call("get_durable_execution_history", **params, **({"Marker": marker} if marker else {}))
        events.extend(page.get("Events", []))
        marker = page.get("NextMarker")
        if not marker:
            return events


def watch(args: Any) -> int:
    return _watch(backend_of(args), args.arn, args)


def _watch(backend: Any, arn: str, args: Any, *, quiet: bool = False) -> int:
    """Print new history lines until the execution closes; exit 0 if it succeeded, 3 otherwise."""
    table = HistoryTable()
    if not quiet:
        print(header())
    deadline = time.monotonic() + args.timeout_seconds if getattr(args, "timeout_seconds", None) else None
    while True:
        execution = backend.call("get_durable_execution", DurableExecutionArn=arn)
        for line in table.new_lines(_events(backend, arn)):
            if not quiet:
                print(line, flush=True)
        status = execution["Status"]
        if status not in _OPEN:
            print(f"{status}{': ' + str(execution.get('Result')) if execution.get('Result') else ''}")
            return EXIT_OK if status == "SUCCEEDED" else EXIT_EXECUTION_FAILED
        if deadline is not None and time.monotonic() > deadline:
            print(f"still {status} after {args.timeout_seconds} s", file=sys.stderr)
            return EXIT_REFUSED
        time.sleep(args.interval)


def callback(args: Any) -> int:
    backend = backend_of(args)
    if args.outcome == "succeed":
        payload = _json_arg(args.payload, "--payload") or ""
        backend.call("send_durable_execution_callback_success", CallbackId=args.callback_id, Result=payload.encode())
    elif args.outcome == "fail":
        error = {"ErrorType": args.error_type, "ErrorMessage": args.payload or "failed from the durable CLI"}
        backend.call("send_durable_execution_callback_failure", CallbackId=args.callback_id, Error=error)
    else:
        backend.call("send_durable_execution_callback_heartbeat", CallbackId=args.callback_id)
    print(f"callback {args.outcome}: ok")
    return EXIT_OK


def operate(args: Any) -> int:
    backend = backend_of(args)
    arn = args.arn
    if args.command == "stop":
        error = {"ErrorType": "StoppedFromCli", "ErrorMessage": args.reason} if args.reason else None
        response = backend.call(
            "stop_durable_execution", DurableExecutionArn=arn, **({"Error": error} if error else {})
        )
    elif args.command == "pause":
        response = backend.call(
            "pause_durable_execution",
            DurableExecutionArn=arn,
            Reason=args.reason,
            ExecutionTimeoutPaused=not args.keep_timeout_running,
        )
    elif args.command == "resume":
        response = backend.call("resume_durable_execution", DurableExecutionArn=arn, Reason=args.reason)
    elif args.command == "redrive":
        response = backend.call("redrive_durable_execution", DurableExecutionArn=arn, Qualifier=args.qualifier)
        arn = response.get("DurableExecutionArn", arn)
    else:
        response = backend.call("delete_durable_execution", DurableExecutionArn=arn)
    if args.json:
        _print_json(response)
    else:
        print(f"{args.command}: ok  {arn}")
    return EXIT_OK


def export(args: Any) -> int:
    document = backend_of(args).call("export_durable_execution", DurableExecutionArn=args.arn)
    text = json.dumps(document, indent=2, default=_plain)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text + "\n")
    else:
        print(text)
    return EXIT_OK


def replay(args: Any) -> int:
    from ..devserver import load_handler
    from ..testing.time_travel import replay as replay_document

    with open(args.file, encoding="utf-8") as file:
        document = json.load(file)
    result = replay_document(load_handler(args.handler), document, stop_at=args.stop_at)
    print(f"replay: {result.status}")
    if result.stopped_at is not None:
        print(f"stopped at: {result.stopped_at}")
    if result.result is not None:
        print(f"result: {result.result}")
    if result.result is not None:
        print(f"result: {result.result}")
    return EXIT_OK


def dev(args: Any) -> int:
    from ..devserver import DevServer, function_name_of, load_handler

    functions = {function_name_of(spec): load_handler(spec) for spec in args.handlers}
    server = DevServer(functions, host=args.host, port=args.port, virtual_time=args.virtual_time)
    print(
        f"Durable Kit dev server on {server.url}  (functions: {', '.join(functions)}; "
        f"{'virtual' if args.virtual_time else 'real'} time)",
        flush=True,
    )
    print(f"  web UI {server.url}/   callbacks {server.url}/durable-execution-callbacks/{{id}}/succeed", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    return EXIT_OK


# endregion

COMMANDS: dict[str, Command] = {
    "start": start,
    "list": list_executions,
    "describe": describe,
    "history": history,
    "watch": watch,
    "callback": callback,
    "stop": operate,
    "pause": operate,
    "resume": operate,
    "redrive": operate,
    "delete": operate,
    "export": export,
    "replay": replay,
    "dev": dev,
}


def add_commands(commands: Any) -> None:
    """Each command's arguments."""
    started = commands.add_parser("start", help="start an execution; prints its ARN")
    started.add_argument("function_name", metavar="FUNCTION")
    started.add_argument("--input", help="the event, as JSON (default {})")
    started.add_argument("--name", help="the execution's name (idempotent: the same name and input start once)")
    started.add_argument("--business-key", help="what it is about (an order id), to find it by with list")
    started.add_argument("--timeout", type=int, help="execution timeout in seconds (default: the function's)")
    started.add_argument("--wait", action="store_true", help="wait until it closes (exit 3 unless it succeeded)")
    started.add_argument("--interval", type=float, default=1.0, help=argparse_suppress())
    listed = commands.add_parser("list", help="a function's executions, newest first")
    listed.add_argument("function_name", metavar="FUNCTION")
    listed.add_argument("--status", action="append", help="only these statuses (repeat for several)")
    listed.add_argument("--business-key", help="only those started with this business key")
    listed.add_argument("--max", type=int, default=50, help="at most this many (default 50)")
    for name, text in (
        ("describe", "status, input, result or error"),
        ("history", "the history as a table"),
        ("export", "the whole journal as JSON (for replay)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("arn", metavar="ARN")
    commands.choices["export"].add_argument("--output", "-o", help="write to this file instead of stdout")
    watched = commands.add_parser("watch", help="follow an execution until it closes")
    watched.add_argument("arn", metavar="ARN")
    watched.add_argument("--interval", type=float, default=1.0, help="seconds between looks (default 1)")
    watched.add_argument("--timeout", dest="timeout_seconds", type=float, help="give up after this many seconds")
    answered = commands.add_parser("callback", help="succeed, fail or heartbeat a callback")
    answered.add_argument("outcome", choices=("succeed", "fail", "heartbeat"))
    answered.add_argument("callback_id", metavar="CALLBACK_ID")
    answered.add_argument("--payload", help="succeed: the result (JSON); fail: the error message")
    answered.add_argument("--error-type", default="CallbackFailed", help="fail: the error type")
    for name, text in (
        ("stop", "stop an execution"),
        ("pause", "pause an execution"),
        ("resume", "resume a paused execution"),
        ("redrive", "reopen a failed execution"),
        ("delete", "delete a closed execution's records"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("arn", metavar="ARN")
        if name in ("stop", "pause", "resume"):
            command.add_argument("--reason", help="recorded in the history")
    commands.choices["pause"].add_argument(
        "--keep-timeout-running", action="store_true", help="do not add the time paused to the execution's timeout"
    )
    commands.choices["redrive"].add_argument("--qualifier", help="move to this version or alias (a fix)")
    replayed = commands.add_parser("replay", help="replay an exported execution against your current code")
    replayed.add_argument("file", metavar="FILE")
    replayed.add_argument("--handler", required=True, metavar="MODULE:ATTR")
    replayed.add_argument("--stop-at", help="stop at this operation (name or id)")
    served = commands.add_parser("dev", help="run handlers locally with the web UI and the APIs")
    served.add_argument("handlers", nargs="+", metavar="MODULE:ATTR[=NAME]")
    served.add_argument("--host", default="127.0.0.1")
    served.add_argument("--port", type=int, default=8787)
    served.add_argument("--virtual-time", action="store_true", help="skip idle time (waits end at once)")


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS
