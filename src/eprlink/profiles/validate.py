"""Validating a message against a profile: event, structure, fields, identifiers, rules, and
the checks on values at settings paths (trace status, sex, ranges, patterns)."""

from __future__ import annotations

import re

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters, Message, unescape
from eprlink.profiles.check_fields import SegmentCheck, check_segment, compile_segment
from eprlink.profiles.check_primitives import NULL, quote
from eprlink.profiles.check_rules import CompiledRule, Document, compile_rules, run_rules
from eprlink.profiles.check_structure import StructureFinding, StructureMatcher
from eprlink.profiles.check_types import SiteCompiler
from eprlink.profiles.check_values import (
    ValueContext,
    compile_value_checks,
    finish_value_checks,
)
from eprlink.profiles.checks import Collector, Settings
from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import Profile, Severity, Usage
from eprlink.profiles.report import Issue, Report

__all__ = ["Validator", "validate", "validator_for"]

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_CACHE_SIZE = 8
_LONG_CODES: dict[str, ErrorCode] = {}


def _component(raw: str, d: Delimiters, position: int) -> str | None:
    """A component of a header field's first repetition, read in three states."""
    parts = raw.split(d.repetition, 1)[0].split(d.component)
    text = parts[position - 1] if position <= len(parts) else ""
    if not text or text == NULL:
        return None if not text else ""
    return unescape(text, d) if d.escape in text else text


def _msh9(
    out: Collector,
    severity: Severity | None,
    code: ErrorCode,
    component: int,
    *,
    expected: str,
    found: str,
    found_safe: str | None = None,
) -> None:
    """An issue about the message type (MSH-9), located at its component."""
    out.at(
        0, severity, code, "MSH", 1, 9, 1, component, show_repetition=False,
        name="Message Type", expected=expected, found=found, found_safe=found_safe,
    )  # fmt: skip


def _long_code(version: str) -> ErrorCode:
    """Over-length values are 104 from v2.7 on; the code does not exist before (policy 2.2)."""
    numbers: list[int] = []
    for part in version.split(".")[:2]:
        if not (part.isascii() and part.isdigit()):
            break
        numbers.append(int(part))
    if len(numbers) == 2 and tuple(numbers) >= (2, 7):
        return ErrorCode.VALUE_TOO_LONG
    return ErrorCode.DATA_TYPE_ERROR


class Validator:
    """A profile compiled for validation. Build it once and call :meth:`validate` per message;
    compiled parts are made on first use and kept. Profile mistakes that only show when the
    profile is used (a rule path that does not parse, a bad setting) raise
    :class:`~eprlink.profiles.errors.ProfileError` here, not during validation."""

    def __init__(self, profile: Profile) -> None:
        if not isinstance(profile, Profile):
            raise TypeError(f"expected a Profile, got {type(profile).__name__}")
        self.profile = profile
        self.settings = Settings.from_profile(profile.settings)
        self._sites = SiteCompiler(profile.datatypes, profile.tables)
        self._segments: dict[Delimiters, dict[str, SegmentCheck]] = {}
        self._matchers: dict[str, StructureMatcher] = {}
        self._usage_cache: dict[str, tuple[tuple[str, Usage, str], ...]] = {}
        caseless = self.settings.case_insensitive
        self._rules = compile_rules(profile.rules, profile.segments, "rules", caseless)
        self._event_rules: dict[tuple[str, str], tuple[CompiledRule, ...]] = {
            key: compile_rules(
                event.rules, profile.segments, f"events {key[0]}^{key[1]} rules", caseless
            )
            for key, event in profile.events.items()
        }
        unsupported = self.settings.unsupported_events
        # Message types with at least one supported event: others are answered 200, not 201.
        self._types = frozenset(key[0] for key in profile.events if key not in unsupported)
        self._values = compile_value_checks(self.settings, profile.segments, profile.datatypes)
        self._check_paths(profile)

    def _check_paths(self, profile: Profile) -> None:
        """A setting that names a segment the profile does not define would never apply."""
        settings = self.settings
        named = [
            *((f"settings.segment_usage.{sid}", sid) for sid, _usage in settings.segment_usage),
            *((f"settings.numeric_ranges {p}", p.segment) for p, *_ in settings.numeric_ranges),
            *((f"settings.patterns {p.path}", p.path.segment) for p in settings.patterns),
            *((f"settings.matching.case_insensitive {p}", p.segment)
              for p in settings.case_insensitive),
        ]  # fmt: skip
        for where, sid in named:
            if sid not in profile.segments:
                raise ProfileError(f"{where}: the profile defines no segment {sid}")

    def _compiled(self, d: Delimiters) -> dict[str, SegmentCheck]:
        """Segment checks for one set of delimiters (feeds use one set, nearly always)."""
        compiled = self._segments.get(d)
        if compiled is None:
            if len(self._segments) >= _CACHE_SIZE:
                self._segments.clear()
            compiled = self._segments[d] = {}
        return compiled

    def _segment(self, sid: str, compiled: dict[str, SegmentCheck], d: Delimiters) -> SegmentCheck:
        check = compiled.get(sid)
        if check is None:
            definition = self.profile.segments[sid]
            check = compiled[sid] = compile_segment(definition, self._sites, self.settings, d)
        return check

    def _matcher(self, structure: str) -> StructureMatcher:
        matcher = self._matchers.get(structure)
        if matcher is None:
            matcher = self._matchers[structure] = StructureMatcher(
                self.profile.structures[structure]
            )
        return matcher

    def validate(self, message: Message, *, event: tuple[str, str] | None = None) -> Report:
        """Check ``message``; ``event`` overrides MSH-9.1/MSH-9.2 as (type, trigger)."""
        if not isinstance(message, Message):
            raise TypeError(f"expected a Message, got {type(message).__name__}")
        if event is not None and not (
            isinstance(event, tuple) and len(event) == 2 and all(isinstance(x, str) for x in event)
        ):
            raise TypeError("event must be a (message type, trigger event) pair of strings")
        profile = self.profile
        settings = self.settings
        d = message.delimiters
        text = message.to_er7()
        lines = text.split("\r")
        if lines and not lines[-1]:
            lines.pop()
        if "" in lines:
            lines = [line for line in lines if line]
        fs = d.field
        header = lines[0].split(fs) if lines else []
        msh9 = header[8] if len(header) > 8 else ""
        version = header[11].split(d.component, 1)[0] if len(header) > 11 else ""
        long_code = _LONG_CODES.get(version)
        if long_code is None:
            long_code = _long_code(version)
            if len(_LONG_CODES) < _CACHE_SIZE * 8:  # MSH-12 is content: keep the memo small
                _LONG_CODES[version] = long_code
        out = Collector(long_code)
        key, structure = self._event(msh9, d, event, out)
        # One pass: segment ids, their occurrence numbers and the field checks.
        # The charset only matters for \X..\ escapes; working it out costs a segment object.
        charset = message.charset if d.escape + "X" in text else "utf-8"
        known = self._compiled(d)
        definitions = profile.segments
        sites = self._sites
        values = self._values
        hooks = values.hooks
        context = ValueContext(d, charset, settings, out)
        ids: list[str] = []
        sequences: list[int] = []
        seen: dict[str, int] = {}
        for index, line in enumerate(lines):
            sid = line[:3] if len(line) == 3 or line[3:4] == fs else line.split(fs, 1)[0]
            ids.append(sid)
            sequence = seen[sid] = seen.get(sid, 0) + 1
            sequences.append(sequence)
            check = known.get(sid)
            if check is None:
                if sid not in definitions:
                    continue
                check = self._segment(sid, known, d)
            fields = check_segment(check, line, index, sequence, d, charset, settings, sites, out)
            found = hooks.get(sid)
            if found is not None:
                for hook in found:
                    hook(fields, index, sequence, context)
        finish_value_checks(values, context)
        if structure is not None and settings.structure is not None:
            findings = self._matcher(structure).match(ids)
            self._structure_issues(findings, ids, sequences, structure, out)
        else:
            for index, sid in enumerate(ids):
                if sid not in definitions:
                    self._outside(index, sid, sequences[index], None, out)
        if structure is not None and settings.segment_usage:
            self._segment_usage(structure, ids, seen, out)
        rules = self._rules + (self._event_rules.get(key, ()) if key is not None else ())
        if rules:
            run_rules(rules, Document(lines, ids, d, charset), settings, out)
        return Report(out.issues(), key, structure, profile.name)

    def _event(
        self, msh9: str, d: Delimiters, event: tuple[str, str] | None, out: Collector
    ) -> tuple[tuple[str, str] | None, str | None]:
        """The event definition's key and the structure to check (200/201 when unsupported)."""
        profile = self.profile
        kind, trigger = (
            event if event is not None else (_component(msh9, d, 1), _component(msh9, d, 2))
        )
        declared = _component(msh9, d, 3)
        if not kind or not trigger:
            if event is None and msh9:
                _msh9(out, Severity.ERROR, ErrorCode.REQUIRED_FIELD_MISSING, 1 if not kind else 2,
                      expected="a message type and a trigger event", found="nothing")  # fmt: skip
            return None, declared if declared in profile.structures else None
        definition = profile.event(kind, trigger)
        if definition is None:
            if kind not in self._types:
                _msh9(out, Severity.ERROR, ErrorCode.UNSUPPORTED_MESSAGE_TYPE, 1,
                      expected="a message type this profile supports", found=quote(kind),
                      found_safe="an unsupported message type")  # fmt: skip
            else:
                _msh9(out, Severity.ERROR, ErrorCode.UNSUPPORTED_EVENT_CODE, 2,
                      expected=f"a trigger event this profile supports for {kind}",
                      found=quote(trigger), found_safe="an unsupported trigger event")  # fmt: skip
            return None, declared if declared in profile.structures else None
        key = (kind, trigger)
        settings = self.settings
        if key in settings.unsupported_events:
            # settings.events.not_supported (ref §7.2, §8.1): defined by the base standard,
            # refused here. 200 when no event of the type is supported, else 201.
            if kind not in self._types:
                _msh9(out, Severity.ERROR, ErrorCode.UNSUPPORTED_MESSAGE_TYPE, 1,
                      expected="a message type this profile supports", found=quote(kind),
                      found_safe="an unsupported message type")  # fmt: skip
            else:
                _msh9(out, Severity.ERROR, ErrorCode.UNSUPPORTED_EVENT_CODE, 2,
                      expected=f"a trigger event this profile supports for {kind}",
                      found=quote(trigger), found_safe="an unsupported trigger event")  # fmt: skip
            return None, declared if declared in profile.structures else None
        if key in settings.backwards_compatibility:
            _msh9(out, settings.backward_present, ErrorCode.UNSUPPORTED_EVENT_CODE, 2,
                  expected=f"an event in current use ({kind}^{trigger} is kept for backwards "
                  "compatibility only)", found=quote(trigger),
                  found_safe="an event kept for backwards compatibility")  # fmt: skip
        structure = definition.structure
        if structure not in profile.structures:
            _msh9(out, Severity.ERROR, ErrorCode.UNSUPPORTED_MESSAGE_TYPE, 3, found="none",
                  expected=f"a structure the profile defines for {kind}^{trigger}")  # fmt: skip
            return key, None
        if declared and declared != structure:
            _msh9(out, settings.structure_mismatch, ErrorCode.DATA_TYPE_ERROR, 3,
                  expected=f"{structure} for {kind}^{trigger}", found=quote(declared),
                  found_safe="another structure")  # fmt: skip
        return key, structure

    def _structure_issues(
        self,
        findings: list[StructureFinding],
        ids: list[str],
        sequences: list[int],
        structure: str,
        out: Collector,
    ) -> None:
        severity = self.settings.structure
        names = self.profile.segments
        # Occurrences before each finding's index (findings come in message order).
        counted: dict[str, int] = {}
        position = 0
        for finding in findings:
            index, sid, node = finding.index, finding.segment, finding.node
            if finding.kind == "outside":
                self._outside(index, sid, sequences[index], structure, out)
                continue
            while position < index:
                counted[ids[position]] = counted.get(ids[position], 0) + 1
                position += 1
            sequence = counted.get(sid, 0) + 1
            if finding.kind == "missing":
                assert node is not None
                label = names[sid].name if sid in names else ""
                expected = (
                    f"group {node.name} (starting with {sid}) in {structure}"
                    if node.is_group
                    else f"segment {sid}{f' ({label})' if label else ''} in {structure}"
                )
                found = "none"
            elif finding.kind == "order":
                before = ids[index - 1] if index > 0 else "the start"
                if index > 0 and not _SEGMENT_ID.fullmatch(before):
                    before = "an invalid segment"  # it could be any text: never quote it
                expected = f"segments in the order {structure} defines"
                found = f"{sid} after {before}"
            elif finding.kind == "repeat":
                assert node is not None
                what = f"group {node.name}" if node.is_group else sid
                expected = f"at most {node.max} {what} here in {structure}"
                found = "another one"
            else:
                expected, found = "one MSH per message", "a second MSH"
            out.at(
                index, severity, ErrorCode.SEGMENT_SEQUENCE_ERROR, sid, sequence,
                expected=expected, found=found,
            )  # fmt: skip

    def _usages(self, structure: str) -> tuple[tuple[str, Usage, str], ...]:
        """``settings.segment_usage`` entries that say something about ``structure``: the
        segments it can hold whose usage is not O or C, with their labels."""
        found = self._usage_cache.get(structure)
        if found is None:
            inside = self._matcher(structure).root.every
            names = self.profile.segments
            found = tuple(
                (sid, usage, f"{sid} ({name})" if (name := names[sid].name) != sid else sid)
                for sid, usage in self.settings.segment_usage
                if sid in inside and usage not in (Usage.OPTIONAL, Usage.CONDITIONAL)
            )
            self._usage_cache[structure] = found
        return found

    def _segment_usage(
        self, structure: str, ids: list[str], seen: dict[str, int], out: Collector
    ) -> None:
        """``settings.segment_usage``: the usage of a segment where the structure allows it
        (the notation only says optional or required). R or RE absent, X or B/W present."""
        settings = self.settings
        for sid, usage, label in self._usages(structure):
            if usage in (Usage.REQUIRED, Usage.REQUIRED_IF_KNOWN):
                if sid in seen:
                    continue
                required = usage is Usage.REQUIRED
                out.at(
                    len(ids), Severity.ERROR if required else settings.re_missing,
                    ErrorCode.SEGMENT_SEQUENCE_ERROR, sid, 1, found="none",
                    expected=f"segment {label}, "
                    + ("required (settings.segment_usage)" if required
                       else "required if available (usage RE)"),
                )  # fmt: skip
                continue
            if sid not in seen:
                continue
            if usage is Usage.NOT_SUPPORTED:
                severity, why = settings.not_supported, "not supported by this profile"
            else:  # B or W
                severity, why = settings.backward_present, "kept for backwards compatibility only"
            sequence = 0
            for index, found in enumerate(ids):
                if found == sid:
                    sequence += 1
                    out.at(
                        index, severity, ErrorCode.SEGMENT_SEQUENCE_ERROR, sid, sequence,
                        expected=f"no {label} segment ({why})", found="one",
                    )  # fmt: skip

    def _outside(
        self, index: int, sid: str, sequence: int, structure: str | None, out: Collector
    ) -> None:
        """A segment that has no place in the structure (or no structure was chosen)."""
        settings = self.settings
        if not _SEGMENT_ID.fullmatch(sid):
            out.add(
                index,
                Issue(
                    Severity.ERROR,
                    ErrorCode.SEGMENT_SEQUENCE_ERROR,
                    f"segment {index + 1}",
                    expected="a segment id: an upper-case letter, then two upper-case letters "
                    "or digits",
                    found=quote(sid),
                    found_safe="an invalid segment id",
                ),
            )
            return
        if sid[0] == "Z":
            if sid not in self.profile.segments:
                out.at(
                    index, settings.unknown_z_segments, ErrorCode.SEGMENT_SEQUENCE_ERROR, sid,
                    sequence, found="an unknown Z segment",
                    expected="a segment the profile defines (unknown Z segments are kept)",
                )  # fmt: skip
            return
        if sid in self.profile.segments:
            if structure is not None:
                out.at(
                    index, settings.structure, ErrorCode.SEGMENT_SEQUENCE_ERROR, sid, sequence,
                    expected=f"only segments that {structure} contains", found=f"{sid}",
                )  # fmt: skip
            return
        out.at(
            index, settings.structure or Severity.ERROR, ErrorCode.SEGMENT_SEQUENCE_ERROR, sid,
            sequence, expected="a segment the profile defines", found=f"unknown segment {sid}",
        )  # fmt: skip


_VALIDATORS: dict[int, Validator] = {}


def validator_for(profile: Profile) -> Validator:
    """The cached :class:`Validator` of ``profile`` (a few profiles are kept, newest last)."""
    found = _VALIDATORS.get(id(profile))
    if found is not None and found.profile is profile:
        return found
    found = Validator(profile)
    if len(_VALIDATORS) >= _CACHE_SIZE:
        del _VALIDATORS[next(iter(_VALIDATORS))]
    _VALIDATORS[id(profile)] = found
    return found


def validate(message: Message, profile: Profile, *, event: tuple[str, str] | None = None) -> Report:
    """Validate ``message`` against ``profile``; see :class:`Validator`. Never raises for bad
    content, only for arguments of the wrong type (and profile mistakes, on first use)."""
    return validator_for(profile).validate(message, event=event)
