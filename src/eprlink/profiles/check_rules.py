"""Profile rules (require, forbid, not_null, value_in, nhs_number, segment rules) and ``when``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters, Path, PathError, parse_path, unescape
from eprlink.profiles.check_primitives import NULL, quote
from eprlink.profiles.checks import Collector, Settings, national_number, nhs_number_problem
from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import Condition, Rule, RuleKind, SegmentDef

__all__ = ["CompiledRule", "Document", "compile_rules", "run_rules"]

_HEADERS = frozenset({"MSH", "BHS", "FHS"})
_DEFAULT_CODES = {
    RuleKind.REQUIRE: ErrorCode.REQUIRED_FIELD_MISSING,
    RuleKind.FORBID: ErrorCode.DATA_TYPE_ERROR,
    RuleKind.NOT_NULL: ErrorCode.REQUIRED_FIELD_MISSING,
    RuleKind.VALUE_IN: ErrorCode.TABLE_VALUE_NOT_FOUND,
    RuleKind.NHS_NUMBER: ErrorCode.DATA_TYPE_ERROR,
    RuleKind.SEGMENT_REQUIRED: ErrorCode.SEGMENT_SEQUENCE_ERROR,
    RuleKind.SEGMENT_FORBIDDEN: ErrorCode.SEGMENT_SEQUENCE_ERROR,
}
_SEGMENT_KINDS = frozenset({"segment_required", "segment_forbidden"})
_VALUE_KINDS = frozenset({"require", "forbid", "not_null"})


@dataclass(frozen=True, slots=True)
class _Target:
    path: Path
    every: bool  # no occurrence written: every occurrence of the segment


@dataclass(frozen=True, slots=True)
class _When:
    target: _Target
    values: frozenset[str]
    present: bool | None
    fold: bool = False  # compare casefolded (settings.matching.case_insensitive)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    target: _Target
    when: _When | None
    code: ErrorCode
    name: str
    expected: str
    same: bool = False  # the condition is read from the rule's own occurrence
    kind: str = ""  # rule.kind's value: plain strings compare faster than enum members
    values: frozenset[str] = frozenset()  # value_in's values, casefolded when ``fold``
    fold: bool = False  # compare casefolded (settings.matching.case_insensitive)


def _target(text: str, segment_only: bool | None, where: str) -> _Target:
    """A rule's path; ``segment_only`` None accepts a segment or an element (conditions)."""
    try:
        path = parse_path(text)
    except PathError:
        raise ProfileError(
            f"{where}: {text!r} is not a path such as PV1-45 or PID-3[1].4"
        ) from None
    if segment_only and path.field is not None:
        raise ProfileError(f"{where}: a segment rule names a segment id, not {text!r}")
    if segment_only is False and path.field is None:
        raise ProfileError(f"{where}: {text!r} names a segment; name a field such as PV1-45")
    return _Target(path, "[" not in text.strip()[3:4])


def _expected(rule: Rule, segment: SegmentDef | None) -> str:
    seg = rule.path.strip()[:3]
    label = f"{seg} ({segment.name})" if segment is not None and segment.name else seg
    kinds = {
        RuleKind.REQUIRE: "a value",
        RuleKind.FORBID: "nothing here",
        RuleKind.NOT_NULL: 'a value or nothing, not the explicit null ""',
        RuleKind.VALUE_IN: "one of "
        + ", ".join(rule.values[:12])
        + (" …" if len(rule.values) > 12 else ""),
        RuleKind.NHS_NUMBER: "a 10-digit NHS number with a valid modulus 11 check digit",
        RuleKind.SEGMENT_REQUIRED: f"segment {label}",
        RuleKind.SEGMENT_FORBIDDEN: f"no {label} segment",
    }
    text = kinds[rule.kind]
    note = rule.text.strip().rstrip(".") or (f"rule from {rule.source}" if rule.source else "")
    return f"{text} ({note})" if note else text


def folded(path: Path, caseless: Sequence[Path]) -> bool:
    """Whether the coded value at ``path`` (its first component when it names none) is
    compared case-insensitively under ``settings.matching.case_insensitive``."""
    component = path.component or 1
    return any(
        p.segment == path.segment
        and p.field == path.field
        and (p.component is None or p.component == component)
        for p in caseless
    )


def _fold(values: Sequence[str], fold: bool) -> frozenset[str]:
    return frozenset(v.casefold() for v in values) if fold else frozenset(values)


def compile_rules(
    rules: Sequence[Rule],
    segments: Mapping[str, SegmentDef],
    where: str,
    caseless: Sequence[Path] = (),
) -> tuple[CompiledRule, ...]:
    """Check every path once, when the validator is built: a broken rule is a profile error.
    Values at the ``caseless`` paths are compared case-insensitively."""
    compiled: list[CompiledRule] = []
    for number, rule in enumerate(rules):
        place = f"{where}[{number}] ({rule.kind.value} {rule.path})"
        target = _target(rule.path, rule.kind.value in _SEGMENT_KINDS, place)
        when = None
        if rule.when is not None:
            condition: Condition = rule.when
            spot = _target(condition.path, None, place + ".when")
            fold = spot.path.field is not None and folded(spot.path, caseless)
            when = _When(spot, _fold(condition.values, fold), condition.present, fold)
            if when.target.path.field is None and when.values:
                raise ProfileError(f"{place}.when: a segment has no value to compare")
        segment = segments.get(target.path.segment)
        field = segment.field(target.path.field) if segment and target.path.field else None
        same = (
            when is not None
            and when.target.every
            and target.every
            and when.target.path.segment == target.path.segment
        )
        fold = target.path.field is not None and folded(target.path, caseless)
        compiled.append(
            CompiledRule(
                rule,
                target,
                when,
                rule.code or _DEFAULT_CODES[rule.kind],
                field.name if field is not None else "",
                _expected(rule, segment),
                same,
                rule.kind.value,
                _fold(rule.values, fold),
                fold,
            )
        )
    return tuple(compiled)


class Document:
    """The message as split lines with an index of occurrences, for reading rule paths."""

    __slots__ = ("_found", "_split", "charset", "d", "lines")

    def __init__(self, lines: list[str], ids: list[str], d: Delimiters, charset: str) -> None:
        self.lines = lines
        self.d = d
        self.charset = charset
        self._split: dict[int, list[str]] = {}
        found: dict[str, list[int]] = {}
        for index, sid in enumerate(ids):
            places = found.get(sid)
            if places is None:
                found[sid] = [index]
            else:
                places.append(index)
        self._found = found

    def occurrences(self, segment: str) -> list[int]:
        """Line indexes of every ``segment``, in order."""
        return self._found.get(segment) or []

    def line_of(self, segment: str, occurrence: int) -> int | None:
        found = self.occurrences(segment)
        if occurrence < 0:
            occurrence += len(found) + 1
        return found[occurrence - 1] if 0 < occurrence <= len(found) else None

    def raw_field(self, line: int | None, path: Path) -> str:
        if line is None or path.field is None:
            return ""
        fields = self._split.get(line)
        if fields is None:
            fields = self._split[line] = self.lines[line].split(self.d.field)
        if path.segment in _HEADERS:
            if path.field == 1:
                return self.d.field
            index = path.field - 1
        else:
            index = path.field
        return fields[index] if index < len(fields) else ""

    def value(self, raw: str) -> str | None:
        """The three-state reading: ``None`` absent, ``""`` explicit null, else unescaped."""
        if not raw:
            return None
        if raw == NULL:
            return ""
        return unescape(raw, self.d, charset=self.charset) if self.d.escape in raw else raw

    def part(self, raw: str, path: Path, repetition: int | None, component: int | None) -> str:
        """The raw text of ``repetition`` / ``component`` / the path's subcomponent."""
        if repetition is None and component is None:
            return raw
        d = self.d
        reps = raw.split(d.repetition)
        index = (repetition or 1) - 1
        text = reps[index] if index < len(reps) else ""
        if component is None:
            return text
        comps = text.split(d.component)
        text = comps[component - 1] if component <= len(comps) else ""
        if path.subcomponent is not None and d.subcomponent is not None:
            subs = text.split(d.subcomponent)
            text = subs[path.subcomponent - 1] if path.subcomponent <= len(subs) else ""
        return text


def _holds(when: _When, doc: Document, line: int | None) -> bool:
    """Whether a condition holds; a segment path asks whether that segment is there."""
    path = when.target.path
    if path.field is None:
        return when.present is None or (line is not None) == when.present
    raw = doc.raw_field(line, path)
    whole = doc.value(doc.part(raw, path, path.repetition, path.component))
    if when.present is not None and (whole not in (None, "")) != when.present:
        return False
    if when.values:
        coded = doc.value(doc.part(raw, path, path.repetition or 1, path.component or 1))
        if coded is not None and when.fold:
            coded = coded.casefold()
        return coded in when.values
    return True


def run_rules(
    rules: Sequence[CompiledRule], doc: Document, settings: Settings, out: Collector
) -> None:
    """Apply rules. A path without a segment occurrence (``OBX-11``) applies to every occurrence
    of that segment, and a ``when`` on the same segment, also without an occurrence, is read from
    the same occurrence, so "OBX-6 is required when OBX-2 is NM" is checked OBX by OBX. With an
    occurrence (``OBX[1]-11``) only that one is meant, as in :mod:`eprlink.hl7` paths."""
    end = len(doc.lines)
    absent: list[tuple[int, int | None]] = [(1, None)]
    for rule in rules:
        target = rule.target
        path = target.path
        places: list[tuple[int, int | None]] | enumerate[int]
        if target.every:
            found = doc.occurrences(path.segment)
            places = enumerate(found, 1) if found else absent
        else:
            occurrence = path.segment_repetition
            places = [(occurrence, doc.line_of(path.segment, occurrence))]
        when = rule.when
        for sequence, line in places:
            if when is not None:
                if rule.same:
                    at = line
                else:
                    wpath = when.target.path
                    at = doc.line_of(wpath.segment, wpath.segment_repetition)
                if not _holds(when, doc, at):
                    continue
            _apply(rule, doc, line, sequence, end, settings, out)


def _emit(  # noqa: PLR0917 - ERR's location fields, in order
    out: Collector,
    rule: CompiledRule,
    sort: int,
    sequence: int,
    repetition: int | None = None,
    component: int | None = None,
    subcomponent: int | None = None,
    *,
    show: bool = True,
    found: str,
    found_safe: str | None = None,
) -> None:
    path = rule.target.path
    out.at(
        sort, rule.rule.severity, rule.code, path.segment, sequence, path.field, repetition,
        component, subcomponent, show_repetition=show, name=rule.name, expected=rule.expected,
        found=found, found_safe=found_safe,
    )  # fmt: skip


def _apply(  # noqa: PLR0917
    rule: CompiledRule,
    doc: Document,
    line: int | None,
    sequence: int,
    end: int,
    settings: Settings,
    out: Collector,
) -> None:
    kind = rule.kind
    path = rule.target.path
    sort = end if line is None else line
    if kind in _SEGMENT_KINDS:
        if (line is None) == (kind == "segment_required"):
            _emit(out, rule, sort, sequence, found="none" if line is None else "one")
        return
    raw = doc.raw_field(line, path)
    if kind in _VALUE_KINDS:
        value = doc.value(doc.part(raw, path, path.repetition, path.component))
        at = (path.repetition, path.component, path.subcomponent)
        if kind == "require" and (value is None or value == ""):
            found = "nothing" if value is None else 'the explicit null ""'
            _emit(out, rule, sort, sequence, *at, found=found)
        elif kind == "forbid" and value is not None:
            shown = quote(value) if value else 'the explicit null ""'
            _emit(out, rule, sort, sequence, *at, found=shown, found_safe="a value")
        elif kind == "not_null" and value == "":
            _emit(out, rule, sort, sequence, *at, found='the explicit null ""')
        return
    if not raw:
        return
    count = raw.count(doc.d.repetition) + 1
    show = path.repetition is not None or count > 1
    numbers = [path.repetition] if path.repetition is not None else range(1, count + 1)
    for number in numbers:
        if kind == "value_in":
            value = doc.value(doc.part(raw, path, number, path.component or 1))
            if value and (value.casefold() if rule.fold else value) not in rule.values:
                _emit(out, rule, sort, sequence, number, path.component, path.subcomponent,
                      show=show, found=quote(value), found_safe="another value")  # fmt: skip
            continue
        problem, ident = _nhs_problem(doc, doc.part(raw, path, number, None), settings)
        if problem is not None:
            # Always at PID-3[n], as the built-in identifier check reports it (one issue, not two).
            _emit(out, rule, sort, sequence, number, found=quote(ident), found_safe=problem)


def _nhs_problem(doc: Document, text: str, settings: Settings) -> tuple[str | None, str]:
    """For one CX repetition: why its NHS number is invalid, if it is the NHS-number one."""
    d = doc.d
    parts = text.split(d.component)
    authority = parts[3] if len(parts) > 3 else ""
    if d.subcomponent is not None:
        authority = authority.split(d.subcomponent, 1)[0]
    kind = parts[4] if len(parts) > 4 else ""
    if kind and d.subcomponent is not None:
        kind = kind.split(d.subcomponent, 1)[0]
    if national_number(authority, kind, settings) != "nhs":
        return None, ""
    ident = doc.value(parts[0]) or ""
    return (nhs_number_problem(ident) if ident else None), ident
