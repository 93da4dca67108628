"""Journal writes under throttling: a hot partition slows a fan-out down, it never fails it.

An execution's records share one partition key, which DynamoDB serves at about 1,000 writes a second until it
splits the partition. Two layers keep a large fan-out within that without failing:

- the journal's client retries in botocore's adaptive mode (`JOURNAL_CLIENT_RETRIES`): a throttle slows the
  client's send rate, shared by every branch of the invocation (a token bucket that backs off and recovers);
- a write still throttled when botocore gives up is tried again here, with jittered exponential backoff, for as
  long as the invocation has time. Only then does it fail, and the invocation ends for Lambda to retry it.

A throttled request was rejected before DynamoDB applied it, so trying a conditional write again is safe.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

# The journal client's retries: adaptive (client-side rate limiting), with the budget botocore's legacy mode
# gives DynamoDB (10 attempts), so transient errors are retried as often as before.
JOURNAL_CLIENT_RETRIES: Any = {"mode": "adaptive", "max_attempts": 10}  # botocore Config(retries=...)

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


def write_paced(write: Callable[[], T], may_wait: Callable[[float], bool]) -> T:
    """Make `write`, trying again after a throttle while `may_wait(seconds)` allows waiting that long more."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            return write()
        except Exception as error:
            if not is_throttling(error):
                raise
            delay = random.uniform(backoff / 2, backoff)  # jittered, so throttled branches do not retry in step
            if not may_wait(delay):
                raise
        _sleep(delay)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
