"""Errors of the HL7 v2 core: where in the message a problem is and which table 0357 code fits."""

from __future__ import annotations

from dataclasses import dataclass

from eprlink.errors import EprlinkError, ErrorCode

__all__ = ["HL7Error", "Location", "ParseError", "PathError"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem sits. Positions are 1-based as HL7 numbers them; ``None`` means unknown.

    ``offset`` is the character offset into the decoded text, or the byte offset into the raw
    payload for problems found before decoding succeeded.
    """

    segment_index: int | None = None
    segment_id: str | None = None
    field: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.segment_id is not None:
            where = self.segment_id
            if self.field is not None:
                where += f"-{self.field}"
            parts.append(where)
        if self.segment_index is not None:
            parts.append(f"segment {self.segment_index}")
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        return ", ".join(parts) if parts else "unknown location"


class HL7Error(EprlinkError):
    """Base of the HL7 core's errors."""


class ParseError(HL7Error):
    """Input that cannot be read as an HL7 v2 message (or, in strict mode, is not conformant).

    The message text never quotes patient data: it names the rule and the location only.
    """

    def __init__(self, reason: str, *, code: ErrorCode, location: Location | None = None) -> None:
        self.reason = reason
        self.code = code
        self.location = location if location is not None else Location()
        super().__init__(f"{reason} (HL7 {int(code)} {code.text}; at {self.location})")


class PathError(HL7Error, ValueError):
    """A malformed element path, or an edit the model cannot make (such as changing MSH-1)."""
