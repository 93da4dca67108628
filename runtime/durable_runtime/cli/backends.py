"""Where the `durable` CLI sends its calls: AWS through boto3, or a local dev server through its HTTP API.

Both offer DurableClient's method names and shapes, so the commands are written once.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from ..engine.ids import ExecutionArn


class CliError(Exception):
    """A call the service refused (not found, conflict, invalid input): the message says what and why."""


def _translate(error: Exception) -> CliError:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(error).__name__
    message = response.get("Error", {}).get("Message") or str(error)
    return CliError(f"{code}: {message}")


class EndpointBackend:
    """A `durable dev` server: boto3's Lambda client on its endpoint, and its `/durable-kit/` routes for ours."""

    def __init__(self, endpoint: str, region: str | None = None) -> None:
        import boto3

        self.endpoint = endpoint.rstrip("/")
        # The dev server checks no signature; boto3 still wants credentials to sign with.
        self._lambda = boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name=region or "us-west-2",
            aws_access_key_id="dev",
            aws_secret_access_key="dev",
        )

    def call(self, method: str, **params: Any) -> Any:
        """A DurableClient method by name (parameters left as None are not sent, as boto3 wants)."""
        params = {key: value for key, value in params.items() if value is not None}
        ours = getattr(self, f"_{method}", None)
        try:
            if ours is not None:
                return ours(**params)
            return getattr(self._lambda, method)(**params)
        except CliError:
            raise
        except Exception as error:
            if hasattr(error, "response"):
                raise _translate(error) from None
            raise

    def _request(self, path: str, document: dict[str, Any] | None = None, method: str = "POST") -> Any:
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            raise CliError(f"{body.get('__type', error.code)}: {body.get('message', error.reason)}") from None

    def _start_execution(self, function: str, input: str, execution_name: str | None = None, **options: Any) -> Any:  # noqa: A002
        document = {"Input": input, "DurableExecutionName": execution_name}
        if options.get("business_key"):
            document["BusinessKey"] = options["business_key"]
        if options.get("execution_timeout"):
            document["ExecutionTimeout"] = options["execution_timeout"]
        return self._request(f"/durable-kit/functions/{quote(function, safe='')}/executions", document)

    def _get_durable_execution(self, DurableExecutionArn: str) -> Any:  # noqa: N803
        # Over plain HTTP: boto3 drops the fields its model does not know (BusinessKey).
        return self._request(f"/2025-12-01/durable-executions/{quote(DurableExecutionArn, safe='')}", method="GET")

    def _redrive_durable_execution(self, DurableExecutionArn: str, Qualifier: str | None = None) -> Any:  # noqa: N803
        return self._request(
            f"/durable-kit/executions/{quote(DurableExecutionArn, safe='')}/redrive", {"Qualifier": Qualifier}
        )

    def _export_durable_execution(self, DurableExecutionArn: str) -> Any:  # noqa: N803
        return self._request(f"/durable-kit/executions/{quote(DurableExecutionArn, safe='')}/export", method="GET")

    def _list_durable_executions_by_function(self, **params: Any) -> Any:
        if params.get("BusinessKey"):
            function = quote(params["FunctionName"], safe="")
            order = str(params.get("ReverseOrder", False)).lower()
            query = f"?BusinessKey={quote(params['BusinessKey'])}&ReverseOrder={order}"
            return self._request(f"/2025-12-01/functions/{function}/durable-executions{query}", method="GET")
        params.pop("BusinessKey", None)
        return self._lambda.list_durable_executions_by_function(**params)


class AwsBackend:
    """AWS: a DurableClient on the engine of the function named (or the one an ARN or callback id names).

    The function's environment (GetFunctionConfiguration) names its engine's journal and bucket.
    """

    def __init__(self, function: str | None = None, region: str | None = None) -> None:
        import boto3

        self._session = boto3.session.Session(region_name=region)
        self._function = function
        self._clients: dict[str, Any] = {}

    def client_for(self, function: str) -> Any:
        """The DurableClient of `function`'s engine (its environment read once)."""
        from ..client import DurableClient
        from ..engine.services import services_from_environment

        name = self._function or function
        if name not in self._clients:
            configuration = self._session.client("lambda").get_function_configuration(FunctionName=name)
            environment = configuration.get("Environment", {}).get("Variables", {})
            self._clients[name] = DurableClient(services_from_environment(self._session, environment))
        return self._clients[name]

    def call(self, method: str, **params: Any) -> Any:
        """A DurableClient method by name, on the engine of the function the parameters name."""
        try:
            return getattr(self.client_for(_function_of(params)), method)(**params)
        except (LookupError, ValueError) as error:
            raise CliError(f"{type(error).__name__}: {error}") from None
        except Exception as error:
            if hasattr(error, "response"):
                raise _translate(error) from None
            raise


def _function_of(params: dict[str, Any]) -> str:
    """The function a call is about: named, or the one in its execution ARN or callback id."""
    if "function" in params:
        return str(params["function"])
    if "FunctionName" in params:
        return str(params["FunctionName"])
    if "DurableExecutionArn" in params:
        return ExecutionArn.parse(params["DurableExecutionArn"]).function_name
    if "CallbackId" in params:
        from ..callbacks.ids import MalformedCallbackId, decode

        try:
            key = decode(params["CallbackId"]).journal_key
        except MalformedCallbackId:
            raise CliError("InvalidParameterValueException: that is not a callback id") from None
        return key.split(":function:", 1)[1].split("/", 1)[0]
    raise CliError("name the function with --function")
