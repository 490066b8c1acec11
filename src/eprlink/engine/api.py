"""The operations facade for the CLI and the web console: status, search, replay, reconcile.

It works on a store alone, so ``eprlink status`` and ``eprlink messages`` can read the database
of a stopped engine; given a running :class:`~eprlink.engine.runtime.Engine` it adds live
connection state and wakes workers after a release or replay. Patient identifiers are masked
unless an operator asks, with a reason, and every such request is audited (policy 6.4).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from eprlink.engine.alerts import alert
from eprlink.engine.config import EngineConfig
from eprlink.engine.errors import OperatorError
from eprlink.engine.header import identifiers_of, mask
from eprlink.engine.metrics import Metrics
from eprlink.engine.stores import store_for
from eprlink.hl7 import ParseError, parse
from eprlink.store import (
    PENDING_STATES,
    AuditEvent,
    EntryState,
    MessageQuery,
    MessageSummary,
    PruneResult,
    Reconciliation,
    Store,
)

if TYPE_CHECKING:
    from eprlink.engine.runtime import Engine

__all__ = [
    "ChannelStatus",
    "DestinationStatus",
    "EngineAPI",
    "MessageDetail",
    "MessageRow",
    "PartnerReconciliation",
    "Status",
    "open_api",
]

Identifiers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    name: str
    source: str
    connections: int | None  # None when the engine is not running in this process
    destinations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    name: str
    channel: str
    kind: str
    counts: dict[str, int]
    depth: int
    oldest_age_seconds: float | None
    blocked: bool
    connected: bool | None  # None when not running here (or not a connection-based kind)


@dataclass(frozen=True, slots=True)
class Status:
    running: bool
    node: str
    store: str
    channels: tuple[ChannelStatus, ...]
    destinations: tuple[DestinationStatus, ...]
    as_of: datetime


@dataclass(frozen=True, slots=True)
class MessageRow:
    summary: MessageSummary
    identifiers: Identifiers  # masked unless revealed


@dataclass(frozen=True, slots=True)
class MessageDetail:
    summary: MessageSummary
    sha256: str
    peer: str
    sending_application: str | None
    sending_facility: str | None
    ack_code: str
    error: str
    entries: tuple[tuple[int, str, EntryState, int], ...]
    identifiers: Identifiers  # masked unless revealed
    payload: bytes | None  # only when revealed


@dataclass(frozen=True, slots=True)
class PartnerReconciliation:
    """Control ids on one side only, for a channel and period (P7)."""

    channel: str
    start: datetime
    end: datetime
    matched: int
    missing_here: tuple[str, ...]  # the partner sent them; the engine has no record
    missing_there: tuple[str, ...]  # the engine received them; the partner does not list them

    @property
    def balanced(self) -> bool:
        return not self.missing_here and not self.missing_there


def _masked(identifiers: Identifiers) -> Identifiers:
    return tuple((kind, mask(value)) for kind, value in identifiers)


def _required(operator: str, reason: str) -> None:
    if not operator.strip():
        raise OperatorError("an operator name is required for this action")
    if not reason.strip():
        raise OperatorError("a reason is required for this action")


class EngineAPI:
    """Operations on one store under one configuration."""

    def __init__(self, store: Store, config: EngineConfig, *, engine: Engine | None = None):
        self.store = store
        self.config = config
        self._engine = engine
        self._metrics = engine.metrics if engine is not None else Metrics()

    def _destination(self, name: str) -> None:
        if self.config.destination(name) is None:
            known = ", ".join(d.name for d in self.config.destinations) or "none"
            raise OperatorError(f"no destination named {name!r} (configured: {known})")

    def _wake(self, destination: str) -> None:
        if self._engine is not None:
            self._engine.notify([destination])

    async def status(self) -> Status:
        now = datetime.now(UTC)
        engine = self._engine
        running = engine is not None and engine.running
        stats = {s.destination: s for s in await self.store.stats(now=now)}
        channels = []
        destinations = []
        for channel in self.config.channels:
            source = engine.sources.get(channel.name) if running and engine else None
            channels.append(
                ChannelStatus(
                    name=channel.name,
                    source=source.describe() if source else type(channel.source).__name__,
                    connections=source.connections if source else None,
                    destinations=tuple(d.name for d in channel.destinations),
                )
            )
            for d in channel.destinations:
                found = stats.get(d.name)
                counts = {s.value: n for s, n in found.counts.items()} if found else {}
                oldest = found.oldest_pending if found else None
                worker = engine.workers.get(d.name) if running and engine else None
                destinations.append(
                    DestinationStatus(
                        name=d.name,
                        channel=channel.name,
                        kind=type(d.transport).__name__.removesuffix("Destination").lower(),
                        counts=counts,
                        depth=sum(counts.get(s.value, 0) for s in PENDING_STATES),
                        oldest_age_seconds=None
                        if oldest is None
                        else (now - oldest).total_seconds(),
                        blocked=counts.get(EntryState.HELD.value, 0) > 0,
                        connected=worker.sender.connected if worker else None,
                    )
                )
        return Status(
            running=running,
            node=self.config.engine.node,
            store=self.config.store.kind.value,
            channels=tuple(channels),
            destinations=tuple(destinations),
            as_of=now,
        )

    def _identifiers(self, channel: str, payload: bytes) -> Identifiers:
        found = self.config.channel(channel)
        encoding = found.source.encoding if found is not None else "utf-8"
        try:
            return identifiers_of(parse(payload, encoding=encoding, fallback="latin-1"))
        except ParseError:
            return ()

    async def messages(
        self,
        query: MessageQuery,
        *,
        reveal_identifiers: bool = False,
        operator: str = "",
        reason: str = "",
        with_identifiers: bool = True,
    ) -> list[MessageRow]:
        """Search; identifiers come masked unless ``reveal_identifiers`` (audited, with
        operator and reason). Searching by an identifier is itself audited."""
        if reveal_identifiers or query.identifier is not None:
            _required(operator, reason)
        summaries = await self.store.search(query)
        if query.identifier is not None:
            await self.store.audit(
                "searched_identifiers",
                operator=operator,
                reason=reason,
                details=f"kind={query.identifier[0]} results={len(summaries)}",
            )
        rows = []
        for summary in summaries:
            identifiers: Identifiers = ()
            if with_identifiers:
                stored = await self.store.message(summary.message_id)
                if stored is not None:
                    identifiers = self._identifiers(summary.channel, stored.payload)
            rows.append(
                MessageRow(summary, identifiers if reveal_identifiers else _masked(identifiers))
            )
        if reveal_identifiers:
            ids = ",".join(str(r.summary.message_id) for r in rows[:50])
            await self.store.audit(
                "viewed_identifiers",
                operator=operator,
                reason=reason,
                details=f"messages={len(rows)} ids={ids}",
            )
        return rows

    async def message(
        self, message_id: int, *, reveal: bool = False, operator: str = "", reason: str = ""
    ) -> MessageDetail | None:
        """One message's record; its bytes and unmasked identifiers only when ``reveal``."""
        if reveal:
            _required(operator, reason)
        stored = await self.store.message(message_id)
        if stored is None:
            return None
        identifiers = self._identifiers(stored.summary.channel, stored.payload)
        if reveal:
            await self.store.audit(
                "viewed_identifiers",
                operator=operator,
                reason=reason,
                details="message content",
                message_id=message_id,
            )
        return MessageDetail(
            summary=stored.summary,
            sha256=stored.sha256.hex(),
            peer=stored.peer,
            sending_application=stored.sending_application,
            sending_facility=stored.sending_facility,
            ack_code=stored.ack_code,
            error=stored.error,
            entries=stored.entries,
            identifiers=identifiers if reveal else _masked(identifiers),
            payload=stored.payload if reveal else None,
        )

    async def replay(
        self,
        messages: Sequence[int] | MessageQuery,
        destination: str,
        *,
        operator: str,
        reason: str,
    ) -> list[int]:
        """Queue the stored bytes again at the tail of ``destination``, oldest first (P6);
        returns the new entry ids. The store records operator and reason."""
        _required(operator, reason)
        self._destination(destination)
        if isinstance(messages, MessageQuery):
            ids = sorted(s.message_id for s in await self.store.search(messages))
        else:
            ids = list(messages)
        if not ids:
            return []
        entries = await self.store.replay(ids, destination, operator=operator, reason=reason)
        self._wake(destination)
        return entries

    async def release(
        self,
        destination: str,
        *,
        operator: str,
        reason: str,
        include_dead: bool = False,
        entry_ids: Sequence[int] | None = None,
    ) -> int:
        """Unblock a destination: held (and optionally dead) entries go back in order."""
        _required(operator, reason)
        self._destination(destination)
        count = await self.store.release(
            destination,
            operator=operator,
            reason=reason,
            entry_ids=entry_ids,
            include_dead=include_dead,
        )
        self._wake(destination)
        return count

    async def reconcile(self, channel: str, day: date) -> Reconciliation:
        """P7 counts for one channel and UTC day; a mismatch raises reconciliation_mismatch."""
        result = await self.store.reconcile(channel, day)
        if not result.balanced:
            alert(
                self._metrics,
                "reconciliation_mismatch",
                "reconciliation counts do not balance",
                channel=channel,
                day=day.isoformat(),
            )
        return result

    async def reconcile_partner(
        self, channel: str, start: datetime, end: datetime, partner_ids: Iterable[str]
    ) -> PartnerReconciliation:
        """Compare the engine's MSH-10 list for [start, end) with a partner's."""
        ours = await self.store.control_ids(channel, start, end)
        theirs = [i.strip() for i in partner_ids if i.strip()]
        ours_set, theirs_set = set(ours), set(theirs)
        return PartnerReconciliation(
            channel=channel,
            start=start,
            end=end,
            matched=len(ours_set & theirs_set),
            missing_here=tuple(dict.fromkeys(i for i in theirs if i not in ours_set)),
            missing_there=tuple(dict.fromkeys(i for i in ours if i not in theirs_set)),
        )

    async def prune(
        self, older_than: timedelta | None = None, *, operator: str = "engine", reason: str = ""
    ) -> PruneResult:
        """Delete finished messages older than ``older_than`` (default ``store.retention``)."""
        age = older_than
        if age is None:
            if self.config.store.retention is None:
                raise OperatorError("no age given and store.retention is off")
            age = timedelta(seconds=self.config.store.retention)
        result = await self.store.prune(older_than=datetime.now(UTC) - age)
        await self.store.audit(
            "prune_requested",
            operator=operator,
            reason=reason or "retention",
            details=f"older_than={int(age.total_seconds())}s messages={result.messages}",
        )
        return result

    async def events(self, *, message_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        return await self.store.events(message_id=message_id, limit=limit)


@contextlib.asynccontextmanager
async def open_api(config: EngineConfig, *, store: Store | None = None) -> AsyncIterator[EngineAPI]:
    """An API on the configured store without running the engine (``eprlink status`` etc.)."""
    opened = store if store is not None else store_for(config)
    await opened.open()
    try:
        yield EngineAPI(opened, config)
    finally:
        await opened.close()
