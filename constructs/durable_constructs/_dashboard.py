"""The engine's CloudWatch dashboard: one row of widgets per durable function, plus the engine's own health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from durable_runtime import contract

if TYPE_CHECKING:
    from aws_cdk import aws_logs as logs

    from constructs import Construct

    from .function import DurableFunction

_WIDTH = 24
_HEIGHT = 6


class EngineDashboard:
    """A dashboard per engine; each durable function in the engine's stack adds its row when it registers."""

    def __init__(self, scope: Construct, dead_letters: cloudwatch.IMetric, outbox_age: cloudwatch.IMetric) -> None:
        self.dashboard = cloudwatch.Dashboard(scope, "Dashboard", default_interval=cdk.Duration.days(1))
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# Durable executions ({scope.node.path})\nExecutions by status, failed steps, callback "
                "timeouts and the oldest execution that ran, per function; below, the engine's own health.",
                width=_WIDTH,
                height=2,
            ),
            cloudwatch.GraphWidget(
                title="Engine: undeliverable timers and invocations (dead-letter queue)",
                left=[dead_letters],
                width=_WIDTH // 2,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Engine: outbox relay lag (stream iterator age)",
                left=[outbox_age],
                width=_WIDTH // 2,
                height=_HEIGHT,
            ),
        )

    def add_function(self, function: DurableFunction, log_group: logs.ILogGroup) -> None:
        """The function's row: executions by status, failures and timeouts, age, and failures by step."""
        name = function.node.path
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{name}: executions by status",
                left=[
                    function.metric_executions_started(label="started"),
                    function.metric_executions_succeeded(label="succeeded"),
                    function.metric_executions_failed(label="failed"),
                    function.metric_executions_timed_out(label="timed out"),
                    function.metric_executions_stopped(label="stopped"),
                ],
                right=[function.metric_operations_written(label="operations written")],
                width=_WIDTH // 4,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: failed steps and callback timeouts",
                left=[
                    function.metric_steps_failed(label="steps failed"),
                    function.metric_callback_timeouts(label="callback timeouts"),
                ],
                width=_WIDTH // 4,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: oldest execution that ran (seconds)",
                left=[function.metric_execution_age(label="age")],
                width=_WIDTH // 4,
                height=_HEIGHT,
            ),
            cloudwatch.LogQueryWidget(
                title=f"{name}: failures by step",
                log_group_names=[log_group.log_group_name],
                query_lines=[
                    f"filter ispresent({contract.METRIC_STEPS_FAILED})",
                    f"stats sum({contract.METRIC_STEPS_FAILED}) as failures by {contract.METRIC_STEP_NAME_PROPERTY}",
                    "sort failures desc",
                    "limit 20",
                ],
                width=_WIDTH // 4,
                height=_HEIGHT,
            ),
        )
