"""The outbox relay: the journal's stream feeds one function that sends each recorded wake to its execution.

A journal write whose change needs a follow-up (a start, a completed callback, a closed child) carries the resume
envelope in its wake attribute (DESIGN §4 "Liveness"). The write and the wake are one item, so the follow-up cannot
be lost with the process that made the change: the table's stream delivers the item to this relay, which invokes
the execution's pinned version asynchronously and reports the records it could not invoke for a retry.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources

from constructs import Construct
from durable_runtime import contract

from . import _lambda, _nag, _perms
from ._validation import DurableValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_sqs as sqs

# One InvokeFunction per record: small batches keep the last record of a batch from waiting on the others, and
# several concurrent batches per shard keep up with a busy journal (records of one execution stay in order).
BATCH_SIZE = 10
PARALLELIZATION_FACTOR = 4
# A record the relay cannot invoke blocks its shard while Lambda retries it: bound that, then hand the batch's
# position to the dead-letter queue (whose alarm fires) and move on. Splitting a failing batch isolates the record.
RETRY_ATTEMPTS = 10
MAX_RECORD_AGE = cdk.Duration.hours(1)
TIMEOUT = cdk.Duration.seconds(30)
MEMORY_SIZE = 256


class OutboxRelay(Construct):
    """The relay function (code from the runtime layer) consuming the journal's stream, filtered to wakes.

    Its role reads the stream and invokes the versions of the durable functions it is allowed to resume, and
    nothing else: the wake in the record is the whole message, so it needs no table, payload or environment.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        layer: lambda_.ILayerVersion,
        journal: dynamodb.ITable,
        dead_letter_queue: sqs.IQueue,
        encryption_key: kms.IKey | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        stream_arn = journal.table_stream_arn
        if stream_arn is None:
            raise DurableValidationError(
                f"journal {journal.node.path} has no stream: the outbox relay reads the journal's wakes from it; "
                f"define the table with stream={contract.JOURNAL_STREAM_VIEW_TYPE}"
            )
        self.function, role = _lambda.layer_function(
            self,
            handler=contract.OUTBOX_HANDLER,
            layer=layer,
            log_retention=log_retention,
            memory_size=MEMORY_SIZE,
            timeout=TIMEOUT,
            description="Durable Kit: sends each wake recorded in the journal to its execution's pinned version",
        )
        streams = f"{journal.table_arn}/stream/*"
        role.add_to_policy(iam.PolicyStatement(actions=list(_perms.JOURNAL_STREAM_READ), resources=[streams]))
        _nag.acknowledge_wildcard_resources(
            role,
            [streams],
            "The journal's streams (<table ARN>/stream/*, the resource AWS's example policy for a Lambda reading a "
            "DynamoDB stream uses): a stream's label changes whenever the stream is re-enabled.",
        )
        if encryption_key is not None:
            # The stream is encrypted with the journal's key.
            role.add_to_policy(
                iam.PolicyStatement(actions=list(_perms.KMS_DECRYPT), resources=[encryption_key.key_arn])
            )
            self._acknowledge_queue_key_grants(role)
        # Separate from the role's default policy, which the function depends on: functions register after the
        # relay exists, and their ARNs must not become dependencies of the relay function itself.
        # Created with the first function of the relay's stack (CDK refuses an empty policy that is depended on).
        self.resume_policy: iam.Policy | None = None
        self._resume = iam.PolicyStatement(actions=list(_perms.INVOKE))
        self._resumed: set[str] = set()
        self.mapping = self._mapping(stream_arn, dead_letter_queue)

    def allow_resume(self, function: lambda_.IFunction) -> None:
        """Let the relay resume executions of `function` (invoke its versions); repeated calls add nothing."""
        versions = f"{function.function_arn}:*"
        if versions in self._resumed:
            return
        if self.resume_policy is None:
            role = self.function.role
            assert role is not None  # layer_function gives the relay its role
            self.resume_policy = iam.Policy(self, "ResumePolicy", roles=[role], statements=[self._resume])
            # Records flow only once the relay may invoke the functions they wake.
            self.mapping.node.add_dependency(self.resume_policy)
        self._resumed.add(versions)
        self._resume.add_resources(versions)
        _nag.acknowledge_wildcard_resources(
            self.resume_policy,
            [versions],
            "A wake resumes its execution on the exact version the execution is pinned to, so the outbox relay "
            "invokes the versions (<function ARN>:*) of each durable function whose wakes reach its journal.",
        )

    def metric_iterator_age(self, **options: Any) -> cloudwatch.Metric:
        """How far behind the journal's stream the relay is (Maximum over 5 minutes by default, milliseconds)."""
        props: dict[str, Any] = {"statistic": "Maximum", "period": cdk.Duration.minutes(5), **options}
        return self.function.metric("IteratorAge", **props)

    def _mapping(self, stream_arn: str, dead_letter_queue: sqs.IQueue) -> lambda_.EventSourceMapping:
        # Not DynamoEventSource: its grant puts dynamodb:ListStreams on "*"; the role grants it on this table's
        # streams only. The pattern is the contract's, verbatim: only records carrying a wake invoke the relay.
        mapping = lambda_.EventSourceMapping(
            self,
            "JournalStream",
            target=self.function,
            event_source_arn=stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            filters=[{"pattern": json.dumps(contract.OUTBOX_FILTER_PATTERN)}],
            batch_size=BATCH_SIZE,
            parallelization_factor=PARALLELIZATION_FACTOR,
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=RETRY_ATTEMPTS,
            max_record_age=MAX_RECORD_AGE,
            on_failure=event_sources.SqsDlq(dead_letter_queue),
        )
        return mapping

    @staticmethod
    def _acknowledge_queue_key_grants(role: iam.Role) -> None:
        for action in _perms.CDK_QUEUE_KMS_WILDCARDS:
            _nag.acknowledge(
                role,
                f"IAM5[Action::{action}]",
                "The CDK's grant for the stream mapping's on-failure destination (the engine's dead-letter queue) "
                f"includes {action} on the engine's customer managed key (and no other key) to use the queue.",
            )
