"""DurableFunction: a Lambda function that runs a durable handler, with everything the runtime needs wired in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs

from durable_runtime import contract

from . import _lambda, _nag, _perms, _validation
from ._grants import DurableFunctionBase, _PolicyPrincipal
from ._imports import ImportedDurableFunction
from ._timers import define_timers
from .engine import DurableEngine, alarm_at_least, alarm_on_any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms

    from constructs import Construct

    from ._engine_import import ImportedDurableEngine

# Lambda's retries of a failed asynchronous invoke are how a crashed invocation gets resumed (DESIGN §4).
ASYNC_RETRY_ATTEMPTS = 2
FUNCTION_NAME_WARNING = "@durable-kit/constructs:functionName"


class DurableFunction(DurableFunctionBase):
    """A Lambda function running a durable handler, with the runtime layer, its journal grants and its timers.

    Minimal use: `DurableFunction(stack, "Orders", handler="orders.handler", code=Code.from_asset("src"))`.
    Executions pin the version they started on: the function publishes a version per code change behind an
    alias, and timers, callbacks and retries re-invoke the pinned version. Versions are retained when the stack
    changes, but the function itself is replaced, and all its versions deleted, when its construct id (or a
    parent's) or its `function_name` changes: never change them while executions are running.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        handler: str,
        code: lambda_.Code,
        runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_13,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        engine: DurableEngine | ImportedDurableEngine | None = None,
        execution_timeout: cdk.Duration | None = None,
        retention: cdk.Duration | None = None,
        memory_size: int = 512,
        timeout: cdk.Duration | None = None,
        environment: Mapping[str, str] | None = None,
        function_name: str | None = None,
        description: str | None = None,
        alias_name: str = "live",
        max_event_age: cdk.Duration | None = None,
        timer_batch_size: int = 10,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        role: iam.IRole | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        tracing: lambda_.Tracing | None = None,
        reserved_concurrent_executions: int | None = None,
        provisioned_concurrent_executions: int | None = None,
        logging_format: lambda_.LoggingFormat | None = None,
        application_log_level: lambda_.ApplicationLogLevel | None = None,
        system_log_level: lambda_.SystemLogLevel | None = None,
        execution_age_alarm: cdk.Duration | None = None,
        powertools_layer_version: int | None = None,
    ) -> None:
        """Define the function.

        Args:
            handler: The durable handler, as `module.function` in `code`.
            code: The function's code; the runtime comes from the layer, so `code` holds only your modules.
            runtime: Default: Python 3.13 (any Python 3.11 or later).
            architecture: Default: arm64.
            engine: Default: the stack's engine, created at the stack's root on first use and shared. An engine
                of another stack works too, or one of another app (`DurableEngine.from_engine_attributes`).
            execution_timeout: Default: 1 day; at most 366 days. The longest execution this function accepts: a
                start may ask for less, never more, and one given none gets this. An execution still running then
                times out; the engine keeps payloads for this plus `retention`.
            retention: Default: 14 days (1 to 90, whole days): how long a closed execution's journal is kept.
            memory_size: Default: 512 MB (128 to 10240).
            timeout: Default: 5 minutes (10 seconds to 15 minutes); one invocation, not the execution (the runtime
                suspends before it and resumes in a new invocation).
            environment: Default: none beyond the durable variables, which it may not replace.
            function_name: Default: a name CloudFormation generates. Changing it (or setting it later) replaces
                the function and deletes the versions running executions are pinned to; synth warns when set.
            description: Default: none.
            alias_name: Default: "live": the alias that always points at the newest version.
            max_event_age: Default: 6 hours: how long Lambda keeps retrying an asynchronous invoke.
            timer_batch_size: Default: 10 timer messages per invocation of the timer queue's event source.
            log_retention: Default: one month.
            role: Default: a role of the function's own, with only the grants below. Given, that role gets the
                same grants (journal, payloads, timers, logs, its own versions); an immutable imported role gets
                none, so grant them yourself.
            layers: Default: only the runtime layer. Given, they come after it.
            vpc: Default: not in a VPC. Given, the function runs in its subnets, which must reach DynamoDB, S3,
                SQS, EventBridge Scheduler and Lambda (a NAT gateway or VPC endpoints); the role may manage the
                function's network interfaces.
            vpc_subnets: Default: the VPC's private subnets (the CDK's default placement).
            security_groups: Default: one security group the CDK creates, allowing all outbound traffic.
            tracing: Default: Lambda's PassThrough (no traces of the function's own); ACTIVE samples and sends
                traces to X-Ray, whose write actions have no resource-level permissions.
            reserved_concurrent_executions: Default: none reserved; the function shares the account's pool.
            provisioned_concurrent_executions: Default: none; given, the alias keeps that many environments warm.
            logging_format: Default: Lambda's text format. JSON makes the levels below available.
            application_log_level: Default: Lambda's (INFO) when logging_format is JSON.
            system_log_level: Default: Lambda's (INFO) when logging_format is JSON.
            execution_age_alarm: Default: 80% of `execution_timeout`. The ExecutionAgeAlarm fires when an
                execution runs this long after its start (near its timeout, or stuck waiting).
            powertools_layer_version: Default: no Powertools layer. Given (e.g. 27), the public Powertools for AWS
                Lambda (Python) v3 layer of that version, for this runtime and architecture, goes after the runtime
                layer: `context.logger` then writes through its Logger, `context.metrics` through its Metrics, and
                `plugins.powertools_tracing` can trace. Its version is yours to pin (aws partition only).
        """
        super().__init__(scope, id)
        # Validate before defining anything, so bad input fails fast and leaves the tree untouched.
        self.execution_timeout_seconds = _validation.execution_timeout_seconds(
            execution_timeout or cdk.Duration.seconds(contract.DEFAULT_EXECUTION_TIMEOUT_SECONDS)
        )
        self.retention_days = _validation.retention_days(
            retention or cdk.Duration.days(contract.DEFAULT_RETENTION_DAYS)
        )
        _validation.python_runtime(runtime)
        _validation.memory_size(memory_size)
        _validation.log_levels(logging_format, application_log_level, system_log_level)
        timeout = _validation.function_timeout(timeout or cdk.Duration.minutes(5))
        self.execution_age_alarm_seconds = _validation.execution_age_alarm_seconds(
            execution_age_alarm, self.execution_timeout_seconds
        )
        extra_environment = _validation.user_environment(environment)
        self.engine = engine or DurableEngine.of_stack(self)
        self._invoke_grants: dict[str, iam.Grant] = {}

        self.timers = define_timers(self, self.engine, timeout)
        function_role, log_group = self._role_and_logs(role, log_retention, in_vpc=vpc is not None)
        self.log_group = log_group
        async_config: dict[str, Any] = {
            "on_failure": destinations.SqsDestination(self.engine.dead_letter_queue),
            "retry_attempts": ASYNC_RETRY_ATTEMPTS,
            "max_event_age": max_event_age or cdk.Duration.hours(6),
        }
        self.function = self._function(
            handler=handler,
            code=code,
            runtime=runtime,
            architecture=architecture,
            layers=[
                self.engine.layer,
                *_lambda.powertools_layer(self, powertools_layer_version, runtime, architecture),
                *(layers or []),
            ],
            role=function_role,
            log_group=log_group,
            memory_size=memory_size,
            timeout=timeout,
            function_name=function_name,
            description=description,
            environment=extra_environment,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            tracing=tracing,
            reserved_concurrent_executions=reserved_concurrent_executions,
            logging_format=logging_format,
            application_log_level_v2=application_log_level,
            system_log_level_v2=system_log_level,
            async_config=async_config,
        )
        self._bind_resources()
        self._acknowledge_findings(function_role, runtime, tracing)
        self._retain_version_async_config()
        self.policy = self._durable_policy(function_role)
        self.alias = self._alias(alias_name, async_config, timer_batch_size, provisioned_concurrent_executions)
        self.alarms = self._alarms()
        resume = self.engine._register(self)
        if resume is not None:
            self.alias.node.add_dependency(resume)

    @classmethod
    def from_function_attributes(
        cls,
        scope: Construct,
        id: str,  # noqa: A002 - the CDK's construct signature
        *,
        function_arn: str,
        journal_table_arn: str,
        payload_bucket_arn: str,
        encryption_key: kms.IKey | None = None,
        outbox_relay_role_arn: str | None = None,
    ) -> DurableFunctionBase:
        """A durable function of another stack or app, for grants: start, read, stop, callbacks, clients, invoke.

        In one CDK app a `DurableFunction` of another stack can be granted directly; this is for a function known
        only by its ARNs (stack outputs, SSM parameters).

        Args:
            function_arn: The function's unqualified ARN, `arn:<partition>:lambda:<region>:<account>:function:<name>`.
            journal_table_arn: Its engine's journal table ARN (`engine.journal.table_arn`).
            payload_bucket_arn: Its engine's payload bucket ARN (`engine.payload_bucket.bucket_arn`).
            encryption_key: Default: the engine uses AWS managed keys. Its customer managed key, if it has one.
            outbox_relay_role_arn: Default: unknown, and `grant_invoke` fails. The role of its engine's outbox
                relay (`engine.outbox_relay.role.role_arn`), which resumes a durable caller when a child closes.
        """
        return ImportedDurableFunction(
            scope,
            id,
            function_arn=function_arn,
            journal_table_arn=journal_table_arn,
            payload_bucket_arn=payload_bucket_arn,
            encryption_key=encryption_key,
            outbox_relay_role_arn=outbox_relay_role_arn,
        )

    # region wiring
    def _role_and_logs(
        self, role: iam.IRole | None, retention: logs.RetentionDays, *, in_vpc: bool
    ) -> tuple[iam.IRole, logs.LogGroup]:
        if role is None:
            role, log_group = _lambda.role_and_logs(self, retention)
        else:
            log_group = logs.LogGroup(self, "LogGroup", retention=retention)
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(_lambda.LOG_WRITE), resources=[log_group.log_group_arn])
            )
        if in_vpc:
            # In the role's default policy, which the function waits for: Lambda checks it when it creates the
            # function. Not AWS's AWSLambdaVPCAccessExecutionRole, which also allows writing to any log group.
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(_perms.VPC_NETWORK_INTERFACES), resources=["*"])
            )
        return role, log_group

    def _function(
        self,
        *,
        function_name: str | None,
        environment: dict[str, str],
        async_config: dict[str, Any],
        **props: Any,
    ) -> lambda_.Function:
        if function_name is not None:
            cdk.Annotations.of(self).add_warning_v2(
                FUNCTION_NAME_WARNING,
                f"function_name is set ({function_name}): changing it later replaces the function and deletes "
                "every version, and executions in flight are pinned to those versions. Change it only when no "
                "execution is running (the same holds for this construct's id and its parents' ids).",
            )
        return lambda_.Function(
            self,
            "Resource",
            function_name=function_name,
            environment={**self._durable_environment(), **environment},
            # Every short timer is a message this function sends to its own queue, which invokes it again, and
            # Lambda would stop such a chain after about 16 rounds (its loop detection terminates by default). The
            # runtime keeps its own guard: a timer follows only a recorded suspension, and the resumes it gives itself
            # without progress (rechecks) count their hops in the envelope (contract.ENVELOPE_HOPS) and stop.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
            # Old versions keep running the executions pinned to them, so they (and their async configs) stay.
            current_version_options=lambda_.VersionOptions(removal_policy=cdk.RemovalPolicy.RETAIN, **async_config),
            **async_config,
            **props,
        )

    def _durable_environment(self) -> dict[str, str]:
        engine, timers = self.engine, self.timers
        return {
            contract.ENV_JOURNAL_TABLE: engine.journal.table_name,
            contract.ENV_PAYLOAD_BUCKET: engine.payload_bucket.bucket_name,
            contract.ENV_TIMER_QUEUE_URL: timers.queue.queue_url,
            contract.ENV_TIMER_QUEUE_ARN: timers.queue.queue_arn,
            contract.ENV_SCHEDULE_GROUP: timers.schedule_group.schedule_group_name,
            contract.ENV_SCHEDULER_ROLE_ARN: timers.scheduler_role.role_arn,
            # The longest execution this function accepts (and the default for a start that names none): the
            # runtime refuses longer starts, whoever makes them, and the payload bucket's lifecycle covers it.
            contract.ENV_EXECUTION_TIMEOUT_SECONDS: cdk.Tokenization.stringify_number(self.execution_timeout_seconds),
            contract.ENV_RETENTION_DAYS: cdk.Tokenization.stringify_number(self.retention_days),
            contract.ENV_CALLBACK_BASE_URL: engine.callback_base_url,
        }

    def _bind_resources(self) -> None:
        """What the grants of DurableFunctionBase are built on."""
        self.function_arn = self.function.function_arn
        self.function_name = self.function.function_name
        self.journal = self.engine.journal
        self.payload_bucket = self.engine.payload_bucket
        self.encryption_key = self.engine.encryption_key
        self._relay_role = self.engine.outbox_relay_role
        # Built from the name (not GetAtt Arn) so it reads exactly like the runtime's keys in the policy.
        self._key_arn = cdk.Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=self.function.function_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _alias(
        self, name: str, async_config: dict[str, Any], timer_batch_size: int, provisioned: int | None
    ) -> lambda_.Alias:
        alias = lambda_.Alias(
            self,
            "Alias",
            alias_name=name,
            version=self.function.current_version,
            provisioned_concurrent_executions=provisioned,
            **async_config,
        )
        # Nothing reaches the alias (timers, starts) before the function may touch its journal records.
        alias.node.add_dependency(self.policy)
        # The newest version consumes every timer; the runtime forwards those of older executions to their version.
        alias.add_event_source(
            event_sources.SqsEventSource(
                self.timers.queue, batch_size=timer_batch_size, report_batch_item_failures=True
            )
        )
        return alias

    def _acknowledge_findings(self, role: iam.IRole, runtime: lambda_.Runtime, tracing: lambda_.Tracing | None) -> None:
        _lambda.acknowledge_runtime_finding(self.function, runtime)
        unscoped = []
        if self.function.is_bound_to_vpc:
            unscoped.append("Lambda manages the function's network interfaces in its VPC (ec2 ENI actions).")
        if tracing not in (None, lambda_.Tracing.DISABLED):
            unscoped.append("The function sends traces (xray:PutTraceSegments, xray:PutTelemetryRecords).")
        if unscoped:
            _nag.acknowledge(
                role,
                "IAM5[Resource::*]",
                " ".join([*unscoped, "AWS defines no resource-level permissions for these actions: they apply to *."]),
            )
        if self.engine.encryption_key is None:
            return
        for action in _perms.CDK_QUEUE_KMS_WILDCARDS:
            _nag.acknowledge(
                role,
                f"IAM5[Action::{action}]",
                "The CDK's grants for the timer queue's event source and the dead-letter destination include "
                f"{action} on the engine's customer managed key (and no other key) to use the encrypted queues.",
            )

    def _retain_version_async_config(self) -> None:
        version = self.function.current_version
        config = version.node.try_find_child("EventInvokeConfig")
        if isinstance(config, cdk.Resource):
            config.apply_removal_policy(cdk.RemovalPolicy.RETAIN)

    def _durable_policy(self, role: iam.IRole) -> iam.Policy:
        """What the runtime does, least privilege; a policy of its own because it names the function itself."""
        stack, engine = cdk.Stack.of(self), self.engine
        schedules = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.timers.schedule_group.schedule_group_name}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        payload_objects = engine.payload_bucket.arn_for_objects(_perms.payload_keys_of(self.function.function_name))
        versions = f"{self.function_arn}:*"
        statements = [
            iam.PolicyStatement(
                actions=list(_perms.JOURNAL_RUN),
                resources=[engine.journal.table_arn],
                conditions=_perms.leading_keys(self.journal_key_pattern),
            ),
            iam.PolicyStatement(actions=list(_perms.PAYLOAD_READ_WRITE), resources=[payload_objects]),
            iam.PolicyStatement(actions=list(_perms.TIMER_SEND), resources=[self.timers.queue.queue_arn]),
            iam.PolicyStatement(actions=list(_perms.SCHEDULE_CREATE), resources=[schedules]),
            iam.PolicyStatement(
                actions=list(_perms.PASS_ROLE),
                resources=[self.timers.scheduler_role.role_arn],
                conditions=_perms.passed_to(_perms.SCHEDULER_SERVICE),
            ),
            # A timer consumed by the alias (newest version) is forwarded to the version its execution is pinned to.
            iam.PolicyStatement(actions=list(_perms.INVOKE), resources=[versions]),
        ]
        if engine.encryption_key is not None:
            statements.append(
                iam.PolicyStatement(actions=list(_perms.KMS_USE), resources=[engine.encryption_key.key_arn])
            )
        policy = iam.Policy(self, "DurablePolicy", roles=[role], statements=statements)
        _nag.acknowledge_wildcard_resources(
            policy,
            [payload_objects, schedules, versions],
            "payloads/<its name>/* is where the runtime keeps this function's results too large for a journal "
            "item; schedule/<its own group>/* are this "
            "function's one-time timers; <its ARN>:* are its own versions, which it invokes to resume executions "
            "pinned to them.",
        )
        return policy

    def _alarms(self) -> list[cloudwatch.Alarm]:
        five_minutes = cdk.Duration.minutes(5)
        alarms = [
            alarm_on_any(
                self,
                "ExecutionsFailedAlarm",
                self.metric_executions_failed(),
                f"Durable executions of {self.node.path} failed.",
            ),
            alarm_on_any(
                self,
                "ErrorsAlarm",
                self.function.metric_errors(period=five_minutes),
                f"Invocations of {self.node.path} crashed (the runtime resumes them, but something is wrong).",
            ),
            alarm_on_any(
                self,
                "ThrottlesAlarm",
                self.function.metric_throttles(period=five_minutes),
                f"Invocations of {self.node.path} were throttled.",
            ),
            alarm_on_any(
                self,
                "CallbackTimeoutsAlarm",
                self.metric_callback_timeouts(),
                f"Callbacks of {self.node.path} timed out: the systems that should answer them did not.",
            ),
            alarm_at_least(
                self,
                "ExecutionAgeAlarm",
                self.metric_execution_age(),
                self.execution_age_alarm_seconds,
                f"An execution of {self.node.path} ran {self.execution_age_alarm_seconds} seconds after it started: "
                "it is near its execution timeout, or stuck waiting (list_durable_executions_by_function finds it).",
            ),
        ]
        return [self.engine._add_alarm(alarm) for alarm in alarms]

    # endregion

    # region grants this function alone has
    def grant_invoke_plain(self, target: lambda_.IFunction) -> iam.Grant:
        """Let this function call the ordinary Lambda function `target` with `context.invoke`.

        The runtime describes the target (GetFunction, by the name, alias or ARN the workflow gives) and invokes
        the version that resolved to, synchronously. The statements go in a policy of this function's own
        (`Invokes<target id>`) that its alias waits for. A durable function's `.function` is granted as by
        `grant_invoke`. Calling it again for the same target returns the first grant.
        """
        function = getattr(target, "lambda_", None) or target  # an alias or version: its function
        durable = function.node.scope
        if isinstance(durable, DurableFunctionBase) and getattr(durable, "function", None) is function:
            return durable.grant_invoke(self)
        known = self._invoke_grants.get(function.node.path)
        if known is not None:
            return known
        principal = _PolicyPrincipal.of(self, function)
        versions = f"{function.function_arn}:*"
        _nag.acknowledge_wildcard_resources(
            principal.policy,
            [versions],
            "context.invoke describes the target by name, alias or version and invokes the version that resolved "
            "to (<target ARN>:*).",
        )
        grant = iam.Grant.add_to_principal(
            grantee=principal, actions=list(_perms.RESOLVE_VERSION), resource_arns=[function.function_arn, versions]
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(grantee=principal, actions=list(_perms.INVOKE), resource_arns=[versions])
        )
        grant.apply_before(self.alias)
        self._invoke_grants[function.node.path] = grant
        return grant

    def grant_send_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` call the engine's callback routes (see DurableEngine.grant_send_callback)."""
        return self.engine.grant_send_callback(grantee)

    def _allow_resume(self, caller: DurableFunction) -> iam.Policy | None:
        if caller.engine is self.engine:
            return None  # registered with the engine: its relay resumes the caller already
        # In the engine's stack its relay's policy names the caller; elsewhere a policy in the caller's stack.
        return self.engine._allow_resume(caller)

    # endregion
