"""Journal writes under throttling: a hot partition slows a fan-out down, it never fails it.

An execution's records share one partition key, which DynamoDB serves at about 1,000 writes a second until it
splits the partition. Two layers keep a large fan-out within that without failing:

- the journal's client retries in botocore's adaptive mode (`JOURNAL_CLIENT_RETRIES`): a throttle slows the
  client's send rate, shared by every branch of the invocation (a token bucket that backs off and recovers);
- a write still failing when botocore gives up, throttled or with a transient error (a 5xx, a timeout, a lost
  connection), is tried again here with jittered exponential backoff for as long as the invocation has time.
  Only then does it fail, and the invocation ends for Lambda to retry it. botocore's own attempts are kept few
  (its backoff for a throttle doubles from 1 s up to 20 s and knows nothing of Lambda's deadline); this loop
  watches the deadline.

Trying a conditional write again is safe: a throttled request was rejected before DynamoDB applied it, and a
write that did land before its answer was lost is recognised by the store (`_already_written`) and not repeated.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

# The journal client's retries: adaptive (client-side rate limiting), 4 attempts (a throttle waits at most 7 s
# inside botocore); `write_paced` goes on from there.
JOURNAL_CLIENT_RETRIES: Any = {"mode": "adaptive", "max_attempts": 4}  # botocore Config(retries=...)

THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "Throttling"}
)
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0

_sleep = time.sleep  # real time: throttling is DynamoDB's, whatever clock the engine runs on


def is_throttling(error: BaseException) -> bool:
    """True for a botocore error saying DynamoDB throttled the request."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in THROTTLING_CODES


def is_transient(error: BaseException) -> bool:
    """True for a throttle, a DynamoDB 5xx, or a connection that failed or timed out: worth trying again."""
    if is_throttling(error):
        return True
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500
    from botocore.exceptions import ConnectionError as BotocoreConnectionError  # only on a failure

    return isinstance(error, BotocoreConnectionError)


def write_paced(write: Callable[[], T], may_wait: Callable[[float], bool]) -> T:
    """Make `write`, trying again after a transient failure while `may_wait(seconds)` allows waiting that long."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            return write()
        except Exception as error:
            if not is_transient(error):
                raise
            delay = random.uniform(backoff / 2, backoff)  # jittered, so throttled branches do not retry in step
            if not may_wait(delay):
                raise
        _sleep(delay)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
