"""Execution metrics as CloudWatch embedded metric format lines: no API call, Lambda's log stream carries them."""

from __future__ import annotations

import json
import os
import sys
import time

from .. import contract as c


def emit(metric: str, function_name: str) -> None:
    """Count one `metric` for `function_name` (only inside Lambda, where CloudWatch reads the log line)."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": c.METRIC_NAMESPACE,
                    "Dimensions": [[c.METRIC_DIMENSION]],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ],
        },
        c.METRIC_DIMENSION: function_name,
        metric: 1,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
