"""Who acts for an execution: the lease an invocation takes before side effects, kept alive while it runs."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from .heartbeat import Heartbeat
from .journal_view import LostExecution

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..journal.records import ExecutionRecord
    from ..journal.store import JournalStore
    from .clock import Clock

log = logging.getLogger("durable_runtime")

# A lease lasts this long unless its holder renews it, which a live holder does every RENEW_EVERY_SECONDS (real
# time). A holder that died (crash, out of memory, timeout) is therefore known dead within a minute, whatever the
# function's timeout: the next delivery takes over then, instead of waiting for the dead invocation's deadline.
LEASE_SECONDS = 60.0
RENEW_EVERY_SECONDS = 20.0


class Ownership:
    """The execution's lease for one invocation.

    The lease is a conditional update of the execution record that advances its invocation counter (the fencing
    token) and names this invocation as owner until `LEASE_SECONDS` from now; a thread renews it while the
    invocation runs. The owner is unique per invocation, never just the delivery's id: the same SQS message or
    Lambda request can be delivered twice at once, and the second delivery must find the lease held.
    """

    def __init__(
        self,
        store: JournalStore,
        clock: Clock,
        key: str,
        execution: ExecutionRecord,
        seq: int,
        delivery_id: str,
        deadline: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._key = key
        self._previous = execution
        self.seq = seq
        self.owner = f"{delivery_id}/{uuid.uuid4().hex[:12]}"
        self.deadline = deadline
        self.claimed = False
        self._until = 0.0
        self._heartbeat: Heartbeat | None = None
        self._on_lost: Callable[[], None] = lambda: None

    def claim(self, on_lost: Callable[[], None]) -> None:
        """Take the lease (once) and keep it alive; raise LostExecution when another invocation holds it.

        `on_lost` is called (from the heartbeat's thread) if the lease is lost while this invocation runs.
        """
        if self.claimed:
            return
        self._until = self._clock.now() + LEASE_SECONDS
        if not self._store.acquire_lease(self._key, self._previous.invocation_seq, self.seq, self.owner, self._until):
            raise LostExecution("another invocation took this execution first")
        self.claimed = True
        self._on_lost = on_lost
        self._heartbeat = Heartbeat(RENEW_EVERY_SECONDS, self._renew, "lease-renewer").start()

    def stop(self) -> None:
        """Stop renewing (the invocation ends, or its process died): the lease then lapses on its own."""
        if self._heartbeat is not None:
            self._heartbeat.stop()

    def release_untouched(self) -> None:
        """Put the lease back exactly as it was, for an invocation that claimed it and then wrote nothing."""
        self.stop()
        if self.claimed:
            self._store.restore_lease(self._key, self.seq, self.owner, self._previous)
            self.claimed = False

    def _renew(self) -> bool:
        extended = self._clock.now() + LEASE_SECONDS
        try:
            held = self._store.renew_lease(self._key, self.seq, self.owner, extended)
        except Exception as error:  # noqa: BLE001 - tried again next period, while the lease still runs
            log.warning("could not renew the lease of %s: %s", self._key, error)
            held = self._clock.now() < self._until - RENEW_EVERY_SECONDS
        else:
            self._until = extended if held else self._until
        if not held:
            # Someone may take over now: this invocation must not record anything more.
            log.warning("invocation %s lost the lease of %s", self.seq, self._key)
            self._on_lost()
        return held
