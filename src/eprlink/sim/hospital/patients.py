"""Synthetic patients: test-range NHS numbers, UK-style names, fictional addresses and GPs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from eprlink.sim.hospital import codes, names
from eprlink.sim.hospital.fixtures import GP_PRACTICES, NO_REGISTERED_GP, Clinician, GpPractice
from eprlink.sim.hospital.identifiers import Counters, synthetic_nhs_number

__all__ = [
    "Address",
    "NextOfKin",
    "Patient",
    "PatientFactory",
    "Sex",
    "Telecom",
    "landline",
    "random_address",
]

_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # never C, I, K, M, O or V (nhs-test-data §5)


class Sex(StrEnum):
    """Administrative sex, written as ITK 1/2/9/0 or HL7 M/F/O/U by the Trust setting."""

    MALE = "male"
    FEMALE = "female"
    INDETERMINATE = "indeterminate"
    UNKNOWN = "unknown"

    def code(self, *, itk: bool) -> str:
        if itk:
            return {"male": "1", "female": "2", "indeterminate": "9", "unknown": "0"}[self]
        return {"male": "M", "female": "F", "indeterminate": "O", "unknown": "U"}[self]


@dataclass(frozen=True, slots=True)
class Address:
    """A home address in an invented town with a postcode in the non-existent area XX."""

    street: str
    locality: str
    town: str
    county: str
    postcode: str
    kind: str = "H"


@dataclass(frozen=True, slots=True)
class Telecom:
    """A number in an Ofcom drama range (or an example.com address) with its XTN use and type."""

    number: str
    use: str  # PRN primary residence, WPN work, NET network address
    equipment: str  # PH telephone, CP mobile, Internet


@dataclass(frozen=True, slots=True)
class NextOfKin:
    """NK1: a named contact with a PDS relationship code (ref §5.5)."""

    family: str
    given: str
    title: str
    relationship: str
    phone: str | None
    same_address: bool


@dataclass(frozen=True, slots=True)
class Patient:
    """One synthetic person as the PAS holds them; updates produce a new snapshot."""

    mrn: str
    nhs_number: str | None
    nhs_status: str  # NSTS01 … NSTS08, or a bare 01 for tolerant-parsing tests
    reliability: tuple[str, ...]  # further PID-32 codes: ED estimated / UD default birth date
    family: str
    given: str
    middle: str | None
    title: str
    sex: Sex
    birth_date: date
    address: Address
    phones: tuple[Telecom, ...]  # landline first, then mobile (PID-13 order, ref §5.3)
    work_phone: Telecom | None
    email: str | None
    marital: str
    religion: str
    ethnic: str
    language: str
    practice: GpPractice
    gp: Clinician
    next_of_kin: NextOfKin | None
    mother_mrn: str | None = None  # PID-21 for babies
    misc: tuple[str, ...] = ()  # ZU8-1..3: sexual orientation, DCR consent, SCR consent

    def age_on(self, when: date) -> int:
        years = when.year - self.birth_date.year
        if (when.month, when.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


# Age bands (years) and their shares, for the whole population and for inpatients.
_POPULATION_AGES = ((0, 4, 6), (5, 17, 14), (18, 39, 27), (40, 64, 32), (65, 84, 17), (85, 104, 4))
_INPATIENT_AGES = ((0, 4, 4), (5, 17, 4), (18, 39, 14), (40, 64, 24), (65, 84, 38), (85, 104, 16))


class PatientFactory:
    """Makes patients from a journey's random stream and the hospital-wide counters."""

    def __init__(self, counters: Counters, *, mrn_stem: str, without_number: float) -> None:
        self._counters = counters
        self._mrn_stem = mrn_stem
        self._without_number = without_number

    def mrn(self) -> str:
        return f"{self._mrn_stem}{self._counters.next_mrn()}"

    def create(
        self,
        rng: random.Random,
        *,
        today: date,
        inpatient: bool = False,
        newborn: bool | None = None,
        with_nhs_number: bool | None = None,
    ) -> Patient:
        """A new patient; ``inpatient`` skews ages older, ``newborn`` makes a baby < 6 weeks."""
        if newborn is None:
            newborn = rng.random() < 0.005
        if newborn:
            birth = today - timedelta(days=rng.randrange(1, 42))
        else:
            bands = _INPATIENT_AGES if inpatient else _POPULATION_AGES
            low, high, _ = rng.choices(bands, weights=[b[2] for b in bands])[0]
            age = rng.randint(low, high)
            birth = today - timedelta(days=age * 365 + rng.randrange(365))
        age = (today - birth).days // 365
        sex = rng.choices(
            (Sex.FEMALE, Sex.MALE, Sex.INDETERMINATE, Sex.UNKNOWN), weights=(51, 48.8, 0.1, 0.1)
        )[0]
        ethnic = codes.pick(rng, codes.ETHNIC_CATEGORY)
        pool = rng.choice(names.POOL_OF_ETHNICITY[ethnic])
        given_names = names.MALE if sex is Sex.MALE else names.FEMALE
        if sex in (Sex.INDETERMINATE, Sex.UNKNOWN):
            given_names = rng.choice((names.MALE, names.FEMALE))
        family = rng.choice(names.FAMILY[pool])
        given = rng.choice(given_names[pool])
        middle = rng.choice(given_names[rng.choice(names.POOL_OF_ETHNICITY[ethnic])])
        marital = "S" if age < 18 else codes.pick(rng, codes.MARITAL_STATUS)
        status, number, reliability = self._nhs(rng, newborn, with_nhs_number)
        mother = self.mrn() if newborn else None
        address = random_address(rng)
        practice, gp = _practice(rng)
        return Patient(
            mrn=self.mrn(),
            nhs_number=number,
            nhs_status=status,
            reliability=reliability,
            family=family,
            given=given,
            middle=None if middle == given or rng.random() < 0.45 else middle,
            title=_title(rng, sex, age, marital),
            sex=sex,
            birth_date=birth,
            address=address,
            phones=_phones(rng, age),
            work_phone=_work_phone(rng) if 18 <= age < 67 and rng.random() < 0.15 else None,
            email=_email(rng, given, family) if age >= 16 and rng.random() < 0.3 else None,
            marital=marital,
            religion=codes.pick(rng, codes.RELIGION),
            ethnic=ethnic,
            language=codes.pick(rng, codes.LANGUAGE),
            practice=practice,
            gp=gp,
            next_of_kin=_next_of_kin(rng, family, age, marital),
            mother_mrn=mother,
            misc=_misc(rng) if age >= 16 and rng.random() < 0.4 else (),
        )

    def _nhs(
        self, rng: random.Random, newborn: bool, with_number: bool | None
    ) -> tuple[str, str | None, tuple[str, ...]]:
        if newborn:
            status = "NSTS08"  # trace postponed: baby under six weeks (ref §9.6)
        elif with_number is False or (with_number is None and rng.random() < self._without_number):
            status = "NSTS07"
        else:
            status = codes.pick(rng, codes.NHS_NUMBER_STATUS)
        number = (
            None if status == "NSTS07" else synthetic_nhs_number(rng, self._counters.nhs_numbers)
        )
        extra: tuple[str, ...] = ()
        roll = rng.random()
        if roll < 0.015:
            extra = ("ED",)  # estimated date of birth
        elif roll < 0.025:
            extra = ("UD",)  # default date of birth
        return status, number, extra

    def nhs_number(self, rng: random.Random) -> str:
        """A fresh test-range number, for a trace that finds one."""
        return synthetic_nhs_number(rng, self._counters.nhs_numbers)


def _title(rng: random.Random, sex: Sex, age: int, marital: str) -> str:
    if age < 16:
        return ""
    if rng.random() < 0.02:
        return "DR"
    if sex is Sex.MALE:
        return "MR"
    if sex is Sex.FEMALE:
        if marital in ("M", "W"):
            return "MRS" if rng.random() < 0.85 else "MS"
        return rng.choice(("MISS", "MS"))
    return "MX"


def _postcode(rng: random.Random, districts: tuple[str, ...]) -> str:
    district = rng.choice(districts)
    inward = f"{rng.randrange(1, 10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return f"XX{district} {inward}"


def random_address(rng: random.Random) -> Address:
    if rng.random() < 0.003:
        return Address("NO FIXED ABODE", "", "", "", "ZZ99 3VZ")  # NHS pseudo-postcode (§5)
    town, districts = rng.choice(names.TOWNS)
    street = f"{rng.randint(1, 180)} {rng.choice(names.STREETS)} {rng.choice(names.STREET_TYPES)}"
    if rng.random() < 0.12:
        street = f"FLAT {rng.randint(1, 24)}, {street}"
    locality = f"LOWER {town}" if rng.random() < 0.15 else ""
    return Address(street, locality, town, names.COUNTY, _postcode(rng, districts))


def landline(rng: random.Random) -> str:
    """Ofcom drama numbers: 01632 960xxx, 020 7946 0xxx, 0113 496 0xxx [UNVERIFIED ranges]."""
    block = rng.choices(("01632960", "02079460", "01134960"), weights=(6, 2, 2))[0]
    return f"{block}{rng.randrange(1000):03d}"


def _mobile(rng: random.Random) -> str:
    return f"07700900{rng.randrange(1000):03d}"  # Ofcom drama mobile block


def _phones(rng: random.Random, age: int) -> tuple[Telecom, ...]:
    phones: list[Telecom] = []
    if rng.random() < 0.7:
        phones.append(Telecom(landline(rng), "PRN", "PH"))
    if age >= 12 and rng.random() < 0.85:
        phones.append(Telecom(_mobile(rng), "PRN", "CP"))
    return tuple(phones)


def _work_phone(rng: random.Random) -> Telecom:
    return Telecom(f"{rng.choice(('02079460', '01134960'))}{rng.randrange(1000):03d}", "WPN", "PH")


def _email(rng: random.Random, given: str, family: str) -> str:
    def clean(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch.isalpha())

    return f"{clean(given)}.{clean(family)}{rng.randrange(100)}@example.com"  # RFC 2606 domain


def _practice(rng: random.Random) -> tuple[GpPractice, Clinician]:
    if rng.random() < 0.01:
        return NO_REGISTERED_GP, NO_REGISTERED_GP.gps[0]
    practice = rng.choice(GP_PRACTICES)
    return practice, rng.choice(practice.gps)


def _next_of_kin(rng: random.Random, family: str, age: int, marital: str) -> NextOfKin | None:
    if rng.random() < 0.1:
        return None
    female = rng.random() < 0.55
    pool = names.FEMALE if female else names.MALE
    given = rng.choice(pool["british"] + pool["south_asian"] + pool["european"])
    title = ("MRS" if female else "MR") if age >= 18 else ""
    if age < 16:
        relationship = "12" if female else "13"
        title = "MRS" if female else "MR"
    elif marital == "M":
        relationship = "1"
    elif age >= 75 and rng.random() < 0.6:
        relationship = "9"
    elif rng.random() < 0.3:
        relationship = "2"
    else:
        relationship = codes.pick(rng, codes.RELATIONSHIP)
    same_family = relationship in ("1", "9", "12", "13", "14", "15") and rng.random() < 0.85
    kin_family = family if same_family else rng.choice(names.FAMILY["british"])
    kin_title = title or ("MS" if female else "MR")
    same_address = relationship in ("1", "2", "12", "13")
    phone = _mobile(rng) if rng.random() < 0.9 else None
    return NextOfKin(kin_family, given, kin_title, relationship, phone, same_address)


def _misc(rng: random.Random) -> tuple[str, ...]:
    """ZU8 variety (nhs-test-data §4): orientation, DCR consent (empty = implied), SCR consent."""
    orientation = rng.choice(("1", "1", "1", "2a", "2b", "3", "4", "U", "X", "Z", "Z"))
    return (orientation, rng.choice(("1", "2", "3", "")), rng.choice(("Yes", "No", "")))
