"""Values the stores keep and return: messages as received, queue entries, audit events.

The store moves bytes and metadata; it never parses HL7 (the engine extracts control ids, types
and identifiers before it asks the store to keep a message), so every backend can be tested
with plain values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = [
    "PENDING_STATES",
    "AcceptOutcome",
    "AckRecord",
    "AuditEvent",
    "Delivery",
    "DestinationReconciliation",
    "EntryState",
    "Failure",
    "InboundMessage",
    "MessageQuery",
    "MessageStatus",
    "MessageSummary",
    "PruneResult",
    "QueueStats",
    "Reconciliation",
    "StoredMessage",
]


class MessageStatus(StrEnum):
    """Accepted messages are queued for their destinations; rejected ones are kept, not sent."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class EntryState(StrEnum):
    """The life of one message for one destination."""

    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    RETRYING = "retrying"  # last attempt failed; the worker retries after its backoff
    HELD = "held"  # blocks the stream until an operator releases it (default for ADT)
    DEAD = "dead"  # dead-lettered: skipped, the stream continues


PENDING_STATES = frozenset(
    {EntryState.QUEUED, EntryState.IN_FLIGHT, EntryState.RETRYING, EntryState.HELD}
)


class Failure(StrEnum):
    """What the destination policy decided after a failed attempt."""

    RETRY = "retry"
    HOLD = "hold"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message to keep, exactly as received, with what the engine read from it."""

    channel: str
    payload: bytes
    received_at: datetime  # wall clock, for display, reconciliation days and retention only
    peer: str = ""
    control_id: str | None = None  # MSH-10 exactly as received
    message_type: str | None = None  # e.g. "ADT^A01"
    sending_application: str | None = None
    sending_facility: str | None = None
    destinations: tuple[str, ...] = ()  # one queue entry each, in this order
    status: MessageStatus = MessageStatus.ACCEPTED
    ack_code: str = "AA"  # what the sender was told; a duplicate is told the same
    error: str = ""  # PHI-free reason for a rejection (MSA-3 text)
    identifiers: tuple[tuple[str, str], ...] = ()  # (kind, value) for search, e.g. ("NHS", …)
    sha256: bytes = field(default=b"")

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.payload).digest())


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    """What happened to one InboundMessage.

    ``duplicate_of`` is set when the same sender sent the same control id with the same bytes
    within the window: nothing was stored or queued, and ``ack_code`` is the first copy's.
    ``collision`` is set when the key matched but the bytes differ (stored and queued anyway,
    unless the caller asked to reject collisions, in which case ``message_id`` is None).
    """

    message_id: int | None
    duplicate_of: int | None = None
    collision: bool = False
    ack_code: str = "AA"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed queue entry: the head of its destination's queue, now in flight."""

    entry_id: int
    message_id: int
    destination: str
    payload: bytes
    control_id: str | None
    attempts: int  # including this one
    fence: int  # fencing token: completing with a stale token is refused (multi-node)


@dataclass(frozen=True, slots=True)
class AckRecord:
    """The response that settled (or failed) an attempt, PHI-free."""

    code: str | None  # MSA-1, None when there was no usable response
    control_id: str | None = None  # MSA-2
    text: str = ""  # MSA-3 / ERR codes / "timeout" …
    latency_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class MessageSummary:
    message_id: int
    channel: str
    received_at: datetime
    control_id: str | None
    message_type: str | None
    status: MessageStatus
    size: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    summary: MessageSummary
    payload: bytes
    sha256: bytes
    peer: str
    sending_application: str | None
    sending_facility: str | None
    ack_code: str
    error: str
    # (entry id, destination, state, attempts) for each destination the message was queued for
    entries: tuple[tuple[int, str, EntryState, int], ...]


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Search filters; all given filters must match. Newest first, at most ``limit``."""

    channel: str | None = None
    control_id: str | None = None
    message_type: str | None = None  # "ADT" or "ADT^A01"
    status: MessageStatus | None = None
    entry_state: EntryState | None = None
    destination: str | None = None
    identifier: tuple[str, str] | None = None  # (kind, value), e.g. ("NHS", "9990000018")
    received_from: datetime | None = None
    received_to: datetime | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class QueueStats:
    destination: str
    counts: dict[EntryState, int]
    oldest_pending: datetime | None  # received_at of the oldest entry not delivered or dead


@dataclass(frozen=True, slots=True)
class DestinationReconciliation:
    destination: str
    routed: int
    delivered: int
    dead: int
    pending: int

    @property
    def balanced(self) -> bool:
        return self.routed == self.delivered + self.dead + self.pending


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """P7 for one channel and day: received = accepted + rejected; per destination, routed =
    delivered + dead + pending. Duplicates are counted apart (they were never stored again)."""

    channel: str
    day: date
    received: int
    accepted: int
    rejected: int
    duplicates: int
    destinations: tuple[DestinationReconciliation, ...]

    @property
    def balanced(self) -> bool:
        return self.received == self.accepted + self.rejected and all(
            d.balanced for d in self.destinations
        )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event_id: int
    at: datetime
    action: str  # received, duplicate, collision, queued, claimed, delivered, retry, held, dead,
    # released, replayed, viewed_identifiers, pruned, recovered …
    message_id: int | None
    entry_id: int | None
    operator: str  # "engine" for automatic transitions
    reason: str
    details: str  # short PHI-free text (codes, counts)


@dataclass(frozen=True, slots=True)
class PruneResult:
    messages: int
    entries: int
    bytes_reclaimed: int | None
