"""The callback endpoint: an HTTP API with the DESIGN §6 routes, proxying to one callback handler function.

Why an HTTP API (API Gateway v2) and not a REST API: a REST API stage with access logging needs the account's
API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`), a per-region account singleton. In an account or
region that never set it, the stage fails to create and the whole stack rolls back; and a stack that sets it
takes over a setting every other REST API in the region shares (the last stack to deploy wins, and deleting the
role it points at silently stops their logs). HTTP API access logs are delivered without that role, so the
engine deploys into a fresh account and touches no account-wide setting. HTTP APIs also cost less per request and
add less latency; they cannot take a WAF web ACL directly (put CloudFront with WAF in front if required).

The stage is `$default`, served at the API's root: with a named stage, an HTTP API puts the stage name in front
of the path it hands the Lambda proxy (`/v1/durable-execution-callbacks/...`), and the handler routes on the path.
Payload format 1.0 sends the REST-style proxy event the handler parses (httpMethod, path, pathParameters, body,
isBase64Encoded).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from durable_runtime import contract

from . import _lambda, _nag, _perms

if TYPE_CHECKING:
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

# The stage served at the API's root (see the module docstring for why it is not a named stage).
STAGE = "$default"
CALLBACK_ID_PARAMETER = "CallbackId"
# Access logs name the route ($context.routeKey, e.g. "POST /durable-execution-callbacks/{CallbackId}/succeed"),
# never the request path: the path carries the callback id, a bearer capability that must not land in logs
# (DESIGN §10). With IAM auth on, userArn records who completed the callback.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "sourceIp": "$context.identity.sourceIp",
    "userArn": "$context.identity.userArn",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "error": "$context.error.message",
    "integrationError": "$context.integrationErrorMessage",
}


def route_path(action: str) -> str:
    """The route's path template: /durable-execution-callbacks/{CallbackId}/<action>."""
    return f"{contract.CALLBACK_ROUTE_PREFIX}/{{{CALLBACK_ID_PARAMETER}}}/{action}"


class CallbackEndpoint(Construct):
    """The callback handler function (code from the runtime layer) behind a throttled, access-logged HTTP API.

    The handler only records a completion: the write carries the execution's wake, and the engine's outbox relay
    resumes the execution from the journal's stream, so the handler invokes no function.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        layer: lambda_.ILayerVersion,
        journal: dynamodb.ITable,
        payloads: s3.IBucket,
        encryption_key: kms.IKey | None,
        iam_auth: bool,
        throttling_rate_limit: float,
        throttling_burst_limit: int,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        self.handler = self._handler(layer, journal, payloads, encryption_key, log_retention)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        # "HttpApi", not the REST API's "Api": CloudFormation refuses to change a resource's type under one logical
        # id, so an engine deployed with the REST API updates by creating this API and deleting the old one. The
        # callback base URL changes with it: URLs handed to external systems before the update stop working.
        self.api = apigwv2.HttpApi(
            self,
            "HttpApi",
            # Names need not be unique; this one tells which stack and engine an API in the console belongs to.
            api_name=cdk.Names.unique_resource_name(self, max_length=128, separator="-"),
            description="Durable Kit callbacks: succeed, fail or heartbeat a durable execution's callback",
            create_default_stage=False,
        )
        self.stage = self.api.add_stage(
            "Stage",
            stage_name=STAGE,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit),
            # Per-route metrics (succeed / fail / heartbeat apart), as the REST stage's MetricsEnabled gave.
            detailed_metrics_enabled=True,
            access_log_settings=_AccessLogSettings(access_logs),
        )
        self.routes = self._routes(iam_auth)
        # The $default stage is served at the API's root: no stage segment in the URL.
        self.base_url = f"https://{self.api.api_id}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}"
        if not iam_auth:
            _nag.acknowledge(
                self.api,
                "APIG4",
                "Callback ids are bearer capabilities (DESIGN §6): 128 bits of secret randomness, stored only as a "
                "hash, valid for one callback. Set callback_iam_auth=True to also require SigV4-signed calls.",
            )

    def route_arns(self) -> list[str]:
        """execute-api ARNs of POST on the three callback routes, for any callback id.

        The stage is `*`: the API has the one stage, and its ARNs spell it however API Gateway does.
        """
        return [
            self.api.arn_for_execute_api("POST", f"{contract.CALLBACK_ROUTE_PREFIX}/*/{action}", "*")
            for action in contract.CALLBACK_ACTIONS
        ]

    def _routes(self, iam_auth: bool) -> dict[str, apigwv2.HttpRoute]:
        # Payload format 1.0: the REST-style proxy event the handler parses (2.0 has no httpMethod or path).
        integration = integrations.HttpLambdaIntegration(
            "Handler", self.handler, payload_format_version=apigwv2.PayloadFormatVersion.VERSION_1_0
        )
        authorizer = authorizers.HttpIamAuthorizer() if iam_auth else None
        return {
            action: apigwv2.HttpRoute(
                self.api,
                f"{action.capitalize()}Route",
                http_api=self.api,
                route_key=apigwv2.HttpRouteKey.with_(route_path(action), apigwv2.HttpMethod.POST),
                integration=integration,
                authorizer=authorizer,
            )
            for action in contract.CALLBACK_ACTIONS
        }

    def _handler(
        self,
        layer: lambda_.ILayerVersion,
        journal: dynamodb.ITable,
        payloads: s3.IBucket,
        encryption_key: kms.IKey | None,
        log_retention: logs.RetentionDays,
    ) -> lambda_.Function:
        handler, role = _lambda.layer_function(
            Construct(self, "Handler"),
            handler=contract.CALLBACK_HANDLER,
            layer=layer,
            log_retention=log_retention,
            memory_size=256,
            timeout=cdk.Duration.seconds(29),
            description="Durable Kit: completes callbacks (the outbox relay resumes their executions)",
            environment={
                contract.ENV_JOURNAL_TABLE: journal.table_name,
                contract.ENV_PAYLOAD_BUCKET: payloads.bucket_name,
            },
        )
        # A callback id names its execution, not its function: the handler finds records of every function that
        # shares the engine, so its journal access cannot be narrowed by partition key. The id itself (a 128-bit
        # capability, stored only as a hash) is what authorizes one completion; what the role allows is bounded by
        # what a completion does: read, then update one operation record, touching only its attributes.
        role.add_to_policy(iam.PolicyStatement(actions=list(_perms.JOURNAL_CALLBACK), resources=[journal.table_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(_perms.JOURNAL_CALLBACK_COMPLETE),
                resources=[journal.table_arn],
                conditions=_perms.only_attributes(_perms.OPERATION_RECORD_ATTRIBUTES),
            )
        )
        payload_objects = payloads.arn_for_objects(_perms.PAYLOAD_KEY_PATTERN)
        role.add_to_policy(iam.PolicyStatement(actions=list(_perms.PAYLOAD_WRITE), resources=[payload_objects]))
        if encryption_key is not None:
            role.add_to_policy(iam.PolicyStatement(actions=list(_perms.KMS_USE), resources=[encryption_key.key_arn]))
        _nag.acknowledge_wildcard_resources(
            role,
            [payload_objects],
            "Results too large for a journal item are objects under payloads/ (keys derive from the execution, "
            "of any function sharing the engine); the handler stores large callback results there and reads none.",
        )
        return handler


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """JSON access logs into `log_group`, in a format that records the route and never the path."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        """The engine's access log group."""
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        """ACCESS_LOG_FIELDS as one JSON object per request."""
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))
