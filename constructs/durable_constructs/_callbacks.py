"""The callback endpoint: a REST API with the DESIGN §6 routes, proxying to one callback handler function."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
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

STAGE = "v1"
CALLBACK_ID_PARAMETER = "CallbackId"
# Access logs name the route template ($context.resourcePath), never the request path: the path carries the
# callback id, a bearer capability that must not land in logs (DESIGN §10).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "sourceIp": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "error": "$context.error.message",
}


class CallbackEndpoint(Construct):
    """The callback handler function (code from the runtime layer) behind a throttled, access-logged REST API.

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
        self.api = self._api(iam_auth, throttling_rate_limit, throttling_burst_limit, log_retention)
        self.base_url = f"https://{self.api.rest_api_id}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/{STAGE}"

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

    def _api(
        self, iam_auth: bool, rate_limit: float, burst_limit: int, log_retention: logs.RetentionDays
    ) -> apigateway.RestApi:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        authorization = apigateway.AuthorizationType.IAM if iam_auth else apigateway.AuthorizationType.NONE
        api = apigateway.RestApi(
            self,
            "Api",
            description="Durable Kit callbacks: succeed, fail or heartbeat a durable execution's callback",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
                metrics_enabled=True,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        validator = api.add_request_validator("RequestValidator", validate_request_parameters=True)
        integration = apigateway.LambdaIntegration(self.handler, allow_test_invoke=False)
        callback = api.root.resource_for_path(
            f"{contract.CALLBACK_ROUTE_PREFIX.strip('/')}/{{{CALLBACK_ID_PARAMETER}}}"
        )
        for action in contract.CALLBACK_ACTIONS:
            callback.add_resource(action).add_method(
                "POST",
                integration,
                authorization_type=authorization,
                request_validator=validator,
                request_parameters={f"method.request.path.{CALLBACK_ID_PARAMETER}": True},
            )
        self._acknowledge_api_findings(api, iam_auth)
        return api

    @staticmethod
    def _acknowledge_api_findings(api: apigateway.RestApi, iam_auth: bool) -> None:
        _nag.acknowledge(
            api,
            "APIG2",
            "API Gateway validates the CallbackId path parameter; bodies are validated by the handler, which "
            "answers a malformed body with the contract's JSON error (400) and an oversize one with 413 (DESIGN "
            "§6). A succeed body is the raw result, so there is no request model to validate it against.",
        )
        _nag.acknowledge(
            api,
            "APIG3",
            "The callback API is throttled per stage and every callback id is a 128-bit capability checked in "
            "constant time; attach a WAF web ACL to the stage if your account standard requires one.",
        )
        _nag.acknowledge(
            api,
            "APIG6",
            "Execution logging records request paths, and the path carries the callback id (a bearer capability) "
            "that must not reach logs; access logging is on, in a format that records the route template instead. "
            "Execution logging would also need an account-wide API Gateway CloudWatch role.",
        )
        _nag.acknowledge(
            api,
            "COG4",
            "Callers are external systems completing a callback, not users of a Cognito user pool: the callback id "
            "(a capability) authorizes the call, or IAM when the engine sets callback_iam_auth=True.",
        )
        if not iam_auth:
            _nag.acknowledge(
                api,
                "APIG4",
                "Callback ids are bearer capabilities (DESIGN §6): 128 bits of secret randomness, stored only as a "
                "hash, valid for one callback. Set callback_iam_auth=True to also require SigV4-signed calls.",
            )
