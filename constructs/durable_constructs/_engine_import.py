"""An engine defined in another app (or a stack deployed on its own), imported so new durable functions can use it.

Within one app, pass the `DurableEngine` object itself to functions in other stacks. Across apps, the engine's
stack exports what a function needs (`DurableEngine.export_attributes` lists it) and the other app imports it with
`DurableEngine.from_engine_attributes`. The imported engine's resources are never changed: each function's
resume permission goes in a policy of the function's own stack naming the engine's outbox relay role, and the
function's execution timeout plus retention must fit the payload lifetime the engine was deployed with.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from durable_runtime import contract

from . import _nag, _perms, _validation
from ._grants import relay_resume_policy
from ._validation import DurableValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    from .function import DurableFunction

_DAY = 86_400


class ImportedDurableEngine(Construct):
    """A deployed engine known by its attributes: functions can run on it; nothing of it is deployed or changed."""

    def __init__(
        self,
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
    ) -> None:
        """Import the engine; see `DurableEngine.from_engine_attributes` for the arguments."""
        super().__init__(scope, id)
        if not cdk.Token.is_unresolved(payload_lifetime_days) and payload_lifetime_days < 1:
            raise DurableValidationError(
                f"payload_lifetime_days={payload_lifetime_days}: pass the engine's payload lifetime in days "
                "(its PayloadLifetimeDays export)"
            )
        self.encryption_key = encryption_key
        self.alarm_topic = alarm_topic
        self.alarms: list[cloudwatch.Alarm] = []
        self.functions: list[DurableFunction] = []
        self.payload_lifetime_days = payload_lifetime_days
        self.journal = dynamodb.Table.from_table_attributes(
            self,
            "Journal",
            table_arn=_validation.table_arn(journal_table_arn),
            table_stream_arn=journal_stream_arn,
            encryption_key=encryption_key,
        )
        self.payload_bucket = s3.Bucket.from_bucket_arn(self, "Payloads", _validation.bucket_arn(payload_bucket_arn))
        self.dead_letter_queue = sqs.Queue.from_queue_attributes(
            self, "DeadLetterQueue", queue_arn=dead_letter_queue_arn, key_arn=encryption_key and encryption_key.key_arn
        )
        self.layer = lambda_.LayerVersion.from_layer_version_arn(self, "RuntimeLayer", runtime_layer_arn)
        self.outbox_relay_role: iam.IRole = iam.Role.from_role_arn(
            self, "OutboxRelayRole", outbox_relay_role_arn, mutable=True
        )
        self.callback_api_id = callback_api_id
        self.callback_base_url = f"https://{callback_api_id}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}"

    def grant_send_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` call the engine's callback routes (see DurableEngine.grant_send_callback)."""
        stack = cdk.Stack.of(self)
        routes = [
            stack.format_arn(
                service="execute-api",
                resource=self.callback_api_id,
                resource_name=f"*/POST/{contract.CALLBACK_ROUTE_PREFIX}/*/{action}",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
            for action in contract.CALLBACK_ACTIONS
        ]
        _nag.acknowledge_grant(
            grantee, routes, "The callback id is a path parameter: the grant covers POST on the callback routes."
        )
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(_perms.SEND_CALLBACK), resource_arns=routes)

    def _register(self, function: DurableFunction) -> iam.Policy | None:
        """Called by DurableFunction: check it fits the payload lifetime, let the relay resume its executions."""
        lifetime = self.payload_lifetime_days
        timeout, retention = function.execution_timeout_seconds, function.retention_days
        if not any(cdk.Token.is_unresolved(value) for value in (lifetime, timeout, retention)):
            needed = math.ceil(timeout / _DAY) + int(retention)
            if needed > lifetime:
                raise DurableValidationError(
                    f"{function.node.path} runs for up to {math.ceil(timeout / _DAY)} days and keeps its records "
                    f"{int(retention)} days, but the imported engine keeps payloads {lifetime} days: shorten "
                    "execution_timeout or retention, or redeploy the engine with a function that needs as long"
                )
        self.functions.append(function)
        return self._allow_resume(function)

    def _allow_resume(self, function: DurableFunction) -> iam.Policy | None:
        """A policy in `function`'s stack letting the engine's relay invoke its versions."""
        return relay_resume_policy(function, self.outbox_relay_role, self.node.id)

    def _add_alarm(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        if self.alarm_topic is not None:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)
        return alarm
