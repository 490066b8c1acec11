"""How the simulator's inbound listeners answer: validate, then ACK, ORG/ORL, or CA then AA.

The rules are the reliability policy's (§2) through :mod:`eprlink.ack`, so a third party sees
what a careful EPR would send: AR for an unusable header, AE with ERR for content errors, a
PHI-free MSA-3, never an ACK to an ACK. The alerts listener plays enhanced mode: a commit ACK
(CA/CE/CR) as soon as the message is safe, then the application ACK (AA/AE/AR).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eprlink.ack import (
    AckMode,
    Outcome,
    Problem,
    Severity,
    answer,
    build_ack,
    build_application_ack,
    is_acknowledgement,
    outcome_for,
    should_reply,
    wants_application_ack,
)
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, ParseError, parse
from eprlink.sim.config import ListenerConfig, ListenerKind
from eprlink.sim.faults import AnswerFault

__all__ = ["DEFAULT_EVENTS", "Check", "Handled", "Reply", "Responder"]

Check = Callable[[Message], Sequence[Problem]]
"""Content problems of a message (errors and warnings), from the Trust's profile."""

DEFAULT_EVENTS: dict[ListenerKind, tuple[str, ...]] = {
    ListenerKind.ORDERS: ("OMG^O19", "OML^O21"),
    ListenerKind.REGISTRATIONS: ("ADT^A28", "ADT^A31", "ADT^A04"),
    ListenerKind.ALERTS: (),  # any type: maternity and ED alerts vary by Trust
}
_RESPONSES = {"OMG": "ORG^O20^ORG_O20", "OML": "ORL^O22^ORL_O22"}


@dataclass(frozen=True, slots=True)
class Reply:
    """One frame to write back, after ``delay`` seconds (the application ACK's wait)."""

    payload: bytes
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one inbound payload."""

    replies: tuple[Reply, ...]
    message: Message | None
    accepted: bool
    code: str  # MSA-1 of the (last) answer, "" when none was sent


def _code(reply: Message) -> str:
    return reply.get("MSA-1") or ""


class Responder:
    """Answers the messages of one inbound listener."""

    def __init__(
        self,
        config: ListenerConfig,
        *,
        application: str,
        facility: str,
        check: Check | None = None,
    ) -> None:
        self.config = config
        self._app = application
        self._facility = facility
        self._check = check if config.validate else None
        self._events = config.events or DEFAULT_EVENTS.get(config.kind, ())

    def _header(self, message: Message) -> list[Problem]:
        """Problems that make the message unacceptable whatever its content."""
        problems = []
        kind = message.message_type or ""
        trigger = message.trigger_event or ""
        if self._events and f"{kind}^{trigger}" not in self._events:
            known = {event.split("^", 1)[0] for event in self._events}
            code = (
                ErrorCode.UNSUPPORTED_EVENT_CODE
                if kind in known
                else ErrorCode.UNSUPPORTED_MESSAGE_TYPE
            )
            problems.append(Problem.at("MSH-9", code))
        senders = self.config.allowed_senders
        if senders and (message.get("MSH-3.1") or "") not in senders:
            problems.append(Problem(ErrorCode.APPLICATION_INTERNAL_ERROR))  # HD-12: says nothing
        return problems

    def _content(self, message: Message, fault: AnswerFault | None) -> list[Problem]:
        found = list(self._check(message)) if self._check is not None else []
        if fault is AnswerFault.ERROR:
            found.append(Problem(ErrorCode.APPLICATION_RECORD_LOCKED))  # AE: try again later
        elif fault is AnswerFault.REJECT:
            found.append(Problem(ErrorCode.APPLICATION_INTERNAL_ERROR))  # AR 207
        return found

    def _ack(
        self, message: Message | None, outcome: Outcome, problems: list[Problem], mode: AckMode
    ) -> Message:
        return build_ack(
            message,
            outcome,
            errors=[p for p in problems if p.severity is Severity.ERROR],
            mode=mode,
            sending_application=self._app,
            sending_facility=self._facility,
        )

    def respond(self, payload: bytes, fault: AnswerFault | None = None) -> Handled:
        """The replies to one payload (none for an ACK, HD-13)."""
        try:
            message = parse(payload, encoding=self.config.encoding) if payload.strip() else None
        except ParseError:
            message = None
        if message is None:
            result = answer(
                payload,
                sending_application=self._app,
                sending_facility=self._facility,
                encoding=self.config.encoding,
            )
            if result.reply is None:
                return Handled((), result.message, False, "")
            return Handled((Reply(result.reply.to_bytes()),), None, False, _code(result.reply))
        if is_acknowledgement(message):
            return Handled((), message, False, "")
        if self.config.kind is ListenerKind.ALERTS:
            return self._enhanced(message, fault)
        header = self._header(message)
        problems = header
        if outcome_for(header) is Outcome.ACCEPT:
            problems = header + self._content(message, fault)
        outcome = outcome_for(problems)
        reply = self._ack(message, outcome, problems, AckMode.ORIGINAL)
        if self.config.order_response and message.message_type in _RESPONSES:
            reply = self._order_response(message, reply, accepted=outcome is Outcome.ACCEPT)
        accepted = outcome is Outcome.ACCEPT
        return Handled((Reply(reply.to_bytes()),), message, accepted, _code(reply))

    def failed(self, payload: bytes) -> Handled:
        """AR 207 "application internal error", for when answering properly failed."""
        result = answer(
            payload,
            sending_application=self._app,
            sending_facility=self._facility,
            encoding=self.config.encoding,
            fallback="latin-1",
            problems=[Problem(ErrorCode.APPLICATION_INTERNAL_ERROR)],
        )
        if result.reply is None:
            return Handled((), result.message, False, "")
        return Handled((Reply(result.reply.to_bytes()),), result.message, False, "AR")

    def _enhanced(self, message: Message, fault: AnswerFault | None) -> Handled:
        """Commit ACK for what arrived, then the application ACK for what it said."""
        header = self._header(message)
        committed = outcome_for(header)
        replies: list[Reply] = []
        commit = self._ack(message, committed, header, AckMode.ENHANCED)
        if should_reply(message, committed, mode=AckMode.ENHANCED):
            replies.append(Reply(commit.to_bytes()))
        if committed is not Outcome.ACCEPT:
            return Handled(tuple(replies), message, False, _code(commit))
        problems = self._content(message, fault)
        outcome = outcome_for(problems)
        code = _code(commit)
        if wants_application_ack(message, outcome):
            application = build_application_ack(
                message,
                outcome,
                errors=[p for p in problems if p.severity is Severity.ERROR],
                sending_application=self._app,
                sending_facility=self._facility,
            )
            replies.append(Reply(application.to_bytes(), delay=self.config.app_ack_delay))
            code = _code(application)
        return Handled(tuple(replies), message, outcome is Outcome.ACCEPT, code)

    def _order_response(self, order: Message, ack: Message, *, accepted: bool) -> Message:
        """ORG^O20 / ORL^O22: the ACK's MSH and MSA, then each order with its order control
        (OK accepted, UA unable to accept) and the filler number assigned to it."""
        response = ack.copy()
        response.set_raw("MSH-9", _RESPONSES[order.message_type or ""])
        for number, orc in enumerate(order.segments("ORC"), start=1):
            placer = orc.raw(2) or ""
            if accepted:
                filler = f"F{(orc.get(2, 1, 1) or str(number))[:15]}^{self._app}"
                response.add_segment(f"ORC|OK|{placer}|{filler}")
            else:
                response.add_segment(f"ORC|UA|{placer}")
        return response
