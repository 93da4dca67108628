#!/usr/bin/env python3
"""The Durable Kit example stack: the example workflows as durable functions on one shared engine, and a client.

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
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from durable_constructs import DurableEngine, DurableFunction
from examples.monthly_report import RENDERER_ENV

EXAMPLES = Path(__file__).resolve().parent / "examples"
# Only the workflow modules go to Lambda: the runtime comes from the layer, the demo and package marker stay local.
EXAMPLE_CODE_EXCLUDES = ["__pycache__", "*.pyc", "__init__.py", "demo.py"]


class DurableWorkflowStack(cdk.Stack):
    """The example workflows on the stack's durable engine, and the order desk, a DurableClient of them.

    The order workflow and the fraud review; the monthly report, which invokes the report renderer (a durable child
    with a result too large for the journal); and the order desk, an ordinary function granted, through
    `grant_client`, what its DurableClient calls need: start and read every workflow, and complete and stop fraud
    reviews.
    """

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
        self.report_renderer = DurableFunction(
            self,
            "ReportRenderer",
            handler="monthly_report.render",
            code=code,
            execution_timeout=cdk.Duration.hours(1),
            description="Durable Kit example: render a month's report (a result too large for the journal)",
        )
        self.monthly_report = DurableFunction(
            self,
            "MonthlyReport",
            handler="monthly_report.handler",
            code=code,
            execution_timeout=cdk.Duration.hours(2),
            # The alias: each report runs on the renderer's newest published version, which its execution pins.
            environment={RENDERER_ENV: self.report_renderer.alias.function_arn},
            description="Durable Kit example: invoke the report renderer and summarise its report",
        )
        self.report_renderer.grant_invoke(self.monthly_report)
        engine: DurableEngine = self.order_workflow.engine
        self.order_desk = self._order_desk(code, engine)
        cdk.CfnOutput(
            self,
            "CallbackBaseUrl",
            value=engine.callback_base_url,
            description="POST <url>/durable-execution-callbacks/<id>/succeed",
        )
        cdk.CfnOutput(self, "JournalTableName", value=engine.journal.table_name)
        cdk.CfnOutput(self, "OrderWorkflowAlias", value=self.order_workflow.alias.function_arn)
        cdk.CfnOutput(self, "FraudReviewAlias", value=self.fraud_review.alias.function_arn)
        cdk.CfnOutput(self, "MonthlyReportAlias", value=self.monthly_report.alias.function_arn)
        cdk.CfnOutput(self, "OrderDeskFunctionName", value=self.order_desk.function_name)

    def _order_desk(self, code: lambda_.Code, engine: DurableEngine) -> lambda_.Function:
        """An ordinary function running examples/order_desk.py, with the runtime layer for DurableClient."""
        role = iam.Role(
            self,
            "OrderDeskRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="The order desk: a DurableClient of the example workflows",
        )
        # A log group of its own rather than AWS's managed execution policy, which may write to any log group.
        log_group = logs.LogGroup(self, "OrderDeskLogs", retention=logs.RetentionDays.ONE_MONTH)
        log_group.grant_write(role)
        desk = lambda_.Function(
            self,
            "OrderDesk",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler="order_desk.handler",
            code=code,
            layers=[engine.layer],
            role=role,
            log_group=log_group,
            memory_size=256,
            timeout=cdk.Duration.seconds(30),
            description="Durable Kit example: answer fraud reviews, look up, list and stop executions",
        )
        cdk.Validations.of(desk).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason="python3.13, like the workflows: the version Durable Kit's runtime layer is tested on.",
            )
        )
        self.order_workflow.grant_client(desk)
        self.fraud_review.grant_client(desk, stop=True, callbacks=True, operate=True)
        self.monthly_report.grant_client(desk)
        return desk


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
