"""DurableFunctionTestRunner: run durable functions locally on moto, on virtual time, through production code."""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..client import DurableClient
from ..engine.ids import ExecutionArn
from ..engine.services import EngineServices, EngineSettings, override_services
from ..engine.timers import AwsTimerService
from ..exceptions import ErrorObject
from ..execution import InvocationStatus
from ..journal.dynamodb import DynamoDBJournalStore
from ..journal.payloads import S3PayloadStore
from ..operations.callback import issued_callback_observers
from .clock import VirtualClock, moto_on_virtual_time
from .faults import FaultPlan, moto_with_throttling
from .lambda_service import LocalLambda
from .results import DurableFunctionTestResult, build_operations

if TYPE_CHECKING:
    from collections.abc import Callable

TABLE = "durable-journal"
BUCKET = "durable-payloads"
QUEUE = "durable-timers"
SCHEDULE_GROUP = "durable-timers"


class DurableFunctionTestRunner:
    """Runs durable handlers against moto's DynamoDB, SQS, S3 and Scheduler with a clock that skips idle time.

    The handler runs through the real invocation wrapper, journal, timer service and history code; only Lambda
    itself is simulated (versions, asynchronous invokes with Lambda's retries, the timer queue's event source).
    """

    def __init__(
        self,
        handler: Callable[[Any, Any], Any] | None = None,
        *,
        function_name: str = "test-function",
        execution_timeout: int = 300,
        invocation_timeout: int = 900,
        region: str = "us-west-2",
        account_id: str = "123456789012",
        faults: FaultPlan | None = None,
        settings: EngineSettings | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """Start moto and the local Lambda.

        Args:
            environment: The function environment the constructs would set (names in `contract`). Given, the
                runner uses the resources it names, which must already exist in moto; omitted, the runner
                creates a journal table, bucket, timer queue and schedule group of its own.
        """
        self.clock = VirtualClock()
        self.faults = faults or FaultPlan()
        self.function_name = function_name
        self._execution_timeout = execution_timeout
        self._stack = ExitStack()
        self._start_aws(region)
        self.environment = dict(environment) if environment is not None else self._create_resources(region, account_id)
        self.local_lambda = LocalLambda(self.clock, region, account_id, invocation_timeout)
        self.services = self._services(account_id, settings, execution_timeout)
        self._stack.enter_context(override_services(self.services))
        self.client = DurableClient(self.services)
        self._issued: list[tuple[str, str | None, str | None, str]] = []
        issued_callback_observers.append(self._on_callback_issued)
        self._stack.callback(issued_callback_observers.remove, self._on_callback_issued)
        self._pump_lock = threading.Lock()
        if handler is not None:
            self.register_durable_function(function_name, handler, execution_timeout=execution_timeout)

    # region set-up
    def _services(self, account_id: str, settings: EngineSettings | None, execution_timeout: int) -> EngineServices:
        """The production services, on moto's clients, the virtual clock and the local Lambda."""
        env = self.environment
        self.queue_url = env[c.ENV_TIMER_QUEUE_URL]
        self.queue_name = self.queue_url.rstrip("/").rsplit("/", 1)[-1]
        self.queue_arn = (
            env.get(c.ENV_TIMER_QUEUE_ARN)
            or self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )
        self.schedule_group = env.get(c.ENV_SCHEDULE_GROUP, "default")
        timers = AwsTimerService(
            sqs=self.sqs,
            scheduler=self.scheduler,
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            schedule_group=self.schedule_group,
            scheduler_role_arn=env.get(c.ENV_SCHEDULER_ROLE_ARN, f"arn:aws:iam::{account_id}:role/scheduler"),
            clock=self.clock,
        )
        defaults = EngineSettings.from_environment(dict(env))
        return EngineServices(
            store=DynamoDBJournalStore(self.dynamodb, env[c.ENV_JOURNAL_TABLE]),
            payloads=S3PayloadStore(self.s3, env[c.ENV_PAYLOAD_BUCKET]),
            timers=timers,
            invoker=self.local_lambda,
            clock=self.clock,
            settings=settings or dataclasses.replace(defaults, execution_timeout_seconds=execution_timeout),
        )

    def _start_aws(self, region: str) -> None:
        import boto3
        from moto import mock_aws

        self._stack.enter_context(mock_aws())
        self._stack.enter_context(moto_on_virtual_time(self.clock))
        self._stack.enter_context(moto_with_throttling(self.faults))
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self.dynamodb = session.client("dynamodb")
        self.s3 = session.client("s3")
        self.sqs = session.client("sqs")
        self.scheduler = session.client("scheduler")
        for client, service in (
            (self.dynamodb, "dynamodb"),
            (self.s3, "s3"),
            (self.sqs, "sqs"),
            (self.scheduler, "scheduler"),
        ):
            self.faults.install(client, service)

    def _create_resources(self, region: str, account_id: str) -> dict[str, str]:
        create_journal_table(self.dynamodb, TABLE)
        self.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
        queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self.scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
        return {
            c.ENV_JOURNAL_TABLE: TABLE,
            c.ENV_PAYLOAD_BUCKET: BUCKET,
            c.ENV_TIMER_QUEUE_URL: queue_url,
            c.ENV_SCHEDULE_GROUP: SCHEDULE_GROUP,
            c.ENV_SCHEDULER_ROLE_ARN: f"arn:aws:iam::{account_id}:role/durable-scheduler",
        }

    def register_durable_function(
        self, name: str, handler: Callable[[Any, Any], Any], execution_timeout: int | None = None
    ) -> DurableFunctionTestRunner:
        """Publish `handler` as version 1 of durable function `name`."""
        self.local_lambda.publish(name, handler, durable=True)
        return self

    def register_function(self, name: str, handler: Callable[[Any, Any], Any]) -> DurableFunctionTestRunner:
        """Publish a plain (non-durable) function."""
        self.local_lambda.publish(name, handler, durable=False)
        return self

    def deploy(self, name: str, handler: Callable[[Any, Any], Any]) -> str:
        """Publish a new version of `name`; executions already started stay on their version."""
        return self.local_lambda.publish(name, handler, durable=True)

    def __enter__(self) -> DurableFunctionTestRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop moto and restore the process's engine services."""
        self._stack.close()

    # endregion

    # region running
    def run(
        self,
        input: str | None = None,  # noqa: A002 - the official runner's parameter name
        execution_timeout: int | None = None,
        timeout: int = 60,
        function_name: str | None = None,
        execution_name: str | None = None,
    ) -> DurableFunctionTestResult:
        """Start an execution and drive it to its end; `input` is the event as JSON text."""
        arn = self.run_async(input, execution_timeout, function_name=function_name, execution_name=execution_name)
        return self.wait_for_result(arn, timeout=timeout)

    def run_async(
        self,
        input: str | None = None,  # noqa: A002 - the official runner's parameter name
        execution_timeout: int | None = None,
        function_name: str | None = None,
        execution_name: str | None = None,
    ) -> str:
        """Start an execution and return its ARN; `wait_for_result` drives it."""
        started = self.client.start_execution(
            function_name or self.function_name,
            input,
            execution_name or f"run-{uuid.uuid4().hex[:12]}",
            execution_timeout=execution_timeout or self._execution_timeout,
        )
        return str(started["DurableExecutionArn"])

    def wait_for_result(self, execution_arn: str, timeout: int = 60) -> DurableFunctionTestResult:
        """Drive invocations, timers and virtual time until the execution closes (or `timeout` real seconds)."""
        key = ExecutionArn.parse(execution_arn).journal_key
        deadline = time.monotonic() + timeout
        while True:
            record = self.services.store.get_execution(key)
            if record is not None and record.status.value != "RUNNING":
                return self.result(execution_arn)
            failure = self._delivery_failure(execution_arn)
            if failure is not None:
                raise failure
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} did not finish within {timeout}s of real time")
            if not self.pump_once():
                raise TimeoutError(f"execution {execution_arn} is waiting for something that will never happen")

    def pump_once(self, *, advance_time: bool = True) -> bool:
        """Run one due invocation, deliver due timers, or jump virtual time; False when nothing is pending."""
        with self._pump_lock:
            delivery = self.local_lambda.pop_ready()
            if delivery is not None:
                self.local_lambda.run(delivery)
                return True
            if self._deliver_timer_messages() or self._fire_due_schedules():
                return True
            if not advance_time:
                return False
            upcoming = [
                t
                for t in (self.local_lambda.next_due(), self._next_message_due(), self._next_schedule_due())
                if t is not None
            ]
            if not upcoming:
                return False
            self.clock.advance_to(min(upcoming))
            return True

    def _delivery_failure(self, execution_arn: str) -> BaseException | None:
        for delivery, error in self.local_lambda.failures:
            body = json.dumps(delivery.event)
            if execution_arn in body:
                return error
        return None

    # endregion

    # region callbacks: through the real API Gateway handler
    def _on_callback_issued(
        self, execution_arn: str, callback_name: str | None, parent_name: str | None, callback_id: str
    ) -> None:
        self._issued.append((execution_arn, callback_name, parent_name, callback_id))

    def wait_for_callback(self, execution_arn: str, name: str | None = None, timeout: int = 60) -> str:
        """Run the execution (without moving virtual time) until it has issued a callback; return its id.

        `name` matches the callback's name, or the name of the wait_for_callback it belongs to.
        """
        deadline = time.monotonic() + timeout
        while True:
            for arn, callback_name, parent_name, callback_id in reversed(self._issued):
                if arn == execution_arn and (name is None or name in (callback_name, parent_name)):
                    return callback_id
            if time.monotonic() > deadline or not self.pump_once(advance_time=False):
                raise TimeoutError(f"execution {execution_arn} issued no callback named {name!r}")

    def send_callback_success(self, callback_id: str, result: bytes | str | None = None) -> None:
        """Complete a callback through the callback endpoint's handler, as an HTTP client would."""
        body = result.decode() if isinstance(result, bytes) else result
        self._post_callback(callback_id, "succeed", body)

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None = None) -> None:
        """Fail a callback through the callback endpoint's handler."""
        self._post_callback(callback_id, "fail", json.dumps((error or ErrorObject(None, None, None, None)).to_dict()))

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Heartbeat a callback through the callback endpoint's handler."""
        self._post_callback(callback_id, "heartbeat", None)

    def post_callback_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Hand a raw API Gateway proxy event to the callback handler and return its response."""
        from ..callbacks.api import handle

        return handle(event, self.services)

    def _post_callback(self, callback_id: str, action: str, body: str | None) -> None:
        response = self.post_callback_event(callback_proxy_event(callback_id, action, body))
        if response["statusCode"] != 200:
            raise CallbackRequestError(response["statusCode"], json.loads(response["body"]))

    # endregion

    # region timers: the queue's event source and EventBridge Scheduler, on virtual time
    def _deliver_timer_messages(self) -> bool:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            arn = json.loads(message["Body"])[c.ENVELOPE_KEY][c.ENVELOPE_EXECUTION_ARN]
            function = ExecutionArn.parse(arn).function_name
            event = {
                "Records": [
                    {
                        "eventSource": "aws:sqs",
                        "messageId": message["MessageId"],
                        "body": message["Body"],
                        "eventSourceARN": self.queue_arn,
                    }
                ]
            }
            # The event source mapping invokes the function's alias, i.e. its latest version.
            self.local_lambda.enqueue(function, None, event, str(uuid.uuid4()))
        return bool(messages)

    def _next_message_due(self) -> float | None:
        from moto.sqs.models import sqs_backends

        for backend in sqs_backends.values():
            for regional in backend.values():
                queue = regional.queues.get(self.queue_name)
                if queue is not None and queue._messages:
                    return min(max(m.delayed_until, m.visible_at) for m in queue._messages) / 1000
        return None

    def _schedules(self) -> list[tuple[float, dict[str, Any]]]:
        found: list[tuple[float, dict[str, Any]]] = []
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.schedule_group)
        for page in pages:
            for summary in page.get("Schedules", []):
                schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName=self.schedule_group)
                moment = datetime.datetime.strptime(schedule["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)")
                found.append((moment.replace(tzinfo=datetime.UTC).timestamp(), dict(schedule)))
        return found

    def _next_schedule_due(self) -> float | None:
        due = [moment for moment, _ in self._schedules()]
        return min(due) if due else None

    def _fire_due_schedules(self) -> bool:
        fired = False
        for moment, schedule in self._schedules():
            if moment <= self.clock.now():
                # EventBridge Scheduler sends the target input to the queue, then deletes the one-time schedule.
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=schedule["Target"]["Input"])
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=self.schedule_group)
                fired = True
        return fired

    # endregion

    # region inspection
    def result(self, execution_arn: str) -> DurableFunctionTestResult:
        """The result of a closed execution."""
        from ..exceptions import ErrorObject

        execution = self.client.get_durable_execution(DurableExecutionArn=execution_arn)
        state = self.client.get_durable_execution_state(DurableExecutionArn=execution_arn)
        status = execution["Status"]
        return DurableFunctionTestResult(
            status=InvocationStatus.SUCCEEDED if status == "SUCCEEDED" else InvocationStatus.FAILED,
            operations=build_operations(state["Operations"]),
            result=execution.get("Result"),
            error=ErrorObject.from_dict(execution["Error"]) if execution.get("Error") else None,
            execution_arn=execution_arn,
        )

    def get_execution_history(self, execution_arn: str, include_execution_data: bool = True) -> dict[str, Any]:
        """The execution's history in the managed service's format."""
        return self.client.get_durable_execution_history(
            DurableExecutionArn=execution_arn, IncludeExecutionData=include_execution_data
        )

    def scan_table(self) -> list[dict[str, Any]]:
        """Every journal item, sorted: for tests that prove a rejected input changed nothing."""
        items = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.environment[c.ENV_JOURNAL_TABLE]):
            items.extend(page["Items"])
        return sorted(items, key=lambda item: (item[c.PARTITION_KEY]["S"], item[c.SORT_KEY]["S"]))

    # endregion


class CallbackRequestError(AssertionError):
    """The callback endpoint refused a request the test made."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"callback endpoint answered {status}: {body}")
        self.status = status
        self.body = body


def callback_proxy_event(callback_id: str, action: str, body: str | None, method: str = "POST") -> dict[str, Any]:
    """An API Gateway REST proxy event for the callback route, as API Gateway would send it."""
    return {
        "resource": f"{c.CALLBACK_ROUTE_PREFIX}/{{CallbackId}}/{action}",
        "path": f"{c.CALLBACK_ROUTE_PREFIX}/{callback_id}/{action}",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "pathParameters": {"CallbackId": callback_id},
        "queryStringParameters": None,
        "requestContext": {
            "stage": "prod",
            "httpMethod": method,
            "resourcePath": f"{c.CALLBACK_ROUTE_PREFIX}/{{CallbackId}}/{action}",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def create_journal_table(client: Any, name: str) -> None:
    """Create the journal table exactly as the constructs define it (keys, listing index, TTL)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": c.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": c.SORT_KEY, "AttributeType": "S"},
            {"AttributeName": c.LIST_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": c.LIST_INDEX_SORT_KEY, "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": c.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": c.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": c.LIST_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": c.LIST_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": c.LIST_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": c.TTL_ATTRIBUTE}
    )
