"""Execution metrics as CloudWatch embedded metric format lines: no API call, Lambda's log stream carries them."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping

from .. import contract as c


def emit(
    metric: str,
    function_name: str,
    value: float = 1,
    unit: str = "Count",
    properties: Mapping[str, str] | None = None,
) -> None:
    """Record `value` of `metric` for `function_name` (only inside Lambda, where CloudWatch reads the log line).

    `properties` go on the log line without becoming dimensions: Logs Insights can group by them (a step's name)
    at no metric cost.
    """
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": c.METRIC_NAMESPACE,
                    "Dimensions": [[c.METRIC_DIMENSION]],
                    "Metrics": [{"Name": metric, "Unit": unit}],
                }
            ],
        },
        **(properties or {}),
        c.METRIC_DIMENSION: function_name,
        metric: value,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")


def emit_for_execution(
    execution_arn: str,
    metric: str,
    value: float = 1,
    unit: str = "Count",
    properties: Mapping[str, str] | None = None,
) -> None:
    """`emit` for the function of `execution_arn` (the ARN is only parsed inside Lambda)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        from .ids import ExecutionArn

        emit(metric, ExecutionArn.parse(execution_arn).function_name, value, unit, properties)
