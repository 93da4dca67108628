"""Synthesis fixtures for the construct tests: each module synthesizes once, with cdk-nag and the app's context.

Every synth talks to one Node process (jsii), so tests share module- or session-scoped synthesized stacks.
Each synth runs cdk-nag's AwsSolutions checks: a finding nobody acknowledged fails the fixture, in every
configuration the tests build, not only the example app's.

This directory is deliberately not a package: as one, it would be imported as `constructs` and shadow the CDK's
`constructs` library. Test modules therefore get the helpers through fixtures, not imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from durable_constructs import DurableEngine

REPO = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
_CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


@dataclass
class Synthesized:
    """A synthesized stack: its template (dict and assertions), construct objects, and the cloud assembly."""

    stack: cdk.Stack
    template: Template
    outdir: Path
    objects: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The template's resources by logical id."""
        return self.template.to_json()["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The resources of one CloudFormation type."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L1 construct, or of an L2's default child."""
        cfn = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return str(self.stack.resolve(self.stack.get_logical_id(cfn)))

    def asset_directory(self, code: dict[str, Any]) -> Path:
        """The staged asset directory behind a function's `Code` or a layer's `Content` property."""
        manifest = json.loads((self.outdir / f"{self.stack.artifact_id}.assets.json").read_text())
        for asset in manifest["files"].values():
            keys = {destination["objectKey"] for destination in asset["destinations"].values()}
            if code["S3Key"] in keys:
                return self.outdir / asset["source"]["path"]
        raise KeyError(f"no asset for {code}")

    def acknowledgments(self) -> dict[str, dict[str, str]]:
        """Every cdk-nag acknowledgment, by construct path: {rule id: reason}."""
        found: dict[str, dict[str, str]] = {}
        for node in self.stack.node.find_all():
            for entry in node.node.metadata:
                if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    found.setdefault(node.node.path, {}).update(entry.data)
        return found


def _synthesize(
    outdir: Path, build: Callable[[cdk.App], tuple[cdk.Stack, dict[str, Any]]], *, nag: bool = True
) -> Synthesized:
    """Build a stack in a fresh app with the project's cdk.json context and synthesize it (with cdk-nag)."""
    app = cdk.App(outdir=str(outdir), context=dict(CDK_CONTEXT))
    stack, objects = build(app)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir, objects=objects)


@pytest.fixture(scope="session")
def synthesize() -> Callable[..., Synthesized]:
    """`synthesize(outdir, build, nag=True)`: build a stack in a fresh app and synthesize it."""
    return _synthesize


def _engines(app: cdk.App) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(app, "Engines")
    default = DurableEngine(stack, "Default")
    orders = default.add_function("Orders", handler="index.handler", code=_CODE)

    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "AlarmTopic", master_key=key, enforce_ssl=True)
    access_logs = s3.Bucket(stack, "AccessLogs", enforce_ssl=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
    cdk.Validations.of(access_logs).acknowledge(
        cdk.Acknowledgment(id="AwsSolutions-S1", reason="This is the test stack's access log bucket itself.")
    )
    custom = DurableEngine(
        stack,
        "Custom",
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        deletion_protection=True,
        callback_iam_auth=True,
        callback_throttling_rate_limit=10,
        callback_throttling_burst_limit=20,
        log_retention=logs.RetentionDays.ONE_WEEK,
        alarm_topic=topic,
        payload_access_logs_bucket=access_logs,
    )
    refunds = custom.add_function(
        "Refunds",
        handler="index.handler",
        code=_CODE,
        execution_timeout=cdk.Duration.days(30),
        retention=cdk.Duration.days(7),
    )
    # Across engines: a child of orders (default engine) wakes refunds through the default engine's relay.
    orders.grant_invoke(refunds)
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    custom.grant_send_callback(caller)
    objects = {"default": default, "custom": custom, "orders": orders, "refunds": refunds, "key": key}
    return stack, {**objects, "topic": topic, "caller": caller, "access_logs": access_logs}


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Two engines in one stack, synthesized once per test process (test_engine*.py).

    "Default" with every default and a function; "Custom" with every option set (customer key, IAM-authorized
    callbacks, throttling, log retention, alarm topic, payload access logs) and a function of its own.
    """
    return _synthesize(tmp_path_factory.mktemp("engines"), _engines)


@pytest.fixture(scope="session")
def example_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """app.py's DurableWorkflowStack, synthesized once per test process, as `cdk synth -c nag=true` would."""
    import app as example

    outdir = tmp_path_factory.mktemp("example-app")
    cdk_app = cdk.App(outdir=str(outdir), context={**CDK_CONTEXT, "nag": "true"})
    example.build_app(cdk_app)
    cdk_app.synth()
    stack = next(child for child in cdk_app.node.children if isinstance(child, example.DurableWorkflowStack))
    yield Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir, objects={"stack": stack})
