"""What validation found: issues with HL7 locations and codes, and the report that holds them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eprlink.errors import ErrorCode
from eprlink.profiles.model import Severity

__all__ = ["MSA3_MAX_LENGTH", "Issue", "Report", "reason_text"]

MSA3_MAX_LENGTH = 80
"""Policy 2.4: MSA-3 holds at most 80 characters, ``at <location>`` included."""

# Policy 2.4: the only texts an acknowledgement may carry. Codes outside the list get the
# catch-all, which reveals nothing.
_REASONS = {
    ErrorCode.SEGMENT_SEQUENCE_ERROR: "segment sequence error",
    ErrorCode.REQUIRED_FIELD_MISSING: "required field missing",
    ErrorCode.DATA_TYPE_ERROR: "data type error",
    ErrorCode.TABLE_VALUE_NOT_FOUND: "table value not found",
    ErrorCode.VALUE_TOO_LONG: "value too long",
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "unsupported message type",
    ErrorCode.UNSUPPORTED_EVENT_CODE: "unsupported event code",
    ErrorCode.UNSUPPORTED_PROCESSING_ID: "unsupported processing id",
    ErrorCode.UNSUPPORTED_VERSION_ID: "unsupported version id",
    ErrorCode.DUPLICATE_KEY_IDENTIFIER: "duplicate key identifier",
}
_CATCH_ALL = "application internal error"
_CONTENT_ERRORS = frozenset(range(100, 200))


def reason_text(code: ErrorCode) -> str:
    """The PHI-free MSA-3 reason for a table 0357 code (policy 2.4)."""
    return _REASONS.get(code, _CATCH_ALL)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a message, located the way ERR locates it.

    ``expected`` and ``found_safe`` never hold message content (they are built from the profile
    and from fixed phrases), so :attr:`safe_text` may go to logs and ACKs. ``found`` may quote
    the offending value, for integrators reading :attr:`text` in the CLI.
    ``sequence`` is the occurrence of the segment among segments with the same id (ERR's
    "segment sequence"); positions are 1-based and ``None`` where they do not apply.
    """

    severity: Severity
    code: ErrorCode
    path: str
    segment: str | None = None
    sequence: int | None = None
    field: int | None = None
    repetition: int | None = None
    component: int | None = None
    subcomponent: int | None = None
    field_name: str = ""
    expected: str = ""
    found: str = ""
    found_safe: str = ""

    @property
    def _where(self) -> str:
        return f"{self.path} {self.field_name}" if self.field_name else self.path

    @property
    def text(self) -> str:
        """Plain English for integrators: where, what was expected, what was found (quoted)."""
        found = f", found {self.found}" if self.found else ""
        return f"{self._where}: expected {self.expected}{found}"

    @property
    def safe_text(self) -> str:
        """The same sentence without any message content, for logs and acknowledgements."""
        found = f", found {self.found_safe}" if self.found_safe else ""
        return f"{self._where}: expected {self.expected}{found}"

    @property
    def reason(self) -> str:
        """The fixed MSA-3 reason for this issue's code (policy 2.4)."""
        return reason_text(self.code)

    @property
    def location(self) -> str | None:
        """``SEG-field[.component[.subcomponent]]``, the form MSA-3 may name, or ``None``."""
        if self.segment is None or self.field is None:
            return None
        text = f"{self.segment}-{self.field}"
        if self.component is not None:
            text += f".{self.component}"
            if self.subcomponent is not None:
                text += f".{self.subcomponent}"
        return text

    @property
    def msa_text(self) -> str:
        """MSA-3: the reason, with `` at <location>`` when that fits in 80 characters."""
        where = self.location
        if where is not None:
            text = f"{self.reason} at {where}"
            if len(text) <= MSA3_MAX_LENGTH:
                return text
        return self.reason

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self, *, include_text: bool = False) -> dict[str, Any]:
        """JSON-ready; message content appears only under ``text``, and only when asked."""
        data: dict[str, Any] = {
            "severity": self.severity.value,
            "code": int(self.code),
            "reason": self.reason,
            "path": self.path,
            "segment": self.segment,
            "sequence": self.sequence,
            "field": self.field,
            "repetition": self.repetition,
            "component": self.component,
            "subcomponent": self.subcomponent,
            "field_name": self.field_name,
            "safe_text": self.safe_text,
        }
        if include_text:
            data["text"] = self.text
        return data


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of validating one message: every issue in message order, and the verdict.

    ``structure`` is the profile's structure id that was checked (``None`` when no structure
    could be chosen); ``event`` is the (type, trigger) pair validated against.
    """

    issues: tuple[Issue, ...] = ()
    event: tuple[str, str] | None = None
    structure: str | None = None
    profile: str = ""

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    @property
    def infos(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.INFO)

    @property
    def ok(self) -> bool:
        """No errors; warnings and information do not make a message unacceptable."""
        return not any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def first_error(self) -> Issue | None:
        """The error MSA-3 names: the first in message order."""
        return next((i for i in self.issues if i.severity is Severity.ERROR), None)

    def ack_code(self) -> str:
        """``AA`` when ok; ``AR`` when an error is in the 200 series (the message as a whole is
        unsupported); ``AE`` for content errors (100–104). Only errors count (policy 2.1)."""
        verdict = "AA"
        for issue in self.issues:
            if issue.severity is Severity.ERROR:
                if int(issue.code) not in _CONTENT_ERRORS:
                    return "AR"
                verdict = "AE"
        return verdict

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues)

    def __len__(self) -> int:
        return len(self.issues)

    def to_dict(self, *, include_text: bool = False) -> dict[str, Any]:
        """For ``--json`` output. Without ``include_text`` nothing from the message appears."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "ack_code": self.ack_code(),
            "profile": self.profile,
            "structure": self.structure,
            "errors": sum(1 for i in self.issues if i.severity is Severity.ERROR),
            "warnings": sum(1 for i in self.issues if i.severity is Severity.WARNING),
            "infos": sum(1 for i in self.issues if i.severity is Severity.INFO),
            "issues": [i.to_dict(include_text=include_text) for i in self.issues],
        }
        if include_text:
            data["event"] = None if self.event is None else "^".join(self.event)
        return data
