"""Rewriting one message's elements in place of their originals, leaf by leaf, nulls untouched."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from eprlink.careflow.dates import shift_date_text
from eprlink.careflow.fields import VALUE_KINDS, Kind, Rule
from eprlink.careflow.pseudonyms import Gender, Pseudonyms, placeholder_text
from eprlink.hl7 import NULL, Delimiters, escape, unescape

__all__ = ["Rewriter", "authority", "nhs_digits"]

_REDACTED_DOCUMENT = b"[redacted document]"
_MALE_TITLES = frozenset({"MR", "MASTER"})
_FEMALE_TITLES = frozenset({"MRS", "MS", "MISS"})
_SWEEP_MIN_LENGTH = 6
_TIMESTAMP = re.compile(r"(\d{8})(\d{2,6}(?:\.\d{1,6})?)?(?:[+-]\d{4})?", re.ASCII)
_PLAUSIBLE_YEARS = range(1900, 2101)


def nhs_digits(value: str) -> str | None:
    """The ten digits of an NHS number written with or without spaces and hyphens."""
    digits = value.replace(" ", "").replace("-", "")
    return digits if len(digits) == 10 and digits.isascii() and digits.isdigit() else None


def authority(comps: list[str], delimiters: Delimiters) -> str:
    """CX-4's namespace id, upper-cased: ``NHS`` marks an NHS number (HL7 UK and ITK alike)."""
    if len(comps) < 4:
        return ""
    return comps[3].split(delimiters.subcomponent or "\x00")[0].strip().upper()


def _present(raw: str) -> bool:
    return bool(raw) and raw != NULL


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _gender(title: str, sex: str) -> Gender:
    key = title.replace(".", "").strip().upper()
    if key in _MALE_TITLES:
        return Gender.MALE
    if key in _FEMALE_TITLES:
        return Gender.FEMALE
    sex_key = sex.strip().upper()
    if sex_key in ("M", "1"):
        return Gender.MALE
    if sex_key in ("F", "2"):
        return Gender.FEMALE
    return Gender.ANY


@dataclass(slots=True)
class Rewriter:
    """The state of one pass over one message: the patient's day shift and what was replaced.

    ``seen`` maps each identifier replaced so far to its pseudonym, so that the same value found
    later in a field the catalogue does not describe (a Z segment, an error text) is replaced
    the same way.
    """

    pseudonyms: Pseudonyms
    delimiters: Delimiters
    charset: str
    shift: int = 0
    tally: Counter[str] = field(default_factory=Counter)
    seen: dict[str, str] = field(default_factory=dict)
    nhs_seen: dict[str, str] = field(default_factory=dict)
    _pattern: tuple[int, re.Pattern[str] | None] = field(default=(0, None), init=False, repr=False)

    # -- leaves --------------------------------------------------------------------------------
    def _value(self, raw: str) -> str:
        if self.delimiters.escape not in raw:
            return raw
        return unescape(raw, self.delimiters, charset=self.charset)

    def leaf(self, raw: str, replace: Callable[[str], str]) -> str:
        """Replace one leaf's value; absent and ``""`` leaves are returned exactly as they were."""
        if not _present(raw):
            return raw
        value = self._value(raw)
        new = replace(value)
        return raw if new == value else escape(new, self.delimiters)

    def _subs(self, raw: str, replace: Callable[[str], str], only: int | None = None) -> str:
        """Each subcomponent of a component (or only one of them) through ``replace``."""
        sep = self.delimiters.subcomponent
        if sep is None or sep not in raw:
            return self.leaf(raw, replace) if only in (None, 1) else raw
        parts = raw.split(sep)
        for index, part in enumerate(parts, start=1):
            if only is None or index == only:
                parts[index - 1] = self.leaf(part, replace)
        return sep.join(parts)

    def _at(self, comps: list[str], position: int, replace: Callable[[str], str]) -> bool:
        """Replace component ``position`` (every subcomponent) when present; report a change."""
        if position > len(comps) or not _present(comps[position - 1]):
            return False
        before = comps[position - 1]
        comps[position - 1] = self._subs(before, replace)
        return comps[position - 1] != before

    # -- value kinds ---------------------------------------------------------------------------
    def identifier(self, value: str) -> str:
        new = self.seen.get(value)
        if new is None:
            new = self.seen[value] = self.pseudonyms.identifier(value)
            self.tally["identifiers"] += 1
        return new

    def nhs_number(self, value: str) -> str:
        digits = nhs_digits(value)
        if digits is None:
            return self.identifier(value)
        new = self.seen.get(value)
        if new is None:
            new = self.seen[value] = self.pseudonyms.nhs_number(value)
            self.nhs_seen[digits] = new
            self.tally["nhs_numbers"] += 1
        return new

    def text(self, value: str) -> str:
        self.tally["texts"] += 1
        return placeholder_text(len(value))

    def date(self, value: str) -> str:
        moved = shift_date_text(value, self.shift)
        if moved is None:
            self.tally["unshifted_dates"] += 1
            return value
        self.tally["dates"] += 1
        return moved

    def _date_if_any(self, value: str) -> str:
        moved = shift_date_text(value, self.shift)
        if moved is None:
            return value
        self.tally["dates"] += 1
        return moved

    # -- repetitions ---------------------------------------------------------------------------
    def field(self, raw: str, rule: Rule, *, sex: str = "", value_type: str = "") -> str:
        """One field, repetition by repetition, following ``rule``."""
        if not _present(raw):
            return raw
        if rule.kind is Kind.OBSERVATION:
            found = VALUE_KINDS.get(value_type.strip().upper())
            if found is None:
                return raw
            rule = found
        d = self.delimiters
        reps = raw.split(d.repetition)
        return d.repetition.join(self._repetition(rep, rule, sex) for rep in reps)

    def _repetition(self, raw: str, rule: Rule, sex: str) -> str:
        if not _present(raw):
            return raw
        if rule.kind is Kind.TEXT:
            self.tally["texts"] += 1
            return placeholder_text(len(self._value(raw)))
        comps = raw.split(self.delimiters.component)
        handler = _HANDLERS.get(rule.kind)
        if handler is not None:
            handler(self, comps, rule, sex)
        for position in rule.dates:
            if position.component <= len(comps):
                comp = comps[position.component - 1]
                shift = self.date if position.report else self._date_if_any
                for sub in position.subcomponents:
                    comp = self._subs(comp, shift, only=sub)
                comps[position.component - 1] = comp
        return self.delimiters.component.join(comps)

    def _cx(self, comps: list[str], rule: Rule, sex: str) -> None:
        nhs = authority(comps, self.delimiters) == "NHS"
        replace = self.nhs_number if nhs else self.identifier
        self._at(comps, 1, replace)
        self._at(comps, 2, self.pseudonyms.identifier)  # a check digit would give the ID away

    def _ei(self, comps: list[str], rule: Rule, sex: str) -> None:
        if comps and _present(comps[0]):
            comps[0] = self._subs(comps[0], self.identifier, only=1)

    def _eip(self, comps: list[str], rule: Rule, sex: str) -> None:
        for position in (0, 1):
            if position < len(comps):
                comps[position] = self._subs(comps[position], self.identifier, only=1)

    def _name(self, comps: list[str], rule: Rule, sex: str, *, offset: int = 0) -> None:
        title_position = 5 + offset
        title = comps[title_position - 1] if len(comps) >= title_position else ""
        gender = _gender(self._value(title) if _present(title) else "", sex)
        if gender is Gender.ANY and rule.female:
            gender = Gender.FEMALE
        changed = self._at(comps, 1 + offset, self.pseudonyms.family_name)
        for position in (2 + offset, 3 + offset):
            changed |= self._at(comps, position, lambda v: self.pseudonyms.given_name(v, gender))
        self.tally["names"] += changed

    def _staff(self, comps: list[str], rule: Rule, sex: str) -> None:
        self._name(comps, rule, "", offset=1)  # XCN: the ID first, then an XPN's parts

    def _address(self, comps: list[str], rule: Rule, sex: str) -> None:
        p = self.pseudonyms
        changed = self._at(comps, 1, p.street_line)
        changed |= self._at(comps, 2, p.street_line)
        changed |= self._at(comps, 3, p.town)
        changed |= self._at(comps, 4, p.county)
        changed |= self._at(comps, 5, p.postcode)
        changed |= self._at(comps, 8, p.locality)
        changed |= self._at(comps, 10, p.identifier)
        self.tally["addresses"] += changed

    def _phone(self, comps: list[str], rule: Rule, sex: str) -> None:
        equipment = comps[2].strip().upper() if len(comps) > 2 else ""
        area = comps[5] if len(comps) > 5 else ""
        local = comps[6] if len(comps) > 6 else ""
        number = comps[0].replace(" ", "").lstrip("+") if comps else ""
        mobile = equipment == "CP" or number.startswith(("07", "447", "00447")) or area[:1] == "7"
        changed = self._at(comps, 1, lambda v: self.pseudonyms.phone(v, mobile=mobile))
        if _present(area) and _present(local):
            comps[5], comps[6] = self.pseudonyms.phone_parts(area, local, mobile=mobile)
            changed = True
        else:
            changed |= self._at(comps, 7, self.pseudonyms.identifier)
        changed |= self._at(comps, 8, self.pseudonyms.identifier)
        self.tally["phones"] += changed
        if self._at(comps, 4, self.pseudonyms.email):
            self.tally["emails"] += 1
        self._at(comps, 9, self.text)

    def _place(self, comps: list[str], rule: Rule, sex: str) -> None:
        for position in range(1, len(comps) + 1):
            self._at(comps, position, self.pseudonyms.town)

    def _id(self, comps: list[str], rule: Rule, sex: str) -> None:
        self._at(comps, 1, self.identifier)

    def _coded(self, comps: list[str], rule: Rule, sex: str) -> None:
        """Text of CE/CWE only when nothing is coded: codes and coding systems stay valid."""

        def absent(position: int) -> bool:
            return position > len(comps) or not _present(comps[position - 1])

        if not absent(2) and absent(1):
            self._at(comps, 2, self.text)
        if not absent(5) and absent(4):
            self._at(comps, 5, self.text)
        self._at(comps, 9, self.text)  # CWE-9 original text is free text by definition
        if not absent(1) and absent(2) and absent(3) and " " in self._value(comps[0]).strip():
            self._at(comps, 1, self.text)  # a sentence in the code component: not a code

    def _encapsulated(self, comps: list[str], rule: Rule, sex: str) -> None:
        encoding = comps[3].strip().upper() if len(comps) > 3 else ""
        if encoding == "BASE64":
            document = base64.b64encode(_REDACTED_DOCUMENT).decode("ascii")
        elif encoding == "HEX":
            document = _REDACTED_DOCUMENT.hex().upper()
        else:
            document = ""
        if document:
            if self._at(comps, 5, lambda _: document):
                self.tally["texts"] += 1
        else:
            self._at(comps, 5, self.text)

    # -- fields the catalogue does not describe ------------------------------------------------
    def sweep(self, raw: str, *, dates: bool = False) -> str:
        """A field no rule covers: NHS-labelled CXs are replaced, known identifiers too.

        With ``dates`` (Z segments, which have no definitions here) a value that reads as a
        date to the day or finer is shifted as well.
        """
        if not _present(raw):
            return raw
        d = self.delimiters
        known = self._known()
        if (
            not dates
            and "NHS" not in raw.upper()
            and d.escape not in raw
            and (known is None or known.search(raw) is None)
        ):
            return raw
        reps = raw.split(d.repetition)
        for index, rep in enumerate(reps):
            comps = rep.split(d.component)
            if authority(comps, d) == "NHS":
                self._at(comps, 1, self.nhs_number)
            for position in range(1, len(comps) + 1):
                if known is not None:
                    self._at(comps, position, lambda v: known.sub(self._known_match, v))
                if dates:
                    self._at(comps, position, self._date_like)
            reps[index] = d.component.join(comps)
        return d.repetition.join(reps)

    def _known(self) -> re.Pattern[str] | None:
        """Identifiers replaced so far, as whole tokens (``202503`` does not match in a date)."""
        size, pattern = self._pattern
        if size == len(self.seen):
            return pattern
        known = sorted(
            (o for o in self.seen if len(o) >= _SWEEP_MIN_LENGTH and _has_digit(o)),
            key=len,
            reverse=True,
        )
        alternatives = "|".join(re.escape(o) for o in known)
        pattern = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])") if known else None
        self._pattern = (len(self.seen), pattern)
        return pattern

    def _known_match(self, match: re.Match[str]) -> str:
        return self.seen[match.group()]

    def _date_like(self, value: str) -> str:
        """Shift ``value`` if it reads as a real date to the day or finer, else keep it."""
        match = _TIMESTAMP.fullmatch(value)
        if match is None:
            return value
        if match.group(2) is None and int(value[:4]) not in _PLAUSIBLE_YEARS:
            return value  # eight digits that are not obviously a date: maybe an identifier
        return self._date_if_any(value)


_Handler = Callable[[Rewriter, list[str], Rule, str], None]
_HANDLERS: Mapping[Kind, _Handler] = {
    Kind.CX: Rewriter._cx,
    Kind.EI: Rewriter._ei,
    Kind.EIP: Rewriter._eip,
    Kind.ID: Rewriter._id,
    Kind.NAME: Rewriter._name,
    Kind.STAFF: Rewriter._staff,
    Kind.ADDRESS: Rewriter._address,
    Kind.PHONE: Rewriter._phone,
    Kind.PLACE: Rewriter._place,
    Kind.CODED_TEXT: Rewriter._coded,
    Kind.ENCAPSULATED: Rewriter._encapsulated,
}
