"""The reply to one received payload: parse it, decide the outcome, build the ACK (or none).

The listener tool, the engine's inbound path and the simulator all answer frames the same way,
so the rules of the policy (FR-6 empty frames, HD-3 no MSH, EN-3 bad bytes, HD-13 no ACK to an
ACK, SZ-1 oversize) live here once, next to the ACK builder, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eprlink.ack.build import _acknowledge, build_ack
from eprlink.ack.codes import AckCondition, AckMode, Outcome, ack_code
from eprlink.ack.echo import control_id_of
from eprlink.ack.problems import Problem, Reason
from eprlink.ack.reply import is_acknowledgement, outcome_for
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, ParseError, parse
from eprlink.hl7.scan import descend

__all__ = ["Answer", "answer", "answer_oversize"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What to do with a payload: ``reply`` None means send nothing (an ACK was received)."""

    message: Message | None
    outcome: Outcome
    problems: tuple[Problem, ...]
    reply: Message | None

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPT and self.message is not None

    @property
    def reply_bytes(self) -> bytes | None:
        """The reply as it goes on the wire (``reply.to_bytes()``), or None to send nothing."""
        return None if self.reply is None else self.reply.to_bytes()


def _header_of(payload: bytes) -> Message | None:
    """The MSH alone, read as latin-1 (which decodes any byte) so the reply can echo it when the
    body is undecodable; None when the header itself is unusable."""
    end = len(payload)
    for terminator in (b"\r", b"\n"):
        cut = payload.find(terminator)
        if 0 <= cut < end:
            end = cut
    try:
        return parse(payload[:end], encoding="latin-1", charsets={})
    except ParseError:
        return None


def _is_acknowledgement(message: Message, header: list[str] | None) -> bool:
    """:func:`is_acknowledgement` read from the MSH fields already split for the reply."""
    if header is None or len(header) <= 9:
        return False
    d = message.delimiters
    raw = descend(header[9], d, None, 1, None) if header[9] else None
    if raw is not None and d.escape in raw:
        return is_acknowledgement(message)  # an escaped MSH-9.1 is read the long way
    return raw == "ACK"


def answer(
    payload: bytes,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    encoding: str | None = None,
    fallback: str | None = None,
    strict: bool = False,
    problems: Iterable[Problem] = (),
    mode: AckMode = AckMode.ORIGINAL,
) -> Answer:
    """Parse ``payload`` and build its acknowledgement.

    ``problems`` are further findings about a parsed message (validation, duplicates) that
    decide AA/AE/AR with the parse result; they are ignored when parsing itself failed.
    """
    if not payload or payload.isspace():  # what strip() would leave empty, without a copy
        problem = Problem(ErrorCode.SEGMENT_SEQUENCE_ERROR)  # FR-6: empty frame, empty MSA-2
        reply = build_ack(
            None,
            Outcome.REJECT,
            errors=[problem],
            mode=mode,
            sending_application=sending_application,
            sending_facility=sending_facility,
        )
        return Answer(None, Outcome.REJECT, (problem,), reply)
    try:
        message = parse(payload, encoding=encoding, fallback=fallback, strict=strict)
    except ParseError as exc:
        problem = Problem.from_parse_error(exc, payload=payload)
        outcome = outcome_for([problem])
        header = _header_of(payload)
        reply = build_ack(
            header,
            outcome,
            errors=[problem],
            mode=mode,
            raw_control_id=control_id_of(payload) if header is None else None,
            sending_application=sending_application,
            sending_facility=sending_facility,
        )
        return Answer(None, outcome, (problem,), reply)
    msh = message.raw_fields("MSH")  # split once, for the HD-13 check and the reply
    if _is_acknowledgement(message, msh):  # HD-13: never acknowledge an acknowledgement
        return Answer(message, Outcome.ACCEPT, (), None)
    found = tuple(problems)
    outcome = outcome_for(found) if found else Outcome.ACCEPT
    reply = _acknowledge(
        message,
        ack_code(outcome, mode),
        errors=found,
        sending_application=sending_application,
        sending_facility=sending_facility,
        conditions=(AckCondition.NE, AckCondition.NE) if mode is AckMode.ENHANCED else None,
        header=msh,
    )
    return Answer(message, outcome, found, reply)


def answer_oversize(
    head: bytes,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    mode: AckMode = AckMode.ORIGINAL,
) -> Message:
    """AR 207 "message too large" for a frame over the size limit, from its first bytes (SZ-1)."""
    problem = Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, reason=Reason.MESSAGE_TOO_LARGE)
    header = _header_of(head)
    return build_ack(
        header,
        Outcome.REJECT,
        errors=[problem],
        mode=mode,
        raw_control_id=control_id_of(head) if header is None else None,
        sending_application=sending_application,
        sending_facility=sending_facility,
    )
