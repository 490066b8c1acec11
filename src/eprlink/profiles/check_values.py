"""Checks on values at settings paths: NHS number trace status, sex coding, ranges, patterns.

They are compiled into hooks per segment id and run from the validator's one pass over the
segments, on the fields that pass has already split, so a message pays for the paths the
profile names and nothing else. Values are read in three states: an absent value and the
explicit null ``""`` are never checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters, Path, unescape
from eprlink.profiles.check_primitives import NULL, PRIMITIVES, quote
from eprlink.profiles.check_settings import PatternCheck
from eprlink.profiles.checks import Collector, Settings
from eprlink.profiles.model import DatatypeDef, SegmentDef, Severity

__all__ = [
    "ValueChecks",
    "ValueContext",
    "ValueHook",
    "compile_value_checks",
    "finish_value_checks",
]

_HEADERS = frozenset({"MSH", "BHS", "FHS"})
_NUMBER_LIMIT = 64  # SZ-4: a longer value is not read as a number
_nm = PRIMITIVES["NM"][0]


class ValueContext:
    """What the hooks need while one message is checked, and what they leave for the end (the
    patients whose trace status may still come from the legacy field)."""

    __slots__ = ("charset", "d", "legacy_status", "out", "settings", "without_status")

    def __init__(self, d: Delimiters, charset: str, settings: Settings, out: Collector) -> None:
        self.d = d
        self.charset = charset
        self.settings = settings
        self.out = out
        self.legacy_status = False
        self.without_status: list[tuple[int, int]] = []  # (line, occurrence) of such PIDs


ValueHook = Callable[[list[str], int, int, ValueContext], None]
"""Called with a segment's fields (split on the field separator), its line index and its
occurrence number."""


@dataclass(frozen=True, slots=True)
class _Place:
    """A settings path compiled against the profile: where to read and how to name it."""

    path: Path
    index: int  # of the field in the segment's split text (MSH-n is at n - 1)
    occurrence: int | None  # None: every occurrence of the segment
    name: str  # the field (and component) name, for the issue
    show: bool  # show the repetition in issue paths (the field repeats)

    def values(self, fields: list[str], ctx: ValueContext) -> list[tuple[int, str]]:
        """(repetition, value) here; absent values and ``""`` are skipped. A path without a
        component reads the first component, as tables and ``value_in`` do."""
        raw = fields[self.index] if self.index < len(fields) else ""
        if not raw:
            return []
        d = ctx.d
        path = self.path
        plain = path.component in (None, 1) and path.subcomponent is None
        if plain and d.component not in raw and d.repetition not in raw:  # the usual case
            if raw == NULL:
                return []
            return [(1, unescape(raw, d, charset=ctx.charset) if d.escape in raw else raw)]
        component = path.component or 1
        subcomponent = path.subcomponent
        repetitions = raw.split(d.repetition)
        numbered = enumerate(repetitions, 1)
        if path.repetition is not None:
            numbered = enumerate(
                repetitions[path.repetition - 1 : path.repetition], path.repetition
            )
        found: list[tuple[int, str]] = []
        for number, text in numbered:
            if component > 1 or d.component in text:
                parts = text.split(d.component)
                text = parts[component - 1] if component <= len(parts) else ""
            if subcomponent is not None and d.subcomponent is not None:
                pieces = text.split(d.subcomponent)
                text = pieces[subcomponent - 1] if subcomponent <= len(pieces) else ""
            if not text or text == NULL:
                continue
            if d.escape in text:
                text = unescape(text, d, charset=ctx.charset)
                if not text:
                    continue
            found.append((number, text))
        return found

    def report(  # noqa: PLR0917 - ERR's location fields, in order
        self,
        ctx: ValueContext,
        line: int,
        sequence: int,
        repetition: int | None,
        severity: Severity | None,
        code: ErrorCode,
        *,
        expected: str,
        found: str,
        found_safe: str | None = None,
    ) -> None:
        path = self.path
        ctx.out.at(
            line, severity, code, path.segment, sequence, path.field, repetition, path.component,
            path.subcomponent, show_repetition=self.show and repetition is not None,
            name=self.name, expected=expected, found=found, found_safe=found_safe,
        )  # fmt: skip


def _place(
    path: Path, every: bool, segments: Mapping[str, SegmentDef], types: Mapping[str, DatatypeDef]
) -> _Place:
    assert path.field is not None
    index = path.field - 1 if path.segment in _HEADERS else path.field
    occurrence = None if every else path.segment_repetition
    segment = segments.get(path.segment)
    spec = segment.field(path.field) if segment is not None else None
    if spec is None:
        return _Place(path, index, occurrence, "", path.repetition is not None)
    name = spec.name
    if path.component is not None:
        datatype = types.get(spec.datatype)
        parts = {c.position: c.name for c in datatype.components} if datatype else {}
        if parts.get(path.component):
            name = f"{name} / {parts[path.component]}"
    show = spec.max_repetitions != 1 or path.repetition is not None
    return _Place(path, index, occurrence, name, show)


@dataclass(frozen=True, slots=True)
class ValueChecks:
    """The hooks to run for each segment id, and the trace status place for the end."""

    hooks: Mapping[str, tuple[ValueHook, ...]]
    status: _Place


def compile_value_checks(
    settings: Settings, segments: Mapping[str, SegmentDef], types: Mapping[str, DatatypeDef]
) -> ValueChecks:
    hooks: dict[str, list[ValueHook]] = {}

    def add(place: _Place, hook: ValueHook) -> None:
        hooks.setdefault(place.path.segment, []).append(hook)

    status = _place(settings.status_field, True, segments, types)
    add(status, _identity_reliability(status, settings))
    legacy = settings.legacy_field
    if legacy is not None and settings.require_status is not None:
        place = _place(legacy, False, segments, types)
        add(place, _legacy_status(place, settings.nhs_status_prefix))
    refused = settings.refused_sex_codes
    if refused:
        accepted = settings.nhs_codes if settings.accept == "nhs" else settings.hl7_codes
        expected = (
            f"a sex code of the {settings.accept.upper()} form ({', '.join(accepted)}; "
            "settings.sex.accept)"
        )
        place = _place(settings.sex_field, True, segments, types)
        add(place, _sex(place, refused, expected))
    for path, every, low, high in settings.numeric_ranges:
        place = _place(path, every, segments, types)
        add(place, _range(place, low, high))
    for pattern in settings.patterns:
        place = _place(pattern.path, pattern.every, segments, types)
        add(place, _pattern(place, pattern))
    return ValueChecks({sid: tuple(found) for sid, found in hooks.items()}, status)


def _sex(place: _Place, refused: frozenset[str], expected: str) -> ValueHook:
    def hook(fields: list[str], line: int, sequence: int, ctx: ValueContext) -> None:
        if place.occurrence not in (None, sequence):
            return
        for number, value in place.values(fields, ctx)[:1]:  # PID-8 does not repeat
            if value in refused:
                place.report(ctx, line, sequence, number, ctx.settings.tables,
                             ErrorCode.TABLE_VALUE_NOT_FOUND, expected=expected,
                             found=quote(value), found_safe="a code of another form")  # fmt: skip

    return hook


def _range(place: _Place, low: float, high: float) -> ValueHook:
    expected = f"a number from {low:g} to {high:g} (settings.numeric_ranges)"

    def hook(fields: list[str], line: int, sequence: int, ctx: ValueContext) -> None:
        if place.occurrence not in (None, sequence):
            return
        for number, value in place.values(fields, ctx):
            if len(value) > _NUMBER_LIMIT or (_nm is not None and _nm(value) is not None):
                safe = "a value that is not a number"
            elif low <= float(value) <= high:
                continue
            else:
                safe = "a number out of range"
            place.report(ctx, line, sequence, number, ctx.settings.out_of_range,
                         ErrorCode.DATA_TYPE_ERROR, expected=expected, found=quote(value),
                         found_safe=safe)  # fmt: skip

    return hook


def _pattern(place: _Place, check: PatternCheck) -> ValueHook:
    fullmatch = check.regex.fullmatch
    limit = check.max_length

    def hook(fields: list[str], line: int, sequence: int, ctx: ValueContext) -> None:
        if place.occurrence not in (None, sequence):
            return
        for number, value in place.values(fields, ctx):
            if len(value) > limit:  # SZ-4: never handed to the regex
                found = safe = f"a value of {len(value)} characters"
            elif fullmatch(value) is None:
                found, safe = quote(value), "a value of another form"
            else:
                continue
            place.report(ctx, line, sequence, number, check.severity, ErrorCode.DATA_TYPE_ERROR,
                         expected=check.expected, found=found, found_safe=safe)  # fmt: skip

    return hook


def _status_form(code: str, prefix: str) -> str:
    """``"prefixed"`` for ``NSTSnn``, ``"bare"`` for ``nn``, ``""`` for any other code. The
    number itself is the table's business (HL70445 lists 01-08)."""
    if code.startswith(prefix):
        digits, form = code[len(prefix) :], "prefixed"
    else:
        digits, form = code, "bare"
    if len(digits) != 2 or not (digits.isascii() and digits.isdigit()):
        return ""
    return form


def _identity_reliability(place: _Place, settings: Settings) -> ValueHook:
    """PID-32: NHS number trace statuses found by value, never by position (ITK); at most
    ``max_status_codes`` of them; bare ``nn`` only when ``accept_bare_status``. A PID without
    one is remembered for :func:`finish_value_checks` (the legacy field comes later)."""
    prefix = settings.nhs_status_prefix
    most = settings.max_status_codes
    bare_ok = settings.accept_bare_status
    required = settings.require_status is not None
    bare = (
        f"an NHS number trace status written {prefix}nn (bare codes are not accepted: "
        "settings.identity_reliability.accept_bare_status)"
    )
    too_many = f"at most {most} NHS number trace status ({prefix}nn) in the field"

    def hook(fields: list[str], line: int, sequence: int, ctx: ValueContext) -> None:
        found = 0
        for number, value in place.values(fields, ctx):
            form = _status_form(value, prefix)
            if not form:
                continue
            if form == "bare" and not bare_ok:
                place.report(ctx, line, sequence, number, ctx.settings.tables,
                             ErrorCode.TABLE_VALUE_NOT_FOUND, expected=bare, found=quote(value),
                             found_safe="a trace status without its prefix")  # fmt: skip
                continue
            found += 1
            if found == most + 1:
                place.report(ctx, line, sequence, number, ctx.settings.too_many_status_codes,
                             ErrorCode.DATA_TYPE_ERROR, expected=too_many,
                             found="another one")  # fmt: skip
        if not found and required:
            ctx.without_status.append((line, sequence))

    return hook


def _legacy_status(place: _Place, prefix: str) -> ValueHook:
    """The legacy carrier (ZU1-27, bare codes by its table): whether it holds a status."""

    def hook(fields: list[str], line: int, sequence: int, ctx: ValueContext) -> None:
        if place.occurrence not in (None, sequence):
            return
        if any(_status_form(value, prefix) for _n, value in place.values(fields, ctx)):
            ctx.legacy_status = True

    return hook


def finish_value_checks(checks: ValueChecks, ctx: ValueContext) -> None:
    """``require_status``: a PID without a trace status passes when the legacy field has one."""
    if not ctx.without_status or ctx.legacy_status:
        return
    settings = ctx.settings
    place = checks.status
    prefix = settings.nhs_status_prefix
    expected = (
        f"an NHS number trace status ({prefix}01-{prefix}08"
        f"{' or 01-08' if settings.accept_bare_status else ''})"
    )
    for line, sequence in ctx.without_status:
        place.report(ctx, line, sequence, None, settings.require_status,
                     ErrorCode.REQUIRED_FIELD_MISSING, found="none",
                     expected=expected)  # fmt: skip
