"""The reply to one received payload: parse it, decide the outcome, build the ACK (or none).

The listener tool, the engine's inbound path and the simulator all answer frames the same way,
so the rules of the policy (FR-6 empty frames, HD-3 no MSH, EN-3 bad bytes, HD-13 no ACK to an
ACK, SZ-1 oversize) live here once, next to the ACK builder, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from eprlink.ack.build import _acknowledge, accept_text, build_ack
from eprlink.ack.codes import AckCode, AckCondition, AckMode, Outcome, ack_code
from eprlink.ack.echo import control_id_of
from eprlink.ack.problems import Problem, Reason
from eprlink.ack.reply import is_acknowledgement, outcome_for
from eprlink.errors import ErrorCode
from eprlink.hl7 import DEFAULT_MAX_SEGMENTS, Message, ParseError, parse
from eprlink.hl7.charsets import codec_for
from eprlink.hl7.scan import descend

__all__ = ["Answer", "answer", "answer_bytes", "answer_oversize"]

# The header every fast-path message starts with: MSH, the standard field separator and
# exactly the four standard encoding characters (a fifth, v2.7's truncation character, and any
# other delimiters take the general path, which re-encodes echoed values).
_STANDARD_HEAD = b"MSH|^~\\&|"


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


def answer_bytes(
    payload: bytes,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    encoding: str | None = None,
) -> bytes | None:
    """The reply :func:`answer` gives (original mode, no further problems) as wire bytes.

    For a listener that keeps nothing of the message, the common case (standard delimiters, no
    MSH-18, no escapes in the header, not an acknowledgement, bytes valid in the charset) is
    answered from the header alone, with no message or reply object: same checks, same ACK text
    (the tests hold the two paths to byte equality). Anything else takes :func:`answer`.
    """
    reply = _plain_accept(payload, sending_application, sending_facility, encoding)
    if reply is not None:
        return reply
    return answer(
        payload,
        sending_application=sending_application,
        sending_facility=sending_facility,
        encoding=encoding,
    ).reply_bytes


def _plain_accept(
    payload: bytes,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    encoding: str | None,
) -> bytes | None:
    if not payload.startswith(_STANDARD_HEAD):
        return None
    cut = payload.find(b"\r")
    if cut < 0:
        return None
    head = payload[:cut]
    if b"\n" in head or head.find(b"\\", 9) >= 0:  # LF terminators, escapes: general path
        return None
    if len(payload) >= 4 * DEFAULT_MAX_SEGMENTS and payload.count(b"\r") >= DEFAULT_MAX_SEGMENTS:
        return None  # possibly over the segment limit: the general path counts and refuses
    if not head.isascii():  # then the header's text depends on the charset: general path
        return None
    fields = head.decode("ascii").split("|")
    count = len(fields)
    codec = encoding or "utf-8"
    if count > 17 and fields[17]:  # MSH-18, read as the parser reads it
        declared = fields[17].split("~", 1)[0].split("^", 1)[0]
        found = codec_for(declared) if declared else None
        if found is not None:
            codec = found
    if not _ascii_compatible(codec):  # the header bytes would mean other text: general path
        return None
    if not payload.isascii():  # ASCII is valid in every ASCII-compatible charset
        try:
            payload.decode(codec)  # EN-3: undecodable bytes are answered by the general path
        except UnicodeError:
            return None
    message_type = fields[8] if count > 8 else ""
    if message_type.split("~", 1)[0].split("^", 1)[0] == "ACK":  # HD-13: the general path
        return None
    fields.insert(1, "|")  # numbered as paths number them: item n is MSH-n
    text = accept_text(
        fields,
        AckCode.AA,
        sending_application=sending_application,
        sending_facility=sending_facility,
    )
    return None if text is None else text.encode("utf-8")


@lru_cache(maxsize=64)
def _ascii_compatible(codec: str) -> bool:
    """Whether ``codec`` encodes ASCII text as the same bytes (UTF-16 and the like do not)."""
    try:
        return "MSH|^~\\&\r".encode(codec) == b"MSH|^~\\&\r"
    except (LookupError, UnicodeError):
        return False


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
