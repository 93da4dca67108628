"""The names the CDK constructs and the Lambda runtime must agree on.

Pure constants, no imports: the constructs read this module at synth time and the runtime at cold start. If a
string appears on both sides, it lives here once.
"""

# region Environment variables the constructs set and the runtime reads
ENV_JOURNAL_TABLE = "DURABLE_JOURNAL_TABLE"
ENV_PAYLOAD_BUCKET = "DURABLE_PAYLOAD_BUCKET"
ENV_TIMER_QUEUE_URL = "DURABLE_TIMER_QUEUE_URL"
ENV_SCHEDULE_GROUP = "DURABLE_SCHEDULE_GROUP"
ENV_SCHEDULER_ROLE_ARN = "DURABLE_SCHEDULER_ROLE_ARN"
ENV_TIMER_QUEUE_ARN = "DURABLE_TIMER_QUEUE_ARN"
ENV_EXECUTION_TIMEOUT_SECONDS = "DURABLE_EXECUTION_TIMEOUT_SECONDS"
ENV_RETENTION_DAYS = "DURABLE_RETENTION_DAYS"
ENV_CALLBACK_BASE_URL = "DURABLE_CALLBACK_BASE_URL"
# endregion

# region Journal table (DynamoDB, single table)
PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "ttl"
# Sparse index over execution records only: list executions of one function by start time. Its partition key is
# `<unqualified function ARN><LIST_INDEX_SHARD_SEPARATOR><shard>`, the shard (0 to LIST_INDEX_SHARDS - 1) derived
# from the execution's name, so one function's starts and closes spread over several index partitions. The index
# projects only what a listing shows: lease and journal writes to an execution record change nothing it holds, so
# they cost no index write.
LIST_INDEX_NAME = "by-function"
LIST_INDEX_PARTITION_KEY = "fn"
LIST_INDEX_SORT_KEY = "started"
LIST_INDEX_SHARDS = 8
LIST_INDEX_SHARD_SEPARATOR = "#"
LIST_INDEX_PROJECTED_ATTRIBUTES = ("arn", "name", "ver", "st", "ended")
# Sparse index over the execution records started with a business key (an order id, a ticket id): a function's
# executions by that key, by start time, so an on-call engineer finds one from what a customer reports. Partition
# key `<unqualified function ARN><BUSINESS_KEY_SEPARATOR><business key>` (a key prefix names one function, as on the
# table), sort key the start time; it projects what a listing shows.
BUSINESS_KEY_INDEX_NAME = "by-business-key"
BUSINESS_KEY_INDEX_PARTITION_KEY = "bkey"
BUSINESS_KEY_SEPARATOR = "/"
BUSINESS_KEY_INDEX_PROJECTED_ATTRIBUTES = (*LIST_INDEX_PROJECTED_ATTRIBUTES, LIST_INDEX_PARTITION_KEY)
MAX_BUSINESS_KEY_CHARACTERS = 256
# Both indexes over execution records: (name, partition key, projected attributes); both sort by LIST_INDEX_SORT_KEY.
EXECUTION_INDEXES = (
    (LIST_INDEX_NAME, LIST_INDEX_PARTITION_KEY, LIST_INDEX_PROJECTED_ATTRIBUTES),
    (BUSINESS_KEY_INDEX_NAME, BUSINESS_KEY_INDEX_PARTITION_KEY, BUSINESS_KEY_INDEX_PROJECTED_ATTRIBUTES),
)

RECORD_EXECUTION = "EXEC"
RECORD_OPERATION_PREFIX = "OP#"
RECORD_INVOCATION_PREFIX = "INV#"
# The journal is its own outbox (DESIGN §4 "Liveness"): a write whose change needs a follow-up (an execution
# created by a client, a callback completed, a child execution closed) sets this attribute to the resume envelope
# (JSON text) that must be sent; every other write of the same item removes it. The table's stream (new images)
# feeds the outbox relay function, whose event source passes only records carrying the attribute.
WAKE_ATTRIBUTE = "wake"
JOURNAL_STREAM_VIEW_TYPE = "NEW_IMAGE"
OUTBOX_FILTER_PATTERN = {"dynamodb": {"NewImage": {WAKE_ATTRIBUTE: {"S": [{"exists": True}]}}}}
# Every top-level attribute of an operation record: key, status, attempt, inline result or its payload key, the
# compact description, history events, retention and the outbox wake. The callback handler's role may update
# these and no others (the execution record's lease, version and parent are out of its reach).
OPERATION_RECORD_ATTRIBUTES = (
    PARTITION_KEY,
    SORT_KEY,
    "st",
    "att",
    "res",
    "res_ref",
    "d",
    "ev",
    TTL_ATTRIBUTE,
    WAKE_ATTRIBUTE,
)
# endregion

# region Handlers the engine deploys from the runtime layer
CALLBACK_HANDLER = "durable_runtime.callbacks.api.handler"
OUTBOX_HANDLER = "durable_runtime.engine.outbox.handler"
# endregion

# region Resume envelope: what timers, the callback handler and child completions send the function
ENVELOPE_KEY = "DurableKit"
ENVELOPE_ACTION = "action"
ENVELOPE_EXECUTION_ARN = "executionArn"
ENVELOPE_REASON = "reason"
ENVELOPE_DUE_AT = "dueAt"
ENVELOPE_OPERATION_ID = "operationId"
ACTION_RESUME = "resume"

REASON_START = "start"
REASON_TIMER = "timer"
REASON_RETRY = "retry"
REASON_WATCHDOG = "watchdog"
REASON_CALLBACK = "callback"
REASON_CHILD_COMPLETED = "child-completed"
REASON_LEASE_BUSY = "lease-busy"
REASON_DEADLINE = "deadline"
# An operator resumed a paused execution, or redrove a failed one.
REASON_RESUMED = "resumed"
REASON_REDRIVEN = "redriven"
# How many resumes in a row an execution may give itself without anything new happening (lease-busy and lost-race
# rechecks): the runtime's own guard against runaway loops, since durable functions allow Lambda's recursion.
ENVELOPE_HOPS = "hops"
# endregion

# region Limits
DEFAULT_EXECUTION_TIMEOUT_SECONDS = 86_400
MAX_EXECUTION_TIMEOUT_SECONDS = 366 * 86_400
DEFAULT_RETENTION_DAYS = 14
# Results above this go to the payload bucket; DynamoDB items stop at 400 KB.
INLINE_PAYLOAD_LIMIT_BYTES = 256 * 1024
# SQS delay queues deliver at most 15 minutes later; longer timers use EventBridge Scheduler.
SQS_MAX_DELAY_SECONDS = 900
# A function's timer queue: a message its event source took stays invisible for the function's timeout plus this
# margin (the least Lambda accepts is the timeout), so one whose invocation died before it could hold the message
# (see engine.timers.HELD_MESSAGE_SECONDS) comes back within minutes. A message received this often without
# success goes to the engine's dead-letter queue: enough for two hours of throttling at the default timeout.
TIMER_QUEUE_VISIBILITY_MARGIN_SECONDS = 60
TIMER_QUEUE_MAX_RECEIVE_COUNT = 20
# endregion

METRIC_NAMESPACE = "DurableKit"
METRIC_DIMENSION = "FunctionName"
METRIC_EXECUTIONS_STARTED = "ExecutionsStarted"
METRIC_EXECUTIONS_SUCCEEDED = "ExecutionsSucceeded"
METRIC_EXECUTIONS_FAILED = "ExecutionsFailed"
METRIC_EXECUTIONS_TIMED_OUT = "ExecutionsTimedOut"
METRIC_EXECUTIONS_STOPPED = "ExecutionsStopped"
# Seconds from an execution's start to its close (on close).
METRIC_EXECUTION_DURATION = "ExecutionDuration"
# Seconds since the execution started, at each invocation: its Maximum is the oldest execution that ran.
METRIC_EXECUTION_AGE = "ExecutionAge"
# A step that failed for good (its retries spent), with the step's name as the log line's StepName property.
METRIC_STEPS_FAILED = "StepsFailed"
METRIC_STEP_NAME_PROPERTY = "StepName"
METRIC_CALLBACK_TIMEOUTS = "CallbackTimeouts"
# Operation records an invocation wrote (each a journal write unit or more).
METRIC_OPERATIONS_WRITTEN = "OperationsWritten"
# Objects in the payload bucket live under this prefix, then the function's name (so grants can be per function).
PAYLOAD_PREFIX = "payloads/"

# region Callback API routes (same paths as the Lambda durable APIs)
CALLBACK_ROUTE_PREFIX = "/durable-execution-callbacks"
CALLBACK_ACTIONS = ("succeed", "fail", "heartbeat")
# endregion
