"""Run the example workflows on resources created in moto exactly as a synthesized template defines them.

Run by test_agreement.py in a fresh interpreter whose PYTHONPATH starts with the runtime layer asset's `python/`
directory and the functions' code asset: what is imported is what Lambda would load. Usage:
`python agreement_probe.py <request.json>`; prints one JSON report on its last line.

A tiny stand-in for CloudFormation: it gives unnamed resources deterministic names, creates the journal table,
queues, bucket, schedule groups and roles with the template's properties, and resolves Ref / Fn::GetAtt /
Fn::Join in the functions' environments and the roles' policies to those concrete values.

Every call the runtime makes is authorized against the acting role's policies from the template
(iam_enforcement.py, iam_policy.py, iam_requests.py, next to this file): a missing grant is an AccessDenied here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_policy import string_like
from iam_requests import Account, KeySchema

if TYPE_CHECKING:
    # Imported at run time only once the runtime is loaded from the layer (they import durable_runtime).
    from iam_enforcement import Enforcer, Principal

REGION = "us-west-2"
ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def load_runtime(layer_python: Path, runtime_source: Path) -> Any:
    """Import durable_runtime from the layer; only its local-only `testing` subpackage comes from the source."""
    import durable_runtime

    assert Path(durable_runtime.__file__).is_relative_to(layer_python), durable_runtime.__file__
    # The layer leaves out `testing` (it needs moto): resolve that subpackage, and only that, from the source.
    durable_runtime.__path__.append(str(runtime_source))
    return durable_runtime


class Stack:
    """The template's resources, with the physical names and attributes a deployment would give them."""

    def __init__(self, template: dict[str, Any], stack_name: str) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.stack_name = stack_name
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def name(self, logical_id: str, limit: int, *, lower: bool = False) -> str:
        name = f"{self.stack_name}-{logical_id}"[:limit]
        return name.lower() if lower else name

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            found = PSEUDO.get(value["Ref"]) or self.refs.get(value["Ref"])
            if found is None:
                raise KeyError(f"the probe gives {value['Ref']} ({self.resources[value['Ref']]['Type']}) no Ref")
            return found
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if (logical_id, attribute) not in self.attributes:
                raise KeyError(f"the probe gives {logical_id} no {attribute}")
            return self.attributes[(logical_id, attribute)]
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(str(self.resolve(item)) for item in items)
        return {key: self.resolve(item) for key, item in value.items()}


def create_resources(stack: Stack, session: Any) -> None:
    """Create what the functions' environments name, as the template defines it."""
    for logical_id in stack.of_type("AWS::Lambda::Function"):
        name = stack.name(logical_id, 64)
        stack.refs[logical_id] = name
        stack.attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    for logical_id, alias in stack.of_type("AWS::Lambda::Alias").items():
        function = stack.resolve(alias["Properties"]["FunctionName"])
        stack.refs[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{alias['Properties']['Name']}"
    for logical_id in (*stack.of_type("AWS::ApiGateway::RestApi"), *stack.of_type("AWS::ApiGatewayV2::Api")):
        stack.refs[logical_id] = "a1b2c3d4e5"
    for logical_id in stack.of_type("AWS::Logs::LogGroup"):
        name = f"/aws/{stack.name(logical_id, 200)}"
        stack.refs[logical_id] = name
        stack.attributes[(logical_id, "Arn")] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    _create_tables(stack, session.client("dynamodb"))
    _create_queues(stack, session.client("sqs"))
    for logical_id in stack.of_type("AWS::S3::Bucket"):
        bucket = stack.name(logical_id, 63, lower=True)
        session.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        stack.refs[logical_id] = bucket
        stack.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{bucket}"
    for logical_id, group in stack.of_type("AWS::Scheduler::ScheduleGroup").items():
        session.client("scheduler").create_schedule_group(Name=group["Properties"]["Name"])
        stack.refs[logical_id] = group["Properties"]["Name"]
    for logical_id, role in stack.of_type("AWS::IAM::Role").items():
        name = stack.name(logical_id, 64)
        document = stack.resolve(role["Properties"]["AssumeRolePolicyDocument"])
        arn = session.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
        stack.refs[logical_id] = name
        stack.attributes[(logical_id, "Arn")] = arn["Role"]["Arn"]


def _create_tables(stack: Stack, dynamodb: Any) -> None:
    for logical_id, table in stack.of_type("AWS::DynamoDB::Table").items():
        props, name = table["Properties"], stack.name(logical_id, 255)
        stream = props.get("StreamSpecification")
        dynamodb.create_table(
            TableName=name,
            BillingMode=props["BillingMode"],
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
            **(
                {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}}
                if stream
                else {}
            ),
        )
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        stack.refs[logical_id] = name
        stack.attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        if stream:
            described = dynamodb.describe_table(TableName=name)["Table"]
            stack.attributes[(logical_id, "StreamArn")] = described["LatestStreamArn"]


# Queue properties whose CloudFormation name is also their SQS attribute name.
QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled", "RedrivePolicy")


def _create_queues(stack: Stack, sqs: Any) -> None:
    queues = stack.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policies name them.
    for logical_id, queue in sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1]["Properties"]):
        props = queue["Properties"]
        attributes = {
            key: json.dumps(stack.resolve(value)) if isinstance(value, dict) else json.dumps(value).strip('"')
            for key, value in props.items()
            if key in QUEUE_ATTRIBUTES
        }
        url = sqs.create_queue(QueueName=stack.name(logical_id, 80), Attributes=attributes)["QueueUrl"]
        stack.refs[logical_id] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.attributes[(logical_id, "Arn")] = arn


def leading_keys(stack: Stack, function_id: str) -> list[str]:
    """The dynamodb:LeadingKeys patterns of the function's own policy, resolved."""
    role_id = stack.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    patterns = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
            patterns += [stack.resolve(p) for p in condition.get("dynamodb:LeadingKeys", [])]
    return patterns


def account_of(stack: Stack) -> Account:
    """Where the runtime's calls go, and each journal table's key schema, for mapping calls to IAM requests."""
    tables = {}
    for logical_id, table in stack.of_type("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        keys = {key["KeyType"]: key["AttributeName"] for key in props["KeySchema"]}
        indexes = {
            index["IndexName"]: next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
            for index in props.get("GlobalSecondaryIndexes", [])
        }
        tables[stack.refs[logical_id]] = KeySchema(keys["HASH"], keys.get("RANGE"), indexes)
    return Account(region=REGION, account=ACCOUNT, tables=tables)


def principals_of(stack: Stack, function_ids: list[str]) -> dict[str, Principal]:
    """Each function's role as a principal, named by the function's logical id, with the role's policies."""
    from iam_enforcement import Principal, role_policies

    principals = {}
    for function_id in function_ids:
        role_id = stack.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = role_policies(stack.resources, role_id, stack.resolve)
        principals[function_id] = Principal(function_id, stack.attributes[(role_id, "Arn")], policies)
    return principals


def run_workflows(stack: Stack, request: dict[str, Any], enforcer: Enforcer) -> dict[str, Any]:
    """Every workflow, each in a runner of its own (one timer queue per runner), with IAM enforced."""
    import agreement_workflows as workflows

    from durable_runtime import contract as c

    engine = [
        logical_id
        for logical_id, function in stack.of_type("AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] in (c.CALLBACK_HANDLER, c.OUTBOX_HANDLER)
    ]
    functions: dict[str, str] = request["functions"]
    setting = workflows.Setting(
        stack=stack,
        enforcer=enforcer,
        functions=functions,
        code_dir=Path(request["code"]),
        principals=principals_of(stack, [*functions.values(), *engine]),
        region=REGION,
        account=ACCOUNT,
    )
    report: dict[str, Any] = {"runs": {}, "functions": {}}
    plan = (
        ("order_workflow", workflows.run_order, ("order_workflow",)),
        ("fraud_review", workflows.run_fraud_reviews, ("fraud_review",)),
        ("monthly_report", workflows.run_monthly_report, ("monthly_report", "report_renderer")),
    )
    for name, run, examples in plan:
        with setting.runner(*examples) as runner:
            try:
                report["runs"][name] = run(setting, runner)
            except Exception as error:  # noqa: BLE001 - reported: the test names the run, and the denials say why
                report["runs"][name] = {"error": f"{type(error).__name__}: {error}"}
            items = runner.scan_table()
        for example in examples:
            report["functions"][example] = journal_report(stack, functions[example], items)
    return report


def journal_report(stack: Stack, logical_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The journal keys a function's executions wrote, and whether its LeadingKeys grant covers each."""
    from durable_runtime import contract as c

    patterns = leading_keys(stack, logical_id)
    own = [i for i in items if f":function:{stack.refs[logical_id]}/" in i[c.PARTITION_KEY]["S"]]
    own_keys = {i[c.PARTITION_KEY]["S"] for i in own}
    return {
        "journal_keys": sorted(own_keys),
        "keys_outside_policy": sorted(k for k in own_keys if not any(string_like(p, k) for p in patterns)),
        "listing_keys": sorted({i[c.LIST_INDEX_PARTITION_KEY]["S"] for i in own if c.LIST_INDEX_PARTITION_KEY in i}),
        "function_arn": stack.attributes[(logical_id, "Arn")],
    }


def services_build(stack: Stack, function_id: str) -> str:
    """Build the engine services from a function's environment in the template, as the runtime would in Lambda.

    For the callback handler and a DurableClient function: "ok", or the error the runtime would raise at start.
    """
    from durable_runtime.engine.services import services_from_environment

    variables = stack.resolve(stack.resources[function_id]["Properties"]["Environment"]["Variables"])
    # Lambda sets these in every function's environment.
    variables.update({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        services_from_environment()
    except Exception as error:  # noqa: BLE001 - reported to the test, which decides
        return f"{type(error).__name__}: {error}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return "ok"


def engine_handlers(stack: Stack) -> dict[str, str]:
    """Import each handler the engine deploys from the layer (callback endpoint, outbox relay) as Lambda would."""
    found = {}
    for function in stack.of_type("AWS::Lambda::Function").values():
        handler = function["Properties"]["Handler"]
        if handler.startswith("durable_runtime."):
            module_name, attribute = handler.rsplit(".", 1)
            found[handler] = "ok" if callable(getattr(importlib.import_module(module_name), attribute)) else "missing"
    return found


def main(request_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    runtime = load_runtime(Path(request["layer_python"]), Path(request["runtime_source"]))
    import boto3
    from iam_enforcement import Enforcer, Principals
    from moto import mock_aws

    from durable_runtime import contract as c

    stack = Stack(json.loads(Path(request["template"]).read_text()), request["stack_name"])
    report: dict[str, Any] = {"runtime_file": runtime.__file__}
    with mock_aws(), Principals() as principals:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        create_resources(stack, session)
        enforcer = Enforcer(account_of(stack), principals)
        report.update(run_workflows(stack, request, enforcer))
        (callback_handler,) = [
            k
            for k, v in stack.of_type("AWS::Lambda::Function").items()
            if v["Properties"]["Handler"] == c.CALLBACK_HANDLER
        ]
        report["services_build"] = {
            "callback_handler": services_build(stack, callback_handler),
            "order_desk": services_build(stack, request["functions"]["order_desk"]),
        }
        report["engine_handlers"] = engine_handlers(stack)
    report["enforcement"] = {
        "denials": enforcer.denials,
        "failures": enforcer.failures,
        "allowed": {principal: sorted(requests) for principal, requests in enforcer.allowed.items()},
    }
    layer = Path(request["layer_python"])
    report["modules_outside_layer"] = sorted(
        name
        for name, module in sys.modules.items()
        if name.startswith("durable_runtime")
        and not name.startswith("durable_runtime.testing")
        and getattr(module, "__file__", None)
        and not Path(str(module.__file__)).is_relative_to(layer)
    )
    assert not report["modules_outside_layer"], report["modules_outside_layer"]
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
