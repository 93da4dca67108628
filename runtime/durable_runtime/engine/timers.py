"""Timers: a small interface with an AWS implementation (SQS delay messages and EventBridge Scheduler)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from ..contract import SQS_MAX_DELAY_SECONDS
from ..exceptions import ValidationError
from .heartbeat import Heartbeat

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .clock import Clock
    from .envelope import ResumeRequest

log = logging.getLogger("durable_runtime")

# Scheduler fires within about a minute of the set time: aim early, and let the queue finish to the second.
_SCHEDULE_LEAD_SECONDS = 60
# Journal timestamps are kept to the millisecond.
_STORAGE_ROUNDING_SECONDS = 0.001
# Timer messages being handled stay invisible this long at a time, renewed while the invocation lives: if it dies,
# they are delivered again about this soon rather than after the queue's visibility timeout (the function's timeout
# plus a margin, see contract.TIMER_QUEUE_VISIBILITY_MARGIN_SECONDS).
HELD_MESSAGE_SECONDS = 90
_HOLD_RENEW_SECONDS = 30
_SQS_BATCH = 10


class TimerService(Protocol):
    """Delivers a resume envelope to the execution's function at (or just after) a due time."""

    def schedule(self, request: ResumeRequest, due_at: float) -> None:
        """Arrange for `request` to be delivered at `due_at`."""
        ...

    def hold(self, receipt_handles: list[str]) -> AbstractContextManager[object]:
        """While the block runs, keep timer messages being handled from reappearing; after a crash, soon."""
        ...


class AwsTimerService:
    """Short timers on an SQS delay queue (second precision), long ones on EventBridge Scheduler."""

    def __init__(
        self,
        *,
        sqs: Any,
        scheduler: Any,
        queue_url: str,
        queue_arn: str,
        schedule_group: str,
        scheduler_role_arn: str,
        clock: Clock,
    ) -> None:
        self._sqs = sqs
        self._scheduler = scheduler
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._group = schedule_group
        self._role = scheduler_role_arn
        self._clock = clock

    def schedule(self, request: ResumeRequest, due_at: float) -> None:
        """One SendMessage for due times within 15 minutes, else one CreateSchedule that lands on the queue."""
        # Due times are stored to the millisecond, so a 1 s timer can be 1.0004 s away: rounding that up would make
        # it a second late. Only that rounding is forgiven: a timer never lands earlier than a millisecond before
        # it is due (the due tolerance of `is_due` is for clock skew between hosts, not for early delivery).
        delay = max(0, math.ceil(due_at - self._clock.now() - _STORAGE_ROUNDING_SECONDS))
        body = dataclasses.replace(request, due_at=due_at).to_json()
        if delay <= SQS_MAX_DELAY_SECONDS:
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body, DelaySeconds=delay)
            return
        fire_at = due_at - _SCHEDULE_LEAD_SECONDS
        name = "dk-" + hashlib.blake2b(f"{request.execution_arn}|{due_at:.3f}".encode(), digest_size=20).hexdigest()
        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(fire_at))})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": self._queue_arn, "RoleArn": self._role, "Input": body},
                ActionAfterCompletion="DELETE",
            )
        except self._scheduler.exceptions.ConflictException:
            return  # the same timer was already set by an earlier attempt of this invocation

    @contextmanager
    def hold(self, receipt_handles: list[str]) -> Iterator[object]:
        """Shorten the messages' invisibility to HELD_MESSAGE_SECONDS, renewed while the block runs."""
        if not receipt_handles:
            yield None
            return
        self._hold(receipt_handles)
        with Heartbeat(_HOLD_RENEW_SECONDS, lambda: self._hold(receipt_handles), "timer-message-holder") as beat:
            yield beat

    def _hold(self, receipt_handles: list[str]) -> bool:
        # An optimisation of recovery time only: if it fails, the queue's own visibility timeout still applies.
        try:
            for first in range(0, len(receipt_handles), _SQS_BATCH):
                entries = [
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": HELD_MESSAGE_SECONDS}
                    for index, handle in enumerate(receipt_handles[first : first + _SQS_BATCH])
                ]
                self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
        except Exception as error:  # noqa: BLE001 - see above
            log.warning("could not hold timer messages: %s", error)
        return True


class NoTimerQueue:
    """For processes that never set timers (the callback handler, a client): setting one is a deployment error."""

    def schedule(self, request: ResumeRequest, due_at: float) -> None:
        """Refuse: this process has no timer queue."""
        from ..contract import ENV_TIMER_QUEUE_URL

        raise ValidationError(
            f"cannot set a timer for {request.execution_arn}: {ENV_TIMER_QUEUE_URL} is not set; durable functions "
            "get it from DurableFunction (durable_constructs)"
        )

    def hold(self, receipt_handles: list[str]) -> AbstractContextManager[object]:
        """Nothing to hold: this process consumes no timer messages."""
        return nullcontext()
