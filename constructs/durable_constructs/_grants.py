"""What every durable function offers other code, defined here or imported: grants on its executions, and metrics.

The grants follow the runtime's calls (DESIGN §10): each names one caller's intent, picks its action lists from
`_perms` and scopes them to this function's journal partition keys, its payload prefix and its ARN. A grant adds
to the grantee only, so it works from any stack that may reference this function's resources.
"""

from __future__ import annotations

import json
import weakref
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from constructs import Construct, IConstruct
from durable_runtime import contract

from . import _nag, _perms
from ._validation import DurableValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from .function import DurableFunction

_RESOLVE_REASON = (
    "Starting, listing and context.invoke describe the function with GetFunction, by name, alias or version "
    "(<function ARN>:*), to find the version an execution pins."
)
_PAYLOAD_REASON = (
    "This function's results and errors too large for a journal item are objects under payloads/<its name>/ "
    "(one per execution and operation); the grant covers that prefix only."
)


class DurableFunctionBase(Construct):
    """A durable function as other code sees it: who may start, read, stop, complete callbacks of and call it.

    `DurableFunction` defines one; `DurableFunction.from_function_attributes` imports one defined elsewhere.
    """

    # Set by the subclass before any grant. `function_arn` is unqualified; `_key_arn` spells it as the runtime
    # spells journal partition keys; `_relay_role` is the role of the outbox relay that resumes this function's
    # callers (None when unknown).
    function_arn: str
    function_name: str
    journal: dynamodb.ITable
    payload_bucket: s3.IBucket
    encryption_key: kms.IKey | None
    _key_arn: str
    _relay_role: iam.IRole | None

    @property
    def journal_key_pattern(self) -> str:
        """The journal partition keys of this function's executions: `<function ARN>/durable-execution/*`."""
        return f"{self._key_arn}/durable-execution/*"

    @property
    def client_environment(self) -> dict[str, str]:
        """What `DurableClient` reads from its environment to reach this function's executions.

        Its engine's journal table (required) and payload bucket (for results, errors and callback payloads too
        large for a journal item). The execution timeout and retention come from the function itself.
        """
        return {
            contract.ENV_JOURNAL_TABLE: self.journal.table_name,
            contract.ENV_PAYLOAD_BUCKET: self.payload_bucket.bucket_name,
        }

    # region grants for DurableClient
    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` start executions with `DurableClient.start_execution`.

        It describes the function (GetFunction) and creates the execution's records; the engine's outbox relay
        then invokes the function, so the grantee invokes nothing.
        """
        return self._grant_resolve(grantee).combine(self._grant_journal(grantee, _perms.JOURNAL_START))

    def grant_read_history(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read this function's executions: get, state, history, and list by function.

        Listing describes the function first (GetFunction) and queries the listing index in this function's
        shards; results and errors too large for the journal are read back from the payload bucket.
        """
        grant = self._grant_resolve(grantee).combine(self._grant_journal(grantee, _perms.JOURNAL_READ))
        # The index's partition key is `<function ARN>#<shard>`: a function name never contains "#".
        shards = f"{self._key_arn}{contract.LIST_INDEX_SHARD_SEPARATOR}*"
        # The business-key index's partition key is `<function ARN>/<business key>`, its own executions' only.
        business_keys = f"{self._key_arn}{contract.BUSINESS_KEY_SEPARATOR}*"
        for index, prefix in ((contract.LIST_INDEX_NAME, shards), (contract.BUSINESS_KEY_INDEX_NAME, business_keys)):
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=list(_perms.JOURNAL_LIST),
                    resource_arns=[f"{self.journal.table_arn}/index/{index}"],
                    conditions=_perms.leading_keys(prefix),
                )
            )
        return grant.combine(self._grant_payloads(grantee, _perms.PAYLOAD_READ))

    def grant_operate_executions(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` pause, resume, redrive and delete this function's executions with `DurableClient`.

        Each reads the execution record and changes it with a conditional update (the change's resume, if any,
        is an outbox entry the engine's relay sends); a redrive reads the journal, reopens failed operations and
        may describe the function (GetFunction) to move to a named version; a delete removes the execution's
        records (BatchWriteItem, then DeleteItem) and its payloads.
        """
        grant = self._grant_resolve(grantee).combine(self._grant_journal(grantee, _perms.JOURNAL_OPERATE))
        return grant.combine(self._grant_payloads(grantee, _perms.PAYLOAD_DELETE))

    def grant_stop_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` stop this function's executions with `DurableClient.stop_durable_execution`.

        It reads the execution record and closes it with one conditional update (an error too large for the
        record goes to the payload bucket); a stopped child resumes its parent through the journal's outbox.
        """
        grant = self._grant_journal(grantee, _perms.JOURNAL_STOP)
        return grant.combine(self._grant_payloads(grantee, _perms.PAYLOAD_WRITE))

    def grant_complete_callbacks(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` complete this function's callbacks with `DurableClient.send_durable_execution_callback_*`.

        The same calls as the engine's callback handler, limited to this function's executions: read the
        callback's operation and execution records and the last invocation, then update the operation record
        (its attributes only); a large result or error goes to the payload bucket. The completion's write carries
        the execution's resume, which the engine's outbox relay sends. For the HTTP API, see `grant_send_callback`.
        """
        grant = self._grant_journal(grantee, _perms.JOURNAL_CALLBACK)
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=list(_perms.JOURNAL_CALLBACK_COMPLETE),
                resource_arns=[self.journal.table_arn],
                conditions={
                    **_perms.leading_keys(self.journal_key_pattern),
                    **_perms.only_attributes(_perms.OPERATION_RECORD_ATTRIBUTES),
                },
            )
        )
        return grant.combine(self._grant_payloads(grantee, _perms.PAYLOAD_WRITE))

    def grant_client(
        self,
        client_function: lambda_.Function,
        *,
        start: bool = True,
        read: bool = True,
        stop: bool = False,
        callbacks: bool = False,
        operate: bool = False,
    ) -> iam.Grant:
        """Make `client_function` a `DurableClient` of this function: its permissions and its environment.

        Sets the variables `DurableClient` reads (`client_environment`: the engine's journal table and payload
        bucket) and grants what the chosen methods call: `start` (start_execution), `read` (get, state, history,
        list), `stop` (stop_durable_execution), `callbacks` (send_durable_execution_callback_*), `operate`
        (pause/resume/redrive/delete_durable_execution). A client talks to one engine: granting it functions of
        two engines fails.
        """
        chosen = [
            grant(client_function)
            for wanted, grant in (
                (start, self.grant_start_execution),
                (read, self.grant_read_history),
                (stop, self.grant_stop_execution),
                (callbacks, self.grant_complete_callbacks),
                (operate, self.grant_operate_executions),
            )
            if wanted
        ]
        if not chosen:
            raise DurableValidationError(
                f"grant_client({client_function.node.path}) grants nothing: set start, read, stop, callbacks or operate"
            )
        _set_environment(client_function, self.client_environment)
        grant = chosen[0]
        for more in chosen[1:]:
            grant = grant.combine(more)
        return grant

    # endregion

    # region context.invoke
    def grant_invoke(self, caller: DurableFunction) -> iam.Grant:
        """Let the durable function `caller` call this one with `context.invoke`; returns the caller's grant.

        The caller describes this function (GetFunction: its version, and from its environment its engine), starts
        the child execution in this function's journal, reads it back when it closes, and reads a result or error
        too large for the journal from this function's payload prefix. The statements go in a policy of the
        caller's own (`Invokes<this id>`), which the caller's alias waits for. The child's close wakes the caller
        through this function's engine's outbox relay, which is allowed to invoke the caller's versions: by its own
        policy when both are in one stack, otherwise by a policy in the caller's stack, so the callee's stack never
        references the caller's. Calling it again for the same caller returns the first grant.
        """
        known = caller._invoke_grants.get(self.node.path)
        if known is not None:
            return known
        principal = _PolicyPrincipal.of(caller, self)
        grant = self._grant_resolve(principal)
        grant = grant.combine(self._grant_journal(principal, (*_perms.JOURNAL_START, *_perms.JOURNAL_READ)))
        grant = grant.combine(self._grant_payloads(principal, _perms.PAYLOAD_READ))
        grant.apply_before(caller.alias)
        resume = self._allow_resume(caller)
        if resume is not None:
            caller.alias.node.add_dependency(resume)
        caller._invoke_grants[self.node.path] = grant
        return grant

    def _allow_resume(self, caller: DurableFunction) -> iam.Policy | None:
        """Let this function's outbox relay resume `caller`, from the caller's stack (the callee's never changes)."""
        if self._relay_role is None:
            raise DurableValidationError(
                f"{self.node.path} was imported without outbox_relay_role_arn: the child's engine's outbox relay "
                f"resumes {caller.node.path} when a child closes; pass the relay's role ARN "
                "(engine.outbox_relay.role.role_arn) to DurableFunction.from_function_attributes"
            )
        return relay_resume_policy(caller, self._relay_role, self.node.id)

    # endregion

    # region building blocks
    def _grant_resolve(self, grantee: iam.IGrantable) -> iam.Grant:
        versions = f"{self.function_arn}:*"
        _acknowledge(grantee, [versions], _RESOLVE_REASON)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(_perms.RESOLVE_VERSION), resource_arns=[self.function_arn, versions]
        )

    def _grant_journal(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=sorted(set(actions)),
            resource_arns=[self.journal.table_arn],
            conditions=_perms.leading_keys(self.journal_key_pattern),
        )
        return grant.combine(self._grant_key(grantee)) if self.encryption_key is not None else grant

    def _grant_payloads(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        objects = self.payload_bucket.arn_for_objects(_perms.payload_keys_of(self.function_name))
        _acknowledge(grantee, [objects], _PAYLOAD_REASON)
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[objects])
        return grant.combine(self._grant_key(grantee)) if self.encryption_key is not None else grant

    def _grant_key(self, grantee: iam.IGrantable) -> iam.Grant:
        # The journal, the payloads and their streams share the engine's key; statements repeat, IAM merges them.
        assert self.encryption_key is not None
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(_perms.KMS_USE), resource_arns=[self.encryption_key.key_arn]
        )

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

    def metric_executions_stopped(self, **options: Any) -> cloudwatch.Metric:
        """Executions stopped with `stop_durable_execution` per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_EXECUTIONS_STOPPED, options)

    def metric_steps_failed(self, **options: Any) -> cloudwatch.Metric:
        """Steps that failed for good, their retries spent (Sum over 5 minutes by default). Each log line names
        the step (`StepName`): the engine's dashboard groups failures by step with Logs Insights."""
        return self._metric(contract.METRIC_STEPS_FAILED, options)

    def metric_callback_timeouts(self, **options: Any) -> cloudwatch.Metric:
        """Callbacks that timed out (overall or heartbeat) per period (Sum over 5 minutes by default)."""
        return self._metric(contract.METRIC_CALLBACK_TIMEOUTS, options)

    def metric_execution_age(self, **options: Any) -> cloudwatch.Metric:
        """Seconds since the oldest execution that ran in the period started (Maximum over 5 minutes by default).

        Reported by each invocation: an execution waiting without running (a callback, a long wait) is seen when
        it next runs, at the latest when its timeout's watchdog fires.
        """
        return self._metric(contract.METRIC_EXECUTION_AGE, {"statistic": "Maximum", **options})

    def metric_operations_written(self, **options: Any) -> cloudwatch.Metric:
        """Operation records written per period (Sum over 5 minutes by default): the journal's write load."""
        return self._metric(contract.METRIC_OPERATIONS_WRITTEN, options)

    def metric_execution_duration(self, **options: Any) -> cloudwatch.Metric:
        """Seconds from start to close of the executions that closed in the period (Average over 5 minutes)."""
        return self._metric(contract.METRIC_EXECUTION_DURATION, {"statistic": "Average", **options})

    def _metric(self, name: str, options: dict[str, Any]) -> cloudwatch.Metric:
        props: dict[str, Any] = {
            "namespace": contract.METRIC_NAMESPACE,
            "metric_name": name,
            "dimensions_map": {contract.METRIC_DIMENSION: self.function_name},
            "statistic": "Sum",
            "period": cdk.Duration.minutes(5),
            **options,
        }
        return cloudwatch.Metric(**props)

    # endregion


@jsii.implements(iam.IPrincipal)
class _PolicyPrincipal:
    """A durable function's role, with every statement granted to it going into one policy of its own.

    Not the role's default policy: the function waits for that one, and a default policy naming another function
    would make two functions that call each other wait for each other (a dependency cycle).
    """

    def __init__(self, role: iam.IRole, policy: iam.Policy) -> None:
        self._role = role
        self.policy = policy

    @classmethod
    def of(cls, caller: DurableFunction, target: IConstruct) -> _PolicyPrincipal:
        """The caller's role, granting into a new policy `Invokes<target id>` in the caller's scope."""
        role = caller.function.role
        assert role is not None  # DurableFunction always has one
        return cls(role, iam.Policy(caller, _unique_id(caller, f"Invokes{target.node.id}"), roles=[role]))

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """This principal."""
        return self

    @property
    def assume_role_action(self) -> str:
        """The role's."""
        return self._role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        """The role's."""
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        """The role's."""
        return self._role.principal_account

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        """Add `statement` to the policy."""
        return self.add_to_principal_policy(statement).statement_added

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """Add `statement` to the policy, which grants depending on it wait for."""
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)


def _acknowledge(grantee: iam.IGrantable, resources: list[str], reason: str) -> None:
    principal = grantee.grant_principal
    if isinstance(principal, _PolicyPrincipal):
        _nag.acknowledge_wildcard_resources(principal.policy, resources, reason)
    elif isinstance(principal, Construct):
        _nag.acknowledge_wildcard_resources(principal, resources, reason)


def relay_resume_policy(caller: DurableFunction, relay_role: iam.IRole, source_id: str) -> iam.Policy:
    """A policy in `caller`'s stack letting an outbox relay (of a stack that must not name `caller`) resume it.

    The relay invokes the version the execution is pinned to. The policy names the relay's role, so the caller's
    stack depends on the relay's, the direction it depends on already for the engine it uses. Asking again for the
    same caller and relay returns the first policy.
    """
    policies = _resume_policies.setdefault(caller, {})
    known = policies.get(relay_role.node.path)
    if known is not None:
        return known
    versions = f"{caller.function_arn}:*"
    policy = iam.Policy(
        caller,
        _unique_id(caller, f"ResumedBy{source_id}"),
        roles=[relay_role],
        statements=[iam.PolicyStatement(actions=list(_perms.INVOKE), resources=[versions])],
    )
    _nag.acknowledge_wildcard_resources(
        policy,
        [versions],
        "A wake resumes its execution on the version it is pinned to: the outbox relay of the journal the "
        "function's executions (or its children) write to invokes its versions (<function ARN>:*).",
    )
    policies[relay_role.node.path] = policy
    return policy


# The policies letting outbox relays of other stacks resume each caller, by the relay role's construct path.
_resume_policies: weakref.WeakKeyDictionary[DurableFunction, dict[str, iam.Policy]] = weakref.WeakKeyDictionary()


def _unique_id(scope: Construct, wanted: str) -> str:
    """`wanted`, or with a counter when two targets in different scopes share a construct id."""
    candidate, counter = wanted, 2
    while scope.node.try_find_child(candidate) is not None:
        candidate, counter = f"{wanted}{counter}", counter + 1
    return candidate


# The journal table each client function was given, as the template spells it: a client talks to one engine.
_client_journals: weakref.WeakKeyDictionary[lambda_.Function, str] = weakref.WeakKeyDictionary()


def _set_environment(function: lambda_.Function, variables: dict[str, str]) -> None:
    """Set `variables` on `function`, refusing to point it at a second engine's journal."""
    journal = json.dumps(cdk.Stack.of(function).resolve(variables[contract.ENV_JOURNAL_TABLE]), sort_keys=True)
    if _client_journals.setdefault(function, journal) != journal:
        raise DurableValidationError(
            f"{function.node.path} already has {contract.ENV_JOURNAL_TABLE} set to another engine's journal: a "
            "DurableClient talks to one engine, so give each engine's functions clients of their own"
        )
    for name, value in variables.items():
        function.add_environment(name, value)
