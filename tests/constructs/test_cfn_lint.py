"""cfn-lint (CloudFormation's own linter, with its resource schemas) finds no error in the synthesized templates.

cdk-nag checks practice; cfn-lint checks that CloudFormation would accept the template: property types and values,
allowed combinations, references, and what each region offers. Two templates, both synthesized once per test
process by conftest: the example app as `cdk synth` writes it, and `engines`, an engine with every default next to
one with every option on (customer key, IAM-authorized callbacks, alarm topic, payload access logs).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cfnlint.api import ManualArgs, lint_file

if TYPE_CHECKING:
    from cfnlint.match import Match
    from conftest import Synthesized

# The runtime and resource types must exist where the kit is deployed, not only in cfn-lint's default region.
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
# Warnings accepted, each for a reason; any other warning fails like an error.
ACCEPTED_WARNINGS = {
    # The CDK's lambda.Function adds DependsOn its role next to the GetAtt on the role's ARN: redundant, not wrong
    # (CloudFormation orders by either), and the same DependsOn carries the role's default policy, which matters.
    "W3005": "redundant DependsOn on a function's own service role, emitted by the CDK's lambda.Function",
}
# Not run at all: I1022 (prefer Fn::Sub to Fn::Join) is about how the CDK writes every ARN. cfn-lint itself skips it
# for templates carrying the CDK's path metadata, as `cdk synth` writes them; these in-process synths carry none.
IGNORED_CHECKS = ["I1022"]


def _lint(synth: Synthesized) -> list[Match]:
    template = Path(synth.outdir, synth.stack.template_file)
    return lint_file(template, ManualArgs(regions=REGIONS, include_checks=["I"], ignore_checks=IGNORED_CHECKS))


def _describe(matches: list[Match]) -> list[str]:
    return [f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}" for m in matches]


@pytest.mark.parametrize("stack", ["example_app", "engines"])
def test_cfn_lint_finds_no_error_and_only_accepted_warnings(
    stack: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    matches = _lint(request.getfixturevalue(stack))
    by_severity: dict[str, list[Match]] = {"error": [], "warning": [], "informational": []}
    for match in matches:
        by_severity[match.rule.severity].append(match)

    assert not by_severity["error"], _describe(by_severity["error"])
    unaccepted = [m for m in by_severity["warning"] if m.rule.id not in ACCEPTED_WARNINGS]
    assert not unaccepted, _describe(unaccepted)
    # Informational findings do not fail the build; they are printed so a change in them is seen.
    with capsys.disabled():
        counts = ", ".join(f"{len(found)} {severity}" for severity, found in by_severity.items())
        print(f"\ncfn-lint {stack}: {counts}")
        for line in _describe(by_severity["informational"]):
            print(f"  {line}")
