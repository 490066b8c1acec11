"""The validator's own settings, parsed from a profile's settings table and checked.

``profile.settings`` is one free-form table that several components share. A key that nobody
reads does nothing, silently, which in a clinical feed is a bug: so every key is listed in
:data:`eprlink.profiles.settings_registry.REGISTRY` with its reader and default, a test holds
the packaged layers to it, and the validator refuses (``ProfileError``) a profile whose
validator sections hold a key it does not know or that has a settings section no component
reads. docs/profiles.md documents each key.

The validator reads ``validation``, ``identifiers``, ``identity_reliability``, ``sex``,
``nulls``, ``segment_usage``, ``matching``, ``events``, ``numeric_ranges`` and ``patterns``.
Everything under ``integration`` is for the simulator, the engine and the FHIR mappers, and
``trust`` is the Trust overlay's own ``[trust]`` table (the loader reads ``trust.plugins``);
the validator reads neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eprlink.hl7 import Path, PathError, parse_path
from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import Severity, Usage

__all__ = [
    "PATTERN_INPUT_LIMIT",
    "VALIDATOR_SECTIONS",
    "KnownSetting",
    "PatternCheck",
    "Settings",
    "regex_hazard",
]

_LEVELS: Mapping[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "off": None,
    "e": Severity.ERROR,  # the layer files' spelling: table 0516 codes
    "w": Severity.WARNING,
    "i": Severity.INFO,
}
_PEOPLE = frozenset({"note", "source"})  # any settings table may carry these; programs skip them
_PID_3 = Path("PID", 1, 3)
_PID_8 = Path("PID", 1, 8)
_PID_32 = Path("PID", 1, 32)
_ZU1_27 = Path("ZU1", 1, 27)
PATTERN_INPUT_LIMIT = 256
"""SZ-4: a value longer than this (or a pattern's own ``max_length``) never reaches its regex."""


@dataclass(frozen=True, slots=True)
class KnownSetting:
    """One documented settings key. ``key`` is dotted; ``*`` stands for any one key of a map
    (a segment id, a path, a plug-in or listener name)."""

    key: str
    reader: str
    default: str

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


@dataclass(frozen=True, slots=True)
class PatternCheck:
    """A ``settings.patterns`` entry, compiled once; see :func:`_patterns`."""

    path: Path
    every: bool  # no segment occurrence written: every occurrence
    regex: re.Pattern[str]
    severity: Severity | None
    expected: str
    max_length: int


@dataclass(frozen=True, slots=True)
class Settings:
    """The validator's settings with their defaults; ``None`` means the check is off.

    Built from ``profile.settings`` by :meth:`from_profile`, which names the key of any wrong
    value. Severities are ``"error"``, ``"warning"``, ``"info"``, ``"off"`` or ``"E"``, ``"W"``,
    ``"I"``. Attribute names are the keys without their section, except where two sections use
    the same key (``identity_reliability.field`` is :attr:`status_field`, ``sex.field``
    :attr:`sex_field`, ``events.not_supported`` :attr:`unsupported_events`).
    """

    # settings.validation.*
    structure: Severity | None = Severity.ERROR
    unknown_z_segments: Severity | None = Severity.INFO
    not_supported: Severity | None = Severity.WARNING
    re_missing: Severity | None = Severity.INFO
    backward_present: Severity | None = Severity.WARNING
    datatypes: Severity | None = Severity.ERROR
    lengths: Severity | None = Severity.ERROR
    repetitions: Severity | None = Severity.ERROR
    tables: Severity | None = Severity.ERROR
    extensible_tables: Severity | None = Severity.WARNING
    structure_mismatch: Severity | None = Severity.WARNING
    out_of_range: Severity | None = Severity.WARNING
    # settings.identifiers.*
    fields: tuple[Path, ...] = (_PID_3,)
    nhs_authority: str = "NHS"
    nhs_type: str = "NH"
    nhs_type_optional: bool = True
    recognise_nhs_by: tuple[str, ...] = ("authority", "type")
    chi_authority: str = "CHI"
    chi_type: str = "NH"
    nhs_number_check: Severity | None = Severity.ERROR
    require_authority: Severity | None = Severity.WARNING
    require_type: Severity | None = Severity.WARNING
    require_nhs_number: Severity | None = None
    repeated_digit_nhs_number: Severity | None = None
    # settings.identity_reliability.*
    status_field: Path = _PID_32
    nhs_status_prefix: str = "NSTS"
    accept_bare_status: bool = True
    max_status_codes: int = 1
    too_many_status_codes: Severity | None = Severity.WARNING
    require_status: Severity | None = None
    legacy_field: Path | None = _ZU1_27
    # settings.sex.*
    sex_field: Path = _PID_8
    nhs_codes: tuple[str, ...] = ("1", "2", "9", "0")
    hl7_codes: tuple[str, ...] = ("M", "F", "U", "A", "N", "O")
    accept: str = "both"
    # settings.nulls.*
    snapshot_rule: Severity | None = Severity.WARNING
    required_identifier: Severity | None = Severity.ERROR
    # settings.segment_usage: segment id -> usage
    segment_usage: tuple[tuple[str, Usage], ...] = ()
    # settings.matching.*
    case_insensitive: tuple[Path, ...] = ()
    # settings.events.*
    unsupported_events: frozenset[tuple[str, str]] = frozenset()
    backwards_compatibility: frozenset[tuple[str, str]] = frozenset()
    # settings.numeric_ranges: path -> [min, max]
    numeric_ranges: tuple[tuple[Path, bool, float, float], ...] = ()
    # settings.patterns: a list of tables
    patterns: tuple[PatternCheck, ...] = ()

    @property
    def refused_sex_codes(self) -> frozenset[str]:
        """PID-8 codes of the form ``sex.accept`` does not accept (none for ``"both"``). A code
        of neither form is the field's table's business (HL70001)."""
        if self.accept == "nhs":
            return frozenset(self.hl7_codes) - set(self.nhs_codes)
        if self.accept == "hl7":
            return frozenset(self.nhs_codes) - set(self.hl7_codes)
        return frozenset()

    @classmethod
    def from_profile(cls, settings: Mapping[str, object]) -> Settings:
        """Read the validator's sections. An unknown section, an unknown key in a validator
        section, or a wrong value raises :class:`ProfileError` naming the key."""
        for section in settings:
            if section not in VALIDATOR_SECTIONS and section not in _OTHER_SECTIONS:
                raise ProfileError(
                    f"settings.{section}: no eprlink component reads this section "
                    "(docs/profiles.md lists every setting)"
                )
        values: dict[str, object] = {}
        for section, specs in _SPECS.items():
            if section not in settings:
                continue
            table = settings[section]
            if section == "patterns":
                values["patterns"] = _patterns(table, "settings.patterns")
                continue
            if not isinstance(table, Mapping):
                raise ProfileError(f"settings.{section} must be a table")
            if section in _MAPS:
                values[_MAPS[section]] = _MAP_PARSERS[section](table, f"settings.{section}")
                continue
            for key in table:
                if key not in specs and key not in _PEOPLE:
                    known = ", ".join(sorted(specs))
                    raise ProfileError(
                        f"settings.{section}.{key} is not a setting the validator knows "
                        f"(settings.{section} holds {known})"
                    )
            for key, (attr, parse) in specs.items():
                if key in table:
                    values[attr] = parse(table[key], f"settings.{section}.{key}")
        made = cls(**values)  # type: ignore[arg-type]
        if made.max_status_codes < 1:
            raise ProfileError("settings.identity_reliability.max_status_codes must be 1 or more")
        return made


# -- value parsers: (raw value, dotted key) -> value ----------------------------------------------
def _severity(raw: object, key: str) -> Severity | None:
    if not isinstance(raw, str) or raw.lower() not in _LEVELS:
        allowed = "error, warning, info, off (or E, W, I)"
        raise ProfileError(f"{key} must be one of {allowed}, not {raw!r}")
    return _LEVELS[raw.lower()]


def _text(raw: object, key: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise ProfileError(f"{key} must be a non-empty string")
    return raw


def _flag(raw: object, key: str) -> bool:
    if not isinstance(raw, bool):
        raise ProfileError(f"{key} must be true or false")
    return raw


def _count(raw: object, key: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise ProfileError(f"{key} must be a whole number")
    return raw


def _strings(raw: object, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) and x for x in raw):
        raise ProfileError(f"{key} must be a list of non-empty strings")
    return tuple(raw)


def _path(text: object, key: str, *, component: bool = True, occurrence: bool = False) -> Path:
    """A field path (``PID-3``), or with ``component`` also ``PID-11.5``."""
    example = "'PID-11.5'" if component else "'PID-3'"
    if not isinstance(text, str):
        raise ProfileError(f"{key} must be a path such as {example}")
    try:
        path = parse_path(text)
    except PathError:
        raise ProfileError(f"{key}: {text!r} is not a path such as {example}") from None
    bad = (
        path.field is None
        or path.repetition is not None
        or (not component and path.component is not None)
        or (not occurrence and "[" in text)
    )
    if bad:
        what = "a field or a component" if component else "a whole field"
        raise ProfileError(f"{key}: {text!r} must name {what}, such as {example}")
    return path


def _field_paths(raw: object, key: str) -> tuple[Path, ...]:
    if isinstance(raw, str):
        raw = [raw]  # one field
    if not isinstance(raw, list | tuple):
        raise ProfileError(f"{key} must be a list of field paths such as 'PID-3'")
    if not all(isinstance(x, str) for x in raw):
        raise ProfileError(f"{key} must be a list of field paths such as 'PID-3'")
    return tuple(_path(text, key, component=False) for text in raw)


def _one_field(raw: object, key: str) -> Path:
    return _path(raw, key, component=False)


def _legacy_field(raw: object, key: str) -> Path | None:
    if raw == "":
        return None  # no legacy carrier
    return _path(raw, key, component=False)


def _paths(raw: object, key: str) -> tuple[Path, ...]:
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ProfileError(f"{key} must be a list of paths such as 'MSH-21'")
    return tuple(_path(text, key) for text in raw)


def _recognise(raw: object, key: str) -> tuple[str, ...]:
    ways = _strings(raw, key)
    if not ways or not set(ways) <= {"authority", "type"}:
        raise ProfileError(f"{key} must list 'authority', 'type' or both")
    return ways


def _accept(raw: object, key: str) -> str:
    if raw not in ("nhs", "hl7", "both"):
        raise ProfileError(f"{key} must be 'nhs', 'hl7' or 'both', not {raw!r}")
    return str(raw)


def _events(raw: object, key: str) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for text in _strings(raw, key):
        kind, caret, trigger = text.partition("^")
        if not caret or not kind or "^" in trigger:
            raise ProfileError(f"{key}: {text!r} must be TYPE^TRIGGER, such as 'ADT^A46'")
        found.add((kind, trigger))
    return frozenset(found)


_USAGES = frozenset(u.value for u in Usage)


def _segment_usage(table: Mapping[str, object], key: str) -> tuple[tuple[str, Usage], ...]:
    found: list[tuple[str, Usage]] = []
    for sid, raw in table.items():
        if sid in _PEOPLE:
            continue
        if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", sid):
            raise ProfileError(f"{key}.{sid}: keys are segment ids such as 'ZU1'")
        if not isinstance(raw, str) or raw not in _USAGES:
            allowed = ", ".join(u.value for u in Usage)
            raise ProfileError(f"{key}.{sid}: usage {raw!r} is not one of {allowed}")
        usage = Usage(raw)
        found.append((sid, usage))
    return tuple(found)


def _ranges(table: Mapping[str, object], key: str) -> tuple[tuple[Path, bool, float, float], ...]:
    found: list[tuple[Path, bool, float, float]] = []
    for text, raw in table.items():
        if text in _PEOPLE:
            continue
        where = f"{key}.{text!r}"
        path = _path(text, where, occurrence=True)
        numbers = raw if isinstance(raw, list) else None
        if (
            numbers is None
            or len(numbers) != 2
            or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)
            or numbers[0] > numbers[1]
        ):
            raise ProfileError(f"{where} must be [min, max] with min <= max")
        found.append((path, "[" not in text[3:4], float(numbers[0]), float(numbers[1])))
    return tuple(found)


_PATTERN_KEYS = frozenset({"path", "regex", "severity", "text", "source", "note", "max_length"})
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


def _patterns(raw: object, key: str) -> tuple[PatternCheck, ...]:
    """``settings.patterns``: each regex is compiled once here, and refused when it could
    backtrack catastrophically (see :func:`regex_hazard`)."""
    if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
        raise ProfileError(f"{key} must be a list of tables ([[settings.patterns]])")
    found: list[PatternCheck] = []
    for number, spec in enumerate(raw):
        where = f"{key}[{number}]"
        unknown = set(spec) - _PATTERN_KEYS
        if unknown:
            raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
        if "path" not in spec or "regex" not in spec:
            raise ProfileError(f"{where} needs a 'path' and a 'regex'")
        text = spec["path"]
        path = _path(text, f"{where}.path", occurrence=True)
        source = _text(spec["regex"], f"{where}.regex")
        hazard = regex_hazard(source)
        if hazard is not None:
            raise ProfileError(
                f"{where}.regex: {source!r} is refused: {hazard} can make matching take "
                "exponential time (docs/validation.md, Patterns)"
            )
        try:
            regex = re.compile(source, re.ASCII)
        except re.error as exc:
            raise ProfileError(
                f"{where}.regex: {source!r} is not a regular expression: {exc}"
            ) from None
        limit = spec.get("max_length", PATTERN_INPUT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 4096:
            raise ProfileError(f"{where}.max_length must be a whole number from 1 to 4096")
        severity = _severity(spec.get("severity", "W"), f"{where}.severity")
        note = spec.get("text") or (f"pattern from {spec['source']}" if spec.get("source") else "")
        if not isinstance(note, str):
            raise ProfileError(f"{where}.text must be a string")
        note = note.strip().rstrip(".")
        expected = f"a value matching {source}"
        if note:
            expected = f"a value of the expected form ({note})"
        found.append(
            PatternCheck(path, "[" not in str(text)[3:4], regex, severity, expected, limit)
        )
    return tuple(found)


def regex_hazard(source: str) -> str | None:
    """Why ``source`` could backtrack catastrophically, or ``None``.

    Python's ``re`` backtracks, so a repeated element that can match the same text in more
    than one way (``(a+)+``, ``(a|ab)*``, ``(\\w*)*``) takes exponential time on a crafted value.
    Refused, conservatively: a repetition (more than once) holding another repetition or an
    alternation, and back-references. Character classes (``[A-Z0-9]{3}``), bounded and
    single-level repetition, anchors and optional groups are fine.
    """
    try:
        parser: Any = __import__("re._parser", fromlist=["parse"])
        tree = parser.parse(source)
    except re.error:
        return None  # re.compile reports it, with its own message
    return _hazard(tree, inside=False)


def _hazard(items: Any, *, inside: bool) -> str | None:
    for op, av in items:
        name = getattr(op, "name", str(op))
        found: str | None = None
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "a back-reference"
        if name in _REPEATS:
            _low, high, item = av
            many = high > 1
            if many and inside:
                return "a repetition inside a repetition"
            found = _hazard(item, inside=inside or many)
        elif name == "BRANCH":
            if inside:
                return "an alternation inside a repetition"
            for branch in av[1]:
                found = found or _hazard(branch, inside=inside)
        elif name == "SUBPATTERN":
            found = _hazard(av[-1], inside=inside)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _hazard(av[1], inside=inside)
        elif name == "ATOMIC_GROUP":
            found = _hazard(av, inside=inside)
        if found is not None:
            return found
    return None


_Parse = Callable[[Any, str], object]
_SPECS: dict[str, dict[str, tuple[str, _Parse]]] = {
    "validation": {
        key: (key, _severity)
        for key in (
            "structure",
            "unknown_z_segments",
            "not_supported",
            "re_missing",
            "backward_present",
            "datatypes",
            "lengths",
            "repetitions",
            "tables",
            "extensible_tables",
            "structure_mismatch",
            "out_of_range",
        )
    },
    "identifiers": {
        "fields": ("fields", _field_paths),
        "nhs_authority": ("nhs_authority", _text),
        "nhs_type": ("nhs_type", _text),
        "nhs_type_optional": ("nhs_type_optional", _flag),
        "recognise_nhs_by": ("recognise_nhs_by", _recognise),
        "chi_authority": ("chi_authority", _text),
        "chi_type": ("chi_type", _text),
        **{
            key: (key, _severity)
            for key in (
                "nhs_number_check",
                "require_authority",
                "require_type",
                "require_nhs_number",
                "repeated_digit_nhs_number",
            )
        },
    },
    "identity_reliability": {
        "field": ("status_field", _one_field),
        "nhs_status_prefix": ("nhs_status_prefix", _text),
        "accept_bare_status": ("accept_bare_status", _flag),
        "max_status_codes": ("max_status_codes", _count),
        "too_many_status_codes": ("too_many_status_codes", _severity),
        "require_status": ("require_status", _severity),
        "legacy_field": ("legacy_field", _legacy_field),
    },
    "sex": {
        "field": ("sex_field", _one_field),
        "nhs_codes": ("nhs_codes", _strings),
        "hl7_codes": ("hl7_codes", _strings),
        "accept": ("accept", _accept),
    },
    "nulls": {
        "snapshot_rule": ("snapshot_rule", _severity),
        "required_identifier": ("required_identifier", _severity),
    },
    "segment_usage": {},
    "matching": {"case_insensitive": ("case_insensitive", _paths)},
    "events": {
        "not_supported": ("unsupported_events", _events),
        "backwards_compatibility": ("backwards_compatibility", _events),
    },
    "numeric_ranges": {},
    "patterns": {},
}
_MAPS = {"segment_usage": "segment_usage", "numeric_ranges": "numeric_ranges"}
_MAP_PARSERS: dict[str, Callable[[Mapping[str, object], str], object]] = {
    "segment_usage": _segment_usage,
    "numeric_ranges": _ranges,
}
VALIDATOR_SECTIONS: frozenset[str] = frozenset(_SPECS)
_OTHER_SECTIONS = frozenset({"integration", "trust"})
