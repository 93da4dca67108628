"""DurableEngine: the infrastructure durable functions share — journal, outbox relay, payloads, callbacks, alarms."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from durable_runtime import contract

from . import _nag, _perms
from ._callbacks import CallbackEndpoint
from ._dashboard import EngineDashboard
from ._grants import relay_resume_policy
from ._outbox import OutboxRelay
from ._validation import MAX_RETENTION_DAYS, DurableValidationError
from .layer import DurableRuntimeLayer

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    from ._engine_import import ImportedDurableEngine
    from .function import DurableFunction

DEFAULT_ENGINE_ID = "DurableEngine"
_DAY = 86_400
# The relay normally trails the journal by well under a second; a minute behind means resumes are being delayed.
OUTBOX_ITERATOR_AGE_ALARM_MS = 60_000


class DurableEngine(Construct):
    """The shared infrastructure of durable functions: one per stack is usually enough.

    Holds the journal table, the outbox relay that turns the wakes recorded in the journal into resumes, the
    payload bucket, the dead-letter queue (undeliverable timers, invocations that failed after Lambda's retries,
    wakes the relay could not send), the runtime layer, the callback API with its handler, and alarms. Each
    durable function brings its own timer queue, schedule group and Scheduler role, so it sends to and consumes
    only its own timers (DESIGN §10).
    """

    # The id `of_stack` (and so every DurableFunction given no engine) creates the stack's engine with. Construct
    # ids decide logical ids: an engine adopted under another id is a new, empty journal, so define it yourself
    # with this id (`DurableEngine(stack, DurableEngine.DEFAULT_ID, ...)`) to keep the engine functions already use.
    DEFAULT_ID: ClassVar[str] = DEFAULT_ENGINE_ID

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        encryption_key: kms.IKey | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        deletion_protection: bool = False,
        callback_iam_auth: bool = False,
        callback_throttling_rate_limit: float = 100,
        callback_throttling_burst_limit: int = 200,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        alarm_topic: sns.ITopic | None = None,
        payload_access_logs_bucket: s3.IBucket | None = None,
    ) -> None:
        """Define the engine.

        Args:
            encryption_key: Default: AWS managed encryption (the journal with the aws/dynamodb key, payloads with
                S3-managed keys, queues with SQS-managed keys). Given, the journal, payloads and queues use it.
            removal_policy: Default: the journal table and payload bucket are retained when the stack is deleted.
            deletion_protection: Default: off; on, the journal table cannot be deleted until it is turned off.
            callback_iam_auth: Default: callback ids are bearer capabilities and the API needs no signature; on,
                every callback call must also be SigV4-signed by a principal given `grant_send_callback`.
            callback_throttling_rate_limit: Default: 100 requests per second, steady state, for the callback API.
            callback_throttling_burst_limit: Default: 200 requests in a burst.
            log_retention: Default: one month, for the callback handler's and outbox relay's logs and the API's
                access logs.
            alarm_topic: Default: alarms have no action; given, every engine and function alarm notifies it.
            payload_access_logs_bucket: Default: no S3 server access logs for the payload bucket (use CloudTrail
                data events); given, access logs go there.
        """
        super().__init__(scope, id)
        self.encryption_key = encryption_key
        self.alarm_topic = alarm_topic
        self.alarms: list[cloudwatch.Alarm] = []
        self.functions: list[DurableFunction] = []
        self.journal = self._journal(removal_policy, deletion_protection)
        self.payload_bucket = self._payload_bucket(removal_policy, payload_access_logs_bucket)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=cdk.Duration.days(14),
            enforce_ssl=True,
            **queue_encryption(encryption_key),
        )
        _nag.acknowledge(
            self.dead_letter_queue,
            "SQS3",
            "This is the dead-letter queue: of every function's timer queue, and the on-failure destination of "
            "asynchronous invocations that failed after Lambda's retries and of the outbox relay's stream.",
        )
        self.layer = DurableRuntimeLayer(self, "RuntimeLayer")
        self._outbox = OutboxRelay(
            self,
            "Outbox",
            layer=self.layer,
            journal=self.journal,
            dead_letter_queue=self.dead_letter_queue,
            encryption_key=encryption_key,
            log_retention=log_retention,
        )
        # Escape hatch: the function that resumes executions from the wakes in the journal's stream.
        self.outbox_relay = self._outbox.function
        self._callbacks = CallbackEndpoint(
            self,
            "Callbacks",
            layer=self.layer,
            journal=self.journal,
            payloads=self.payload_bucket,
            encryption_key=encryption_key,
            iam_auth=callback_iam_auth,
            throttling_rate_limit=callback_throttling_rate_limit,
            throttling_burst_limit=callback_throttling_burst_limit,
            log_retention=log_retention,
        )
        # Escape hatch: the callback API, an apigatewayv2.HttpApi (it was an apigateway.RestApi; see _callbacks.py).
        self.api = self._callbacks.api
        self.callback_handler = self._callbacks.handler
        # https://<api>.execute-api.<region>.<suffix>, the API's $default stage; callbacks POST to
        # <it>/durable-execution-callbacks/<callback id>/succeed|fail|heartbeat.
        self.callback_base_url = self._callbacks.base_url
        self._engine_alarms()
        five_minutes = cdk.Duration.minutes(5)
        self._dashboard = EngineDashboard(
            self,
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=five_minutes, label="messages"
            ),
            self._outbox.metric_iterator_age(period=five_minutes, label="iterator age (ms)"),
        )
        # Executions by status, failures by step, callback timeouts and execution age per function.
        self.dashboard = self._dashboard.dashboard

    # region finding the stack's engine
    @classmethod
    def of_stack(cls, scope: Construct) -> DurableEngine:
        """The one engine in `scope`'s stack, created at the stack's root (id "DurableEngine") if there is none."""
        stack = cdk.Stack.of(scope)
        engines = [node for node in stack.node.find_all() if isinstance(node, cls) and cdk.Stack.of(node) is stack]
        if len(engines) > 1:
            paths = ", ".join(engine.node.path for engine in engines)
            raise DurableValidationError(
                f"stack {stack.node.path} has {len(engines)} durable engines ({paths}): pass engine= to choose one"
            )
        return engines[0] if engines else cls(stack, cls.DEFAULT_ID)

    # endregion

    # region across apps
    @classmethod
    def from_engine_attributes(
        cls,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        journal_table_arn: str,
        journal_stream_arn: str,
        payload_bucket_arn: str,
        payload_lifetime_days: int,
        dead_letter_queue_arn: str,
        runtime_layer_arn: str,
        outbox_relay_role_arn: str,
        callback_api_id: str,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> ImportedDurableEngine:
        """An engine deployed by another app, for new durable functions (`DurableFunction(..., engine=it)`).

        Within one app pass the DurableEngine itself, whatever stack it is in. Across apps, export the values of
        `export_attributes()` from the engine's stack and pass them here by the same names; `encryption_key` is
        the engine's customer managed key, if it has one. The engine is never changed: a function whose execution
        timeout plus retention exceeds `payload_lifetime_days` is refused (deploy it with the engine instead).
        """
        from ._engine_import import ImportedDurableEngine

        return ImportedDurableEngine(
            scope,
            id,
            journal_table_arn=journal_table_arn,
            journal_stream_arn=journal_stream_arn,
            payload_bucket_arn=payload_bucket_arn,
            payload_lifetime_days=payload_lifetime_days,
            dead_letter_queue_arn=dead_letter_queue_arn,
            runtime_layer_arn=runtime_layer_arn,
            outbox_relay_role_arn=outbox_relay_role_arn,
            callback_api_id=callback_api_id,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
        )

    def export_attributes(self) -> dict[str, str]:
        """What `from_engine_attributes` takes (except the key and topic), by its argument names, as string tokens.

        For example `for name, value in engine.export_attributes().items(): CfnOutput(stack, name, value=value,
        export_name=f"orders-engine-{name}")`. Pass the payload lifetime back as a number
        (`Token.as_number(Fn.import_value(...))`), or better as the literal it is, so functions are checked against it.
        """
        stream_arn = self.journal.table_stream_arn
        assert stream_arn is not None  # the journal is defined with its stream
        return {
            "journal_table_arn": self.journal.table_arn,
            "journal_stream_arn": stream_arn,
            "payload_bucket_arn": self.payload_bucket.bucket_arn,
            "payload_lifetime_days": cdk.Lazy.string(_ProduceText(lambda: str(self._payload_lifetime_days()))),
            "dead_letter_queue_arn": self.dead_letter_queue.queue_arn,
            "runtime_layer_arn": self.layer.layer_version_arn,
            "outbox_relay_role_arn": self.outbox_relay_role.role_arn,
            "callback_api_id": self.api.api_id,
        }

    # endregion

    @property
    def outbox_relay_role(self) -> iam.IRole:
        """The outbox relay's role: whatever resumes executions of this engine's functions must allow it."""
        role = self.outbox_relay.role
        assert role is not None  # the relay is a function of this engine, with its role
        return role

    def add_function(self, id: str, **props: Any) -> DurableFunction:  # noqa: A002 - the CDK's construct signature
        """Define a DurableFunction on this engine, inside the engine's scope; `props` as for DurableFunction."""
        from .function import DurableFunction

        return DurableFunction(self, id, engine=self, **props)

    def grant_send_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` call the callback routes (needed when callback_iam_auth is on; harmless otherwise).

        Without IAM auth, anyone holding a callback id can complete that callback: ids are bearer capabilities.
        """
        routes = self._callbacks.route_arns()
        _nag.acknowledge_grant(
            grantee,
            routes,
            "The callback id is a path parameter: the grant covers POST on the three callback routes for any id "
            "(the id itself is the capability for one callback).",
        )
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(_perms.SEND_CALLBACK), resource_arns=routes)

    def _register(self, function: DurableFunction) -> iam.Policy | None:
        """Called by DurableFunction: size payload retention for it, and let the relay resume its executions.

        Returns the policy its alias must wait for when the function is in another stack than the engine.
        """
        self.functions.append(function)
        if cdk.Stack.of(function) is cdk.Stack.of(self):
            # A function in another stack is not on it: naming it here would make the stacks depend on each other.
            self._dashboard.add_function(function, function.log_group)
        return self._allow_resume(function)

    def _allow_resume(self, function: DurableFunction) -> iam.Policy | None:
        """Let the outbox relay invoke `function`'s versions: its own executions' wakes, or its children's.

        In the engine's stack the relay's own policy names the function. A function in another stack gets a policy
        of its own naming the relay's role: the engine's stack must never name it (a dependency cycle).
        """
        if cdk.Stack.of(function) is cdk.Stack.of(self):
            self._outbox.allow_resume(function.function)
            return None
        return relay_resume_policy(function, self.outbox_relay_role, self.node.id)

    def _add_alarm(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        if self.alarm_topic is not None:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)
        return alarm

    # region resources
    def _journal(self, removal_policy: cdk.RemovalPolicy, deletion_protection: bool) -> dynamodb.Table:
        key = self.encryption_key
        table = dynamodb.Table(
            self,
            "Journal",
            partition_key=dynamodb.Attribute(name=contract.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=contract.SORT_KEY, type=dynamodb.AttributeType.STRING),
            # The journal is its own outbox: the stream feeds the relay the new image of every write with a wake.
            stream=dynamodb.StreamViewType(contract.JOURNAL_STREAM_VIEW_TYPE),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=contract.TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED if key else dynamodb.TableEncryption.AWS_MANAGED,
            encryption_key=key,
            removal_policy=removal_policy,
            deletion_protection=deletion_protection,
        )
        # Executions by function and by business key (sparse: only execution records carry their keys). Each
        # projects only what a listing shows (the keys come with any projection): lease and journal writes to an
        # execution record then change nothing an index holds, and cost no index write. CloudFormation cannot
        # change an existing index's projection (drop the index in one deployment, add it back in the next), and
        # adds at most one index per deployment (the business-key index came second: DynamoDB backfills it).
        for index_name, partition_key, projected in contract.EXECUTION_INDEXES:
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=contract.LIST_INDEX_SORT_KEY, type=dynamodb.AttributeType.NUMBER),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=list(projected),
            )
        return table

    def _payload_bucket(self, removal_policy: cdk.RemovalPolicy, access_logs: s3.IBucket | None) -> s3.Bucket:
        key = self.encryption_key
        bucket = s3.Bucket(
            self,
            "Payloads",
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=key is not None or None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=removal_policy,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="durable-payloads/" if access_logs else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpirePayloads",
                    prefix=contract.PAYLOAD_PREFIX,
                    expiration=cdk.Duration.days(cdk.Lazy.number(_Produce(self._payload_lifetime_days))),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )
        if access_logs is None:
            _nag.acknowledge(
                bucket,
                "S1",
                "Payload objects are written and read only by the engine's own function roles; audit them with "
                "CloudTrail data events, or pass payload_access_logs_bucket to turn on server access logs.",
            )
        return bucket

    def _payload_lifetime_days(self) -> int:
        """Longest an execution can run plus how long its records are kept: payloads must outlive both."""
        lifetimes = [
            math.ceil(function.execution_timeout_seconds / _DAY) + int(function.retention_days)
            for function in self.functions
            if not cdk.Token.is_unresolved(function.execution_timeout_seconds)
            and not cdk.Token.is_unresolved(function.retention_days)
        ]
        if len(lifetimes) < len(self.functions):
            return contract.MAX_EXECUTION_TIMEOUT_SECONDS // _DAY + MAX_RETENTION_DAYS
        default = math.ceil(contract.DEFAULT_EXECUTION_TIMEOUT_SECONDS / _DAY) + contract.DEFAULT_RETENTION_DAYS
        return max(lifetimes, default=default)

    def _engine_alarms(self) -> None:
        five_minutes = cdk.Duration.minutes(5)
        self._add_alarm(
            alarm_on_any(
                self,
                "DeadLettersAlarm",
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=five_minutes
                ),
                "A timer or an asynchronous invocation could not be delivered after its retries: an execution may "
                "be stuck. Inspect the messages in the engine's dead-letter queue.",
            )
        )
        handler = self.callback_handler
        self._add_alarm(
            alarm_on_any(
                self,
                "CallbackHandlerErrorsAlarm",
                handler.metric_errors(period=five_minutes),
                "The callback handler failed.",
            )
        )
        self._add_alarm(
            alarm_on_any(
                self,
                "CallbackHandlerThrottlesAlarm",
                handler.metric_throttles(period=five_minutes),
                "The callback handler was throttled.",
            )
        )
        self._add_alarm(
            alarm_on_any(
                self,
                "OutboxErrorsAlarm",
                self.outbox_relay.metric_errors(period=five_minutes),
                "The outbox relay failed: wakes in the journal's stream are being retried, and resumes delayed.",
            )
        )
        self._add_alarm(
            alarm_at_least(
                self,
                "OutboxIteratorAgeAlarm",
                self._outbox.metric_iterator_age(period=five_minutes),
                OUTBOX_ITERATOR_AGE_ALARM_MS,
                "The outbox relay is more than a minute behind the journal's stream: starts, callback completions "
                "and child completions reach their executions late.",
            )
        )

    # endregion


def queue_encryption(key: kms.IKey | None) -> dict[str, Any]:
    """Queue encryption props: SQS-managed keys by default, or the engine's customer managed key."""
    if key is None:
        return {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    return {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key}


def alarm_on_any(scope: Construct, id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:  # noqa: A002
    """An alarm that fires when `metric` is at least 1 in one period; no data is not a breach."""
    return alarm_at_least(scope, id, metric, 1, description)


def alarm_at_least(
    scope: Construct,
    id: str,  # noqa: A002 - the CDK's construct signature
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
) -> cloudwatch.Alarm:
    """An alarm that fires when `metric` is at least `threshold` in one period; no data is not a breach."""
    return cloudwatch.Alarm(
        scope,
        id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )


class _Producer:
    """A lazy value: the payload lifetime depends on functions added after the bucket is defined."""

    def __init__(self, produce: Any) -> None:
        self._produce = produce

    def produce(self) -> Any:
        """The value, computed at synth time."""
        return self._produce()


# jsii tells a lazy number from a lazy string by the one interface its producer implements.
@jsii.implements(cdk.IStableNumberProducer)
class _Produce(_Producer):
    pass


@jsii.implements(cdk.IStableStringProducer)
class _ProduceText(_Producer):
    pass
