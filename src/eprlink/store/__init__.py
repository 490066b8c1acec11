"""Durable stores behind one protocol: SQLite (embedded default), PostgreSQL, in-memory."""

from __future__ import annotations

from eprlink.store.errors import DurabilityError, StoreError, StoreUnavailableError
from eprlink.store.model import (
    PENDING_STATES,
    AcceptOutcome,
    AckRecord,
    AuditEvent,
    Delivery,
    DestinationReconciliation,
    EntryState,
    Failure,
    InboundMessage,
    MessageQuery,
    MessageStatus,
    MessageSummary,
    PruneResult,
    QueueStats,
    Reconciliation,
    StoredMessage,
)
from eprlink.store.protocol import Store

__all__ = [
    "PENDING_STATES",
    "AcceptOutcome",
    "AckRecord",
    "AuditEvent",
    "Delivery",
    "DestinationReconciliation",
    "DurabilityError",
    "EntryState",
    "Failure",
    "InboundMessage",
    "MessageQuery",
    "MessageStatus",
    "MessageSummary",
    "PruneResult",
    "QueueStats",
    "Reconciliation",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredMessage",
]
