"""Enhanced mode's synchronous application ACK: one destination's answer, relayed to the sender.

Nothing changes before the commit: the sender's CA still leaves only after ``store.accept``
(P1). Afterwards, for an accepted message (not a duplicate) routed to the channel's
``application_ack_destination`` whose MSH-16 is ``AL``, ``ER`` or ``SU``, a waiter keyed by the
store's message id keeps the connection's link and the received MSH (only the header: the ACK
echoes nothing else, so nothing else is held in memory). When that destination's worker settles
the message for good (delivered; held or dead after AE/AR/CE/CR or exhausted attempts; never a
retry), the waiter's task writes AA, AE or AR on the same connection, queued behind any reply
still owed there, so the CA always leaves first.

The relay is best-effort and outside the promises: the message stays durable and is delivered
whatever happens here. A waiter ends in exactly one counter: ``application_acks_relayed_total``
(AA, AE, AR, or ``none`` when MSH-16 ``ER``/``SU`` did not want this outcome) or
``application_acks_dropped_total`` (``timeout``: no settled outcome within
``application_ack_timeout``, whether or not the AE 207 notice was wanted; ``closed``: a frame was
ready, the timeout notice included, but the connection had gone, or the engine stopped first).

PHI: an AE/AR carries only the downstream's table 0357 codes, each with the policy's fixed text
(2.4). The downstream's own MSA-3 and ERR texts may quote the message and are never copied.

Several nodes: only the node that received the message has the waiter, and only the node
delivering the destination hears the settlement. On timeout the waiter reads the message's entry
once from the store; if another node delivered it meanwhile the sender still gets its AA,
otherwise the timeout answer (AE 207, when MSH-16 wants errors).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from eprlink.ack import (
    AckCondition,
    AckMode,
    Outcome,
    Problem,
    ack_code,
    application_condition,
    build_application_ack,
    wants_application_ack,
)
from eprlink.engine.config import ChannelConfig, EngineSection, MLLPListenerSource
from eprlink.engine.errors import EngineError
from eprlink.engine.metrics import Metrics
from eprlink.engine.senders import Attempt, Result
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, ParseError, parse
from eprlink.mllp import Link
from eprlink.store import Delivery, EntryState, Store

__all__ = ["ApplicationAckRelay"]

_log = logging.getLogger(__name__)
_MAX_CODES = 10  # ERR entries relayed; a partner listing more adds nothing the sender can use


@dataclass(frozen=True, slots=True)
class _Answer:
    """How the destination's delivery ended, reduced to what the application ACK says."""

    outcome: Outcome
    codes: tuple[ErrorCode, ...] = ()


_DELIVERED = _Answer(Outcome.ACCEPT)
# No application answer is known (the downstream never answered, or not in time): AE 207 with
# the catch-all text. "temporarily unavailable" is kept for P2, where nothing was committed and a
# resend is right; here the message is stored and will still be delivered.
_UNKNOWN = _Answer(Outcome.ERROR, (ErrorCode.APPLICATION_INTERNAL_ERROR,))


@dataclass(slots=True)
class _Waiter:
    link: Link
    header: Message  # the received MSH alone
    answer: asyncio.Future[_Answer]


def _table_codes(codes: tuple[int, ...]) -> tuple[ErrorCode, ...]:
    """The partner's codes that are in table 0357, once each, in order; local codes say
    nothing the sender can act on and may not be ours to repeat."""
    found: list[ErrorCode] = []
    for code in codes:
        try:
            known = ErrorCode(code)
        except ValueError:
            continue
        if known not in found:
            found.append(known)
            if len(found) == _MAX_CODES:
                break
    return tuple(found)


def _answer_of(attempt: Attempt) -> _Answer:
    result = attempt.result
    if result is Result.DELIVERED:
        return _DELIVERED
    if result is Result.ERROR:
        return _Answer(Outcome.ERROR, _table_codes(attempt.error_codes))
    if result is Result.REJECT:
        return _Answer(Outcome.REJECT, _table_codes(attempt.error_codes))
    return _UNKNOWN  # held or dead after timeouts: the downstream never said


def _header_of(message: Message) -> Message | None:
    msh = message.segment("MSH")
    return None if msh is None else parse(msh.to_er7() + "\r")


class ApplicationAckRelay:
    """The waiters of one channel; :meth:`watch` after the commit, :meth:`settled` from the
    destination's worker."""

    def __init__(
        self,
        channel: ChannelConfig,
        *,
        identity: EngineSection,
        store: Store,
        metrics: Metrics,
    ) -> None:
        source = channel.source
        if not isinstance(source, MLLPListenerSource) or not (
            destination := source.reply.application_ack_destination
        ):
            raise EngineError("the application-ACK relay needs a listener naming its destination")
        self.channel = channel.name
        self.destination = destination
        self.timeout = source.reply.application_ack_timeout
        self._app = identity.name
        self._facility = identity.facility
        self._header = channel.header
        self._store = store
        self._metrics = metrics
        self._waiters: dict[int, _Waiter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Waiters not finished yet."""
        return len(self._waiters)

    def watch(
        self,
        message: Message,
        message_id: int | None,
        destinations: tuple[str, ...],
        link: Link | None,
    ) -> None:
        """Start a waiter for a message that was just committed as accepted (not a duplicate),
        when it goes to the relayed destination and MSH-16 asks for an application ACK. A
        blank MSH-16 asks for none here: policy 2.1 sends no application ACK unasked, and an
        unexpected frame could be taken by a sender for the answer to its next message."""
        if link is None or message_id is None or self.destination not in destinations:
            return
        condition = application_condition(message)
        if condition is None or condition is AckCondition.NE:
            return
        try:
            header = _header_of(message)
        except ParseError:  # it parsed once already; should it not again, the CA still goes
            header = None
        if header is None:
            _log.warning(
                "application ACK not relayed: header unreadable",
                extra=self._extra("application_ack_skipped", message_id),
            )
            return
        loop = asyncio.get_running_loop()
        waiter = _Waiter(link, header, loop.create_future())
        self._waiters[message_id] = waiter
        task = loop.create_task(self._relay(message_id, waiter), name=f"appack:{self.channel}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def settled(self, delivery: Delivery, attempt: Attempt) -> None:
        """The destination's worker settled ``delivery`` for good (not a retry)."""
        if delivery.destination != self.destination:
            return
        waiter = self._waiters.get(delivery.message_id)
        if waiter is not None and not waiter.answer.done():
            waiter.answer.set_result(_answer_of(attempt))

    async def stop(self) -> None:
        """End the waiters still open. Called after the sources closed their connections, so
        each is counted as dropped (closed); the messages stay queued and are delivered."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, message_id: int, waiter: _Waiter) -> None:
        try:
            answer: _Answer | None
            try:
                async with asyncio.timeout(self.timeout):
                    answer = await waiter.answer
            except TimeoutError:
                answer = await self._look_up(message_id)
            finally:
                if self._waiters.get(message_id) is waiter:
                    del self._waiters[message_id]
            if answer is None:
                self._finish(waiter, _UNKNOWN, "timeout", message_id)
            else:
                self._finish(waiter, answer, None, message_id)
        except asyncio.CancelledError:
            self._count_drop("closed", message_id)
            raise
        except Exception as exc:  # never let a relay failure go unnoticed or touch intake
            _log.error(
                "application ACK relay failed (%s)",
                type(exc).__name__,
                extra=self._extra("application_ack_failed", message_id, error=type(exc).__name__),
            )

    async def _look_up(self, message_id: int) -> _Answer | None:
        """After the timeout: delivered by another node meanwhile? One read, then give up."""
        try:
            stored = await self._store.message(message_id)
        except Exception:  # a store that cannot say: treated as not delivered (best-effort)
            return None
        if stored is None:
            return None
        for _entry, name, state, _attempts in stored.entries:
            if name == self.destination and state is EntryState.DELIVERED:
                return _DELIVERED
        return None

    def _finish(
        self, waiter: _Waiter, answer: _Answer, dropped: str | None, message_id: int
    ) -> None:
        """Write the application ACK if MSH-16 wants one for this outcome, and count once."""
        if not wants_application_ack(waiter.header, answer.outcome):
            if dropped is not None:
                self._count_drop(dropped, message_id)
            else:
                self._count_relayed("none", message_id)
            return
        code = ack_code(answer.outcome, AckMode.ORIGINAL)
        header = self._header
        ack = build_application_ack(
            waiter.header,
            code,
            sending_application=self._app,
            sending_facility=self._facility,
            errors=[Problem(c) for c in answer.codes],
            default_version=header.reply_version,
            supported_versions=header.versions,
            processing_id=header.processing_id,
        )
        if not waiter.link.send(ack.to_bytes()):
            self._count_drop("closed", message_id)
        elif dropped is not None:
            self._count_drop(dropped, message_id)
        else:
            self._count_relayed(code.value, message_id)

    def _count_relayed(self, code: str, message_id: int) -> None:
        self._metrics.inc("application_acks_relayed_total", channel=self.channel, code=code)
        extra = self._extra("application_ack_relayed", message_id, code=code)
        _log.debug("application ACK relayed (%s)", code, extra=extra)

    def _count_drop(self, reason: str, message_id: int) -> None:
        self._metrics.inc("application_acks_dropped_total", channel=self.channel, reason=reason)
        _log.info(
            "application ACK not relayed (%s)",
            reason,
            extra=self._extra("application_ack_dropped", message_id, reason=reason),
        )

    def _extra(self, action: str, message_id: int, **values: object) -> dict[str, object]:
        return {
            "action": action,
            "channel": self.channel,
            "destination": self.destination,
            "message_id": message_id,
            **values,
        }
