"""The Store protocol: what the engine needs from any backend, with the semantics every backend
must share (the contract test suite in tests/store/ holds each backend to this text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from eprlink.store.model import (
    AcceptOutcome,
    AckRecord,
    AuditEvent,
    Delivery,
    Failure,
    InboundMessage,
    MessageQuery,
    MessageSummary,
    PruneResult,
    QueueStats,
    Reconciliation,
    StoredMessage,
)

__all__ = ["Store"]


class Store(Protocol):
    """A durable message store with one FIFO queue per destination.

    Ordering: message ids and queue-entry ids increase in acceptance order (a sequence, never a
    timestamp: P11). A destination's queue is its entries in entry-id order.

    Head of queue: the lowest-id entry of the destination whose state is queued, retrying,
    in flight or held. Delivered and dead entries are not part of the queue.
    """

    async def open(self) -> None:
        """Create or migrate the schema and check durability settings (P1); refuse to run
        (raise :class:`~eprlink.store.errors.StoreError`) when they are not durable."""

    async def close(self) -> None: ...

    async def accept(
        self,
        messages: Sequence[InboundMessage],
        *,
        dedupe_window: timedelta,
        reject_collisions: bool = False,
        now: datetime | None = None,
    ) -> list[AcceptOutcome]:
        """Durably commit a batch in ONE transaction (group commit), then return one outcome per
        message in order. When this returns, every accepted message and its queue entries are
        committed; when it raises, none of the batch is.

        Duplicates (P4, HD-11): same (sending_application, sending_facility, control_id) and
        same sha256 as a message received within ``dedupe_window`` before ``now`` → not stored,
        not queued, an audit event ``duplicate`` on the first copy, outcome ``duplicate_of``.
        Same key, different bytes → a collision: stored and queued with ``collision=True``, or,
        with ``reject_collisions``, not stored (``message_id`` None). A message without a
        control id is never a duplicate. Must hold under concurrent calls (F36).
        Rejected messages (status REJECTED) are stored without queue entries.
        """

    async def claim(self, destination: str, *, owner: str, fence: int = 0) -> Delivery | None:
        """The head of the queue, now marked in flight, or None when there is nothing to send:
        the queue is empty, the head is already in flight (one in flight per destination), or
        the head is held (the stream is blocked). A retrying head is claimed again (the worker
        has waited its backoff before asking). Increments ``attempts``; records ``owner``.
        ``fence`` is the caller's lease token (multi-node); it is stored with the claim."""

    async def settle(
        self, delivery: Delivery, *, ack: AckRecord, failure: Failure | None = None
    ) -> bool:
        """Record an attempt's result: ``failure`` None → delivered; RETRY → retrying;
        HOLD → held; DEAD → dead. Returns False (and changes nothing) when the entry is no longer
        in flight under this delivery's fence (a stale worker: fencing)."""

    async def recover(self, *, owner: str | None = None) -> int:
        """Return in-flight entries (of ``owner``, or all) to queued at their original
        position, after a crash (P9). Returns how many."""

    async def release(
        self,
        destination: str,
        *,
        operator: str,
        reason: str,
        entry_ids: Sequence[int] | None = None,
        include_dead: bool = False,
    ) -> int:
        """Put held (and, with ``include_dead``, dead) entries back to queued in their original
        order ("release in order"), audited with operator and reason."""

    async def replay(
        self, message_ids: Sequence[int], destination: str, *, operator: str, reason: str
    ) -> list[int]:
        """Queue the stored bytes of these messages again at the tail of ``destination``
        (new entry ids, in the order given), audited (P6)."""

    async def message(self, message_id: int) -> StoredMessage | None: ...

    async def search(self, query: MessageQuery) -> list[MessageSummary]: ...

    async def stats(self, *, now: datetime | None = None) -> list[QueueStats]:
        """Per destination: entry counts by state and the oldest pending message."""

    async def reconcile(self, channel: str, day: date) -> Reconciliation:
        """P7 counts for one channel and one (UTC) day of received_at."""

    async def control_ids(self, channel: str, start: datetime, end: datetime) -> list[str]:
        """Control ids of messages received in [start, end), for partner reconciliation."""

    async def audit(
        self,
        action: str,
        *,
        operator: str,
        reason: str,
        details: str = "",
        message_id: int | None = None,
        entry_id: int | None = None,
    ) -> None:
        """Record an operator action (viewing identifiers, replay requests …)."""

    async def events(self, *, message_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        """Audit trail, newest first; every state transition is there."""

    async def prune(self, *, older_than: datetime) -> PruneResult:
        """Delete messages received before ``older_than`` whose every entry is delivered or dead
        (never anything still pending: P11), with their entries, and reclaim the space."""
