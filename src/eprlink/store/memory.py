"""The in-memory reference store: the Store contract in plain Python, for users' own tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eprlink.store.errors import StoreError, StoreUnavailableError
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

__all__ = ["MemoryStore"]

_ENGINE = "engine"
_SETTLED = {
    None: (EntryState.DELIVERED, "delivered"),
    Failure.RETRY: (EntryState.RETRYING, "retry"),
    Failure.HOLD: (EntryState.HELD, "held"),
    Failure.DEAD: (EntryState.DEAD, "dead"),
}
_Sender = tuple[str, str, str]  # MSH-3, MSH-4, MSH-10
_Copies = dict[bytes, tuple[int, datetime]]  # payload hash → (first copy, its received_at)


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC, as in every backend; values come back aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(slots=True)
class _Entry:
    entry_id: int
    message_id: int
    destination: str
    state: EntryState = EntryState.QUEUED
    attempts: int = 0
    owner: str | None = None
    fence: int = 0
    last_error: str = ""
    ack: AckRecord | None = None


@dataclass(slots=True)
class _Message:
    message_id: int
    inbound: InboundMessage
    received_at: datetime
    entries: list[_Entry] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    """What one accept() will add, applied only when the whole batch has been decided."""

    next_message: int
    messages: list[_Message] = field(default_factory=list)
    dedupe: dict[_Sender, _Copies] = field(default_factory=dict)
    receipts: list[tuple[str, str, datetime, int]] = field(default_factory=list)
    events: list[tuple[str, int, str]] = field(default_factory=list)  # action, message, details


class MemoryStore:
    """A :class:`~eprlink.store.protocol.Store` that keeps everything in this process.

    No method awaits anything, so each one runs whole on the event loop: that is what makes
    accept() atomic and duplicate detection safe under concurrent tasks. Not durable, and not
    for use from several threads.

    ``fail_accept`` lets a test rehearse a store that cannot commit (P2, F8): when it returns
    True for any message of a batch, accept() raises StoreUnavailableError and keeps nothing.
    """

    def __init__(self, *, fail_accept: Callable[[InboundMessage], bool] | None = None) -> None:
        self.fail_accept = fail_accept
        self._messages: dict[int, _Message] = {}
        self._entries: dict[int, _Entry] = {}
        self._pending: dict[str, dict[int, _Entry]] = {}  # per destination: its queue
        self._dedupe: dict[_Sender, _Copies] = {}
        self._receipts: list[tuple[str, str, datetime, int]] = []  # kind, channel, at, first
        self._events: list[AuditEvent] = []
        self._next_message = 1
        self._next_entry = 1
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("the store is not open")

    def _event(self, action: str, *, at: datetime | None = None, **fields: Any) -> None:
        """Append to the trail; ``fields`` are AuditEvent's (message_id, operator …)."""
        values: dict[str, Any] = {
            "message_id": None,
            "entry_id": None,
            "operator": _ENGINE,
            "reason": "",
            "details": "",
            **fields,
        }
        at = datetime.now(UTC) if at is None else at
        self._events.append(AuditEvent(len(self._events) + 1, at, action, **values))

    def _queue(
        self, message: _Message, destination: str, action: str = "queued", **fields: Any
    ) -> int:
        entry = _Entry(self._next_entry, message.message_id, destination)
        self._next_entry += 1
        self._entries[entry.entry_id] = entry
        self._pending.setdefault(destination, {})[entry.entry_id] = entry
        message.entries.append(entry)
        details = f"destination={destination}"
        self._event(
            action,
            message_id=message.message_id,
            entry_id=entry.entry_id,
            details=details,
            **fields,
        )
        return entry.entry_id

    async def accept(
        self,
        messages: Sequence[InboundMessage],
        *,
        dedupe_window: timedelta,
        reject_collisions: bool = False,
        now: datetime | None = None,
    ) -> list[AcceptOutcome]:
        self._check_open()
        moment = datetime.now(UTC) if now is None else _utc(now)
        cutoff = moment - dedupe_window
        batch = _Batch(self._next_message)
        outcomes = [self._decide(m, batch, cutoff, reject_collisions) for m in messages]
        # Nothing above changed the store: from here on nothing can fail.
        self._next_message = batch.next_message
        for sender, copies in batch.dedupe.items():
            self._dedupe.setdefault(sender, {}).update(copies)
        self._receipts.extend(batch.receipts)
        for stored in batch.messages:
            self._messages[stored.message_id] = stored
        for action, message_id, details in batch.events:
            if action != "queue":
                self._event(action, message_id=message_id, details=details, at=moment)
                continue
            stored = self._messages[message_id]
            if stored.inbound.status is MessageStatus.ACCEPTED:
                for destination in stored.inbound.destinations:
                    self._queue(stored, destination, at=moment)
        return outcomes

    def _decide(
        self, message: InboundMessage, batch: _Batch, cutoff: datetime, reject: bool
    ) -> AcceptOutcome:
        if self.fail_accept is not None and self.fail_accept(message):
            raise StoreUnavailableError("the store cannot commit (simulated)")
        received = _utc(message.received_at)
        where = f"channel={message.channel} peer={message.peer}"
        collision_of: int | None = None
        sender: _Sender | None = None
        if message.control_id:
            app, facility = message.sending_application or "", message.sending_facility or ""
            sender = (app, facility, message.control_id)
            copies = {**self._dedupe.get(sender, {}), **batch.dedupe.get(sender, {})}
            first = copies.get(message.sha256)
            if first is not None and first[1] >= cutoff:
                batch.receipts.append(("duplicate", message.channel, received, first[0]))
                batch.events.append(("duplicate", first[0], where))
                ack_code = self._ack(first[0], batch)
                return AcceptOutcome(None, duplicate_of=first[0], ack_code=ack_code)
            live = [v for h, v in copies.items() if h != message.sha256 and v[1] >= cutoff]
            if live:
                collision_of = min(live, key=lambda v: v[1])[0]
                if reject:
                    refusal = ("collision_rejected", message.channel, received, collision_of)
                    batch.receipts.append(refusal)
                    batch.events.append(("collision", collision_of, f"refused {where}"))
                    return AcceptOutcome(None, collision=True, ack_code="AE")
        stored = _Message(batch.next_message, message, received)
        batch.next_message += 1
        batch.messages.append(stored)
        if sender is not None:
            batch.dedupe.setdefault(sender, {})[message.sha256] = (stored.message_id, received)
        details = f"status={message.status.value} size={len(message.payload)} {where}"
        batch.events.append(("received", stored.message_id, details))
        if collision_of is not None:
            batch.events.append(("collision", stored.message_id, f"first={collision_of}"))
        batch.events.append(("queue", stored.message_id, ""))
        return AcceptOutcome(
            stored.message_id, collision=collision_of is not None, ack_code=message.ack_code
        )

    def _ack(self, message_id: int, batch: _Batch) -> str:
        if message_id in self._messages:
            return self._messages[message_id].inbound.ack_code
        return next(m.inbound.ack_code for m in batch.messages if m.message_id == message_id)

    def _head(self, destination: str) -> _Entry | None:
        pending = self._pending.get(destination)
        return pending[min(pending)] if pending else None

    async def claim(self, destination: str, *, owner: str, fence: int = 0) -> Delivery | None:
        self._check_open()
        head = self._head(destination)
        if head is None or head.state not in (EntryState.QUEUED, EntryState.RETRYING):
            return None
        head.state, head.owner, head.fence = EntryState.IN_FLIGHT, owner, fence
        head.attempts += 1
        message = self._messages[head.message_id]
        self._event(
            "claimed",
            message_id=head.message_id,
            entry_id=head.entry_id,
            details=f"destination={destination} owner={owner} fence={fence} "
            f"attempt={head.attempts}",
        )
        return Delivery(
            entry_id=head.entry_id,
            message_id=head.message_id,
            destination=destination,
            payload=message.inbound.payload,
            control_id=message.inbound.control_id,
            attempts=head.attempts,
            fence=fence,
        )

    async def settle(
        self, delivery: Delivery, *, ack: AckRecord, failure: Failure | None = None
    ) -> bool:
        self._check_open()
        entry = self._entries.get(delivery.entry_id)
        if (
            entry is None
            or entry.state is not EntryState.IN_FLIGHT
            or entry.fence != delivery.fence
            or entry.attempts != delivery.attempts
        ):
            return False
        entry.state, action = _SETTLED[failure]
        if entry.state not in PENDING_STATES:
            del self._pending[entry.destination][entry.entry_id]
        entry.ack = ack
        if failure is not None:
            entry.last_error = ack.text
        self._event(
            action,
            message_id=entry.message_id,
            entry_id=entry.entry_id,
            details=f"ack={ack.code or '-'} attempt={entry.attempts} {ack.text}".rstrip(),
        )
        return True

    async def recover(self, *, owner: str | None = None) -> int:
        self._check_open()
        found = [
            e
            for e in sorted(self._entries.values(), key=lambda e: e.entry_id)
            if e.state is EntryState.IN_FLIGHT and (owner is None or e.owner == owner)
        ]
        for entry in found:
            entry.state = EntryState.QUEUED
            self._event(
                "recovered", message_id=entry.message_id, entry_id=entry.entry_id, details="queued"
            )
        return len(found)

    async def release(
        self,
        destination: str,
        *,
        operator: str,
        reason: str,
        entry_ids: Sequence[int] | None = None,
        include_dead: bool = False,
    ) -> int:
        self._check_open()
        states = {EntryState.HELD, EntryState.DEAD} if include_dead else {EntryState.HELD}
        wanted = None if entry_ids is None else set(entry_ids)
        found = [
            e
            for e in sorted(self._entries.values(), key=lambda e: e.entry_id)
            if e.destination == destination
            and e.state in states
            and (wanted is None or e.entry_id in wanted)
        ]
        for entry in found:
            previous, entry.state = entry.state, EntryState.QUEUED
            self._pending.setdefault(destination, {})[entry.entry_id] = entry
            self._event(
                "released",
                message_id=entry.message_id,
                entry_id=entry.entry_id,
                operator=operator,
                reason=reason,
                details=f"from={previous.value}",
            )
        return len(found)

    async def replay(
        self, message_ids: Sequence[int], destination: str, *, operator: str, reason: str
    ) -> list[int]:
        self._check_open()
        missing = sorted(set(message_ids) - set(self._messages))
        if missing:
            raise StoreError(f"cannot replay unknown message ids {missing}")
        return [
            self._queue(
                self._messages[mid],
                destination,
                action="replayed",
                operator=operator,
                reason=reason,
            )
            for mid in message_ids
        ]

    def _summary(self, message: _Message) -> MessageSummary:
        inbound = message.inbound
        return MessageSummary(
            message_id=message.message_id,
            channel=inbound.channel,
            received_at=message.received_at,
            control_id=inbound.control_id,
            message_type=inbound.message_type,
            status=inbound.status,
            size=len(inbound.payload),
        )

    async def message(self, message_id: int) -> StoredMessage | None:
        self._check_open()
        found = self._messages.get(message_id)
        if found is None:
            return None
        inbound = found.inbound
        return StoredMessage(
            summary=self._summary(found),
            payload=inbound.payload,
            sha256=inbound.sha256,
            peer=inbound.peer,
            sending_application=inbound.sending_application,
            sending_facility=inbound.sending_facility,
            ack_code=inbound.ack_code,
            error=inbound.error,
            entries=tuple((e.entry_id, e.destination, e.state, e.attempts) for e in found.entries),
        )

    async def search(self, query: MessageQuery) -> list[MessageSummary]:
        self._check_open()
        found = [
            self._summary(m)
            for m in sorted(self._messages.values(), key=lambda m: -m.message_id)
            if _matches(m, query)
        ]
        return found[: max(0, query.limit)]

    async def stats(self, *, now: datetime | None = None) -> list[QueueStats]:
        self._check_open()
        counts: dict[str, dict[EntryState, int]] = {}
        oldest: dict[str, datetime] = {}
        for entry in self._entries.values():
            per = counts.setdefault(entry.destination, dict.fromkeys(EntryState, 0))
            per[entry.state] += 1
            if entry.state in PENDING_STATES:
                received = self._messages[entry.message_id].received_at
                best = oldest.get(entry.destination)
                oldest[entry.destination] = received if best is None else min(best, received)
        return [QueueStats(d, counts[d], oldest.get(d)) for d in sorted(counts)]

    async def reconcile(self, channel: str, day: date) -> Reconciliation:
        self._check_open()
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        chosen = [
            m
            for m in self._messages.values()
            if m.inbound.channel == channel and start <= m.received_at < end
        ]
        kinds = [k for k, c, at, _ in self._receipts if c == channel and start <= at < end]
        accepted = sum(m.inbound.status is MessageStatus.ACCEPTED for m in chosen)
        rejected = len(chosen) - accepted + kinds.count("collision_rejected")
        per: dict[str, dict[EntryState, int]] = {}
        for message in chosen:
            for entry in message.entries:
                per.setdefault(entry.destination, dict.fromkeys(EntryState, 0))[entry.state] += 1
        return Reconciliation(
            channel=channel,
            day=day,
            received=accepted + rejected,
            accepted=accepted,
            rejected=rejected,
            duplicates=kinds.count("duplicate"),
            destinations=tuple(
                DestinationReconciliation(
                    destination=d,
                    routed=sum(c.values()),
                    delivered=c[EntryState.DELIVERED],
                    dead=c[EntryState.DEAD],
                    pending=sum(c[s] for s in PENDING_STATES),
                )
                for d, c in sorted(per.items())
            ),
        )

    async def control_ids(self, channel: str, start: datetime, end: datetime) -> list[str]:
        self._check_open()
        low, high = _utc(start), _utc(end)
        return [
            m.inbound.control_id
            for _, m in sorted(self._messages.items())
            if m.inbound.channel == channel
            and low <= m.received_at < high
            and m.inbound.control_id is not None
        ]

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
        self._check_open()
        self._event(
            action,
            message_id=message_id,
            entry_id=entry_id,
            operator=operator,
            reason=reason,
            details=details,
        )

    async def events(self, *, message_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        self._check_open()
        chosen = [e for e in self._events if message_id is None or e.message_id == message_id]
        return chosen[::-1][: max(0, limit)]

    async def prune(self, *, older_than: datetime) -> PruneResult:
        """Audit events stay: the trail outlives the messages (policy 6.2)."""
        self._check_open()
        cutoff = _utc(older_than)
        doomed = [
            m
            for m in self._messages.values()
            if m.received_at < cutoff and all(e.state not in PENDING_STATES for e in m.entries)
        ]
        entries = 0
        for message in doomed:
            del self._messages[message.message_id]
            for entry in message.entries:
                del self._entries[entry.entry_id]
                entries += 1
        gone = {m.message_id for m in doomed}
        for copies in self._dedupe.values():
            for digest in [h for h, (first, _) in copies.items() if first in gone]:
                del copies[digest]
        self._dedupe = {sender: copies for sender, copies in self._dedupe.items() if copies}
        self._receipts = [r for r in self._receipts if r[3] not in gone]
        details = f"messages={len(doomed)} entries={entries}"
        self._event("pruned", reason="retention", details=details)
        return PruneResult(messages=len(doomed), entries=entries, bytes_reclaimed=None)


def _matches(message: _Message, query: MessageQuery) -> bool:
    inbound = message.inbound
    kind = inbound.message_type or ""
    checks = (
        query.channel is None or inbound.channel == query.channel,
        query.control_id is None or inbound.control_id == query.control_id,
        query.message_type is None
        or kind == query.message_type
        or kind.startswith(query.message_type + "^"),
        query.status is None or inbound.status is query.status,
        query.identifier is None or query.identifier in inbound.identifiers,
        query.received_from is None or message.received_at >= _utc(query.received_from),
        query.received_to is None or message.received_at < _utc(query.received_to),
        (query.entry_state is None and query.destination is None)
        or any(
            (query.entry_state is None or e.state is query.entry_state)
            and (query.destination is None or e.destination == query.destination)
            for e in message.entries
        ),
    )
    return all(checks)
