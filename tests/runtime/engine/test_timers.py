"""The timer service's SQS delays, on moto in virtual time."""

from __future__ import annotations

import boto3
from moto import mock_aws

from durable_runtime.engine.envelope import ResumeRequest
from durable_runtime.engine.ids import ExecutionArn
from durable_runtime.engine.timers import AwsTimerService
from durable_runtime.testing.clock import VirtualClock, moto_on_virtual_time

ARN = ExecutionArn.parse(
    "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/order-1/0123456789abcdef"
)


def _visible(sqs, queue_url: str) -> int:
    return len(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []))


def test_a_one_second_timer_stored_to_the_millisecond_lands_after_one_second_not_two() -> None:
    """A callback's 1 s timeout is stored rounded to the ms, a hair over 1 s away; SQS's whole-second delay must
    not turn it into 2 s (with a 2 s execution timeout, that made the execution time out instead)."""
    clock = VirtualClock(start=1_000.0006)
    due_at = float(f"{clock.now() + 1:.3f}")  # 1001.001: 1.0004 s away
    with mock_aws(), moto_on_virtual_time(clock):
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="timers")["QueueUrl"]
        timers = AwsTimerService(
            sqs=sqs,
            scheduler=boto3.client("scheduler", region_name="us-east-1"),
            queue_url=queue_url,
            queue_arn="arn:aws:sqs:us-east-1:123456789012:timers",
            schedule_group="default",
            scheduler_role_arn="arn:aws:iam::123456789012:role/scheduler",
            clock=clock,
        )
        timers.schedule(ResumeRequest(ARN, "callback"), due_at)

        clock.advance_to(due_at - 0.5)
        assert _visible(sqs, queue_url) == 0
        clock.advance_to(due_at + 0.01)
        assert _visible(sqs, queue_url) == 1
