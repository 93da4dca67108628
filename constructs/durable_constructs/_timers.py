"""A durable function's own timers: an SQS delay queue, a Scheduler schedule group and the role Scheduler assumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from durable_runtime import contract

from . import _perms
from .engine import queue_encryption

if TYPE_CHECKING:
    from constructs import Construct

    from ._engine_import import ImportedDurableEngine
    from .engine import DurableEngine

# Lambda's longest function timeout: the visibility timeout used when the function's timeout is a token.
_MAX_FUNCTION_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Timers:
    """The timer resources of one durable function."""

    queue: sqs.Queue
    schedule_group: scheduler.ScheduleGroup
    scheduler_role: iam.Role


def define_timers(
    scope: Construct, engine: DurableEngine | ImportedDurableEngine, function_timeout: cdk.Duration
) -> Timers:
    """Each function has its own queue: its event source then only ever receives its own executions' timers.

    Due times within 15 minutes are delay-queue messages; later ones are one-time schedules in the function's
    group that Scheduler sends to the same queue, assuming a role that may send to this queue only.
    """
    queue = sqs.Queue(
        scope,
        "TimerQueue",
        visibility_timeout=_visibility_timeout(function_timeout),
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(
            max_receive_count=contract.TIMER_QUEUE_MAX_RECEIVE_COUNT, queue=engine.dead_letter_queue
        ),
        **queue_encryption(engine.encryption_key),
    )
    group = scheduler.ScheduleGroup(scope, "ScheduleGroup", removal_policy=cdk.RemovalPolicy.DESTROY)
    role = iam.Role(
        scope,
        "SchedulerRole",
        assumed_by=iam.ServicePrincipal(
            _perms.SCHEDULER_SERVICE,
            # Confused-deputy protection: only schedules of this account may assume the role.
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ),
        description="EventBridge Scheduler delivers a durable function's long timers to its timer queue",
    )
    role.add_to_policy(iam.PolicyStatement(actions=list(_perms.TIMER_SEND), resources=[queue.queue_arn]))
    if engine.encryption_key is not None:
        role.add_to_policy(iam.PolicyStatement(actions=list(_perms.KMS_USE), resources=[engine.encryption_key.key_arn]))
    return Timers(queue=queue, schedule_group=group, scheduler_role=role)


def _visibility_timeout(function_timeout: cdk.Duration) -> cdk.Duration:
    """The function's timeout plus a margin: a message whose invocation died comes back within minutes.

    Lambda requires at least the function's timeout. Its general advice of six times the timeout protects
    messages waiting for a throttled function from their receive limit; the timer queue's receive limit is high
    instead (contract.TIMER_QUEUE_MAX_RECEIVE_COUNT), so recovery after a crash stays short.
    """
    seconds = function_timeout.to_seconds()
    if cdk.Token.is_unresolved(seconds):
        seconds = _MAX_FUNCTION_TIMEOUT_SECONDS
    return cdk.Duration.seconds(seconds + contract.TIMER_QUEUE_VISIBILITY_MARGIN_SECONDS)
