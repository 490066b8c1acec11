"""Field checks of one segment: usage, repetitions, the snapshot rule, datatypes, identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters
from eprlink.profiles.check_identifiers import check_identifiers
from eprlink.profiles.check_primitives import NULL, null_repetition
from eprlink.profiles.check_types import Fast, Finding, Site, SiteCompiler, fast_checker, walk
from eprlink.profiles.checks import Collector, Settings
from eprlink.profiles.model import SegmentDef, Severity, Usage

__all__ = ["FieldCheck", "SegmentCheck", "check_segment", "compile_segment"]

_HEADERS = frozenset({"MSH", "BHS", "FHS"})
_VARIES = {"OBX": (5, 2)}  # field whose datatype another field names (ST-9: OBX-5 by OBX-2)
_NOT_SUPPORTED = "no value (the field is not supported by this profile)"
_BACKWARD = "no value (the field is kept for backwards compatibility only)"
_RE_MISSING = "a value when one is available (usage RE: required if available)"
_SNAPSHOT = (
    'no empty or "" repetition (repeating fields are snapshots: delete them all with one '
    '"" repetition)'
)


@dataclass(frozen=True, slots=True)
class FieldCheck:
    position: int
    name: str
    required: bool
    not_supported: bool
    backward: bool  # usage B or W: kept for backwards compatibility, should not be sent
    max_repetitions: int | None
    site: Site
    value: Fast | None  # fast path for one repetition; None when nothing there can fail
    several: Fast  # fast path for a field holding the repetition separator
    special: bool  # not supported, backward, or typed by another field: looked at one by one
    varies_from: int | None = None  # the field naming this field's datatype (OBX-2)

    @property
    def repeating(self) -> bool:
        return self.max_repetitions != 1


@dataclass(frozen=True, slots=True)
class SegmentCheck:
    """A segment definition compiled for checking. ``by_index`` is indexed like the segment's
    text split on the field separator (MSH-1 has no index of its own)."""

    id: str
    name: str
    header: bool
    by_index: tuple[FieldCheck | None, ...]
    every: tuple[tuple[int, FieldCheck], ...]  # (index, check) of every defined field
    valued: tuple[tuple[int, FieldCheck], ...]  # those with something to check in a value
    required: tuple[FieldCheck, ...]
    wanted: tuple[FieldCheck, ...]  # usage RE: reported (re_missing) when absent
    identifiers: tuple[int, ...]
    varied: dict[tuple[int, str], FieldCheck] = field(default_factory=dict, compare=False)


def _several(site: Fast | None, limit: int | None, d: Delimiters) -> Fast:
    """The fast path for a field with repetitions: their count, the snapshot rule, each value."""
    separator = d.repetition

    def repeating(raw: str) -> bool:
        repetitions = raw.split(separator)
        if limit is not None and len(repetitions) > limit:
            return False
        for repetition in repetitions:
            if not repetition or '"' in repetition:
                return False
            if site is not None and not site(repetition):
                return False
        return True

    return repeating


def _refuse(raw: str) -> bool:
    """Repetitions in a field that does not repeat: always a closer look."""
    return False


def _field(  # noqa: PLR0917
    position: int,
    name: str,
    usage: Usage,
    repetitions: int | None,
    site: Site,
    d: Delimiters,
    varies_from: int | None = None,
) -> FieldCheck:
    value = fast_checker(site, 0, d)
    backward = usage in (Usage.BACKWARD, Usage.WITHDRAWN)
    return FieldCheck(
        position=position,
        name=name,
        required=usage is Usage.REQUIRED,
        not_supported=usage is Usage.NOT_SUPPORTED,
        backward=backward,
        max_repetitions=repetitions,
        site=site,
        value=value,
        several=_refuse if repetitions == 1 else _several(value, repetitions, d),
        special=usage is Usage.NOT_SUPPORTED or backward or varies_from is not None,
        varies_from=varies_from,
    )


def compile_segment(
    definition: SegmentDef, sites: SiteCompiler, settings: Settings, d: Delimiters
) -> SegmentCheck:
    header = definition.id in _HEADERS
    offset = 1 if header else 0
    size = max((f.position for f in definition.fields), default=0) + 1 - offset
    by_index: list[FieldCheck | None] = [None] * max(size, 1)
    required: list[FieldCheck] = []
    wanted: list[FieldCheck] = []
    varies = _VARIES.get(definition.id)
    folds = _folds(definition.id, settings)
    for spec in definition.fields:
        is_varies = spec.datatype.lower() == "varies"
        site = sites.site(
            spec.name,
            "ST" if is_varies else spec.datatype,
            table=spec.table,
            max_length=spec.max_length,
            fold=folds.get(spec.position, False),
        )
        typed_by = varies[1] if is_varies and varies and varies[0] == spec.position else None
        check = _field(
            spec.position, spec.name, spec.usage, spec.max_repetitions, site, d, typed_by
        )
        if check.required:
            required.append(check)
        elif spec.usage is Usage.REQUIRED_IF_KNOWN:
            wanted.append(check)
        index = spec.position - offset
        if index >= 1 and not (header and spec.position <= 2):
            by_index[index] = check
    identifiers = tuple(p.field for p in settings.fields if p.segment == definition.id and p.field)
    every = tuple((i, c) for i, c in enumerate(by_index) if c is not None)
    valued = tuple((i, c) for i, c in every if c.special or c.value is not None)
    return SegmentCheck(
        definition.id,
        definition.name,
        header,
        tuple(by_index),
        every,
        valued,
        tuple(required),
        tuple(wanted),
        identifiers,
    )


def _folds(sid: str, settings: Settings) -> dict[int, bool | frozenset[int]]:
    """``settings.matching.case_insensitive`` for one segment: field position -> ``True`` (every
    table in the field) or the components whose tables compare case-insensitively."""
    folds: dict[int, bool | frozenset[int]] = {}
    for path in settings.case_insensitive:
        if path.segment != sid or path.field is None:
            continue
        if path.component is None:
            folds[path.field] = True
        else:
            known = folds.get(path.field, frozenset())
            if known is not True:
                assert isinstance(known, frozenset)
                folds[path.field] = known | {path.component}
    return folds


def check_segment(  # noqa: PLR0917 - called once per segment from one place
    segment: SegmentCheck,
    text: str,
    line: int,
    sequence: int,
    d: Delimiters,
    charset: str,
    settings: Settings,
    sites: SiteCompiler,
    out: Collector,
) -> list[str]:
    """Check one segment's fields, and return them (split on the field separator) for the
    value checks. Only fields that are present are looked at, plus the required ones; each
    goes through its fast-path closure first, and only a field that fails it is walked again
    (:func:`~eprlink.profiles.check_types.walk`) to say what is wrong where."""
    fields = text.split(d.field)
    count = len(fields)
    offset = 1 if segment.header else 0
    sid = segment.id
    for needed in segment.required:
        index = needed.position - offset
        raw = fields[index] if index < count else ""
        if not raw or raw == NULL:
            out.at(
                line, Severity.ERROR, ErrorCode.REQUIRED_FIELD_MISSING, sid, sequence,
                needed.position, name=needed.name, expected="a value (required field)",
                found="nothing" if not raw else 'the explicit null ""',
            )  # fmt: skip
    for wanted in segment.wanted:
        index = wanted.position - offset
        if index >= count or not fields[index]:
            out.at(
                line, settings.re_missing, ErrorCode.REQUIRED_FIELD_MISSING, sid, sequence,
                wanted.position, name=wanted.name, expected=_RE_MISSING, found="nothing",
            )  # fmt: skip
    separator = d.repetition
    # Without a repetition separator anywhere in the segment, a field whose value has nothing
    # to check cannot fail: only the others are visited.
    for index, check in segment.every if separator in text else segment.valued:
        if index >= count:
            break
        raw = fields[index]
        if not raw or raw == NULL:
            continue
        if check.special:
            if check.not_supported:
                out.at(
                    line, settings.not_supported, ErrorCode.DATA_TYPE_ERROR, sid, sequence,
                    check.position, name=check.name, expected=_NOT_SUPPORTED, found="a value",
                )  # fmt: skip
                continue
            if check.backward:
                out.at(
                    line, settings.backward_present, ErrorCode.DATA_TYPE_ERROR, sid, sequence,
                    check.position, name=check.name, expected=_BACKWARD, found="a value",
                )  # fmt: skip
            if check.varies_from is not None:
                check = _varied(segment, check, fields, check.varies_from - offset, d, sites)
        if separator in raw:
            passed = check.several(raw)
        else:
            value = check.value
            passed = value is None or value(raw)
        if not passed:
            _detail(check, raw, line, sid, sequence, d, charset, settings, segment, out)
    for position in segment.identifiers:
        index = position - offset
        if index < count and fields[index] and fields[index] != NULL:
            known = segment.by_index[index] if index < len(segment.by_index) else None
            name, required = (known.name, known.required) if known else ("", False)
            where = (line, sid, sequence, position, name, required)
            check_identifiers(fields[index], where, d, charset, settings, out)
    return fields


def _varied(  # noqa: PLR0917
    segment: SegmentCheck,
    check: FieldCheck,
    fields: list[str],
    index: int,
    d: Delimiters,
    sites: SiteCompiler,
) -> FieldCheck:
    """OBX-5 checked as the type OBX-2 names (ST-9); an unknown type is left unchecked."""
    raw = fields[index] if index < len(fields) else ""
    varied = segment.varied.get((check.position, raw))  # the usual case: OBX-2 is just "NM"
    if varied is not None:
        return varied
    named = raw.split(d.component, 1)[0]
    if not sites.known(named):  # OBX-2 is message content: only profile types are memoised
        named = "ST"
    key = (check.position, named)
    varied = segment.varied.get(key)
    if varied is None:
        site = sites.site(check.name, named, max_length=check.site.max_length)
        usage = Usage.REQUIRED if check.required else Usage.OPTIONAL
        varied = _field(check.position, check.name, usage, check.max_repetitions, site, d)
        segment.varied[key] = varied
    return varied


def _detail(  # noqa: PLR0917
    check: FieldCheck,
    raw: str,
    line: int,
    sid: str,
    sequence: int,
    d: Delimiters,
    charset: str,
    settings: Settings,
    segment: SegmentCheck,
    out: Collector,
) -> None:
    repetitions = raw.split(d.repetition)
    limit = check.max_repetitions
    position = check.position
    name = check.name
    if limit is not None and len(repetitions) > limit:
        out.at(
            line, settings.repetitions, out.long_code, sid, sequence, position, name=name,
            expected=f"at most {limit} repetition{'s' if limit > 1 else ''}",
            found=f"{len(repetitions)} repetitions",
        )  # fmt: skip
    snapshot = len(repetitions) > 1 and limit != 1
    # A "" repetition of a required identifier field is reported by the identifier check.
    owned = position in segment.identifiers and check.required
    findings: list[Finding] = []
    for number, repetition in enumerate(repetitions, 1):
        if snapshot and (not repetition or null_repetition(repetition, d)):
            if repetition and owned:
                continue
            found = "an empty repetition" if not repetition else 'a "" repetition'
            out.at(
                line, settings.snapshot_rule, ErrorCode.DATA_TYPE_ERROR, sid, sequence,
                position, number, name=name, expected=_SNAPSHOT, found=found,
            )  # fmt: skip
            continue
        if not repetition or repetition == NULL:
            continue
        findings.clear()
        walk(check.site, repetition, 0, d, charset, findings)
        for finding in findings:
            _report(finding, check, number, line, sid, sequence, settings, out)


def _report(  # noqa: PLR0917
    finding: Finding,
    check: FieldCheck,
    repetition: int,
    line: int,
    sid: str,
    sequence: int,
    settings: Settings,
    out: Collector,
) -> None:
    kind, site, component, subcomponent, found, detail = finding
    name = check.name if component is None else f"{check.name} / {site.name}"
    where = (sid, sequence, check.position, repetition, component, subcomponent)
    show = check.repeating
    if kind == "length":
        out.at(
            line, settings.lengths, out.long_code, *where, show_repetition=show, name=name,
            expected=f"at most {site.max_length} characters", found=found,
        )  # fmt: skip
    elif kind == "format":
        out.at(
            line, settings.datatypes, ErrorCode.DATA_TYPE_ERROR, *where, show_repetition=show,
            name=name, expected=site.expected, found=found,
            found_safe=f"a value that is not valid ({detail})",
        )  # fmt: skip
    elif kind == "table":
        table = site.table
        severity = settings.extensible_tables if table and table.extensible else settings.tables
        out.at(
            line, severity, ErrorCode.TABLE_VALUE_NOT_FOUND, *where, show_repetition=show,
            name=name, expected=f"a code from table {site.table_label}", found=found,
            found_safe="a code not in the table",
        )  # fmt: skip
    else:
        out.at(
            line, Severity.ERROR, ErrorCode.REQUIRED_FIELD_MISSING, *where, show_repetition=show,
            name=name, expected="a value (required component)", found=found,
        )  # fmt: skip
