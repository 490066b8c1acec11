"""Consistent pseudonymisation of HL7 v2 messages so that Trusts and vendors can share samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from eprlink.careflow.fields import (
    CATALOGUE,
    CONTROL_ID_FIELDS,
    IDENTIFIER_RULE,
    STAFF_NAME_FIELDS,
    DatePosition,
    Kind,
    Rule,
)
from eprlink.careflow.pseudonyms import Pseudonyms
from eprlink.careflow.rewrite import Rewriter, authority, nhs_digits
from eprlink.hl7 import Message, Segment

if TYPE_CHECKING:
    from eprlink.profiles import Profile

__all__ = ["DEFAULT_DATE_SHIFT_DAYS_RANGE", "AnonymiseCounts", "Anonymiser"]

DEFAULT_DATE_SHIFT_DAYS_RANGE = (-365, -30)
"""Every patient's dates move back by 30 to 365 days; never forward, so no date of birth moves
into the future, and never by less than a month, so the true dates are not a guess away."""

_DATE_TYPES = frozenset({"TS", "DT", "DTM"})


@dataclass(frozen=True, slots=True)
class AnonymiseCounts:
    """How many elements were replaced, by kind: counts only, never values, so it can be logged.

    ``unshifted_dates`` counts values in date fields that are not dates and were therefore left
    as sent (check those by hand); ``nhs_collisions`` counts different NHS numbers that were given
    the same test number, which the 999 range's size makes likely in samples of many patients;
    ``dated_control_ids`` counts kept control ids (MSH-10) that contain the message's real date,
    from which the date shift, and so the real date of birth, could be worked out.
    """

    messages: int = 0
    nhs_numbers: int = 0
    identifiers: int = 0
    names: int = 0
    addresses: int = 0
    phones: int = 0
    emails: int = 0
    texts: int = 0
    dates: int = 0
    unshifted_dates: int = 0
    nhs_collisions: int = 0
    dated_control_ids: int = 0

    def __add__(self, other: AnonymiseCounts) -> AnonymiseCounts:
        return AnonymiseCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _profile_rules(profile: Profile) -> dict[tuple[str, int], Rule]:
    """Rules for the date and identifier fields a profile knows of.

    Every TS/DT/DTM field (or composite with date components) and every CX field. The catalogue
    already names the common fields; the profile adds the rest, including local Z segments a
    Trust layer defines.
    """
    rules: dict[tuple[str, int], Rule] = {}
    for segment_id, segment in profile.segments.items():
        for definition in segment.fields:
            datatype = definition.datatype.upper()
            if datatype == "CX":
                rules[(segment_id, definition.position)] = IDENTIFIER_RULE
                continue
            if datatype in _DATE_TYPES:
                positions: tuple[DatePosition, ...] = (DatePosition(1),)
            elif datatype == "DR":
                positions = (DatePosition(1), DatePosition(2))
            else:
                composite = profile.datatypes.get(datatype)
                if composite is None:
                    continue
                positions = tuple(
                    DatePosition(
                        c.position, (1, 2) if c.datatype.upper() == "DR" else (1,), report=False
                    )
                    for c in composite.components
                    if c.datatype.upper() in _DATE_TYPES | {"DR"}
                )
            if positions:
                rules[(segment_id, definition.position)] = Rule(Kind.DATE, dates=positions)
    return rules


def _fields_of(segment: Segment) -> tuple[list[str], int]:
    """The raw fields and what to add to a list index to get the field number.

    ``parts[0]`` is the segment id; in MSH the separator itself is field 1, so ``parts[1]`` is
    MSH-2 and the offset is 1, while elsewhere ``parts[n]`` is field n.
    """
    parts = segment.to_er7().split(segment.delimiters.field)
    return parts, (1 if segment.is_header else 0)


class Anonymiser:
    """Replaces identifying content of messages with consistent synthetic values.

    Identity values are mapped by keyed HMAC-SHA256 of the normalised original, so the same NHS
    number, hospital number, name or address becomes the same synthetic value in every message
    and every run with the same key, and a different one under another key. Each patient's
    dates move by one number of days derived from the key and the patient's identity (the NHS
    number when there is one). Absent elements and the explicit null ``""`` are kept exactly;
    codes, delimiters, segment order and everything not identifying are kept byte for byte.

    The key is never stored: only a working key derived from it is kept, and it never appears in
    ``repr`` or in errors.
    """

    __slots__ = ("_nhs_seen", "_pseudonyms", "_remap", "_rules", "_totals")

    def __init__(
        self,
        key: bytes | str,
        *,
        date_shift_days_range: tuple[int, int] = DEFAULT_DATE_SHIFT_DAYS_RANGE,
        profile: Profile | None = None,
        remap_control_ids: bool = False,
        staff_names: bool = False,
    ) -> None:
        low, high = date_shift_days_range
        if not low <= high <= 0:
            raise ValueError(
                "date_shift_days_range must be (low, high) with low <= high <= 0: dates only "
                "move back, so that no date of birth can move into the future"
            )
        self._pseudonyms = Pseudonyms(key, shift_range=(low, high))
        rules: dict[tuple[str, int], Rule] = {}
        if profile is not None:
            rules.update(_profile_rules(profile))
        rules.update(CATALOGUE)
        if staff_names:
            rules.update({place: Rule(Kind.STAFF) for place in STAFF_NAME_FIELDS})
        self._remap = remap_control_ids
        if remap_control_ids:
            rules.update({place: Rule(Kind.ID) for place in CONTROL_ID_FIELDS})
        self._rules: Mapping[tuple[str, int], Rule] = rules
        self._totals = AnonymiseCounts()
        self._nhs_seen: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<Anonymiser (key hidden) {len(self._rules)} field rules>"

    @property
    def counts(self) -> AnonymiseCounts:
        """Totals over every message this anonymiser has rewritten."""
        return self._totals

    def anonymise(self, message: Message) -> Message:
        """A new message with identifying content replaced; ``message`` itself is not changed."""
        out = message.copy()
        segments = out.segments()
        rewriter = Rewriter(self._pseudonyms, out.delimiters, out.charset)
        shifts = self._shifts(segments)
        pending: list[tuple[Segment, dict[int, str]]] = []
        for segment, shift in zip(segments, shifts, strict=True):
            rewriter.shift = shift
            pending.append((segment, self._covered(segment, rewriter)))
        for segment, changes in pending:
            self._uncovered(segment, rewriter, changes)
            for number, raw in changes.items():
                segment.set_raw(number, raw)
        if not self._remap and _dated_control_id(message):
            rewriter.tally["dated_control_ids"] += 1
        self._record(rewriter)
        return out

    # -- per-patient date shift ----------------------------------------------------------------
    def _shifts(self, segments: list[Segment]) -> list[int]:
        """The day shift for each segment: that of the PID it follows (or of the first PID)."""
        shifts: list[int | None] = []
        current: int | None = None
        for segment in segments:
            if segment.id == "PID":
                current = self._pseudonyms.day_shift(_identity(segment))
            shifts.append(current)
        first = next((s for s in shifts if s is not None), None)
        if first is None:
            first = self._pseudonyms.day_shift("")  # no patient: one shift for the whole key
        return [first if s is None else s for s in shifts]

    # -- fields --------------------------------------------------------------------------------
    def _covered(self, segment: Segment, rewriter: Rewriter) -> dict[int, str]:
        """New raw text of the fields the rules describe, by field number, where it changed."""
        parts, offset = _fields_of(segment)
        sid = parts[0]
        changes: dict[int, str] = {}
        for index in range(2 if segment.is_header else 1, len(parts)):
            number = index + offset
            rule = self._rules.get((sid, number))
            if rule is None or not parts[index]:
                continue
            sex = value_type = ""
            if rule.sex_field is not None and rule.sex_field - offset < len(parts):
                sex = parts[rule.sex_field - offset]
            if rule.kind is Kind.OBSERVATION and 2 - offset < len(parts):
                value_type = parts[2 - offset]
            new = rewriter.field(parts[index], rule, sex=sex, value_type=value_type)
            if new != parts[index]:
                changes[number] = new
        return changes

    def _uncovered(self, segment: Segment, rewriter: Rewriter, changes: dict[int, str]) -> None:
        """Fields no rule describes: NHS-labelled identifiers and known identifiers only."""
        if segment.is_header:
            return
        parts, offset = _fields_of(segment)
        sid = parts[0]
        for index in range(1, len(parts)):
            number = index + offset
            if (sid, number) in self._rules or (sid, number) in CONTROL_ID_FIELDS:
                continue
            new = rewriter.sweep(parts[index], dates=sid.startswith("Z"))
            if new != parts[index]:
                changes[number] = new

    def _record(self, rewriter: Rewriter) -> None:
        collisions = 0
        for digits, pseudonym in rewriter.nhs_seen.items():
            mark = self._pseudonyms.number("collision", digits)
            if self._nhs_seen.setdefault(pseudonym, mark) != mark:
                collisions += 1
        tally = Counter(rewriter.tally)
        tally.update(messages=1, nhs_collisions=collisions)
        self._totals = self._totals + AnonymiseCounts(**tally)


def _dated_control_id(message: Message) -> bool:
    sent = message.raw("MSH-7.1") or ""
    control_id = message.raw("MSH-10") or ""
    return len(sent) >= 8 and sent[:8].isdigit() and sent[:8] in control_id


def _identity(pid: Segment) -> str:
    """Who a PID is about, for the date shift: the NHS number, else the first identifier.

    A patient sent once with and once without an NHS number gets two different shifts; HL7 UK
    feeds send the NHS number once it is traced, so this only affects early messages.
    """
    d = pid.delimiters
    fallback = ""
    for number in (3, 2, 4):
        raw = pid.raw(number) or ""
        for rep in raw.split(d.repetition):
            comps = rep.split(d.component)
            value = comps[0] if comps[0] != '""' else ""
            if not value:
                continue
            namespace = authority(comps, d)
            digits = nhs_digits(value)
            if namespace == "NHS" and digits is not None:
                return f"nhs:{digits}"
            fallback = fallback or f"id:{namespace}:{value.strip().upper()}"
    if fallback:
        return fallback
    name = pid.raw(5, 1, 1) or ""
    given = pid.raw(5, 1, 2) or ""
    born = pid.raw(7, 1, 1) or ""
    return f"name:{name.upper()}|{given.upper()}|{born}"
