"""What AWS does between the runtime's calls, simulated on moto: event source mappings and Scheduler.

Each source reads moto through clients of its own (never the runtime's, so a fault plan only ever hits the
runtime) and invokes functions through the local Lambda, with the delivery semantics of the real service:
- the timer queue's event source deletes a message only after the invocation succeeded (a crash or a reported
  failure leaves it to reappear after the queue's visibility timeout, and to go to the dead-letter queue after
  the queue's receive limit);
- the journal stream's event source passes only records its filter admits and retries a failed batch from the
  first record not acknowledged, with backoff, up to a retry limit;
- EventBridge Scheduler sends a one-time schedule's input to its target queue when it is due and deletes it.
"""

from __future__ import annotations

import datetime
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import contract as c
from ..engine.ids import ExecutionArn
from .filters import matches_any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .clock import VirtualClock
    from .lambda_service import LocalLambda

# How often the stream's event source retries a failed batch before it gives the records up (the construct's bound).
STREAM_RETRY_ATTEMPTS = 10
# How long a held-back message stays parked in flight (SQS's longest visibility timeout); released earlier on resume.
_PARKED_SECONDS = 43_200
# The reason given to a message that comes back after its visibility timeout: a redelivery, not a new timer.
REDELIVERY = "redelivery"


class QueueEventSource:
    """The timer queue's event source mapping: one batch per function, deleted only once handled."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        local_lambda: LocalLambda,
        batch_size: int = 10,
        peek: Callable[[], list[tuple[str, float, str, bool]]] | None = None,
    ):
        self._sqs = sqs
        # The queue's messages read without a request (id, visible from, body, redelivered): moto's by default.
        self._peek = peek or (lambda: _moto_queue_messages(queue_url))
        self._url = queue_url
        self._arn = queue_arn
        self._lambda = local_lambda
        self._batch_size = batch_size
        self._ids = itertools.count(1)
        # Executions whose invocations are held back (a paused execution): their messages are parked, in flight,
        # until released. By execution ARN: the parked messages' ids and receipt handles.
        self.held: set[str] = set()
        self._parked: dict[str, dict[str, str]] = {}

    def _park(self, message: dict[str, Any]) -> bool:
        arn = _execution_of(message["Body"])
        if arn not in self.held:
            return False
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=_PARKED_SECONDS
        )
        self._parked.setdefault(arn, {})[message["MessageId"]] = message["ReceiptHandle"]
        return True

    def release(self, execution_arn: str) -> None:
        """Stop holding back the execution's messages; the parked ones become visible at once."""
        self.held.discard(execution_arn)
        for receipt in self._parked.pop(execution_arn, {}).values():
            self._sqs.change_message_visibility(QueueUrl=self._url, ReceiptHandle=receipt, VisibilityTimeout=0)

    def poll(self, now: float | None = None) -> bool:
        """Receive visible messages and invoke their functions; True when anything was delivered.

        Given `now`, a queue with no message visible by then is not asked at all (moto's queue, read directly,
        answers the same for free).
        """
        if now is not None and not any(moment <= now for moment, _ in self.pending()):
            return False
        messages = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=self._batch_size, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        by_function: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            if self._park(message):
                continue
            by_function.setdefault(_function_of(message["Body"]), []).append(message)
        for function, batch in by_function.items():
            self._deliver(function, batch)
        return bool(messages)

    def _deliver(self, function: str, batch: list[dict[str, Any]]) -> None:
        records = [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "eventSource": "aws:sqs",
                "eventSourceARN": self._arn,
            }
            for message in batch
        ]
        local = self._lambda.functions.get(function)
        if local is None:
            return  # no such function here: the message stays, and goes to the dead-letter queue in time
        # The event source invokes the function's alias, i.e. its newest version, synchronously.
        failed, response = self._lambda.invoke_on_worker(
            function, local.latest, {"Records": records}, f"sqs-{next(self._ids)}"
        )
        if failed:
            return
        retry = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])}
        for message in batch:
            if message["MessageId"] not in retry:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def next_due(self) -> float | None:
        """When the next message becomes visible (moto's queue, on virtual time)."""
        due = [moment for moment, _ in self.pending()]
        return min(due) if due else None

    def pending(self) -> list[tuple[float, str]]:
        """Every message not parked: when it becomes visible, and why it was sent (the envelope's reason).

        A message that was received and comes back after its visibility timeout (its invocation died) reads as
        a redelivery, whatever its reason.
        """
        parked = {message_id for messages in self._parked.values() for message_id in messages}
        return [
            (visible_at, _reason_of(body, redelivered=redelivered))
            for message_id, visible_at, body, redelivered in self._peek()
            if message_id not in parked
        ]


def _moto_queue_messages(queue_url: str) -> list[tuple[str, float, str, bool]]:
    """moto's messages of the queue, read directly: id, visible from (epoch seconds), body, received before."""
    from moto.sqs.models import sqs_backends

    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    for backend in sqs_backends.values():
        for regional in backend.values():
            queue = regional.queues.get(name)
            if queue is not None and queue._messages:
                return [
                    (m.id, max(m.delayed_until, m.visible_at) / 1000, m.body, m.visible_at > m.delayed_until)
                    for m in list(queue._messages)
                ]
    return []


@dataclass
class _Backlog:
    records: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    retry_at: float = 0.0


class MotoStreamReader:
    """Reads the journal table's stream on moto, as Lambda's event source does: records from where it started."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self._streams = streams
        self.arn = stream_arn
        # From the stream's current end: a runner delivers what happens while it runs, even on a table (given
        # through `environment`) that earlier runs wrote to.
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        # Records of moto's shard the iterator has passed (it starts at the end: LATEST).
        self._position: int | None = _shard_length(stream_arn)

    def __call__(self) -> list[dict[str, Any]]:
        """The next records, as Lambda hands them to a function (none without asking, when there are none)."""
        # moto's shard only grows: unless it holds records past `_position`, GetRecords would return nothing.
        length = _shard_length(self.arn)
        if length is not None and self._position is not None and length <= self._position:
            return []
        page = self._streams.get_records(ShardIterator=self._iterator, Limit=100)
        self._iterator = page.get("NextShardIterator") or self._iterator
        records = page.get("Records", [])
        if self._position is not None:
            self._position += len(records)
        return [_lambda_stream_record(record, self.arn) for record in records]


class StreamEventSource:
    """The journal stream's event source mapping: filtered records, in order, to one function."""

    def __init__(
        self,
        read: Callable[[], list[dict[str, Any]]],
        patterns: Sequence[dict[str, Any]],
        local_lambda: LocalLambda,
        function: str,
        clock: VirtualClock,
    ) -> None:
        self._read_records = read
        self._patterns = list(patterns)
        self._lambda = local_lambda
        self._function = function
        self._clock = clock
        self._ids = itertools.count(1)
        self._backlog = _Backlog()
        self.given_up: list[dict[str, Any]] = []

    def poll(self) -> bool:
        """Deliver new (or retry failed) records to the function; True when the function was invoked."""
        if not self._backlog.records:
            self._read()
        if not self._backlog.records or self._clock.now() < self._backlog.retry_at:
            return False
        self._deliver()
        return True

    def next_due(self) -> float | None:
        """When a failed batch is retried, if one is waiting."""
        return self._backlog.retry_at if self._backlog.records else None

    def _read(self) -> None:
        # Lambda's poller keeps reading while the shard has records: a page the filter drops entirely (a redrive
        # extending the expiry of every record writes hundreds) must not hide the records after it.
        while not self._backlog.records:
            page = self._read_records()
            if not page:
                return
            self._backlog.records.extend(event for event in page if matches_any(self._patterns, event))

    def _deliver(self) -> None:
        backlog = self._backlog
        version = self._lambda.functions[self._function].latest
        failed, response = self._lambda.invoke_on_worker(
            self._function, version, {"Records": backlog.records}, f"stream-{next(self._ids)}"
        )
        pending = backlog.records if failed else _unacknowledged(backlog.records, response)
        if not pending:
            self._backlog = _Backlog()
            return
        backlog.attempts += 1
        if backlog.attempts > STREAM_RETRY_ATTEMPTS:
            # The on-failure destination gets them; the stream moves on.
            self.given_up.extend(pending)
            self._backlog = _Backlog()
            return
        backlog.records = pending
        backlog.retry_at = self._clock.now() + min(2 ** (backlog.attempts - 1), 60)


class SchedulerService:
    """EventBridge Scheduler's one-time schedules of one group, delivered to their target queue when due."""

    def __init__(self, scheduler: Any, sqs: Any, group: str, queue_url: str, clock: VirtualClock) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._group = group
        self._queue_url = queue_url
        self._clock = clock

    def fire_due(self) -> bool:
        """Send every due schedule's input to the queue, then delete the schedule; True when any fired."""
        fired = False
        for moment, schedule in self._schedules():
            if moment <= self._clock.now():
                self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=schedule["Target"]["Input"])
                self._scheduler.delete_schedule(Name=schedule["Name"], GroupName=self._group)
                fired = True
        return fired

    def next_due(self) -> float | None:
        """When the earliest schedule is due."""
        due = [moment for moment, _ in self._schedules()]
        return min(due) if due else None

    def pending(self) -> list[tuple[float, str]]:
        """Every schedule: when it fires, and the reason of the resume it carries."""
        return [(moment, _reason_of(schedule["Target"]["Input"])) for moment, schedule in self._schedules()]

    def _schedules(self) -> list[tuple[float, dict[str, Any]]]:
        found: list[tuple[float, dict[str, Any]]] = []
        if not _group_has_schedules(self._group):
            return found  # what ListSchedules would say, without asking
        for page in self._scheduler.get_paginator("list_schedules").paginate(GroupName=self._group):
            for summary in page.get("Schedules", []):
                schedule = self._scheduler.get_schedule(Name=summary["Name"], GroupName=self._group)
                moment = datetime.datetime.strptime(schedule["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)")
                found.append((moment.replace(tzinfo=datetime.UTC).timestamp(), dict(schedule)))
        return found


def _shard_length(stream_arn: str) -> int | None:
    """How many records moto's stream shard of `stream_arn` holds (None when it cannot be found)."""
    from moto.dynamodb.models import dynamodb_backends

    table_name = stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    for backend in dynamodb_backends.values():
        for regional in backend.values():
            table = regional.tables.get(table_name)
            label = getattr(table, "latest_stream_label", None)
            shard = getattr(table, "stream_shard", None)
            if shard is not None and label and label in stream_arn:
                return len(shard.items)
    return None


def _group_has_schedules(group: str) -> bool:
    """Whether moto holds any schedule in `group` (in any account or region), read directly."""
    from moto.scheduler.models import scheduler_backends

    return any(
        regional.schedule_groups.get(group) is not None and regional.schedule_groups[group].schedules
        for backend in scheduler_backends.values()
        for regional in backend.values()
    )


def _envelope(body: str) -> dict[str, Any]:
    try:
        envelope = json.loads(body)[c.ENVELOPE_KEY]
    except (ValueError, KeyError, TypeError):
        return {}
    return envelope if isinstance(envelope, dict) else {}


def _execution_of(body: str) -> str:
    return str(_envelope(body).get(c.ENVELOPE_EXECUTION_ARN, ""))


def _reason_of(body: str, *, redelivered: bool = False) -> str:
    return REDELIVERY if redelivered else str(_envelope(body).get(c.ENVELOPE_REASON, ""))


def _function_of(body: str) -> str:
    try:
        return ExecutionArn.parse(json.loads(body)[c.ENVELOPE_KEY][c.ENVELOPE_EXECUTION_ARN]).function_name
    except (ValueError, KeyError, TypeError):
        return ""


def _lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as Lambda hands it to a function (epoch seconds, the source's ARN)."""
    event = json.loads(json.dumps(record, default=_epoch))
    event["eventSourceARN"] = stream_arn
    return event


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unacknowledged(records: list[dict[str, Any]], response: Any) -> list[dict[str, Any]]:
    """The records to retry: from the first whose sequence number the function reported as failed."""
    failures = (response or {}).get("batchItemFailures", []) if isinstance(response, dict) else []
    failed = {str(item.get("itemIdentifier")) for item in failures}
    for index, record in enumerate(records):
        if str(record.get("dynamodb", {}).get("SequenceNumber")) in failed:
            return records[index:]
    return []
