"""Typed HL7 v2 composite values (CX, XPN, XAD, XCN, CE, CWE, PL, HD, NM) read from raw text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Self

from eprlink.errors import ErrorCode
from eprlink.hl7.delimiters import DEFAULT_DELIMITERS, Delimiters
from eprlink.hl7.errors import ParseError
from eprlink.hl7.escape import unescape
from eprlink.hl7.timestamps import HL7Date, HL7DateTime, Precision

__all__ = [
    "CE",
    "CWE",
    "CX",
    "HD",
    "NM",
    "PL",
    "XAD",
    "XCN",
    "XPN",
    "HL7Date",
    "HL7DateTime",
    "Precision",
]

_NULL = '""'


def _leaf(text: str, d: Delimiters, charset: str) -> str | None:
    """The three-state rule: ``None`` absent, ``""`` explicit null, else the unescaped text."""
    if not text:
        return None
    if text == _NULL:
        return ""
    if d.escape not in text:
        return text
    return unescape(text, d, charset=charset)


def _split(raw: str, sep: str | None, count: int) -> list[str]:
    """Exactly ``count`` parts: senders drop trailing empty parts, and later versions add more."""
    parts = raw.split(sep) if sep is not None else [raw]
    if len(parts) < count:
        parts.extend([""] * (count - len(parts)))
    elif len(parts) > count:
        del parts[count:]
    return parts


def _leaves(parts: list[str], d: Delimiters, charset: str) -> list[str | None]:
    """Every part read as a primitive; composite components are read again where needed."""
    return [_leaf(part, d, charset) for part in parts]


def _first(component: str, d: Delimiters, charset: str) -> str | None:
    """The first subcomponent, which carries the meaning of FN, SAD and HD in UK usage."""
    sub = d.subcomponent
    if sub is not None and sub in component:
        component = component.split(sub, 1)[0]
    return _leaf(component, d, charset)


class _Value:
    """What every typed value shares: the raw text it came from and the explicit-null test."""

    __slots__ = ()
    raw: str

    @property
    def is_null(self) -> bool:
        """The whole value was ``""``: delete what is stored (the UK "no update" rule)."""
        return self.raw == _NULL


@dataclass(frozen=True, slots=True)
class HD(_Value):
    """Hierarchic designator: who issued an identifier (UK: ``NHS``, or an ODS code)."""

    raw: str
    namespace_id: str | None = None
    universal_id: str | None = None
    universal_id_type: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read HD as a field (MSH-4, say), whose parts are components."""
        return cls(raw, *_leaves(_split(raw, delimiters.component, 3), delimiters, charset))

    @classmethod
    def _nested(cls, component: str, d: Delimiters, charset: str) -> Self | None:
        # Inside another type HD's parts are subcomponents; an absent component is no HD at all.
        if not component:
            return None
        parts = _split(component, d.subcomponent, 3)
        return cls(component, *(_leaf(part, d, charset) for part in parts))


@dataclass(frozen=True, slots=True)
class CX(_Value):
    """Extended composite ID, the shape of every patient identifier in PID-3.

    ``assigning_authority`` is the HD's namespace id, which is all UK feeds use (``NHS``, ``RXX``);
    the whole HD is in ``assigning_authority_hd``. Dates are kept as text, as sent.
    """

    raw: str
    id: str | None = None
    check_digit: str | None = None
    check_digit_scheme: str | None = None
    assigning_authority: str | None = None
    assigning_authority_hd: HD | None = None
    identifier_type_code: str | None = None
    assigning_facility: HD | None = None
    effective_date: str | None = None
    expiration_date: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of a CX field."""
        d = delimiters
        c = _split(raw, d.component, 8)
        v = _leaves(c, d, charset)
        authority = HD._nested(c[3], d, charset)
        return cls(
            raw,
            id=v[0],
            check_digit=v[1],
            check_digit_scheme=v[2],
            assigning_authority=None if authority is None else authority.namespace_id,
            assigning_authority_hd=authority,
            identifier_type_code=v[4],
            assigning_facility=HD._nested(c[5], d, charset),
            effective_date=v[6],
            expiration_date=v[7],
        )

    @property
    def is_nhs_number(self) -> bool:
        """Whether this identifier is labelled an NHS number (it does not check the number).

        HL7 UK sends ``^^^NHS^NH``; ITK omits CX-5 (``^^^NHS``). Type ``NH`` alone is not enough:
        Scotland's CHI number is ``^^^CHI^NH``.
        """
        authority = self.assigning_authority
        return (
            authority is not None
            and authority.upper() == "NHS"
            and self.identifier_type_code in (None, "", "NH")
        )


@dataclass(frozen=True, slots=True)
class XPN(_Value):
    """Extended person name (v2.4 components 1-8); ``family_name`` is FN's surname part."""

    raw: str
    family_name: str | None = None
    given_name: str | None = None
    further_given_names: str | None = None
    suffix: str | None = None
    prefix: str | None = None
    degree: str | None = None
    name_type_code: str | None = None
    name_representation_code: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of an XPN field (PID-5, NK1-2)."""
        d = delimiters
        c = _split(raw, d.component, 8)
        v = _leaves(c, d, charset)
        family = _first(c[0], d, charset)
        return cls(raw, family, *v[1:8])


@dataclass(frozen=True, slots=True)
class XAD(_Value):
    """Extended address (v2.4 components 1-12, plus v2.5's effective and expiration dates).

    UK usage: street lines in 1 and 2, town in 3, county in 4, postcode in 5, country in 6 and
    the address type (``H``, ``PST``, ``TMP``) in 7. ``street`` is SAD's first part; SAD's street
    name and dwelling number are kept too. The validity range (DR) and dates are text, as sent.
    """

    raw: str
    street: str | None = None
    street_name: str | None = None
    dwelling_number: str | None = None
    other_designation: str | None = None
    city: str | None = None
    state_or_province: str | None = None
    postcode: str | None = None
    country: str | None = None
    address_type: str | None = None
    other_geographic_designation: str | None = None
    county_parish_code: str | None = None
    census_tract: str | None = None
    address_representation_code: str | None = None
    address_validity_range: str | None = None
    effective_date: str | None = None
    expiration_date: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of an XAD field (PID-11)."""
        d = delimiters
        c = _split(raw, d.component, 14)
        v = _leaves(c, d, charset)
        sad = _split(c[0], d.subcomponent, 3)
        street, name, number = (_leaf(part, d, charset) for part in sad)
        return cls(raw, street, name, number, *v[1:14])


@dataclass(frozen=True, slots=True)
class XCN(_Value):
    """Extended composite ID and name for persons (v2.4 components 1-15): GPs, consultants.

    UK feeds put the GP's national code in 1 and sometimes the practice's ODS code in the
    assigning facility (14). ``assigning_authority`` is the HD's namespace id, as in :class:`CX`.
    """

    raw: str
    id: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    further_given_names: str | None = None
    suffix: str | None = None
    prefix: str | None = None
    degree: str | None = None
    source_table: str | None = None
    assigning_authority: str | None = None
    assigning_authority_hd: HD | None = None
    name_type_code: str | None = None
    check_digit: str | None = None
    check_digit_scheme: str | None = None
    identifier_type_code: str | None = None
    assigning_facility: HD | None = None
    name_representation_code: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of an XCN field (PD1-4, PV1-7, EVN-5)."""
        d = delimiters
        c = _split(raw, d.component, 15)
        v = _leaves(c, d, charset)
        authority = HD._nested(c[8], d, charset)
        return cls(
            raw,
            id=v[0],
            family_name=_first(c[1], d, charset),
            given_name=v[2],
            further_given_names=v[3],
            suffix=v[4],
            prefix=v[5],
            degree=v[6],
            source_table=v[7],
            assigning_authority=None if authority is None else authority.namespace_id,
            assigning_authority_hd=authority,
            name_type_code=v[9],
            check_digit=v[10],
            check_digit_scheme=v[11],
            identifier_type_code=v[12],
            assigning_facility=HD._nested(c[13], d, charset),
            name_representation_code=v[14],
        )


@dataclass(frozen=True, slots=True)
class CE(_Value):
    """Coded element: a code, its text and its coding system, with one alternate coding."""

    raw: str
    identifier: str | None = None
    text: str | None = None
    coding_system: str | None = None
    alternate_identifier: str | None = None
    alternate_text: str | None = None
    alternate_coding_system: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of a CE field (DG1-3, AL1-3)."""
        return cls(raw, *_leaves(_split(raw, delimiters.component, 6), delimiters, charset))


@dataclass(frozen=True, slots=True)
class CWE(_Value):
    """Coded with exceptions: CE plus coding system versions and the original text."""

    raw: str
    identifier: str | None = None
    text: str | None = None
    coding_system: str | None = None
    alternate_identifier: str | None = None
    alternate_text: str | None = None
    alternate_coding_system: str | None = None
    coding_system_version_id: str | None = None
    alternate_coding_system_version_id: str | None = None
    original_text: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of a CWE field."""
        return cls(raw, *_leaves(_split(raw, delimiters.component, 9), delimiters, charset))


@dataclass(frozen=True, slots=True)
class PL(_Value):
    """Person location (v2.4 components 1-9).

    ITK puts the NHS ward code in the room (2) and the ODS site code in the facility (4), which
    is an HD whose namespace id carries the code.
    """

    raw: str
    point_of_care: str | None = None
    room: str | None = None
    bed: str | None = None
    facility: HD | None = None
    location_status: str | None = None
    person_location_type: str | None = None
    building: str | None = None
    floor: str | None = None
    location_description: str | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition of a PL field (PV1-3, PV1-6)."""
        d = delimiters
        c = _split(raw, d.component, 9)
        v = _leaves(c, d, charset)
        return cls(
            raw,
            point_of_care=v[0],
            room=v[1],
            bed=v[2],
            facility=HD._nested(c[3], d, charset),
            location_status=v[4],
            person_location_type=v[5],
            building=v[6],
            floor=v[7],
            location_description=v[8],
        )


@dataclass(frozen=True, slots=True)
class NM(_Value):
    """A number, kept as :class:`~decimal.Decimal` so lab values keep their written precision.

    ``value`` is ``None`` both when absent and for the explicit null; ``is_null`` tells them apart.
    """

    raw: str
    value: Decimal | None = None

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one NM; HL7's grammar is a sign, digits and one optional point, nothing else.

        Exponents, spaces, ``NaN`` and ``Infinity`` (all of which :class:`Decimal` would take)
        raise :class:`ParseError` with code 102.
        """
        text = _leaf(raw, delimiters, charset)
        if not text:
            return cls(raw)
        body = text[1:] if text[0] in "+-" else text
        digits = body.replace(".", "", 1)
        if not (digits.isascii() and digits.isdigit()):
            raise ParseError("not an NM value", code=ErrorCode.DATA_TYPE_ERROR)
        return cls(raw, Decimal(text))
