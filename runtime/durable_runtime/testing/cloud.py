"""DurableFunctionCloudTestRunner: the official runner's calls against a deployed durable function.

It talks to the deployed engine through `durable_runtime.client.DurableClient` (the engine's journal, bucket and
functions, named by the environment the constructs set, as for any client of a deployed engine): it starts an
execution, polls its state and history, answers callbacks and reads the result. One difference from the managed
service is deliberate and shows here: the engine's history names a callback without the secret that completes
it, so `wait_for_callback` can tell that a callback is waiting but cannot hand out an id that answers it; the
handler must pass its callback ids to the test (as it would to the real external system).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from .history import GetDurableExecutionHistoryResponse
from .operations import DurableFunctionsTestError, DurableFunctionTestResult

if TYPE_CHECKING:
    from ..client import DurableClient
    from ..exceptions import ErrorObject

_REDACTED_SUFFIX = "~redacted"


class _EndpointSession:
    """A boto3 session whose Lambda clients use a given endpoint (the official runner's `lambda_endpoint`)."""

    def __init__(self, region: str, lambda_endpoint: str | None) -> None:
        import boto3

        # Typed loosely: clients are made from service names only known at run time.
        self._session: Any = boto3.session.Session(region_name=region)
        self._lambda_endpoint = lambda_endpoint

    def client(self, service: str, **kwargs: Any) -> Any:
        if service == "lambda" and self._lambda_endpoint:
            kwargs.setdefault("endpoint_url", self._lambda_endpoint)
        return self._session.client(service, **kwargs)


class DurableFunctionCloudTestRunner:
    """Runs a deployed durable function and follows its execution by polling, with the local runner's API."""

    def __init__(
        self,
        function_name: str,
        region: str = "us-west-2",
        lambda_endpoint: str | None = None,
        poll_interval: float = 1.0,
        *,
        client: DurableClient | None = None,
    ) -> None:
        """`client` defaults to a DurableClient for the deployed engine named by this process's environment."""
        self.function_name = function_name
        self.region = region
        self.lambda_endpoint = lambda_endpoint
        self.poll_interval = poll_interval
        if client is None:
            from ..client import DurableClient

            client = DurableClient(session=_EndpointSession(region, lambda_endpoint))
        self.client = client

    def __enter__(self) -> DurableFunctionCloudTestRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: the deployed function and its engine outlive the runner."""

    def run(self, input: Any = None, timeout: int = 60) -> DurableFunctionTestResult:  # noqa: A002
        """Start an execution and wait (at most `timeout` real seconds) for its end."""
        return self.wait_for_result(self.run_async(input, timeout), timeout=timeout)

    def run_async(self, input: Any = None, timeout: int = 60) -> str:  # noqa: A002
        """Start an execution of the deployed function and return its ARN."""
        from .runner import normalize_input

        try:
            started = self.client.start_execution(
                self.function_name, normalize_input(input), f"test-{uuid.uuid4().hex[:12]}"
            )
        except Exception as error:
            raise DurableFunctionsTestError(f"Failed to start {self.function_name}: {error}") from error
        return str(started["DurableExecutionArn"])

    def pause_execution(self, execution_arn: str, timeout: float = 60) -> None:
        """Not available against a deployed function (as in the official cloud runner)."""
        raise NotImplementedError("pause_execution() is not implemented for DurableFunctionCloudTestRunner")

    def resume_execution(self, execution_arn: str) -> None:
        """Not available against a deployed function (as in the official cloud runner)."""
        raise NotImplementedError("resume_execution() is not implemented for DurableFunctionCloudTestRunner")

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        """Complete a callback."""
        self.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=result)

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None = None) -> None:
        """Fail a callback."""
        self.client.send_durable_execution_callback_failure(
            CallbackId=callback_id, Error=error.to_dict() if error else {}
        )

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Heartbeat a callback."""
        self.client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)

    def get_execution_history(
        self,
        execution_arn: str,
        include_execution_data: bool = False,
    ) -> GetDurableExecutionHistoryResponse:
        """The execution's history as the deployed engine reports it."""
        return GetDurableExecutionHistoryResponse(
            self.client.get_durable_execution_history(
                DurableExecutionArn=execution_arn, IncludeExecutionData=include_execution_data
            )
        )

    def wait_for_result(self, execution_arn: str, timeout: int = 60) -> DurableFunctionTestResult:
        """Poll until the execution closes (at most `timeout` real seconds) and return its result."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.client.get_durable_execution(DurableExecutionArn=execution_arn)
            if execution["Status"] not in ("RUNNING", "PAUSING", "PAUSED"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} did not finish within {timeout}s")
            time.sleep(self.poll_interval)
        state = self.client.get_durable_execution_state(DurableExecutionArn=execution_arn)
        events = self.get_execution_history(execution_arn)["Events"]
        return DurableFunctionTestResult.from_execution_state(
            {"DurableExecutionArn": execution_arn, **execution}, state["Operations"], events
        )

    def wait_for_callback(self, execution_arn: str, name: str | None = None, timeout: int = 60) -> str:
        """Poll until the execution waits on a callback (the first named `name`, else the latest open one).

        Raises DurableFunctionsTestError when the callback's id in the history is redacted (see the module's
        docstring): the deployed engine never reveals the id that answers a callback.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() <= deadline:
            events = self.get_execution_history(execution_arn).events
            done = {e.id for e in events if e.event_type in ("CallbackSucceeded", "CallbackFailed", "CallbackTimedOut")}
            open_ = [
                e for e in events if e.event_type == "CallbackStarted" and e.id not in done and name in (None, e.name)
            ]
            if open_:
                callback_id = str((open_[0] if name else open_[-1]).callback_started_details.callback_id)
                if callback_id.endswith(_REDACTED_SUFFIX):
                    raise DurableFunctionsTestError(
                        f"the callback {json.dumps(name)} is waiting, but the deployed engine's history does not "
                        "reveal the id that answers it; have the handler hand its callback id to the test"
                    )
                return callback_id
            time.sleep(self.poll_interval)
        raise TimeoutError(f"Callback did not become available within {timeout}s")
