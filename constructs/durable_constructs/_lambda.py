"""What every Lambda function of Durable Kit gets: its own role and a log group with a retention it writes to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from . import _nag

if TYPE_CHECKING:
    from constructs import Construct

LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")


def role_and_logs(scope: Construct, retention: logs.RetentionDays) -> tuple[iam.Role, logs.LogGroup]:
    """A role Lambda assumes and a log group only it writes to (no AWS managed policy, no log-group wildcard)."""
    log_group = logs.LogGroup(scope, "LogGroup", retention=retention)
    role = iam.Role(scope, "ServiceRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=list(LOG_WRITE), resources=[log_group.log_group_arn]))
    return role, log_group


def acknowledge_runtime_finding(function: lambda_.Function, runtime: lambda_.Runtime) -> None:
    """Explain a Python runtime older than the newest the CDK knows (AwsSolutions-L1)."""
    newest = _newest_python()
    if runtime.name != newest:
        _nag.acknowledge(
            function,
            "L1",
            f"{runtime.name} is the configured runtime (Durable Kit defaults to python3.13, the version its runtime "
            f"is tested on); the runtime layer supports python3.11 and later, so {newest} is one `runtime=` away.",
        )


def _newest_python() -> str:
    versions = [
        tuple(int(part) for part in runtime.name.removeprefix("python").split("."))
        for runtime in lambda_.Runtime.ALL
        if runtime.family == lambda_.RuntimeFamily.PYTHON and runtime.name.startswith("python3.")
    ]
    major, minor = max(versions)
    return f"python{major}.{minor}"
