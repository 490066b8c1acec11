"""Segment builders in the HL7 UK shapes of hl7-uk-reference.md §5–§6."""

# Each returns one ER7 line, or the numbered fields so an update can omit ("no change") or null
# (``""``, "delete") some of them before the line is written.

from __future__ import annotations

from datetime import datetime

from eprlink.sim.hospital.codes import RELATIONSHIP, describe
from eprlink.sim.hospital.er7 import comp, day, line, minute, reps, second
from eprlink.sim.hospital.fixtures import Clinician
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.settings import IdentifierKind, SexCoding, TrustSettings
from eprlink.sim.hospital.visits import Location, Visit

__all__ = [
    "STRUCTURES",
    "address",
    "adt_type",
    "evn",
    "identifiers",
    "mrg",
    "nk1",
    "pd1",
    "pid",
    "pid_fields",
    "pl",
    "pv1",
    "pv1_fields",
    "pv2",
    "visit_id",
    "xcn",
    "zu1_fields",
    "zu8",
]

# MSH-9.3 for each ADT trigger (ref §7.1).
STRUCTURES: dict[str, str] = {
    "A01": "ADT_A01",
    "A02": "ADT_A02",
    "A03": "ADT_A03",
    "A04": "ADT_A01",
    "A05": "ADT_A05",
    "A08": "ADT_A01",
    "A09": "ADT_A09",
    "A10": "ADT_A09",
    "A11": "ADT_A09",
    "A12": "ADT_A09",
    "A13": "ADT_A01",
    "A14": "ADT_A05",
    "A21": "ADT_A21",
    "A22": "ADT_A21",
    "A27": "ADT_A21",
    "A28": "ADT_A05",
    "A31": "ADT_A05",
    "A38": "ADT_A38",
    "A40": "ADT_A39",
}


def adt_type(trigger: str) -> str:
    """MSH-9 with its three components, e.g. ``ADT^A04^ADT_A01``."""
    return f"ADT^{trigger}^{STRUCTURES[trigger]}"


def xcn(person: Clinician) -> str:
    """A clinician or operator as XCN: national code, family, given, title in XCN-6."""
    return comp(person.code, person.family, person.given, None, None, person.title)


def pl(trust: TrustSettings, location: Location) -> str:
    """PL: point of care (the Trust), ward (PL-2), bed (PL-3), ODS site (PL-4) (ref §5.6)."""
    return comp(trust.ods_code, location.ward, location.bed, trust.site(location.site))


def visit_id(trust: TrustSettings, number: str) -> str:
    """PV1-19 with an assigning authority and a type, as HL7 UK asks of every identifier."""
    return comp(number, None, None, trust.visit_issuer, "VN")


def evn(
    recorded: datetime, occurred: datetime, operator: Clinician, *, reason: str | None = None
) -> str:
    """EVN-2 system time, EVN-4 reason, EVN-5 operator, EVN-6 when it happened (R in ITK)."""
    return line(
        "EVN", {2: second(recorded), 4: comp(reason), 5: xcn(operator), 6: minute(occurred)}
    )


def identifiers(trust: TrustSettings, mrn: str | None, nhs_number: str | None) -> str:
    """PID-3 / MRG-1: every identifier with authority and type, in the Trust's order."""
    values = {
        IdentifierKind.MRN: comp(mrn, None, None, trust.mrn_issuer, "MR") if mrn else "",
        IdentifierKind.NHS: comp(nhs_number, None, None, "NHS", "NH") if nhs_number else "",
    }
    return reps(*(values[kind] for kind in trust.identifier_order))


def address(patient: Patient) -> str:
    """XAD: street, locality, town, county, postcode, ISO country, type H (ref §5.3)."""
    a = patient.address
    return comp(a.street, a.locality, a.town, a.county, a.postcode, "GBR", a.kind)


def pid_fields(trust: TrustSettings, patient: Patient) -> dict[int, str]:
    """Every PID field the PAS holds for the patient, by number ("fully populated", ref §4.2)."""
    phones = [comp(p.number, p.use, p.equipment) for p in patient.phones]
    if patient.email:
        phones.append(comp(None, "NET", "Internet", patient.email))
    work = patient.work_phone
    fields = {
        1: "1",
        3: identifiers(trust, patient.mrn, patient.nhs_number),
        5: comp(patient.family, patient.given, patient.middle, None, patient.title, None, "L"),
        7: day(patient.birth_date),
        8: patient.sex.code(itk=trust.sex_coding is SexCoding.ITK),
        11: address(patient),
        13: reps(*phones),
        14: comp(work.number, work.use, work.equipment) if work else "",
        15: patient.language,
        16: patient.marital,
        17: patient.religion,
        22: patient.ethnic,
        32: reps(patient.nhs_status, *patient.reliability),
    }
    if patient.mother_mrn:
        fields[21] = comp(patient.mother_mrn, None, None, trust.mrn_issuer, "MR")
    return fields


def pid(trust: TrustSettings, patient: Patient) -> str:
    return line("PID", pid_fields(trust, patient))


def pd1(patient: Patient) -> str:
    """PD1-3 practice (ODS code in XON-3) and PD1-4 registered GP (ref §5.4)."""
    gp = patient.gp
    return line(
        "PD1",
        {
            3: comp(patient.practice.name or None, None, patient.practice.code),
            4: comp(gp.code, gp.family or None, gp.given or None, None, None, gp.title or None),
        },
    )


def nk1(trust: TrustSettings, patient: Patient) -> str | None:
    """NK1 with the PDS relationship code (ref §5.5), or ``None`` when there is no contact."""
    kin = patient.next_of_kin
    if kin is None:
        return None
    return line(
        "NK1",
        {
            1: "1",
            2: comp(kin.family, kin.given, None, None, kin.title, None, "L"),
            3: comp(kin.relationship, describe(RELATIONSHIP, kin.relationship) or None),
            4: address(patient) if kin.same_address else "",
            5: comp(kin.phone, "PRN", "CP") if kin.phone else "",
        },
    )


def pv1_fields(trust: TrustSettings, visit: Visit) -> dict[int, str]:
    """PV1 by field number: class, location, method, doctors, specialty, visit, dates."""
    consultant = xcn(visit.consultant)
    fields = {
        1: "1",
        2: visit.patient_class,
        3: pl(trust, visit.location),
        4: visit.admission_method or "",
        6: pl(trust, visit.prior_location) if visit.prior_location else "",
        7: consultant,
        8: xcn(visit.referring) if visit.referring else "",
        9: consultant,
        10: visit.specialty,
        14: visit.admission_source or "",
        17: consultant if visit.patient_class == "I" else "",
        19: visit_id(trust, visit.number),
        36: visit.disposal or "",
        37: visit.destination or "",
        44: minute(visit.admitted_at) if visit.admitted_at else "",
        45: minute(visit.discharged_at) if visit.discharged_at else "",
    }
    return fields


def pv1(trust: TrustSettings, visit: Visit) -> str:
    return line("PV1", pv1_fields(trust, visit))


def pv2(visit: Visit) -> str | None:
    """PV2-3 admit reason, PV2-8/9 expected admit/discharge, PV2-38 mode of arrival."""
    fields = {
        3: comp(None, visit.reason) if visit.reason else "",
        8: minute(visit.expected_admit) if visit.expected_admit else "",
        9: minute(visit.expected_discharge) if visit.expected_discharge else "",
        38: visit.arrival_mode or "",
    }
    return line("PV2", fields) if any(fields.values()) else None


def zu1_fields(visit: Visit, *, ready_for_discharge: bool, ready_with_time: bool) -> dict[int, str]:
    """ZU1 episode data (ref §6.1): decision, intent, coding, episode dates, specialty, OSV,
    and the medically fit indicator (ZU1-22) with the ready-for-discharge date (ZU1-24)."""
    ready = ""
    if ready_for_discharge and visit.medically_fit and visit.ready_at is not None:
        ready = minute(visit.ready_at) if ready_with_time else day(visit.ready_at)
    return {
        1: minute(visit.decided_at) if visit.decided_at else "",
        2: visit.intended_management,
        3: "I",
        4: minute(visit.admitted_at) if visit.admitted_at else "",
        5: minute(visit.discharged_at) if visit.discharged_at else "",
        6: visit.specialty,
        10: "8",  # not an overseas visitor
        22: "Y" if visit.medically_fit else "N",
        24: ready,
    }


def zu8(patient: Patient) -> str | None:
    """ZU8 miscellaneous demographics (ref §6.8), for the patients who have any recorded."""
    if not patient.misc:
        return None
    return line("ZU8", dict(enumerate(patient.misc, start=1)))


def mrg(trust: TrustSettings, mrn: str, nhs_number: str | None) -> str:
    """MRG-1: the non-surviving identifiers, coupled to PID-3 by type and authority (ref §5.8)."""
    return line("MRG", {1: identifiers(trust, mrn, nhs_number)})
