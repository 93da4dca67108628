"""What every Lambda function of Durable Kit gets: its own role and a log group with a retention it writes to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from . import _nag
from ._validation import DurableValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from constructs import Construct

LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
# What the engine's own functions (callback handler, outbox relay) run on: the version the runtime is tested on.
ENGINE_RUNTIME = lambda_.Runtime.PYTHON_3_13


def role_and_logs(scope: Construct, retention: logs.RetentionDays) -> tuple[iam.Role, logs.LogGroup]:
    """A role Lambda assumes and a log group only it writes to (no AWS managed policy, no log-group wildcard)."""
    log_group = logs.LogGroup(scope, "LogGroup", retention=retention)
    role = iam.Role(scope, "ServiceRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=list(LOG_WRITE), resources=[log_group.log_group_arn]))
    return role, log_group


def layer_function(
    scope: Construct,
    *,
    handler: str,
    layer: lambda_.ILayerVersion,
    log_retention: logs.RetentionDays,
    memory_size: int,
    timeout: cdk.Duration,
    description: str,
    environment: Mapping[str, str] | None = None,
) -> tuple[lambda_.Function, iam.Role]:
    """An engine function whose `handler` lives in the runtime layer: ids "Resource", "ServiceRole", "LogGroup".

    Lambda needs a code asset of the function's own; the handler module comes from the layer (/opt/python), so the
    function's code is one comment and no second copy of the runtime is shipped.
    """
    role, log_group = role_and_logs(scope, log_retention)
    function = lambda_.Function(
        scope,
        "Resource",
        runtime=ENGINE_RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_.Code.from_inline(f"# Durable Kit: the code is the runtime layer's {handler}.\n"),
        layers=[layer],
        role=role,
        log_group=log_group,
        memory_size=memory_size,
        timeout=timeout,
        description=description,
        environment=dict(environment) if environment else None,
    )
    acknowledge_runtime_finding(function, ENGINE_RUNTIME)
    return function, role


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


# The account that publishes the public Powertools for AWS Lambda layers in the aws partition.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"


def powertools_layer(
    scope: Construct, version: int | None, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> list[lambda_.ILayerVersion]:
    """The public Powertools for AWS Lambda (Python) v3 layer of `version` for the runtime and architecture."""
    if version is None:
        return []
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DurableValidationError(
            f"powertools_layer_version must be a layer version number such as 27, not {version!r}"
        )
    python = runtime.name.replace(".", "")  # python3.13 -> python313
    arch = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    arn = (
        f"arn:aws:lambda:{cdk.Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )
    return [lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)]
