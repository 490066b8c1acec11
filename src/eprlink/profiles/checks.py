"""The collector that turns findings into issues, and the NHS-number checks shared by the
identifier check and the ``nhs_number`` rule (the settings themselves are in check_settings)."""

from __future__ import annotations

from nhs_number.validate import is_valid as _nhs_number_valid

from eprlink.errors import ErrorCode
from eprlink.profiles.check_settings import Settings
from eprlink.profiles.model import Severity
from eprlink.profiles.report import Issue

__all__ = ["Collector", "Settings", "national_number", "nhs_number_problem"]


def national_number(authority: str, kind: str, settings: Settings) -> str:
    """What one CX repetition is, from its assigning authority (CX-4's HD-1) and type (CX-5):
    ``"nhs"``, ``"chi"`` or ``""`` (any other identifier).

    A CHI number (``^^^CHI^NH``: CX-4 ``chi_authority``, CX-5 ``chi_type`` or empty) is never an
    NHS number. Otherwise ``recognise_nhs_by`` decides: by ``authority`` (CX-4 equals
    ``nhs_authority``, case-insensitively) and/or by ``type`` (CX-5 equals ``nhs_type``), as
    HL7 UK and ITK write it (``^^^NHS^NH``, ``^^^NHS``; ref §5.3).
    """
    upper = authority.upper()
    if upper == settings.chi_authority.upper() and kind in ("", settings.chi_type):
        return "chi"
    ways = settings.recognise_nhs_by
    if "authority" in ways and upper == settings.nhs_authority.upper():
        return "nhs"
    if "type" in ways and kind == settings.nhs_type:
        return "nhs"
    return ""


def nhs_number_problem(value: str) -> str | None:
    """Why ``value`` is not a valid NHS number, or ``None``; the reason quotes nothing.

    ST-7: exactly ten ASCII digits, no spaces or hyphens (the library would strip them), and a
    correct modulus 11 check digit (a computed 10 makes the number invalid).
    """
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return "a value that is not 10 digits"
    if not _nhs_number_valid(value):
        return "a number whose check digit is wrong"
    return None


class Collector:
    """Issues as they are found, each with the index of the segment it belongs to, so that the
    report lists them in message order whatever order the checks ran in."""

    __slots__ = ("_items", "long_code")

    def __init__(self, long_code: ErrorCode) -> None:
        self._items: list[tuple[int, int, Issue]] = []
        self.long_code = long_code  # 102 before v2.7, 104 from v2.7 (policy 2.2)

    def add(self, line: int, issue: Issue) -> None:
        self._items.append((line, len(self._items), issue))

    def at(  # noqa: PLR0917 - mirrors ERR's location fields in order
        self,
        line: int,
        severity: Severity | None,
        code: ErrorCode,
        segment: str,
        sequence: int,
        position: int | None = None,
        repetition: int | None = None,
        component: int | None = None,
        subcomponent: int | None = None,
        *,
        show_repetition: bool = True,
        name: str = "",
        expected: str,
        found: str = "",
        found_safe: str | None = None,
    ) -> None:
        """Add an issue at an element; ``severity`` ``None`` (a check set to "off") adds
        nothing. ``found_safe`` defaults to ``found`` for texts that quote nothing."""
        if severity is None:
            return
        # The path as eprlink.hl7.Path prints it, built directly: this runs for every issue.
        path = segment if sequence == 1 else f"{segment}[{sequence}]"
        if position is not None:
            path += f"-{position}"
            if show_repetition and repetition is not None:
                path += f"[{repetition}]"
            if component is not None:
                path += f".{component}"
                if subcomponent is not None:
                    path += f".{subcomponent}"
        self.add(
            line,
            Issue(
                severity=severity,
                code=code,
                path=path,
                segment=segment,
                sequence=sequence,
                field=position,
                repetition=repetition,
                component=component,
                subcomponent=subcomponent,
                field_name=name,
                expected=expected,
                found=found,
                found_safe=found if found_safe is None else found_safe,
            ),
        )

    def issues(self) -> tuple[Issue, ...]:
        """In message order; one issue per code and place (a built-in check and a profile rule
        may find the same problem, e.g. an NHS number), keeping the more severe."""
        items = self._items
        if not items:
            return ()
        kept: dict[tuple[ErrorCode, str], tuple[int, int, Issue]] = {}
        for item in items:
            issue = item[2]
            key = (issue.code, issue.path)
            other = kept.get(key)
            if other is None or _RANK[issue.severity] > _RANK[other[2].severity]:
                kept[key] = item if other is None else (other[0], other[1], issue)
        return tuple(item[2] for item in sorted(kept.values(), key=lambda i: (i[0], i[1])))


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
