"""Which fields hold identifying data, and of what kind: the anonymiser's catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CATALOGUE",
    "CONTROL_ID_FIELDS",
    "IDENTIFIER_RULE",
    "STAFF_NAME_FIELDS",
    "VALUE_KINDS",
    "DatePosition",
    "Kind",
    "Rule",
]


class Kind(StrEnum):
    """How a field's repetitions are rewritten."""

    CX = "cx"  # patient identifier: NHS number by authority, any other by shape
    EI = "ei"  # entity identifier (placer/filler numbers): component 1 by shape
    EIP = "eip"  # parent order: placer and filler EIs held as subcomponents
    ID = "id"  # a bare identifier such as PID-19 (component 1 by shape)
    NAME = "name"  # XPN, a person's name
    STAFF = "staff"  # XCN, a member of staff's name (only when asked for)
    ADDRESS = "address"  # XAD
    PHONE = "phone"  # XTN
    PLACE = "place"  # a place name in plain text (PID-23 birth place)
    TEXT = "text"  # free text: the whole repetition becomes a placeholder
    CODED_TEXT = "coded_text"  # CE/CWE: text replaced only when nothing is coded
    ENCAPSULATED = "encapsulated"  # ED: the data component replaced
    DATE = "date"  # only the dates listed in the rule
    OBSERVATION = "observation"  # OBX-5: the kind depends on OBX-2


@dataclass(frozen=True, slots=True)
class DatePosition:
    """A date inside a repetition: component ``component``, subcomponents ``subcomponents``.

    A TS field is ``(1, (1,))``: its first component, whose first subcomponent is the time when
    the TS sits inside a composite (TQ-4 ``20251231&S``). A DR inside a component (XPN-10) is
    ``(10, (1, 2))``: start and end are subcomponents there. ``report`` is false where senders
    often put something else in the place (a profile's NDL written as an XCN): a value that is
    not a date is then kept without being counted as an unshifted date.
    """

    component: int
    subcomponents: tuple[int, ...] = (1,)
    report: bool = True


@dataclass(frozen=True, slots=True)
class Rule:
    """What to do with one field: its kind, dates inside it, and where the person's sex is."""

    kind: Kind
    dates: tuple[DatePosition, ...] = ()
    sex_field: int | None = None  # for names: the same segment's sex field guides given names
    female: bool = False  # for names known to be a woman's (PID-6 mother's maiden name)


_TS = (DatePosition(1),)
_DR = (DatePosition(1), DatePosition(2))
_TQ = (DatePosition(4), DatePosition(5))
_CX = Rule(Kind.CX, dates=(DatePosition(7), DatePosition(8)))
_EI = Rule(Kind.EI)
_ID = Rule(Kind.ID)
_XAD = Rule(Kind.ADDRESS, dates=(DatePosition(12, (1, 2)), DatePosition(13), DatePosition(14)))
_XTN = Rule(Kind.PHONE)
_TEXT = Rule(Kind.TEXT)
_CODED = Rule(Kind.CODED_TEXT)
_DATE = Rule(Kind.DATE, dates=_TS)
_RANGE = Rule(Kind.DATE, dates=_DR)


def _name(sex_field: int | None = None, *, female: bool = False) -> Rule:
    return Rule(
        Kind.NAME,
        dates=(DatePosition(10, (1, 2)), DatePosition(12), DatePosition(13)),
        sex_field=sex_field,
        female=female,
    )


def _dates(segment: str, *fields: int, rule: Rule = _DATE) -> dict[tuple[str, int], Rule]:
    return {(segment, number): rule for number in fields}


CATALOGUE: Mapping[tuple[str, int], Rule] = {
    # Message header and event: the message's own time moves with the patient's dates.
    **_dates("MSH", 7),
    **_dates("EVN", 2, 3, 6),
    # Patient identification (HL7 UK reference §5.3).
    ("PID", 2): _CX,
    ("PID", 3): _CX,
    ("PID", 4): _CX,
    ("PID", 5): _name(8),
    ("PID", 6): _name(female=True),
    ("PID", 9): _name(8),
    ("PID", 11): _XAD,
    ("PID", 13): _XTN,
    ("PID", 14): _XTN,
    ("PID", 18): _CX,
    ("PID", 19): _ID,
    ("PID", 20): Rule(Kind.ID, dates=(DatePosition(3),)),
    ("PID", 21): _CX,
    ("PID", 23): Rule(Kind.PLACE),
    **_dates("PID", 7, 29, 33),
    # Merge: the prior identifiers and name.
    **{("MRG", number): _CX for number in (1, 2, 3, 4, 5, 6)},
    ("MRG", 7): _name(),
    # Next of kin.
    ("NK1", 2): _name(15),
    ("NK1", 4): _XAD,
    ("NK1", 5): _XTN,
    ("NK1", 6): _XTN,
    ("NK1", 12): _CX,
    ("NK1", 30): _name(),
    ("NK1", 31): _XTN,
    ("NK1", 32): _XAD,
    ("NK1", 33): _CX,
    ("NK1", 37): _ID,
    ("NK1", 40): _XTN,
    **_dates("NK1", 8, 9, 16),
    ("PD1", 10): _CX,
    # Visit.
    ("PV1", 5): _CX,
    ("PV1", 19): _CX,
    ("PV1", 50): _CX,
    **_dates("PV1", 25, 30, 35, 44, 45),
    ("PV2", 3): _CODED,
    ("PV2", 4): _CODED,
    ("PV2", 12): _TEXT,
    **_dates("PV2", 8, 9, 26, 29, 33, 46, 47),
    # Orders and results.
    ("ORC", 2): _EI,
    ("ORC", 3): _EI,
    ("ORC", 4): _EI,
    ("ORC", 7): Rule(Kind.DATE, dates=_TQ),
    ("ORC", 8): Rule(Kind.EIP),
    ("ORC", 16): _CODED,
    **_dates("ORC", 9, 15, 27),
    ("OBR", 2): _EI,
    ("OBR", 3): _EI,
    ("OBR", 13): _TEXT,
    ("OBR", 27): Rule(Kind.DATE, dates=_TQ),
    ("OBR", 29): Rule(Kind.EIP),
    ("OBR", 31): _CODED,
    **_dates("OBR", 6, 7, 8, 14, 22, 36),
    ("OBX", 5): Rule(Kind.OBSERVATION),
    **_dates("OBX", 12, 14, 19),
    ("NTE", 3): _TEXT,
    ("TQ1", 7): _DATE,
    ("TQ1", 8): _DATE,
    ("SPM", 2): Rule(Kind.EIP),
    ("SPM", 17): _RANGE,
    ("SPM", 18): _DATE,
    ("TXA", 12): _EI,
    **_dates("TXA", 4, 6, 7, 8),
    # Allergies, diagnoses, procedures.
    ("AL1", 3): _CODED,
    ("AL1", 5): _TEXT,
    ("AL1", 6): _DATE,
    ("DG1", 3): _CODED,
    **_dates("DG1", 5, 19),
    ("PR1", 5): _DATE,
    # Guarantor and insurance.
    ("GT1", 2): _CX,
    ("GT1", 3): _name(9),
    ("GT1", 4): _name(),
    ("GT1", 5): _XAD,
    ("GT1", 6): _XTN,
    ("GT1", 7): _XTN,
    ("GT1", 12): _ID,
    **_dates("GT1", 8, 13, 14),
    ("IN1", 16): _name(43),
    ("IN1", 19): _XAD,
    ("IN1", 36): _ID,
    ("IN1", 49): _CX,
    **_dates("IN1", 12, 13, 18, 29),
    # Scheduling, referrals, master files.
    ("SCH", 1): _EI,
    ("SCH", 2): _EI,
    ("SCH", 11): Rule(Kind.DATE, dates=_TQ),
    **_dates("AIS", 4),
    **_dates("AIG", 8),
    **_dates("AIL", 6),
    **_dates("AIP", 6),
    ("RF1", 6): _EI,
    **_dates("RF1", 7, 8, 9),
    **_dates("MFE", 3),
    # HL7 UK Z segments (reference §6): only their dates; everything else is kept as sent.
    **_dates("ZU1", 1, 4, 5, 15, 16, 24),
    **_dates("ZU2", 1, 11),
    **_dates("ZU4", 1, 2, 3, 4, 5, 6, 10, 15),
    **_dates("ZU5", 5),
    **_dates("ZU6", 2, 5),
}
"""Fields by (segment id, field number). Fields not listed are kept, except that a CX carrying
``^^^NHS`` anywhere is treated as an NHS number and known identifiers are replaced wherever
they reappear."""

STAFF_NAME_FIELDS: frozenset[tuple[str, int]] = frozenset(
    {
        ("EVN", 5),
        ("PD1", 4),
        *(("PV1", n) for n in (7, 8, 9, 17, 52)),
        *(("ORC", n) for n in (10, 11, 12, 19)),
        *(("OBR", n) for n in (10, 16, 28)),
        ("OBX", 16),
        *(("TXA", n) for n in (5, 9, 10, 11, 22)),
    }
)
"""XCN fields naming staff; replaced only with ``staff_names=True`` (their codes are kept)."""

CONTROL_ID_FIELDS: frozenset[tuple[str, int]] = frozenset({("MSH", 10), ("MSA", 2)})
"""Replaced only with ``remap_control_ids=True``, consistently, so an ACK still matches."""

IDENTIFIER_RULE = _CX
"""The rule for a CX field the catalogue does not list but a profile does."""

VALUE_KINDS: Mapping[str, Rule] = {
    "TX": _TEXT,
    "FT": _TEXT,
    "ST": _TEXT,
    "CE": _CODED,
    "CWE": _CODED,
    "CF": _CODED,
    "ED": Rule(Kind.ENCAPSULATED),
    "DT": _DATE,
    "TS": _DATE,
    "DTM": _DATE,
    "DR": _RANGE,
    "PN": _name(),
    "XPN": _name(),
    "AD": _XAD,
    "XAD": _XAD,
    "TN": _XTN,
    "XTN": _XTN,
    "CX": _CX,
}
"""OBX-5 by value type (OBX-2): free text and person data replaced, numbers and codes kept."""
