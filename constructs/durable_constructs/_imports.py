"""A durable function defined in another stack or app, imported by ARN so other code can be granted access to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from . import _validation
from ._grants import DurableFunctionBase

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

    from constructs import Construct


class ImportedDurableFunction(DurableFunctionBase):
    """A durable function known by its ARNs: the grants and metrics of `DurableFunctionBase`, nothing deployed.

    Made by `DurableFunction.from_function_attributes`. Its journal table, payload bucket and Lambda function are
    imported (`.journal`, `.payload_bucket`, `.function`); grants add to the grantee only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        function_arn: str,
        journal_table_arn: str,
        payload_bucket_arn: str,
        encryption_key: kms.IKey | None = None,
        outbox_relay_role_arn: str | None = None,
    ) -> None:
        """Import the function; see `DurableFunction.from_function_attributes` for the arguments."""
        super().__init__(scope, id)
        self.function_arn = _validation.unqualified_function_arn(function_arn)
        # Journal keys start with the function ARN exactly as Lambda reports it, which is the ARN given.
        self._key_arn = function_arn
        self.function = lambda_.Function.from_function_arn(self, "Function", function_arn)
        self.function_name = self.function.function_name
        self.journal = dynamodb.Table.from_table_arn(self, "Journal", _validation.table_arn(journal_table_arn))
        self.payload_bucket = s3.Bucket.from_bucket_arn(self, "Payloads", _validation.bucket_arn(payload_bucket_arn))
        self.encryption_key = encryption_key
        self._relay_role = (
            iam.Role.from_role_arn(self, "OutboxRelayRole", outbox_relay_role_arn, mutable=True)
            if outbox_relay_role_arn
            else None
        )
