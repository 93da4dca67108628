"""The local runner's in-memory backend: the journal, payloads, timer queue and Scheduler in process memory.

`DurableFunctionTestRunner(..., backend="memory")` runs the same engine, the same timer service, outbox relay,
event sources, local Lambda and virtual clock as the default backend, with these in place of moto: the journal
is `InMemoryJournalStore` (the same conditions as DynamoDB, checked in memory), its outbox entries stand for the
journal stream, payloads stay in a dict, and the timer queue and Scheduler are small in-memory equivalents with
SQS's delivery semantics (delays, visibility timeouts, redelivery, the dead-letter limit).

What it leaves out is the point of the default backend: DynamoDB's, SQS's and S3's request shapes and botocore's
validation of them, and fault injection (which acts on boto3 clients). Use it for fast unit tests of workflow
logic; keep tests of deployment-facing behaviour on moto.
"""

from __future__ import annotations

import datetime
import itertools
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import contract as c

if TYPE_CHECKING:
    from .clock import VirtualClock

MEMORY_ENVIRONMENT = {
    c.ENV_JOURNAL_TABLE: "durable-journal",
    c.ENV_PAYLOAD_BUCKET: "durable-payloads",
    c.ENV_TIMER_QUEUE_URL: "memory://durable-timers",
    c.ENV_TIMER_QUEUE_ARN: "arn:aws:sqs:memory:000000000000:durable-timers",
    c.ENV_SCHEDULE_GROUP: "durable",
}


@dataclass
class _Message:
    message_id: str
    body: str
    sent_at: float
    delayed_until: float
    visible_at: float
    receipt_handle: str = ""
    receive_count: int = 0


class MemoryQueue:
    """The timer queue: the calls of the SQS client the timer service and the queue's event source make."""

    def __init__(self, clock: VirtualClock, visibility_timeout: int) -> None:
        self._clock = clock
        self._visibility = visibility_timeout
        self._messages: dict[str, _Message] = {}
        self.dead_letters: list[str] = []
        self._lock = threading.Lock()

    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0, **_: Any) -> dict[str, str]:  # noqa: N803 - boto3's names
        """Queue `MessageBody`, visible after `DelaySeconds`."""
        return {"MessageId": self.send_at(MessageBody, self._clock.now() + DelaySeconds)}

    def send_at(self, body: str, moment: float) -> str:
        """Queue `body`, visible from `moment` (Scheduler's delivery)."""
        message_id = str(uuid.uuid4())
        with self._lock:
            self._messages[message_id] = _Message(message_id, body, self._clock.now(), moment, moment)
        return message_id

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:  # noqa: N803
        """Up to `MaxNumberOfMessages` visible messages, each now invisible for the visibility timeout."""
        now = self._clock.now()
        received: list[_Message] = []
        with self._lock:
            for message in sorted(self._messages.values(), key=lambda m: m.visible_at):
                if len(received) == MaxNumberOfMessages or message.visible_at > now:
                    break
                if message.receive_count >= c.TIMER_QUEUE_MAX_RECEIVE_COUNT:
                    self.dead_letters.append(message.body)  # the redrive policy's dead-letter queue
                    del self._messages[message.message_id]
                    continue
                message.receive_count += 1
                message.receipt_handle = f"{message.message_id}#{message.receive_count}"
                message.visible_at = now + self._visibility
                received.append(message)
        return {"Messages": [self._shape(message) for message in received]}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str, **_: Any) -> None:  # noqa: N803
        """Remove the message the handle was given for (a stale handle deletes nothing, as in SQS)."""
        with self._lock:
            message = self._messages.get(ReceiptHandle.split("#", 1)[0])
            if message is not None and message.receipt_handle == ReceiptHandle:
                del self._messages[message.message_id]

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int, **_: Any) -> None:  # noqa: N803
        """Make the received message visible again `VisibilityTimeout` seconds from now."""
        with self._lock:
            message = self._messages.get(ReceiptHandle.split("#", 1)[0])
            if message is not None and message.receipt_handle == ReceiptHandle:
                message.visible_at = self._clock.now() + VisibilityTimeout

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]], **_: Any) -> None:  # noqa: N803
        """`change_message_visibility` for each entry."""
        for entry in Entries:
            self.change_message_visibility(QueueUrl, entry["ReceiptHandle"], entry["VisibilityTimeout"])

    def peek(self) -> list[tuple[str, float, str, bool]]:
        """Every message: id, when it becomes visible, body, and whether it was received before (a redelivery)."""
        with self._lock:
            return [
                (m.message_id, m.visible_at, m.body, m.visible_at > m.delayed_until) for m in self._messages.values()
            ]

    @staticmethod
    def _shape(message: _Message) -> dict[str, Any]:
        return {
            "MessageId": message.message_id,
            "ReceiptHandle": message.receipt_handle,
            "Body": message.body,
            "Attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(int(message.sent_at * 1000)),
            },
        }


class MemoryScheduler:
    """EventBridge Scheduler as the timer service uses it: a one-time schedule delivers its input to the queue."""

    class exceptions:  # noqa: N801 - boto3's client.exceptions
        class ConflictException(Exception):  # noqa: N818 - boto3's name
            """A schedule of that name exists."""

    def __init__(self, queue: MemoryQueue) -> None:
        self._queue = queue
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def create_schedule(self, Name: str, ScheduleExpression: str, Target: dict[str, Any], **_: Any) -> None:  # noqa: N803
        """Deliver `Target["Input"]` to the queue at the `at(...)` time (Scheduler fires then and deletes it)."""
        with self._lock:
            if Name in self._names:
                raise self.exceptions.ConflictException(Name)
            self._names.add(Name)
        moment = datetime.datetime.strptime(ScheduleExpression, "at(%Y-%m-%dT%H:%M:%S)").replace(tzinfo=datetime.UTC)
        self._queue.send_at(Target["Input"], moment.timestamp())


class MemoryPayloads:
    """The payload bucket: payloads by reference."""

    def __init__(self, objects: dict[str, str] | None = None) -> None:
        self._objects: dict[str, str] = dict(objects or {})
        self._ids = itertools.count(1)

    def put(self, journal_key: str, name: str, payload: str) -> str:
        """Keep `payload`; return its reference."""
        ref = f"memory://{journal_key}/{name}/{next(self._ids)}"
        self._objects[ref] = payload
        return ref

    def get(self, ref: str) -> str:
        """The payload `ref` names."""
        return self._objects[ref]

    def delete(self, ref: str) -> None:
        """Forget the payload."""
        self._objects.pop(ref, None)

    def for_bucket(self, bucket: str) -> MemoryPayloads:
        """One bucket here."""
        return self


def outbox_records(wakes: list[str], first_sequence: int, stream_arn: str) -> list[dict[str, Any]]:
    """Outbox entries as the journal stream's event source hands them to the relay (only what it reads)."""
    return [
        {
            "eventName": "MODIFY",
            "eventSource": "aws:dynamodb",
            "eventSourceARN": stream_arn,
            "dynamodb": {
                "NewImage": {c.WAKE_ATTRIBUTE: {"S": wake}},
                "SequenceNumber": str(first_sequence + index),
            },
        }
        for index, wake in enumerate(wakes)
    ]


class NoSchedules:
    """The Scheduler event source of the memory backend: schedules are delivered by the queue itself."""

    def fire_due(self) -> bool:
        """Nothing to fire."""
        return False

    def pending(self) -> list[tuple[float, str]]:
        """Nothing waits here."""
        return []


class MemoryBackend:
    """The memory backend's parts, for a LocalEngine: what the runtime and the simulation use instead of moto."""

    def __init__(self, clock: VirtualClock, function_timeout: int) -> None:
        from ..journal.memory import InMemoryJournalStore

        self.queue = MemoryQueue(clock, function_timeout + c.TIMER_QUEUE_VISIBILITY_MARGIN_SECONDS)
        self.scheduler = MemoryScheduler(self.queue)
        self.store = InMemoryJournalStore()
        self.payloads = MemoryPayloads()
        self._sequence = 1

    @property
    def clients(self) -> dict[str, Any]:
        """Stand-ins for the SQS and Scheduler clients of the timer service and the queue's event source."""
        return {"sqs": self.queue, "scheduler": self.scheduler}

    def read_outbox(self) -> list[dict[str, Any]]:
        """New outbox entries as stream records (the stream's reader for the relay's event source)."""
        wakes = self.store.take_outbox()
        records = outbox_records(wakes, self._sequence, "memory://durable-journal/stream")
        self._sequence += len(wakes)
        return records
