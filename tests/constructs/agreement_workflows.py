"""The workflows the agreement probe runs, each with the template's IAM policies enforced on every runtime call.

Who acts: each invocation as its function's role (the outbox relay as the relay's), callbacks posted to the
endpoint as the callback handler's role, and everything a client does (start, review, describe, list, stop) as
the order desk's role, through the desk's own code (examples/order_desk.py) on the runner's DurableClient.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_enforcement import EnforcingPlan, Principal, act_in, attribute_invocations

if TYPE_CHECKING:
    from agreement_probe import Stack
    from iam_enforcement import Enforcer

    from durable_runtime.testing import DurableFunctionTestRunner


@dataclass
class Setting:
    """The deployed stack as the workflows see it: functions by example name, and who may act."""

    stack: Stack
    enforcer: Enforcer
    functions: dict[str, str]  # example name (the stack's attribute) -> the function's logical id
    code_dir: Path
    principals: dict[str, Principal]  # function logical id -> its role, as a principal
    region: str
    account: str

    def physical_name(self, example: str) -> str:
        """The function's name, as the probe's stand-in for CloudFormation named it."""
        return self.stack.refs[self.functions[example]]

    def environment(self, example: str) -> dict[str, str]:
        """The function's environment in the template, resolved."""
        variables = self.stack.resources[self.functions[example]]["Properties"]["Environment"]["Variables"]
        return {key: str(self.stack.resolve(value)) for key, value in variables.items()}

    def module(self, example: str) -> Any:
        """The module of the function's handler, imported from the code asset as Lambda would."""
        module = importlib.import_module(self._handler(example).rsplit(".", 1)[0])
        assert Path(module.__file__ or "").is_relative_to(self.code_dir), module.__file__
        return module

    def handler(self, example: str) -> Any:
        """The function's handler."""
        return getattr(self.module(example), self._handler(example).rsplit(".", 1)[1])

    def _handler(self, example: str) -> str:
        return str(self.stack.resources[self.functions[example]]["Properties"]["Handler"])

    def engine_principal(self, handler: str) -> Principal:
        """The role of the engine function running `handler` (callback handler, outbox relay)."""
        (function_id,) = [
            logical_id
            for logical_id, function in self.stack.of_type("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        ]
        return self.principals[function_id]

    @contextmanager
    def runner(self, *examples: str) -> Iterator[DurableFunctionTestRunner]:
        """A local runner with these durable functions registered on their own environments, enforcing IAM.

        The first function's environment is the runner's: its timer queue is the one the runner's event source
        reads, so a function that sets timers runs in a runner of its own.
        """
        from durable_runtime import contract as c
        from durable_runtime.testing import DurableFunctionTestRunner
        from durable_runtime.testing.local_engine import OUTBOX_FUNCTION

        first = self.environment(examples[0])
        timeout = int(self.stack.resources[self.functions[examples[0]]]["Properties"]["Timeout"])
        with (
            _user_environment(examples, self),
            DurableFunctionTestRunner(
                function_name=self.physical_name(examples[0]),
                execution_timeout=int(first[c.ENV_EXECUTION_TIMEOUT_SECONDS]),
                invocation_timeout=timeout,
                environment=first,
                region=self.region,
                account_id=self.account,
                faults=EnforcingPlan(enforcer=self.enforcer),
            ) as runner,
        ):
            principals = self.enforcer.principals
            # A callback posted to the endpoint is handled by the callback handler, with its role.
            act_in(runner, "post_callback_event", principals, self.engine_principal(c.CALLBACK_HANDLER))
            roles = {OUTBOX_FUNCTION: self.engine_principal(c.OUTBOX_HANDLER)}
            for example in examples:
                environment = self.environment(example)
                runner.register_durable_function(
                    self.physical_name(example),
                    self.handler(example),
                    int(environment[c.ENV_EXECUTION_TIMEOUT_SECONDS]),
                    environment=environment,
                )
                roles[self.physical_name(example)] = self.principals[self.functions[example]]
            attribute_invocations(runner.local_lambda, principals, roles)
            yield runner

    def desk(self, runner: DurableFunctionTestRunner, request: dict[str, Any]) -> Any:
        """One order desk request, run by the desk's code with the desk's role, on the runner's DurableClient."""
        handle = self.module("order_desk").handle
        with self.enforcer.principals.acting_as(self.principals[self.functions["order_desk"]]):
            return json.loads(json.dumps(handle(runner.client, request), default=str))


@contextmanager
def _user_environment(examples: tuple[str, ...], setting: Setting) -> Iterator[None]:
    """Set the functions' own variables (not the engine's, which the runner gives it) in os.environ, as Lambda would."""
    from durable_runtime import contract as c

    engine_variables = {value for name, value in vars(c).items() if name.startswith("ENV_")}
    wanted = {
        key: value
        for example in examples
        for key, value in setting.environment(example).items()
        if key not in engine_variables
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# A reviewer's note of about 200 KB: the completion's record and its history event no longer fit one journal item,
# so whoever completes the callback writes the payload bucket, and the workflow reads it back.
LONG_NOTE = "Called the customer; the order is genuine. " * 4700


def _outcome(runner: DurableFunctionTestRunner, arn: str) -> dict[str, Any]:
    result = runner.wait_for_result(arn)
    return {"status": result.status.value, "result": json.loads(result.result or "null")}


def run_order(setting: Setting, runner: DurableFunctionTestRunner) -> dict[str, Any]:
    """Steps, a retry (an SQS delay), a one-day wait (a Scheduler schedule); then describe and list it."""
    order = {"order_id": "order-1", "items": [{"sku": "mug", "quantity": 2, "unit_price_cents": 1250}]}
    name = setting.physical_name("order_workflow")
    started = setting.desk(runner, {"action": "start", "function": name, "input": order, "name": "order-1"})
    arn = started["DurableExecutionArn"]
    outcome = _outcome(runner, arn)
    described = setting.desk(runner, {"action": "describe", "execution_arn": arn})
    listed = setting.desk(runner, {"action": "list", "function": name})
    return {
        **outcome,
        "described_status": described["Status"],
        "history_events": len(described["Events"]),
        "operations": len(described["Operations"]),
        "listed": [execution["DurableExecutionArn"] for execution in listed["DurableExecutions"]],
        "execution_arn": arn,
    }


def run_fraud_reviews(setting: Setting, runner: DurableFunctionTestRunner) -> dict[str, Any]:
    """Four reviews: answered through the callback endpoint, answered through the desk, answered while paused at the
    desk (then resumed), and stopped (then deleted) at the desk."""

    name = setting.physical_name("fraud_review")
    outcomes: dict[str, Any] = {}
    for case in ("endpoint", "desk", "paused", "stopped"):
        order = {"order_id": f"order-{case}", "amount_cents": 990}
        start = {"action": "start", "function": name, "input": order, "name": f"review-{case}"}
        arn = setting.desk(runner, start)["DurableExecutionArn"]
        callback_id = runner.wait_for_callback(arn, "fraud_review")
        if case == "endpoint":
            runner.send_callback_success(callback_id, json.dumps({"decision": "approve", "note": LONG_NOTE}))
        elif case == "desk":
            review = {"action": "review", "callback_id": callback_id, "decision": "approve", "note": LONG_NOTE}
            setting.desk(runner, review)
        elif case == "paused":
            setting.desk(runner, {"action": "pause", "execution_arn": arn, "reason": "checking the address"})
            review = {"action": "review", "callback_id": callback_id, "decision": "approve", "note": "ok"}
            setting.desk(runner, review)
            paused = setting.desk(runner, {"action": "describe", "execution_arn": arn})["Status"]
            setting.desk(runner, {"action": "resume", "execution_arn": arn})
            outcomes[case] = {**_outcome(runner, arn), "while_paused": paused}
            continue
        else:
            setting.desk(runner, {"action": "stop", "execution_arn": arn, "reason": "customer cancelled"})
            described = setting.desk(runner, {"action": "describe", "execution_arn": arn})
            setting.desk(runner, {"action": "delete", "execution_arn": arn})
            left = [item for item in runner.scan_table() if f"/review-{case}/" in item["pk"]["S"]]
            outcomes[case] = {"status": described["Status"], "error": described.get("Error"), "left": len(left)}
            continue
        outcomes[case] = _outcome(runner, arn)
    return outcomes


def run_monthly_report(setting: Setting, runner: DurableFunctionTestRunner) -> dict[str, Any]:
    """The report invokes the renderer, whose result is offloaded to the payload bucket, and reads it back."""
    from durable_runtime import contract as c

    name = setting.physical_name("monthly_report")
    start = {"action": "start", "function": name, "input": {"month": "2025-01"}, "name": "report-2025-01"}
    arn = setting.desk(runner, start)["DurableExecutionArn"]
    outcome = _outcome(runner, arn)
    described = setting.desk(runner, {"action": "describe", "execution_arn": arn})
    invoked = [event for event in described["Events"] if event["EventType"] == "ChainedInvokeSucceeded"]
    renderer = f":function:{setting.physical_name('report_renderer')}/"
    closed = [
        item
        for item in runner.scan_table()
        if renderer in item[c.PARTITION_KEY]["S"] and item[c.SORT_KEY]["S"] == c.RECORD_EXECUTION
    ]
    return {
        **outcome,
        "renderer_results_in_bucket": [bool(item.get("res_ref")) for item in closed],
        # The history as the desk reads it, with data: the invoke's result, read back from the report's payloads.
        "described_invoke_result_bytes": [
            len(event["ChainedInvokeSucceededDetails"]["Result"]["Payload"]) for event in invoked
        ],
    }
