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

from constructs import Construct
from durable_runtime import contract

from . import _lambda, _nag, _perms, _validation
from ._timers import define_timers
from .engine import DurableEngine, alarm_on_any

if TYPE_CHECKING:
    from collections.abc import Mapping

# Lambda's retries of a failed asynchronous invoke are how a crashed invocation gets resumed (DESIGN §4).
ASYNC_RETRY_ATTEMPTS = 2


class DurableFunction(Construct):
    """A Lambda function running a durable handler, with the runtime layer, its journal grants and its timers.

    Minimal use: `DurableFunction(stack, "Orders", handler="orders.handler", code=Code.from_asset("src"))`.
    Executions pin the version they started on: the function publishes a version per code change behind an
    alias, and timers, callbacks and retries re-invoke the pinned version.
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
        engine: DurableEngine | None = None,
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
    ) -> None:
        """Define the function.

        Args:
            handler: The durable handler, as `module.function` in `code`.
            code: The function's code; the runtime comes from the layer, so `code` holds only your modules.
            runtime: Default: Python 3.13 (any Python 3.11 or later).
            architecture: Default: arm64.
            engine: Default: the stack's engine, created at the stack's root on first use and shared.
            execution_timeout: Default: 1 day; at most 366 days. An execution still running then times out.
            retention: Default: 14 days (1 to 90, whole days): how long a closed execution's journal is kept.
            memory_size: Default: 512 MB (128 to 10240).
            timeout: Default: 5 minutes; one invocation, not the execution (the runtime suspends before it).
            environment: Default: none beyond the durable variables, which it may not replace.
            function_name: Default: a name CloudFormation generates.
            description: Default: none.
            alias_name: Default: "live": the alias that always points at the newest version.
            max_event_age: Default: 6 hours: how long Lambda keeps retrying an asynchronous invoke.
            timer_batch_size: Default: 10 timer messages per invocation of the timer queue's event source.
            log_retention: Default: one month.
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
        extra_environment = _validation.user_environment(environment)
        timeout = timeout or cdk.Duration.minutes(5)
        self.engine = engine or DurableEngine.of_stack(self)

        self.timers = define_timers(self, self.engine, timeout)
        role, log_group = _lambda.role_and_logs(self, log_retention)
        async_config: dict[str, Any] = {
            "on_failure": destinations.SqsDestination(self.engine.dead_letter_queue),
            "retry_attempts": ASYNC_RETRY_ATTEMPTS,
            "max_event_age": max_event_age or cdk.Duration.hours(6),
        }
        self.function = lambda_.Function(
            self,
            "Resource",
            handler=handler,
            code=code,
            runtime=runtime,
            architecture=architecture,
            layers=[self.engine.layer],
            role=role,
            log_group=log_group,
            memory_size=memory_size,
            timeout=timeout,
            function_name=function_name,
            description=description,
            environment={**self._durable_environment(), **extra_environment},
            # Old versions keep running the executions pinned to them, so they (and their async configs) stay.
            current_version_options=lambda_.VersionOptions(removal_policy=cdk.RemovalPolicy.RETAIN, **async_config),
            **async_config,
        )
        self._acknowledge_findings(role, runtime)
        self._retain_version_async_config()
        self.policy = self._durable_policy(role)
        self.alias = self._alias(alias_name, async_config, timer_batch_size)
        self.alarms = self._alarms()
        self.engine._register(self)

    # region wiring
    def _durable_environment(self) -> dict[str, str]:
        engine, timers = self.engine, self.timers
        return {
            contract.ENV_JOURNAL_TABLE: engine.journal.table_name,
            contract.ENV_PAYLOAD_BUCKET: engine.payload_bucket.bucket_name,
            contract.ENV_TIMER_QUEUE_URL: timers.queue.queue_url,
            contract.ENV_TIMER_QUEUE_ARN: timers.queue.queue_arn,
            contract.ENV_SCHEDULE_GROUP: timers.schedule_group.schedule_group_name,
            contract.ENV_SCHEDULER_ROLE_ARN: timers.scheduler_role.role_arn,
            contract.ENV_EXECUTION_TIMEOUT_SECONDS: cdk.Tokenization.stringify_number(self.execution_timeout_seconds),
            contract.ENV_RETENTION_DAYS: cdk.Tokenization.stringify_number(self.retention_days),
            contract.ENV_CALLBACK_BASE_URL: engine.callback_base_url,
        }

    def _alias(self, name: str, async_config: dict[str, Any], timer_batch_size: int) -> lambda_.Alias:
        alias = lambda_.Alias(self, "Alias", alias_name=name, version=self.function.current_version, **async_config)
        # Nothing reaches the alias (timers, starts) before the function may touch its journal records.
        alias.node.add_dependency(self.policy)
        # The newest version consumes every timer; the runtime forwards those of older executions to their version.
        alias.add_event_source(
            event_sources.SqsEventSource(
                self.timers.queue, batch_size=timer_batch_size, report_batch_item_failures=True
            )
        )
        return alias

    def _acknowledge_findings(self, role: iam.Role, runtime: lambda_.Runtime) -> None:
        _lambda.acknowledge_runtime_finding(self.function, runtime)
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

    def _durable_policy(self, role: iam.Role) -> iam.Policy:
        """What the runtime does, least privilege; a policy of its own because it names the function itself."""
        stack, engine = cdk.Stack.of(self), self.engine
        schedules = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.timers.schedule_group.schedule_group_name}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        payload_objects = engine.payload_bucket.arn_for_objects(_perms.payload_keys_of(self.function.function_name))
        statements = [
            self._journal_statement(_perms.JOURNAL_RUN),
            iam.PolicyStatement(actions=list(_perms.PAYLOAD_READ_WRITE), resources=[payload_objects]),
            iam.PolicyStatement(actions=list(_perms.TIMER_SEND), resources=[self.timers.queue.queue_arn]),
            iam.PolicyStatement(actions=list(_perms.SCHEDULE_CREATE), resources=[schedules]),
            iam.PolicyStatement(
                actions=list(_perms.PASS_ROLE),
                resources=[self.timers.scheduler_role.role_arn],
                conditions=_perms.passed_to(_perms.SCHEDULER_SERVICE),
            ),
            # A timer consumed by the alias (newest version) is forwarded to the version its execution is pinned to.
            iam.PolicyStatement(actions=list(_perms.INVOKE), resources=[self._versions_arn]),
        ]
        if engine.encryption_key is not None:
            statements.append(
                iam.PolicyStatement(actions=list(_perms.KMS_USE), resources=[engine.encryption_key.key_arn])
            )
        policy = iam.Policy(self, "DurablePolicy", roles=[role], statements=statements)
        _nag.acknowledge_wildcard_resources(
            policy,
            [payload_objects, schedules, self._versions_arn],
            "payloads/<its name>/* is where the runtime keeps this function's results too large for a journal "
            "item; schedule/<its own group>/* are this "
            "function's one-time timers; <its ARN>:* are its own versions, which it invokes to resume executions "
            "pinned to them.",
        )
        return policy

    def _journal_statement(self, actions: tuple[str, ...]) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=list(actions),
            resources=[self.engine.journal.table_arn],
            conditions=_perms.leading_keys(self.journal_key_pattern),
        )

    @property
    def _versions_arn(self) -> str:
        return f"{self.function.function_arn}:*"

    @property
    def journal_key_pattern(self) -> str:
        """The journal partition keys of this function's executions: `<function ARN>/durable-execution/*`."""
        return f"{self._unqualified_arn}/durable-execution/*"

    @property
    def _unqualified_arn(self) -> str:
        # Built from the name (not GetAtt Arn) so it reads exactly like the runtime's keys in the policy.
        return cdk.Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=self.function.function_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

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
        ]
        return [self.engine._add_alarm(alarm) for alarm in alarms]

    # endregion

    # region grants
    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` start executions with `DurableClient.start_execution` (resolve, record, invoke)."""
        arn, versions = self.function.function_arn, self._versions_arn
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(_perms.RESOLVE_VERSION), resource_arns=[arn, versions]
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(grantee=grantee, actions=list(_perms.INVOKE), resource_arns=[versions])
        )
        _nag.acknowledge_grant(
            grantee,
            [versions],
            "Starting resolves the alias to a version and invokes that version (<function ARN>:*), so the "
            "execution is pinned to the code it started on.",
        )
        return grant.combine(self._grant_journal(grantee, _perms.JOURNAL_START))

    def grant_read_history(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read this function's executions: get, state, history, and list by function."""
        grant = self._grant_journal(grantee, _perms.JOURNAL_READ)
        # Listing queries the index, whose partition key is the function ARN itself (one value, no wildcard).
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=list(_perms.JOURNAL_LIST),
                resource_arns=[f"{self.engine.journal.table_arn}/index/{contract.LIST_INDEX_NAME}"],
                conditions=_perms.leading_keys(self._unqualified_arn),
            )
        )
        # Results too large for the journal are read back from the payload bucket.
        payload_objects = self.engine.payload_bucket.arn_for_objects(
            _perms.payload_keys_of(self.function.function_name)
        )
        _nag.acknowledge_grant(
            grantee,
            [payload_objects],
            "This function's results too large for a journal item are objects under payloads/<its name>/; "
            "reading an execution's result or history may read them back.",
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee, actions=list(_perms.PAYLOAD_READ), resource_arns=[payload_objects]
            )
        )

    def grant_invoke(self, caller: DurableFunction) -> None:
        """Let `caller` call this function with `context.invoke`.

        The caller starts and reads this function's executions (its children) and invokes its versions. A child
        that ends wakes the caller through the journal: its closing write carries the caller's resume, and this
        function's engine's outbox relay invokes the caller's pinned version, so the child's own role invokes
        nothing. The caller's statements go in a policy of its own, named after this function.
        """
        journal = [*_perms.JOURNAL_START, *_perms.JOURNAL_READ]
        caller_side = iam.Policy(
            caller,
            f"Invokes{self.node.id}",
            roles=[caller.function.role] if caller.function.role else [],
            statements=[
                iam.PolicyStatement(
                    actions=list(_perms.RESOLVE_VERSION),
                    resources=[self.function.function_arn, self._versions_arn],
                ),
                iam.PolicyStatement(actions=list(_perms.INVOKE), resources=[self._versions_arn]),
                self._journal_statement(tuple(sorted(set(journal)))),
            ],
        )
        _nag.acknowledge_wildcard_resources(
            caller_side, [self._versions_arn], "context.invoke starts a child on a version of the target (<ARN>:*)."
        )
        # The child's wake lands in this function's journal, so this engine's relay resumes the caller; it already
        # may when the caller shares the engine (repeats add nothing).
        self.engine._allow_resume(caller)

    def grant_send_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` call the engine's callback routes (see DurableEngine.grant_send_callback)."""
        return self.engine.grant_send_callback(grantee)

    def _grant_journal(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.engine.journal.table_arn],
            conditions=_perms.leading_keys(self.journal_key_pattern),
        )
        key = self.engine.encryption_key
        if key is not None:
            grant = grant.combine(
                iam.Grant.add_to_principal(grantee=grantee, actions=list(_perms.KMS_USE), resource_arns=[key.key_arn])
            )
        return grant

    # endregion

    # region metrics
    def metric_executions_started(self, **options: Any) -> cloudwatch.Metric:
        """Executions started per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_EXECUTIONS_STARTED, options)

    def metric_executions_succeeded(self, **options: Any) -> cloudwatch.Metric:
        """Executions that succeeded per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_EXECUTIONS_SUCCEEDED, options)

    def metric_executions_failed(self, **options: Any) -> cloudwatch.Metric:
        """Executions that failed per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_EXECUTIONS_FAILED, options)

    def metric_executions_timed_out(self, **options: Any) -> cloudwatch.Metric:
        """Executions that reached their execution timeout per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_EXECUTIONS_TIMED_OUT, options)

    def _metric(self, name: str, options: dict[str, Any]) -> cloudwatch.Metric:
        props: dict[str, Any] = {
            "namespace": contract.METRIC_NAMESPACE,
            "metric_name": name,
            "dimensions_map": {contract.METRIC_DIMENSION: self.function.function_name},
            "statistic": "Sum",
            "period": cdk.Duration.minutes(5),
            **options,
        }
        return cloudwatch.Metric(**props)

    # endregion
