"""`context.wait`: suspend until a duration has passed; waiting costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine.clock import is_due, iso_timestamp
from ..journal.records import OperationStatus
from .base import OperationIdentity, lookup, suspend

if TYPE_CHECKING:
    from ..engine.state import InvocationState


def run_wait(state: InvocationState, identity: OperationIdentity, seconds: int) -> None:
    """Return once the wait is over; until then suspend with a timer at its end."""
    record = lookup(state, identity)
    if record is None:
        now = state.now()
        ends = now + seconds
        started = identity.new_record(OperationStatus.STARTED, wait_until=ends, started_at=now)
        details = {"Duration": seconds, "ScheduledEndTimestamp": iso_timestamp(ends)}
        state.record_final(started, [state.event("WaitStarted", details)])
        raise suspend(state, ends, "timer", identity.operation_id)
    if record.status == OperationStatus.SUCCEEDED:
        return
    ends = record.wait_until or 0.0
    if not is_due(state.now(), ends):
        raise suspend(state, ends, "timer", identity.operation_id)
    state.observe_once(record, "WaitSucceeded", {"Duration": round(ends - (record.started_at or ends))})
