"""cdk-nag acknowledgments: each carries the reason a finding is by design, next to the resource it covers.

They use the CDK's own `Validations.acknowledge` (what cdk-nag 3 reads), so the constructs do not depend on
cdk-nag. Wildcard findings are acknowledged one by one, under the id cdk-nag gives them, so a new wildcard still
fails the check.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii

from constructs import Construct, IValidation

if TYPE_CHECKING:
    from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge AwsSolutions-`rule` on `construct` and the resources under it."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def acknowledge_wildcard_resources(construct: IConstruct, resources: list[str], reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly these resource ARNs (tokens allowed) in `construct`'s policies.

    The finding names a resource as the synthesized template spells it, and a resource of another stack is spelt
    as an import (Fn::ImportValue) only once the app's cross-stack references are resolved: tree validation runs
    after that, so the acknowledgment is made again then. (The one made now is what the template's metadata
    records as its audit trail.)
    """
    acknowledgment = _AcknowledgeWhenResolved(construct, resources, reason)
    acknowledgment.validate()
    construct.node.add_validation(acknowledgment)


def acknowledge_grant(grantee: Any, resources: list[str], reason: str) -> None:
    """Acknowledge the wildcards a grant gives `grantee`, when the grantee is a construct of this app."""
    principal = grantee.grant_principal
    if isinstance(principal, Construct):
        acknowledge_wildcard_resources(principal, resources, reason)


@jsii.implements(IValidation)
class _AcknowledgeWhenResolved:
    def __init__(self, construct: IConstruct, resources: list[str], reason: str) -> None:
        self._construct, self._resources, self._reason = construct, resources, reason

    def validate(self) -> list[str]:
        """Acknowledge, and report nothing."""
        stack = cdk.Stack.of(self._construct)
        for resource in self._resources:
            finding = f"Resource::{_flatten(stack.resolve(resource))}"
            acknowledge(self._construct, f"IAM5[{finding}]", self._reason)
        return []


def _flatten(node: Any) -> str:
    """Render a resolved CloudFormation value as cdk-nag names it in a finding (Ref: <Id>, GetAtt: <Id.Attr>)."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(_flatten(item) for item in items)
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if isinstance(node, dict) and ("Fn::Sub" in node or "Fn::ImportValue" in node):
        return _flatten(node.get("Fn::Sub", node.get("Fn::ImportValue")))
    if isinstance(node, dict) and "Ref" in node:
        return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
