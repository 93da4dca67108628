#!/usr/bin/env python3
"""The Durable Kit example stack: the example workflows as durable functions on one shared engine.

`npx cdk synth` synthesizes it offline; `npx cdk synth -c nag=true` (what `make synth` runs) also applies
cdk-nag's AwsSolutions checks and fails on any finding that is not acknowledged with a reason in the constructs.
`npx cdk deploy` deploys it (see README, "Deploy").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# jsii prints a banner on every start under Node 20; the CDK works there.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from durable_constructs import DurableEngine, DurableFunction

EXAMPLES = Path(__file__).resolve().parent / "examples"
# Only the workflow modules go to Lambda: the runtime comes from the layer, the demo and package marker stay local.
EXAMPLE_CODE_EXCLUDES = ["__pycache__", "*.pyc", "__init__.py", "demo.py"]


class DurableWorkflowStack(cdk.Stack):
    """The order workflow and the fraud review workflow, sharing the stack's durable engine."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:  # noqa: A002 - the CDK's signature
        super().__init__(scope, id, **kwargs)
        code = lambda_.Code.from_asset(str(EXAMPLES), exclude=EXAMPLE_CODE_EXCLUDES)
        self.order_workflow = DurableFunction(
            self,
            "OrderWorkflow",
            handler="order_workflow.handler",
            code=code,
            execution_timeout=cdk.Duration.days(7),
            description="Durable Kit example: validate, charge, wait a day, ship",
        )
        self.fraud_review = DurableFunction(
            self,
            "FraudReview",
            handler="fraud_review.handler",
            code=code,
            execution_timeout=cdk.Duration.days(7),
            description="Durable Kit example: score an order, wait for a human review callback",
        )
        engine: DurableEngine = self.order_workflow.engine
        cdk.CfnOutput(
            self,
            "CallbackBaseUrl",
            value=engine.callback_base_url,
            description="POST <url>/durable-execution-callbacks/<id>/succeed",
        )
        cdk.CfnOutput(self, "JournalTableName", value=engine.journal.table_name)
        cdk.CfnOutput(self, "OrderWorkflowAlias", value=self.order_workflow.alias.function_arn)
        cdk.CfnOutput(self, "FraudReviewAlias", value=self.fraud_review.alias.function_arn)


def build_app(app: cdk.App | None = None) -> cdk.App:
    """The CDK app; with context nag=true, cdk-nag's AwsSolutions checks run when it synthesizes."""
    app = app or cdk.App()
    DurableWorkflowStack(app, "DurableWorkflowStack")
    if str(app.node.try_get_context("nag")).lower() == "true":
        from cdk_nag import AwsSolutionsChecks

        # The acknowledgments also go into the template's metadata (cdk_nag.rules_to_suppress): an audit trail.
        cdk.Validations.of(app).add_plugins(
            AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
        )
    return app


if __name__ == "__main__":
    build_app().synth()
