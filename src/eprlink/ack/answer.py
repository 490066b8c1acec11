"""The reply to one received payload: parse it, decide the outcome, build the ACK (or none).

The listener tool, the engine's inbound path and the simulator all answer frames the same way,
so the rules of the policy (FR-6 empty frames, HD-3 no MSH, EN-3 bad bytes, HD-13 no ACK to an
ACK, SZ-1 oversize) live here once, next to the ACK builder, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eprlink.ack.build import build_ack
from eprlink.ack.codes import AckMode, Outcome
from eprlink.ack.echo import control_id_of
from eprlink.ack.problems import Problem, Reason
from eprlink.ack.reply import is_acknowledgement, outcome_for
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, ParseError, parse

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
    if not payload.strip():
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
    if is_acknowledgement(message):  # HD-13: never acknowledge an acknowledgement
        return Answer(message, Outcome.ACCEPT, (), None)
    found = tuple(problems)
    outcome = outcome_for(found)
    reply = build_ack(
        message,
        outcome,
        errors=found,
        mode=mode,
        sending_application=sending_application,
        sending_facility=sending_facility,
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
