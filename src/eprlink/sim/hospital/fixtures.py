"""FICTIONAL organisation, location and staff codes, kept in one module so they can be swapped."""

# They follow the ODS and national-code formats of nhs-test-data.md §3 but are invented and have
# not been reconciled against the live ODS register: never use them near national services. The
# codes named in that guide (wards, beds, clinics, practices Y99991–3, GPs G8000011–33, consultants
# C9100001–3) are used as given; the extra wards, clinics, GPs and consultants extend the same
# patterns and are equally fictional. National default codes (G9999998, V81999 …) are avoided
# except where a patient deliberately has no registered GP.

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ASSESSMENT_WARD",
    "BASE_WARDS",
    "BAY_BEDS",
    "CLINICS",
    "CONSULTANTS",
    "GP_PRACTICES",
    "LAB_STAFF",
    "NO_REGISTERED_GP",
    "OPERATORS",
    "SPECIALTIES",
    "WARDS",
    "Clinic",
    "Clinician",
    "GpPractice",
    "Ward",
]


@dataclass(frozen=True, slots=True)
class Clinician:
    """A doctor or clerk: national code (XCN-1), names and title."""

    code: str
    family: str
    given: str
    title: str = "Dr"
    specialty: str = ""


@dataclass(frozen=True, slots=True)
class GpPractice:
    """A registered GP practice (PD1-3) with its GPs (PD1-4)."""

    code: str
    name: str
    gps: tuple[Clinician, ...]


@dataclass(frozen=True, slots=True)
class Ward:
    """A ward (PL-2) on a site (PL-4, numbered from the Trust code), with its beds (PL-3)."""

    code: str
    name: str
    specialty: str
    site: int
    beds: tuple[str, ...]
    kind: str = "N"  # LOC-3 location type: N nursing unit, D department


@dataclass(frozen=True, slots=True)
class Clinic:
    """An outpatient clinic location with its specialty."""

    code: str
    name: str
    specialty: str
    site: int


BAY_BEDS: tuple[str, ...] = tuple(
    f"BAY{bay}-{bed:02d}" for bay in range(1, 5) for bed in range(1, 7)
) + tuple(f"SR{room:02d}" for room in range(1, 5))

_CUBICLES = tuple(f"MAJ{n:02d}" for n in range(1, 21)) + tuple(f"MIN{n:02d}" for n in range(1, 11))

# Treatment function / main specialty codes. 100, 180, 300 and 500 are in the reference (§5.6);
# the others are general knowledge [UNVERIFIED].
SPECIALTIES: dict[str, str] = {
    "100": "General Surgery",
    "110": "Trauma and Orthopaedics",
    "120": "ENT",
    "180": "Accident and Emergency",
    "300": "General Medicine",
    "301": "Gastroenterology",
    "307": "Diabetic Medicine",
    "320": "Cardiology",
    "340": "Respiratory Medicine",
    "430": "Geriatric Medicine",
    "500": "Obstetrics",
    "502": "Gynaecology",
}

WARDS: dict[str, Ward] = {
    w.code: w
    for w in (
        Ward("ED", "FICTIONAL Emergency Department", "180", 1, _CUBICLES, "D"),
        Ward("AMU1", "FICTIONAL Acute Medical Unit", "300", 1, BAY_BEDS),
        Ward("SAU1", "FICTIONAL Surgical Assessment Unit", "100", 1, BAY_BEDS),
        Ward("WD10", "FICTIONAL General Medicine Ward 10", "300", 1, BAY_BEDS),
        Ward("WD11", "FICTIONAL Care of the Elderly Ward 11", "430", 1, BAY_BEDS),
        Ward("WD12", "FICTIONAL Respiratory Ward 12", "340", 1, BAY_BEDS),
        Ward("CCU1", "FICTIONAL Cardiac Care Unit", "320", 1, BAY_BEDS[:12]),
        Ward("WD20", "FICTIONAL General Surgery Ward 20", "100", 1, BAY_BEDS),
        Ward("WD21", "FICTIONAL Orthopaedic Ward 21", "110", 1, BAY_BEDS),
        Ward("DSU1", "FICTIONAL Day Surgery Unit", "100", 1, BAY_BEDS[:18]),
        Ward("WD30", "FICTIONAL Community Rehabilitation Ward 30", "430", 2, BAY_BEDS),
        Ward("MAT1", "FICTIONAL Maternity Ward", "500", 3, BAY_BEDS),
    )
}

# Where an emergency admission is assessed first and which base ward then takes each specialty.
ASSESSMENT_WARD: dict[str, str] = {"100": "SAU1", "110": "SAU1"}
BASE_WARDS: dict[str, tuple[str, ...]] = {
    "100": ("WD20",),
    "110": ("WD21",),
    "300": ("WD10", "WD12"),
    "301": ("WD10",),
    "320": ("CCU1", "WD10"),
    "340": ("WD12",),
    "430": ("WD11", "WD30"),
    "502": ("WD20",),
    "120": ("WD20",),
    "307": ("WD10",),
}

CLINICS: tuple[Clinic, ...] = (
    Clinic("CARDOP1", "FICTIONAL Cardiology Clinic", "320", 1),
    Clinic("DIABOP1", "FICTIONAL Diabetes Clinic", "307", 1),
    Clinic("GSUROP1", "FICTIONAL General Surgery Clinic", "100", 1),
    Clinic("ORTHOP1", "FICTIONAL Orthopaedic Clinic", "110", 2),
    Clinic("RESPOP1", "FICTIONAL Respiratory Clinic", "340", 1),
    Clinic("ELDOP1", "FICTIONAL Elderly Care Clinic", "430", 2),
    Clinic("GYNOP1", "FICTIONAL Gynaecology Clinic", "502", 3),
    Clinic("ENTOP1", "FICTIONAL ENT Clinic", "120", 1),
)

CONSULTANTS: tuple[Clinician, ...] = (
    Clinician("C9100001", "PATEL", "ANITA", specialty="300"),
    Clinician("C9100002", "OYELARAN", "FEMI", specialty="320"),
    Clinician("C9100003", "MACKENZIE", "ISLA", specialty="340"),
    Clinician("C9100004", "BRANDT", "HELENA", specialty="430"),
    Clinician("C9100005", "OKONKWO", "CHIDI", specialty="100"),
    Clinician("C9100006", "FAIRWEATHER", "GILES", specialty="110"),
    Clinician("C9100007", "RAHMAN", "NADIA", specialty="301"),
    Clinician("C9100008", "LINDQVIST", "ERIK", specialty="307"),
    Clinician("C9100009", "ASHWORTH", "MARGARET", specialty="502"),
    Clinician("C9100010", "NAKAMURA", "KEN", specialty="120"),
    Clinician("C9100011", "DOYLE", "SIOBHAN", specialty="180"),
    Clinician("C9100012", "VERMA", "RAJIV", specialty="300"),
)

GP_PRACTICES: tuple[GpPractice, ...] = (
    GpPractice(
        "Y99991",
        "FICTIONAL ROAD SURGERY",
        (Clinician("G8000011", "OKAFOR", "DANIEL"), Clinician("G8000044", "HUGHES", "CARYS")),
    ),
    GpPractice(
        "Y99992",
        "FICTIONAL GREEN MEDICAL CENTRE",
        (Clinician("G8000022", "SINGH", "HARPREET"), Clinician("G8000055", "WALSH", "NIAMH")),
    ),
    GpPractice(
        "Y99993",
        "FICTIONAL VALLEY HEALTH CENTRE",
        (Clinician("G8000033", "ABERNETHY", "ROSS"), Clinician("G8000066", "KOWALSKA", "ANNA")),
    ),
)

# National default codes (nhs-test-data §3, [STD]): practice not known, no registered GP.
NO_REGISTERED_GP = GpPractice("V81999", "", (Clinician("G9999981", "", "", ""),))

# EVN-5 operators and SCH-16/20 booking clerks (XCN with a local user id).
OPERATORS: tuple[Clinician, ...] = (
    Clinician("OP0001", "HOLLOWAY", "JEAN", "Mrs"),
    Clinician("OP0002", "BRIGHTWELL", "SAM", "Mr"),
    Clinician("OP0003", "ADEYEMI", "GRACE", "Ms"),
    Clinician("OP0004", "CHOUDHURY", "AMIR", "Mr"),
    Clinician("OP0005", "PENROSE", "LUCY", "Miss"),
)

LAB_STAFF: tuple[Clinician, ...] = (
    Clinician("LB0001", "MARSDEN", "TOBY", "Dr"),
    Clinician("LB0002", "IBRAHIM", "SARA", "Dr"),
)
