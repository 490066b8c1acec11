"""Reading the responses our own sender gets back (AK-3, AK-5, AK-6, AK-7)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from eprlink.ack.codes import AckCode
from eprlink.errors import EprlinkError, ErrorCode
from eprlink.hl7 import Message, Segment, parse

__all__ = ["DEFAULT_SUCCESS", "AckResult", "ReportedError", "Verdict", "classify", "read_ack"]

DEFAULT_SUCCESS: frozenset[AckCode] = frozenset({AckCode.AA, AckCode.CA})
"""MSA-1 codes that mark a message delivered unless the partner is configured otherwise."""

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_MAX_ERRORS = 100


class Verdict(StrEnum):
    """What a response means for the message in flight."""

    ACCEPT = "accept"
    ERROR = "error"
    REJECT = "reject"
    UNUSABLE = "unusable"
    """No parsable MSA: treated as no response at all (AK-6)."""
    STALE = "stale"
    """A usable response naming another control id: logged and ignored (AK-3)."""


def _integer(text: str | None) -> int | None:
    return int(text) if text is not None and _INTEGER.fullmatch(text) else None


@dataclass(frozen=True, slots=True)
class ReportedError:
    """One problem a partner reported, from either ERR layout. Kept as the partner sent it:
    ``code`` may be outside table 0357 (local codes), and anything unreadable is ``None``."""

    code: int | None
    text: str | None = None
    segment_id: str | None = None
    sequence: int | None = None
    field: int | None = None
    severity: str | None = None

    @property
    def error_code(self) -> ErrorCode | None:
        """The code as a table 0357 member, when it is one."""
        if self.code is None:
            return None
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class AckResult:
    """A response with a usable MSA, reduced to what the sender acts on."""

    code: AckCode
    control_id: str | None
    """MSA-2 exactly as it stands in the response (escapes kept), for comparison with MSH-10."""
    text: str | None = None
    expected_sequence: int | None = None
    errors: tuple[ReportedError, ...] = ()
    message_type: str | None = None
    trigger_event: str | None = None

    @property
    def error_codes(self) -> tuple[int, ...]:
        return tuple(e.code for e in self.errors if e.code is not None)

    def matches(self, control_id: str) -> bool:
        """MSA-2 equals, character for character, the MSH-10 that was sent (AK-3).

        Both sides are raw text, so escapes are compared as written; no trimming, no case
        folding. A response without MSA-2 matches nothing.
        """
        return self.control_id is not None and self.control_id == control_id

    def classify(self, *, success: Iterable[AckCode] = DEFAULT_SUCCESS) -> Verdict:
        """Accept only for a code in the partner's success set (AK-5). Any other code is an
        error or a reject; a success code left out of the set (CA where only AA counts) is an
        error too, since the message has not been delivered on the partner's terms."""
        if self.code in frozenset(success):
            return Verdict.ACCEPT
        return Verdict.REJECT if self.code.is_reject else Verdict.ERROR


def _eld_errors(segment: Segment) -> list[ReportedError]:
    found = []
    for repetition in segment.field(1).repetitions[:_MAX_ERRORS]:
        code = repetition.component(4)
        found.append(
            ReportedError(
                code=_integer(code.subcomponent(1).value),
                text=code.subcomponent(2).value or None,
                segment_id=repetition.component(1).value or None,
                sequence=_integer(repetition.component(2).value),
                field=_integer(repetition.component(3).value),
            )
        )
    return found


def _erl_error(segment: Segment) -> ReportedError:
    return ReportedError(
        code=_integer(segment.get(3, 1, 1)),
        text=segment.get(3, 1, 2) or None,
        segment_id=segment.get(2, 1, 1) or None,
        sequence=_integer(segment.get(2, 1, 2)),
        field=_integer(segment.get(2, 1, 3)),
        severity=segment.get(4, 1, 1) or None,
    )


def _errors(message: Message) -> tuple[ReportedError, ...]:
    found: list[ReportedError] = []
    for segment in message.segments("ERR")[:_MAX_ERRORS]:
        if segment.raw(3) is not None:
            found.append(_erl_error(segment))
        elif segment.raw(1) is not None:
            found.extend(_eld_errors(segment))
    if not found:
        code = _integer(message.get("MSA-6.1"))
        if code is not None:
            found.append(ReportedError(code=code, text=message.get("MSA-6.2") or None))
    return tuple(found[:_MAX_ERRORS])


def read_ack(payload: bytes | bytearray | str | Message) -> AckResult | None:
    """The response's MSA, or ``None`` when it has none that can be used (AK-6).

    Any message type counts as long as it carries an MSA with a table 0008 code, so an
    application response such as ``ADR^A19`` is judged by its MSA like an ACK (AK-7). Plain
    text (``OK``), a missing MSA or an unknown MSA-1 give ``None``. Never raises on bad input.
    """
    try:
        message = payload if isinstance(payload, Message) else parse(payload, fallback="latin-1")
        code_text = message.get("MSA-1")
        if code_text is None:
            return None
        try:
            code = AckCode(code_text)
        except ValueError:
            return None
        return AckResult(
            code=code,
            control_id=message.raw("MSA-2"),
            text=message.get("MSA-3"),
            expected_sequence=_integer(message.get("MSA-4")),
            errors=_errors(message),
            message_type=message.message_type,
            trigger_event=message.trigger_event,
        )
    except EprlinkError:
        return None


def classify(
    response: bytes | bytearray | str | Message | AckResult | None,
    *,
    control_id: str | None = None,
    success: Iterable[AckCode] = DEFAULT_SUCCESS,
) -> Verdict:
    """The verdict on a response: unusable without an MSA, stale when ``control_id`` is given
    and MSA-2 names another message, otherwise by MSA-1 and the success set."""
    result = response if isinstance(response, AckResult | None) else read_ack(response)
    if result is None:
        return Verdict.UNUSABLE
    if control_id is not None and not result.matches(control_id):
        return Verdict.STALE
    return result.classify(success=success)
