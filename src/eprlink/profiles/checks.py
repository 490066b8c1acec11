"""Validation settings read from the profile, and the collector that turns findings into issues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from nhs_number.validate import is_valid as _nhs_number_valid

from eprlink.errors import ErrorCode
from eprlink.hl7 import Path, PathError, parse_path
from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import Severity
from eprlink.profiles.report import Issue

__all__ = ["Collector", "Settings", "nhs_number_problem"]

_LEVELS: Mapping[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "off": None,
    "e": Severity.ERROR,  # the layer files' spelling: table 0516 codes
    "w": Severity.WARNING,
    "i": Severity.INFO,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The validator's settings with their defaults; ``None`` means the check is off.

    Every knob lives under ``profile.settings`` (``validation``, ``identifiers``, ``nulls``) so a
    Trust overlay can tighten or loosen a check without code; docs/validation.md lists them all.
    A severity is ``"error"``, ``"warning"``, ``"info"`` or ``"off"`` (or ``"E"``, ``"W"``,
    ``"I"``, as the layer files write them).

    Field names are the keys without their section; ``_SECTIONS`` says which section each
    belongs to.
    """

    # settings.validation.*
    structure: Severity | None = Severity.ERROR
    unknown_z_segments: Severity | None = Severity.INFO
    not_supported: Severity | None = Severity.WARNING
    datatypes: Severity | None = Severity.ERROR
    lengths: Severity | None = Severity.ERROR
    repetitions: Severity | None = Severity.ERROR
    tables: Severity | None = Severity.ERROR
    extensible_tables: Severity | None = Severity.WARNING
    structure_mismatch: Severity | None = Severity.WARNING
    # settings.identifiers.*
    fields: tuple[Path, ...] = field(default=(Path("PID", 1, 3),))
    nhs_authority: str = "NHS"
    nhs_type: str = "NH"
    nhs_number_check: Severity | None = Severity.ERROR
    require_authority: Severity | None = Severity.WARNING
    require_type: Severity | None = Severity.WARNING
    require_nhs_number: Severity | None = None
    repeated_digit_nhs_number: Severity | None = None
    # settings.nulls.*
    snapshot_rule: Severity | None = Severity.WARNING
    required_identifier: Severity | None = Severity.ERROR

    @classmethod
    def from_profile(cls, settings: Mapping[str, object]) -> Settings:
        """Read the three sections; unknown keys are left for other readers of the settings,
        wrong values raise :class:`ProfileError` naming the key."""
        values: dict[str, object] = {}
        for item in fields(cls):
            section = _SECTIONS[item.name]
            table = settings.get(section, {})
            if not isinstance(table, Mapping):
                raise ProfileError(f"settings.{section} must be a table")
            name = item.name
            if name == "fields" and name not in table and "field" in table:
                name = "field"  # one field, as the HL7 UK layer writes it
            if name not in table:
                continue
            key = f"settings.{section}.{name}"
            raw = table[name]
            if item.name == "fields":
                values["fields"] = _identifier_fields([raw] if isinstance(raw, str) else raw, key)
            elif item.name in ("nhs_authority", "nhs_type"):
                if not isinstance(raw, str) or not raw:
                    raise ProfileError(f"{key} must be a non-empty string")
                values[item.name] = raw
            else:
                if not isinstance(raw, str) or raw.lower() not in _LEVELS:
                    allowed = "error, warning, info, off (or E, W, I)"
                    raise ProfileError(f"{key} must be one of {allowed}, not {raw!r}")
                values[item.name] = _LEVELS[raw.lower()]
        return cls(**values)  # type: ignore[arg-type]


_SECTIONS = {
    **dict.fromkeys(
        (
            "structure",
            "unknown_z_segments",
            "not_supported",
            "datatypes",
            "lengths",
            "repetitions",
            "tables",
            "extensible_tables",
            "structure_mismatch",
        ),
        "validation",
    ),
    **dict.fromkeys(
        (
            "fields",
            "nhs_authority",
            "nhs_type",
            "nhs_number_check",
            "require_authority",
            "require_type",
            "require_nhs_number",
            "repeated_digit_nhs_number",
        ),
        "identifiers",
    ),
    **dict.fromkeys(("snapshot_rule", "required_identifier"), "nulls"),
}


def _identifier_fields(raw: object, key: str) -> tuple[Path, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise ProfileError(f"{key} must be a list of field paths such as 'PID-3'")
    paths: list[Path] = []
    for text in raw:
        try:
            path = parse_path(text)
        except PathError:
            raise ProfileError(f"{key}: {text!r} is not a field path such as 'PID-3'") from None
        if path.field is None or path.repetition or path.component or "[" in text:
            raise ProfileError(f"{key}: {text!r} must name a whole field, such as 'PID-3'")
        paths.append(path)
    return tuple(paths)


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
