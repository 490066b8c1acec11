"""One channel's inbound path: parse, check, validate, filter, route, commit, then answer.

The order is the promise. Nothing positive is written before ``store.accept`` has returned
(P1); if anything fails before that, the sender gets AR 207 or no reply and a closed connection,
as the partner is configured (P2), never AA. Duplicates are answered as the first copy was and
not queued again; collisions are counted and alerted, or refused with AE 205 (HD-11).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eprlink.ack import (
    AckCode,
    AckMode,
    Outcome,
    Problem,
    Reason,
    Severity,
    ack_code,
    ack_mode_for,
    answer,
    answer_oversize,
    build_ack,
    control_id_of,
    is_acknowledgement,
    outcome_for,
    should_reply,
)
from eprlink.engine import crashpoints
from eprlink.engine.access import Permit, audit_refusal
from eprlink.engine.alerts import alert, clean
from eprlink.engine.appack import ApplicationAckRelay
from eprlink.engine.config import (
    ChannelConfig,
    DirectorySource,
    EngineSection,
    FailureReply,
    OnInvalid,
    ReplyPolicy,
)
from eprlink.engine.header import Router, check_header, identifiers_of, type_of
from eprlink.engine.limits import QueueLimits
from eprlink.engine.metrics import Metrics
from eprlink.engine.validation import ContentCheck
from eprlink.engine.values import resolve_callable
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, ParseError, parse
from eprlink.mllp import Link
from eprlink.store import AcceptOutcome, InboundMessage, MessageStatus, Store

__all__ = ["InboundChannel", "Reception"]

_log = logging.getLogger(__name__)
_UNAVAILABLE = Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, reason=Reason.TEMPORARILY_UNAVAILABLE)
_REFUSED = Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, reason=Reason.APPLICATION_INTERNAL_ERROR)


@dataclass(frozen=True, slots=True)
class Reception:
    """What became of one payload: the reply to send (None: none), whether to close the
    connection without one (P2), and whether the payload is durably accounted for."""

    reply: bytes | None
    close: bool = False
    committed: bool = False
    accepted: bool = False
    message_id: int | None = None
    duplicate_of: int | None = None
    sender_refused: bool = False  # HD-12: the listener counts it in senders_refused_total


@dataclass(slots=True)
class _Decision:
    """Everything decided about a parsed message before it is committed."""

    mode: AckMode
    problems: list[Problem]
    outcome: Outcome
    destinations: tuple[str, ...] = ()
    note: str = ""
    filtered: bool = False


class InboundChannel:
    """The frame handler of one channel; sources call :meth:`receive` once per payload."""

    def __init__(
        self,
        config: ChannelConfig,
        *,
        identity: EngineSection,
        store: Store,
        dedupe_window: timedelta,
        metrics: Metrics,
        check: ContentCheck | None = None,
        notify: Callable[[Iterable[str]], None] = lambda _names: None,
        limits: QueueLimits | None = None,
        relay: ApplicationAckRelay | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self._app = identity.name
        self._facility = identity.facility
        self._store = store
        self._window = dedupe_window
        self._metrics = metrics
        self._check = check if config.validate else None
        self._notify = notify
        self._router = Router(config.route_table())
        self._limits = limits
        self.relay = relay  # enhanced mode's application-ACK relay, when the listener has one
        self._filter = resolve_callable(config.filter) if config.filter else None
        source = config.source
        if isinstance(source, DirectorySource):
            self.reply_policy = ReplyPolicy(reject_collisions=source.reject_collisions)
        else:
            self.reply_policy = source.reply
        self._encoding = source.encoding

    @property
    def store(self) -> Store:
        """The channel's store, for sources that record security events against it."""
        return self._store

    def _ack(
        self,
        message: Message | None,
        code: Outcome | AckCode,
        problems: list[Problem],
        mode: AckMode,
    ) -> Message:
        header = self.config.header
        return build_ack(
            message,
            code,
            sending_application=self._app,
            sending_facility=self._facility,
            errors=problems,
            mode=mode,
            default_version=header.reply_version,
            supported_versions=header.versions,
            processing_id=header.processing_id,
        )

    async def _commit(self, record: InboundMessage, *, reject_collisions: bool) -> AcceptOutcome:
        """One message through ``store.accept``; the backends share commits between concurrent
        callers (group commit), so each handler can simply wait for its own."""
        crashpoints.hit("before_commit")
        outcomes = await self._store.accept(
            [record], dedupe_window=self._window, reject_collisions=reject_collisions
        )
        crashpoints.hit("after_commit_before_ack")
        return outcomes[0]

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "channel": self.name, **values}

    async def receive(
        self,
        payload: bytes,
        peer: str = "",
        permit: Permit | None = None,
        link: Link | None = None,
    ) -> Reception:
        """Handle one payload and say what to answer. With a ``permit`` (HD-12), a message
        whose MSH-3/MSH-4 it does not cover, or whose header cannot be read, is refused
        before anything else is done with it. ``link`` is the connection it came in on, for
        an application ACK written after the reply (enhanced mode's relay)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        crashpoints.hit("after_frame_read")
        self._metrics.inc("messages_received_total", channel=self.name)
        try:
            message = parse(payload, encoding=self._encoding) if payload.strip() else None
        except ParseError:
            message = None
        if message is None:
            if permit is not None and payload.strip():
                reception = await self._refuse_sender(None, None, permit, peer)
            else:
                reception = await self._unparsed(payload, peer)
        elif is_acknowledgement(message):  # HD-13: an ACK is never acknowledged
            self._metrics.inc("acknowledgements_discarded_total", channel=self.name)
            extra = self._extra("ack_discarded", control_id=clean(message.control_id), peer=peer)
            _log.info("acknowledgement sent to an inbound channel discarded", extra=extra)
            return Reception(None)
        elif (
            permit is not None
            and (sender := (message.raw("MSH-3") or "", message.raw("MSH-4") or ""))
            not in permit.senders
        ):
            reception = await self._refuse_sender(message, sender, permit, peer)
        else:
            reception = await self._parsed(message, payload, peer, link)
        if reception.reply is not None:
            crashpoints.hit_soon("after_ack_write")  # runs once the source has written it
            self._metrics.observe(
                "inbound_ack_latency_seconds", loop.time() - started, channel=self.name
            )
        return reception

    def oversize(self, head: bytes) -> bytes:
        """AR 207 "message too large" for a frame over the size limit (SZ-1); nothing stored."""
        self._metrics.inc("messages_received_total", channel=self.name)
        self._metrics.inc("messages_rejected_total", channel=self.name, code="207")
        reply = answer_oversize(
            head, sending_application=self._app, sending_facility=self._facility
        )
        return reply.to_bytes()

    async def _unparsed(self, payload: bytes, peer: str) -> Reception:
        """A payload with no usable header: AR (or AE) from :func:`answer`, kept as rejected."""
        result = answer(
            payload,
            sending_application=self._app,
            sending_facility=self._facility,
            encoding=self._encoding,
        )
        problem = (
            result.problems[0] if result.problems else Problem(ErrorCode.SEGMENT_SEQUENCE_ERROR)
        )
        code_label = str(int(problem.code))
        reply = None if result.reply is None else result.reply.to_bytes()
        if not payload.strip():  # FR-6: an empty frame is answered, never stored
            self._metrics.inc("messages_rejected_total", channel=self.name, code=code_label)
            return Reception(reply, committed=True)
        code = (result.reply.get("MSA-1") if result.reply is not None else None) or "AR"
        record = InboundMessage(
            channel=self.name,
            payload=payload,
            received_at=datetime.now(UTC),
            peer=peer,
            control_id=control_id_of(payload),  # so partner reconciliation still finds it
            status=MessageStatus.REJECTED,
            ack_code=code,
            error=problem.text,
        )
        try:
            outcome = await self._commit(record, reject_collisions=False)
        except Exception as exc:
            return self._failed(None, AckMode.ORIGINAL, exc)
        self._metrics.inc("messages_rejected_total", channel=self.name, code=code_label)
        _log.debug("unreadable message rejected", extra=self._extra("message_rejected", peer=peer))
        return Reception(reply, committed=True, message_id=outcome.message_id)

    def _decide(self, message: Message) -> _Decision:
        mode = ack_mode_for(message, enhanced_partner=self.reply_policy.enhanced)
        problems = check_header(message, self.config.header)
        if any(p.code is ErrorCode.UNSUPPORTED_PROCESSING_ID for p in problems):
            self._metrics.inc("processing_id_mismatch_total", channel=self.name)
            alert(
                self._metrics,
                "processing_id_mismatch",
                "processing id does not match the channel; message refused (HD-6)",
                channel=self.name,
                control_id=clean(message.control_id),
            )
        destinations: tuple[str, ...] = ()
        if not any(p.rejects for p in problems):
            routed = self._router.match(message)
            if isinstance(routed, Problem):
                problems.append(routed)
            else:
                destinations = routed
        note = ""
        if self._check is not None and outcome_for(problems) is Outcome.ACCEPT:
            found = list(self._check(message))
            errors = [p for p in found if p.severity is Severity.ERROR]
            warnings = [p for p in found if p.severity is not Severity.ERROR]
            if errors and self.config.on_invalid is OnInvalid.ACCEPT_WITH_WARNING:
                warnings, errors = errors + warnings, []
            problems.extend(errors)
            if warnings and not errors:
                self._metrics.inc("messages_warned_total", channel=self.name)
                note = "accepted with warning: " + warnings[0].text
        outcome = outcome_for(problems)
        decision = _Decision(mode, problems, outcome, destinations, note)
        if outcome is Outcome.ACCEPT and self._filter is not None and not self._filter(message):
            decision.destinations = ()
            decision.filtered = True
        return decision

    async def _parsed(
        self, message: Message, payload: bytes, peer: str, link: Link | None = None
    ) -> Reception:
        try:
            decision = self._decide(message)
        except Exception as exc:  # a failing filter or validator: nothing was committed
            return self._failed(message, ack_mode_for(message, enhanced_partner=False), exc)
        accepted = decision.outcome is Outcome.ACCEPT
        reserved: tuple[str, ...] = ()
        if self._limits is not None and accepted and decision.destinations:
            full = self._limits.blocked(decision.destinations)
            if full is not None:
                return self._queue_full(message, decision.mode, full)
            reserved = decision.destinations  # counted now so concurrent handlers see it
            self._limits.add(reserved)
        reported = [p for p in decision.problems if p.severity is Severity.ERROR]
        record = InboundMessage(
            channel=self.name,
            payload=payload,
            received_at=datetime.now(UTC),
            peer=peer,
            control_id=message.control_id,
            message_type=type_of(message),
            sending_application=message.raw("MSH-3"),
            sending_facility=message.raw("MSH-4"),
            destinations=decision.destinations if accepted else (),
            status=MessageStatus.ACCEPTED if accepted else MessageStatus.REJECTED,
            ack_code=ack_code(decision.outcome, decision.mode).value,
            error=reported[0].text if reported else decision.note,
            identifiers=identifiers_of(message),
        )
        try:
            stored = await self._commit(
                record, reject_collisions=self.reply_policy.reject_collisions
            )
        except Exception as exc:
            if reserved and self._limits is not None:
                self._limits.add(reserved, -1)
            return self._failed(message, decision.mode, exc)
        not_queued = stored.duplicate_of is not None or stored.message_id is None
        if reserved and not_queued and self._limits is not None:
            self._limits.add(reserved, -1)  # answered, but nothing new was queued
        # Committed: from here on a positive answer is true (P1).
        control_id = clean(message.control_id)
        code: Outcome | AckCode = decision.outcome
        mode, problems = decision.mode, reported
        if stored.duplicate_of is not None:
            self._metrics.inc("duplicates_received_total", channel=self.name)
            first = AckCode(stored.ack_code)
            code, mode = first, first.mode
            problems = [] if first.is_success else reported
            accepted = first.is_success
            extra = self._extra("duplicate_received", control_id=control_id, peer=peer)
            _log.info("duplicate answered as its first copy, not queued again", extra=extra)
        else:
            if stored.collision:
                self._metrics.inc("control_id_collisions_total", channel=self.name)
                alert(
                    self._metrics,
                    "control_id_collision",
                    "control id reused with different content (HD-11)",
                    channel=self.name,
                    control_id=control_id,
                )
                if stored.message_id is None:  # the channel rejects collisions: AE 205
                    problems = [Problem.at("MSH-10", ErrorCode.DUPLICATE_KEY_IDENTIFIER)]
                    code, accepted = Outcome.ERROR, False
            self._count(accepted, problems, decision, control_id)
        reply: bytes | None = self._ack(message, code, problems, mode).to_bytes()
        outcome = code.outcome if isinstance(code, AckCode) else code
        if not should_reply(
            message, outcome, mode=mode, honour_msh15=self.reply_policy.honour_msh15
        ):
            reply = None
        if self.relay is not None and accepted and stored.duplicate_of is None:
            self.relay.watch(message, stored.message_id, decision.destinations, link)
        return Reception(
            reply,
            committed=True,
            accepted=accepted,
            message_id=stored.message_id,
            duplicate_of=stored.duplicate_of,
        )

    def _count(
        self, accepted: bool, problems: list[Problem], decision: _Decision, control_id: str
    ) -> None:
        if accepted:
            self._metrics.inc("messages_accepted_total", channel=self.name)
            if decision.filtered:
                self._metrics.inc("messages_filtered_total", channel=self.name)
            if decision.destinations:
                self._notify(decision.destinations)
            extra = self._extra(
                "message_accepted", control_id=control_id, destinations=len(decision.destinations)
            )
            _log.debug("message accepted", extra=extra)
            return
        code = str(int(problems[0].code)) if problems else "207"
        self._metrics.inc("messages_rejected_total", channel=self.name, code=code)
        _log.info(
            "message rejected (%s)",
            problems[0].text if problems else "error",
            extra=self._extra("message_rejected", control_id=control_id, code=code),
        )

    def _failed(self, message: Message | None, mode: AckMode, exc: BaseException) -> Reception:
        """Nothing was committed: AR 207 or close without a reply (P2), never AA."""
        self._metrics.inc("store_failures_total", channel=self.name)
        alert(
            self._metrics,
            "store_unavailable",
            "message could not be committed; sender not acknowledged positively (P2)",
            channel=self.name,
            error=type(exc).__name__,
            reply=self.reply_policy.failure_reply.value,
        )
        return self._unavailable(message, mode)

    def _unavailable(self, message: Message | None, mode: AckMode) -> Reception:
        """The partner's P2 answer: no reply and close, or AR 207 "temporarily unavailable"."""
        if self.reply_policy.failure_reply is FailureReply.CLOSE:
            return Reception(None, close=True)
        self._metrics.inc("messages_rejected_total", channel=self.name, code="207")
        reply = self._ack(message, Outcome.REJECT, [_UNAVAILABLE], mode)
        return Reception(reply.to_bytes())

    def _queue_full(self, message: Message, mode: AckMode, destination: str) -> Reception:
        """A routed destination is at its ``max_queue_depth`` (P8): refused as in P2, so the
        sender keeps the message and sends it again once the queue has drained."""
        self._metrics.inc("queue_full_refusals_total", channel=self.name, destination=destination)
        extra = self._extra(
            "queue_full_refused", control_id=clean(message.control_id), destination=destination
        )
        _log.info("message refused: destination queue full (P8)", extra=extra)
        return self._unavailable(message, mode)

    async def _refuse_sender(
        self, message: Message | None, sender: tuple[str, str] | None, permit: Permit, peer: str
    ) -> Reception:
        """HD-12: AR 207 "application internal error" (the text reveals nothing), a security
        event, nothing stored or forwarded."""
        reason = permit.reason(sender)
        self._metrics.inc("messages_rejected_total", channel=self.name, code="207")
        await audit_refusal(
            self._store,
            channel=self.name,
            reason=reason,
            peer=peer,
            fingerprint=permit.fingerprint,
            sender=sender,
            control_id=None if message is None else message.control_id,
        )
        if message is None:
            return Reception(
                self._ack(None, Outcome.REJECT, [_REFUSED], AckMode.ORIGINAL).to_bytes(),
                sender_refused=True,
            )
        mode = ack_mode_for(message, enhanced_partner=self.reply_policy.enhanced)
        reply: bytes | None = self._ack(message, Outcome.REJECT, [_REFUSED], mode).to_bytes()
        if not should_reply(
            message, Outcome.REJECT, mode=mode, honour_msh15=self.reply_policy.honour_msh15
        ):
            reply = None
        return Reception(reply, sender_refused=True)
