"""`durable dev`: durable handlers run locally, through the production code paths on moto, behind one HTTP port.

The server hosts a local runner (`durable_runtime.testing`: the engine, the DynamoDB journal, timers and the
callback handler on moto, in this process) with each handler registered as a function, and serves on loopback:

- the callback endpoint exactly as API Gateway routes it: `POST /durable-execution-callbacks/{id}/succeed|fail|
  heartbeat`, handed to the real callback handler as a proxy event;
- Lambda's durable-execution API in the HTTP shape boto3 uses (`devserver.api`), so
  `boto3.client("lambda", endpoint_url=URL)` can Invoke (start), get, list, read the history and state of, stop,
  pause, resume and delete executions and answer callbacks; Durable Kit's own calls are under `/durable-kit/`;
- the web UI at `/` (`devserver.pages`).

Time is real by default: a 30-second wait takes 30 seconds. With `virtual_time` idle time is skipped, as in tests.
It needs the testing extra (moto).
"""

from __future__ import annotations

import datetime
import importlib
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .api import LambdaApi, Reply, callback_route, error_reply, reply_for_error
from .pages import execution_href, execution_page, executions_page

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..testing.runner import DurableFunctionTestRunner

__all__ = ["DevServer", "function_name_of", "load_handler"]

DEFAULT_PORT = 8787
# The largest request body the server reads (Lambda's own limit for a synchronous invoke's payload).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# What the dev server's functions accept at most, and give an execution started without a timeout.
_EXECUTION_TIMEOUT_SECONDS = 7 * 86_400


def function_name_of(spec: str) -> str:
    """The function name for `MODULE:ATTR[=NAME]`: NAME, or the module's last part with `_` as `-`."""
    target, _, name = spec.partition("=")
    if name:
        return name
    module = target.partition(":")[0]
    return module.rsplit(".", 1)[-1].replace("_", "-")


def load_handler(spec: str) -> Callable[[Any, Any], Any]:
    """Import the handler `MODULE:ATTR` names (the part before any `=NAME`), from the current directory too."""
    if os.getcwd() not in sys.path:
        # As `python -m` does: the project's own modules (examples.order_workflow) import from where you are.
        sys.path.insert(0, os.getcwd())
    target = spec.partition("=")[0]
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{spec!r} is not MODULE:ATTR[=NAME], e.g. examples.order_workflow:handler")
    handler = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(handler):
        raise ValueError(f"{module_name} has no callable {attribute!r}")
    return handler


class DevServer:
    """The local runner and its HTTP server; `start()` serves in a thread, `close()` stops both."""

    def __init__(
        self,
        functions: dict[str, Callable[[Any, Any], Any]],
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        virtual_time: bool = False,
    ) -> None:
        from ..testing.runner import DurableFunctionTestRunner

        if not functions:
            raise ValueError("give the dev server at least one durable handler (MODULE:ATTR)")
        self.runner: DurableFunctionTestRunner = DurableFunctionTestRunner(
            skip_time=virtual_time, execution_timeout=_EXECUTION_TIMEOUT_SECONDS
        )
        for name, handler in functions.items():
            self.runner.register_durable_function(name, handler, execution_timeout=_EXECUTION_TIMEOUT_SECONDS)
        self.functions = list(functions)
        self.api = LambdaApi(self.runner)
        self._http = ThreadingHTTPServer((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the server listens, e.g. http://127.0.0.1:8787."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Serve in a background thread; returns the URL."""
        self._thread = threading.Thread(target=self._http.serve_forever, name="durable-dev-server", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._http.serve_forever()

    def close(self) -> None:
        """Stop serving, then stop the runner (moto and the driver)."""
        self._http.shutdown()
        self._http.server_close()
        self.runner.close()

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # region the UI's routes
    def ui(self, method: str, path: str, form: dict[str, str]) -> Reply | None:
        """The web UI's reply, or None for a path that is not the UI's."""
        client = self.runner.client
        with self.runner._pump_lock:
            if method == "GET" and path == "/":
                return _html(executions_page(self.functions, self._executions(), _now(self.runner)))
            if method == "GET" and path.startswith("/executions/"):
                arn = unquote(path[len("/executions/") :])
                execution = client.get_durable_execution(DurableExecutionArn=arn)
                operations = client.get_durable_execution_state(DurableExecutionArn=arn)["Operations"]
                events = self.runner.history_wire(arn, include_execution_data=True)["Events"]
                return _html(execution_page(execution, operations, events))
            if method == "POST" and path == "/ui/start":
                started = client.start_execution(form["function"], form.get("input") or "{}", form.get("name") or None)
                return _redirect(execution_href(started["DurableExecutionArn"]))
            if method == "POST" and path.startswith("/ui/executions/"):
                arn, _, action = path[len("/ui/executions/") :].rpartition("/")
                return _redirect(execution_href(self._act(unquote(arn), action)))
            if method == "POST" and path.startswith("/ui/callbacks/"):
                self._answer(unquote(path[len("/ui/callbacks/") :]), form)
                return _redirect(form.get("back") or "/")
        return None

    def _executions(self) -> list[dict[str, Any]]:
        found = []
        for name in self.functions:
            listed = self.runner.client.list_durable_executions_by_function(
                FunctionName=name, ReverseOrder=True, MaxItems=200
            )
            found.extend(listed["DurableExecutions"])
        return sorted(found, key=lambda execution: execution["StartTimestamp"], reverse=True)

    def _act(self, arn: str, action: str) -> str:
        client = self.runner.client
        if action == "stop":
            client.stop_durable_execution(DurableExecutionArn=arn)
        elif action == "pause":
            client.pause_durable_execution(DurableExecutionArn=arn, Reason="paused in the dev server")
        elif action == "resume":
            client.resume_durable_execution(DurableExecutionArn=arn, Reason="resumed in the dev server")
        elif action == "redrive":
            return str(client.redrive_durable_execution(DurableExecutionArn=arn)["DurableExecutionArn"])
        else:
            raise ValueError(f"unknown action {action!r}")
        return arn

    def _answer(self, callback_id: str, form: dict[str, str]) -> None:
        payload = form.get("payload", "")
        if form.get("action") == "fail":
            error = {"ErrorType": "RejectedInDevServer", "ErrorMessage": payload or "failed in the dev server"}
            self.runner.client.send_durable_execution_callback_failure(CallbackId=callback_id, Error=error)
        else:
            self.runner.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=payload)

    # endregion

    def callback_endpoint(self, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The callback route as API Gateway delivers it to the callback handler; None for other paths."""
        route = callback_route(path)
        if route is None:
            return None
        from ..testing.local_engine import callback_proxy_event

        callback_id, action = route
        event = callback_proxy_event(callback_id, action, body.decode() if body else None)
        event["headers"] = {**event["headers"], **headers}
        with self.runner._pump_lock:
            response = self.runner.post_callback_event(event)
        reply_headers = tuple((response.get("headers") or {"Content-Type": "application/json"}).items())
        return Reply(int(response["statusCode"]), str(response.get("body") or "").encode(), reply_headers)


def _now(runner: DurableFunctionTestRunner) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(runner._clock.now(), tz=datetime.UTC)


def _html(page: str) -> Reply:
    return Reply(200, page.encode(), (("Content-Type", "text/html; charset=utf-8"),))


def _redirect(location: str) -> Reply:
    return Reply(303, b"", (("Location", location),))


def _handler_class(server: DevServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = self.headers.get("Content-Length") or "0"
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                if not length.isdigit() or int(length) > MAX_REQUEST_BYTES:
                    # Nothing of the body is read: the connection cannot carry another request after it.
                    self.close_connection = True
                    limit = f"at most {MAX_REQUEST_BYTES} bytes, as a synchronous Lambda invoke"
                    reply = error_reply(413, "RequestTooLargeException", f"the request body must be {limit}")
                else:
                    body = self.rfile.read(int(length)) if int(length) else b""
                    reply = _route(server, method, parts.path, parts.query, headers, body)
            except Exception as error:  # noqa: BLE001 - a request's failure is its reply, never the server's end
                reply = reply_for_error(error) or error_reply(
                    500, "ServiceException", f"{type(error).__name__}: {error}"
                )
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            return  # quiet: the CLI prints what matters

    return Handler


def _route(server: DevServer, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Reply:
    reply = server.api.handle(method, path, query, headers, body)
    if reply is None and method == "POST":
        reply = server.callback_endpoint(path, headers, body)
    if reply is None:
        content_type = headers.get("content-type", "")
        form = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {key: values[-1] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
        reply = server.ui(method, path, form)
        if reply is not None and method == "POST":
            server.runner.drive()
    if reply is None:
        return error_reply(404, "NotFound", f"nothing at {method} {quote(path)}")
    return reply
