"""Problems found in a received message, and the PHI-free texts that describe them (2.2, 2.4)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from eprlink.ack.codes import Severity
from eprlink.ack.errors import AckError, AckUsageError
from eprlink.errors import ErrorCode
from eprlink.hl7 import ParseError, PathError, parse_path

__all__ = [
    "MSA3_MAX_LENGTH",
    "MSA3_PATTERN",
    "Problem",
    "Reason",
    "first_reported",
    "reason_for",
]

MSA3_MAX_LENGTH = 80
MSA3_PATTERN = re.compile(
    r"^(segment sequence error|unsupported encoding|required field missing|data type error"
    r"|table value not found|value too long"
    r"|unsupported (message type|event code|processing id|version id)"
    r"|duplicate key identifier|temporarily unavailable|message too large"
    r"|application internal error)( at [A-Z][A-Z0-9]{2}-[0-9]+(\.[0-9]+)*)?$"
)
"""The policy's check for MSA-3 (2.4); every text this package writes matches it."""

SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_ER7_START = re.compile(rb"[A-Z][A-Z0-9]{2}[!-/:-@\[-`{-~]")


class _Valued(Protocol):
    @property
    def value(self) -> str: ...


class Finding(Protocol):
    """What a validator reports about one place in a message (structural: no import needed)."""

    @property
    def code(self) -> int: ...
    @property
    def severity(self) -> _Valued: ...
    @property
    def segment(self) -> str | None: ...
    @property
    def sequence(self) -> int | None: ...
    @property
    def field(self) -> int | None: ...
    @property
    def repetition(self) -> int | None: ...
    @property
    def component(self) -> int | None: ...
    @property
    def subcomponent(self) -> int | None: ...


class Reason(StrEnum):
    """The only texts MSA-3 may carry (2.4). Partners log ACKs, so nothing else goes there."""

    SEGMENT_SEQUENCE_ERROR = "segment sequence error"
    UNSUPPORTED_ENCODING = "unsupported encoding"
    REQUIRED_FIELD_MISSING = "required field missing"
    DATA_TYPE_ERROR = "data type error"
    TABLE_VALUE_NOT_FOUND = "table value not found"
    VALUE_TOO_LONG = "value too long"
    UNSUPPORTED_MESSAGE_TYPE = "unsupported message type"
    UNSUPPORTED_EVENT_CODE = "unsupported event code"
    UNSUPPORTED_PROCESSING_ID = "unsupported processing id"
    UNSUPPORTED_VERSION_ID = "unsupported version id"
    DUPLICATE_KEY_IDENTIFIER = "duplicate key identifier"
    TEMPORARILY_UNAVAILABLE = "temporarily unavailable"
    MESSAGE_TOO_LARGE = "message too large"
    APPLICATION_INTERNAL_ERROR = "application internal error"


# The first reason of each entry is the default. Codes 204 and 206 are not used by the listener;
# should one be reported anyway it gets the catch-all text, which reveals nothing.
_REASONS: dict[ErrorCode, tuple[Reason, ...]] = {
    ErrorCode.SEGMENT_SEQUENCE_ERROR: (Reason.SEGMENT_SEQUENCE_ERROR, Reason.UNSUPPORTED_ENCODING),
    ErrorCode.REQUIRED_FIELD_MISSING: (Reason.REQUIRED_FIELD_MISSING,),
    ErrorCode.DATA_TYPE_ERROR: (Reason.DATA_TYPE_ERROR,),
    ErrorCode.TABLE_VALUE_NOT_FOUND: (Reason.TABLE_VALUE_NOT_FOUND,),
    ErrorCode.VALUE_TOO_LONG: (Reason.VALUE_TOO_LONG,),
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: (Reason.UNSUPPORTED_MESSAGE_TYPE,),
    ErrorCode.UNSUPPORTED_EVENT_CODE: (Reason.UNSUPPORTED_EVENT_CODE,),
    ErrorCode.UNSUPPORTED_PROCESSING_ID: (Reason.UNSUPPORTED_PROCESSING_ID,),
    ErrorCode.UNSUPPORTED_VERSION_ID: (Reason.UNSUPPORTED_VERSION_ID,),
    ErrorCode.UNKNOWN_KEY_IDENTIFIER: (Reason.APPLICATION_INTERNAL_ERROR,),
    ErrorCode.DUPLICATE_KEY_IDENTIFIER: (Reason.DUPLICATE_KEY_IDENTIFIER,),
    ErrorCode.APPLICATION_RECORD_LOCKED: (Reason.APPLICATION_INTERNAL_ERROR,),
    ErrorCode.APPLICATION_INTERNAL_ERROR: (
        Reason.APPLICATION_INTERNAL_ERROR,
        Reason.TEMPORARILY_UNAVAILABLE,
        Reason.MESSAGE_TOO_LARGE,
    ),
}

# Codes that make the whole message unacceptable (AR/CR) wherever they occur (table 2.2).
_REJECTING = frozenset(
    {
        ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
        ErrorCode.UNSUPPORTED_EVENT_CODE,
        ErrorCode.UNSUPPORTED_PROCESSING_ID,
        ErrorCode.UNSUPPORTED_VERSION_ID,
        ErrorCode.APPLICATION_INTERNAL_ERROR,
    }
)


def reason_for(code: ErrorCode | int, reason: Reason | str | None = None) -> Reason:
    """The MSA-3 text for a table 0357 code: the default one, or ``reason`` once it is checked
    to be one the policy allows for that code (207 may say "temporarily unavailable")."""
    try:
        allowed = _REASONS[ErrorCode(code)]
    except ValueError:
        raise AckUsageError(f"{code} is not an HL7 table 0357 code") from None
    if reason is None:
        return allowed[0]
    try:
        chosen = Reason(reason)
    except ValueError:
        raise AckUsageError(f"{reason!r} is not an MSA-3 reason text") from None
    if chosen not in allowed:
        raise AckUsageError(f"{chosen.value!r} is not a reason for error code {int(code)}")
    return chosen


def _severity(value: Severity | str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise AckUsageError(f"severity must be E, W or I (table 0516), got {value!r}") from None


def _position(value: int | None, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise AckUsageError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, as ERR and MSA-3 report it: a table 0357 code, where, and how severe.

    It holds positions and codes only, never message content, so nothing built from it can
    leak patient data. ``sequence`` is the occurrence of the segment among segments with the
    same id (ERR's "segment sequence"), not its position in the message.
    """

    code: ErrorCode
    segment_id: str | None = None
    sequence: int | None = None
    field: int | None = None
    repetition: int | None = None
    component: int | None = None
    subcomponent: int | None = None
    severity: Severity = Severity.ERROR
    reason: Reason | None = None

    def __post_init__(self) -> None:
        try:
            code = ErrorCode(self.code)
        except ValueError:
            raise AckUsageError(f"{self.code!r} is not an HL7 table 0357 code") from None
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "reason", reason_for(code, self.reason))
        object.__setattr__(self, "severity", _severity(self.severity))
        if self.segment_id is not None and not SEGMENT_ID.fullmatch(self.segment_id):
            raise AckUsageError(f"invalid segment id {self.segment_id!r}")
        names = ("sequence", "field", "repetition", "component", "subcomponent")
        values = (self.sequence, self.field, self.repetition, self.component, self.subcomponent)
        for name, value in zip(names, values, strict=True):
            _position(value, name)
        if self.segment_id is None and (self.sequence is not None or self.field is not None):
            raise AckUsageError("a sequence or field position needs a segment id")
        if self.field is None and (self.repetition or self.component or self.subcomponent):
            raise AckUsageError("a repetition or component position needs a field position")
        if self.subcomponent is not None and self.component is None:
            raise AckUsageError("a subcomponent position needs a component position")

    @classmethod
    def at(
        cls,
        path: str,
        code: ErrorCode | int,
        *,
        reason: Reason | str | None = None,
        severity: Severity | str = Severity.ERROR,
    ) -> Problem:
        """A problem located by an element path (``PID-5``, ``OBX[3]-5``, ``PID-3[2].1``)."""
        try:
            p = parse_path(path)
        except PathError:
            raise AckUsageError(f"invalid location {path!r}") from None
        if p.segment_repetition < 1:
            raise AckUsageError("a problem location needs a positive segment occurrence")
        return cls(
            ErrorCode(code),
            segment_id=p.segment,
            sequence=p.segment_repetition,
            field=p.field,
            repetition=p.repetition,
            component=p.component,
            subcomponent=p.subcomponent,
            severity=_severity(severity),
            reason=None if reason is None else Reason(reason),
        )

    @classmethod
    def from_finding(cls, finding: Finding) -> Problem:
        """A validation finding (e.g. :class:`eprlink.profiles.Issue`) as a problem for the ACK.

        A location an ERR segment cannot express is dropped, never the code: the sender must
        still learn what was wrong.
        """
        severity = Severity(finding.severity.value)
        try:
            return cls(
                ErrorCode(finding.code),
                segment_id=finding.segment,
                sequence=finding.sequence,
                field=finding.field,
                repetition=finding.repetition,
                component=finding.component,
                subcomponent=finding.subcomponent,
                severity=severity,
            )
        except AckError:
            return cls(ErrorCode(finding.code), severity=severity)

    @classmethod
    def from_parse_error(cls, error: ParseError, *, payload: bytes | str | None = None) -> Problem:
        """The problem a parse failure stands for.

        The location is kept only where it is a real segment id and position, since a parse
        error may point into garbage. With the ``payload`` the segment occurrence can be
        counted and a payload that is not ER7 text at all is told apart ("unsupported
        encoding") from ER7 that merely lacks its MSH ("segment sequence error").
        """
        location = error.location
        segment_id = location.segment_id
        if segment_id is not None and not SEGMENT_ID.fullmatch(segment_id):
            segment_id = None
        field = location.field if segment_id is not None else None
        if field is not None and field < 1:
            field = None
        sequence = None
        if segment_id is not None and location.segment_index is not None:
            if segment_id == "MSH" and location.segment_index == 1:
                sequence = 1
            elif payload is not None:
                sequence = _occurrence(payload, segment_id, location.segment_index)
        reason = None
        code = ErrorCode(error.code)
        if (
            code is ErrorCode.SEGMENT_SEQUENCE_ERROR
            and segment_id is None
            and payload is not None
            and not _looks_like_er7(payload)
        ):
            reason = Reason.UNSUPPORTED_ENCODING
        return cls(code, segment_id=segment_id, sequence=sequence, field=field, reason=reason)

    @property
    def location(self) -> str | None:
        """``SEG-field[.component[.subcomponent]]`` as MSA-3 may name it, or ``None``."""
        if self.segment_id is None or self.field is None:
            return None
        text = f"{self.segment_id}-{self.field}"
        if self.component is not None:
            text += f".{self.component}"
            if self.subcomponent is not None:
                text += f".{self.subcomponent}"
        return text

    @property
    def text(self) -> str:
        """The MSA-3 text: the reason, with ``at <location>`` when it fits in 80 characters."""
        assert self.reason is not None
        where = self.location
        if where is not None:
            text = f"{self.reason.value} at {where}"
            if len(text) <= MSA3_MAX_LENGTH:
                return text
        return self.reason.value

    @property
    def rejects(self) -> bool:
        """Whether this problem makes the message unacceptable as a whole (AR rather than AE).

        Per table 2.2: the 200-series codes and 207; 101 in the header (HD-4); 102 at MSH-1 or
        MSH-2 (HD-2); 100 with no segment at all, i.e. no usable header (HD-3).
        """
        if self.code in _REJECTING:
            return True
        header = self.segment_id == "MSH"
        if self.code is ErrorCode.REQUIRED_FIELD_MISSING:
            return header
        if self.code is ErrorCode.DATA_TYPE_ERROR:
            return header and self.field in (1, 2)
        if self.code is ErrorCode.SEGMENT_SEQUENCE_ERROR:
            return self.segment_id is None
        return False

    def with_code(self, code: ErrorCode) -> Problem:
        """The same problem under another code, with that code's default reason."""
        return replace(self, code=code, reason=None)


def first_reported(problems: Iterable[Problem]) -> Problem | None:
    """The problem MSA-3 names: the first error, else the first problem of any severity."""
    listed = list(problems)
    for problem in listed:
        if problem.severity is Severity.ERROR:
            return problem
    return listed[0] if listed else None


_SCAN_LIMIT = 1 << 20


def _occurrence(payload: bytes | str, segment_id: str, index: int) -> int | None:
    """Which occurrence of ``segment_id`` the ``index``-th segment is (bounded by the index)."""
    text = payload[:_SCAN_LIMIT]
    if not isinstance(text, str):
        text = text.decode("latin-1")
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r", index)[:index]
    if len(lines) < index or lines[index - 1][:3] != segment_id:
        return None
    return sum(1 for line in lines if line[:3] == segment_id)


def _looks_like_er7(payload: bytes | str) -> bool:
    head = payload[:64]
    data = head.encode("utf-8", "replace") if isinstance(head, str) else bytes(head)
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return _ER7_START.match(data) is not None
