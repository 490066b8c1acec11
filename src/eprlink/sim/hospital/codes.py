"""NHS code tables the generator draws from, with the share of each code in generated data."""

# Codes come from hl7-uk-reference.md (§5–§9) and nhs-test-data.md (§4); the weights are
# invented to look plausible, not measured. Each table is ``((code, text, weight), …)``.

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = [
    "ADMISSION_METHOD",
    "APPOINTMENT_OUTCOME",
    "ATTENDANCE",
    "DISCHARGE_DESTINATION",
    "DISCHARGE_METHOD",
    "ED_DISPOSAL",
    "ED_PRESENTATIONS",
    "ETHNIC_CATEGORY",
    "INPATIENT_DISPOSAL",
    "LANGUAGE",
    "MARITAL_STATUS",
    "MODE_OF_ARRIVAL",
    "NHS_NUMBER_STATUS",
    "RELATIONSHIP",
    "RELIGION",
    "RTT_STATUS",
    "SOURCE_OF_ADMISSION",
    "Code",
    "describe",
    "pick",
]

Code = tuple[str, str, float]


def pick(rng: random.Random, table: Sequence[Code]) -> str:
    """One code drawn by weight (the generator's only way of choosing from a table)."""
    return rng.choices([c for c, _, _ in table], weights=[w for _, _, w in table])[0]


def describe(table: Sequence[Code], code: str) -> str:
    """The display text of a code, for the human-readable second component of a CE."""
    for value, text, _ in table:
        if value == code:
            return text
    return ""


# ref §9.6; nhs-test-data §2: NSTS01 for most, some bare "01", for patients with a number.
# NSTS07 (no number) is the Trust setting's share; NSTS08 only for babies under six weeks.
NHS_NUMBER_STATUS: tuple[Code, ...] = (
    ("NSTS01", "Number present and verified", 87),
    ("01", "Number present and verified (bare code)", 4),
    ("NSTS02", "Number present but not traced", 5),
    ("NSTS03", "Trace required", 4),
)

# ref §9.5 (PID-22); shares loosely follow England's census mix.
ETHNIC_CATEGORY: tuple[Code, ...] = (
    ("A", "White - British", 72),
    ("B", "White - Irish", 1),
    ("C", "White - Any other White background", 6),
    ("D", "Mixed - White and Black Caribbean", 1),
    ("E", "Mixed - White and Black African", 0.5),
    ("F", "Mixed - White and Asian", 0.8),
    ("G", "Mixed - Any other mixed background", 0.7),
    ("H", "Asian or Asian British - Indian", 3),
    ("J", "Asian or Asian British - Pakistani", 2.7),
    ("K", "Asian or Asian British - Bangladeshi", 1.1),
    ("L", "Asian or Asian British - Any other Asian background", 1.6),
    ("M", "Black or Black British - Caribbean", 1),
    ("N", "Black or Black British - African", 2.5),
    ("P", "Black or Black British - Any other Black background", 0.5),
    ("R", "Other Ethnic Groups - Chinese", 0.7),
    ("S", "Other Ethnic Groups - Any other ethnic group", 1.6),
    ("Z", "Not stated", 2.5),
    ("99", "Not known", 0.8),
)

# ref §9.8 / nhs-test-data §4 (PID-17, ITK table 0006).
RELIGION: tuple[Code, ...] = (
    ("C22", "Church of England", 22),
    ("C1", "Christian", 14),
    ("C67", "Roman Catholic", 8),
    ("C49", "Methodist", 2),
    ("C25", "Church of Scotland", 1),
    ("C21", "Church in Wales", 1),
    ("G1", "Muslim", 6),
    ("D1", "Hindu", 2),
    ("I1", "Sikh", 1),
    ("F1", "Jewish", 0.5),
    ("B1", "Buddhist", 0.5),
    ("L1", "Atheist", 3),
    ("L2", "Not religious", 20),
    ("K1", "Agnostic", 1),
    ("K20", "Religion (other not listed)", 1),
    ("M1", "Religion not given - patient refused", 5),
    ("N1", "Patient religion unknown", 12),
)

# ref §9.8 (PID-16).
MARITAL_STATUS: tuple[Code, ...] = (
    ("S", "Single", 30),
    ("M", "Married/civil partner", 40),
    ("D", "Divorced/civil partnership dissolved", 8),
    ("W", "Widowed/surviving civil partner", 8),
    ("P", "Separated", 2),
    ("N", "Not disclosed", 4),
    ("9", "Not known", 8),
)

# ref §5.3 / nhs-test-data §4 (PID-15): ISO 639-1 plus the UK extras q1–q5.
LANGUAGE: tuple[Code, ...] = (
    ("EN", "English", 92),
    ("PL", "Polish", 1.5),
    ("PA", "Panjabi", 1),
    ("UR", "Urdu", 1),
    ("BN", "Bengali", 0.8),
    ("RO", "Romanian", 0.8),
    ("PT", "Portuguese", 0.6),
    ("AR", "Arabic", 0.6),
    ("ZH", "Chinese", 0.5),
    ("q4", "British Sign Language", 0.3),
)

# ref §5.5 (NK1-3, PDS relationship codes).
RELATIONSHIP: tuple[Code, ...] = (
    ("1", "Spouse", 0),
    ("2", "Partner", 0),
    ("3", "Parent", 0),
    ("4", "Next of kin", 6),
    ("9", "Child", 0),
    ("12", "Mother", 0),
    ("13", "Father", 0),
    ("14", "Sister", 3),
    ("15", "Brother", 3),
    ("16", "Relative", 3),
    ("20", "Carer", 1),
    ("98", "Not known", 0.5),
)

# ref §9.1 (PV1-4).
ADMISSION_METHOD: tuple[Code, ...] = (
    ("11", "Elective - from waiting list", 50),
    ("12", "Elective - booked", 35),
    ("13", "Elective - planned", 15),
    ("21", "Emergency - via the Emergency Department of this provider", 0),
)

# ref §9.2 (PV1-14).
SOURCE_OF_ADMISSION: tuple[Code, ...] = (
    ("19", "Usual place of residence", 93),
    ("29", "Temporary place of residence", 3),
    ("54", "NHS run care home", 1),
    ("65", "Local authority residential accommodation", 1),
    ("85", "Non-NHS run care home", 2),
)

# ref §9.4 (PV1-37 in ITK); 19 dominates.
DISCHARGE_DESTINATION: tuple[Code, ...] = (
    ("19", "Usual place of residence", 86),
    ("29", "Temporary place of residence", 3),
    ("51", "NHS other hospital provider - ward for general patients", 3),
    ("54", "NHS run care home", 2),
    ("65", "Local authority residential accommodation", 2),
    ("85", "Non-NHS run care home", 4),
)

# ref §9.3: the NHS discharge method, used when PV1-36 is configured to carry it.
DISCHARGE_METHOD: tuple[Code, ...] = (
    ("1", "Discharged on clinical advice or with clinical consent", 97),
    ("6", "Self-discharge", 2),
    ("7", "Discharged by a relative or advocate", 1),
)

# ref §5.6 ITK table 0112 (PV1-36): what an ED attendance ends in when not admitted.
ED_DISPOSAL: tuple[Code, ...] = (
    ("2", "Discharged - GP follow-up", 35),
    ("3", "Discharged - no follow-up", 40),
    ("4", "Referred to A&E clinic", 3),
    ("6", "Referred to outpatient clinic", 8),
    ("7", "Transferred to other health care provider", 2),
    ("11", "Referred to other health care professional", 4),
    ("12", "Left department before being treated", 5),
    ("13", "Left department having refused treatment", 2),
    ("14", "Other", 1),
)

# ITK table 0112 for an inpatient discharge (the ITK sample uses 3).
INPATIENT_DISPOSAL: tuple[Code, ...] = (
    ("3", "Discharged - no follow-up", 55),
    ("2", "Discharged - GP follow-up", 30),
    ("6", "Referred to outpatient clinic", 15),
)

# ref §5.7 (PV2-38).
MODE_OF_ARRIVAL: tuple[Code, ...] = (
    ("A", "Ambulance", 35),
    ("C", "Car", 45),
    ("F", "Foot", 8),
    ("P", "Public transport", 8),
    ("O", "Other", 3),
    ("H", "Helicopter", 0.3),
)

# ED presenting complaints (PV2-3, local text) with the specialty an admission would go to.
ED_PRESENTATIONS: tuple[tuple[str, str, float], ...] = (
    ("Chest pain", "320", 12),
    ("Shortness of breath", "340", 12),
    ("Abdominal pain", "100", 12),
    ("Fall", "430", 10),
    ("Collapse", "300", 6),
    ("Limb injury", "110", 12),
    ("Head injury", "300", 5),
    ("Confusion", "430", 5),
    ("Fever", "300", 6),
    ("Back pain", "300", 5),
    ("Headache", "300", 4),
    ("Laceration", "110", 6),
    ("Palpitations", "320", 3),
    ("Vomiting", "301", 2),
)

# ref §6.3 ZU007 attended or did not attend, used in SCH-6 on attendance messages.
ATTENDANCE: tuple[Code, ...] = (
    ("5", "Attended on time or, if late, before the relevant care professional was ready", 90),
    ("6", "Arrived late, after the relevant care professional was ready, but was seen", 10),
    ("7", "Arrived late and could not be seen", 0),
    ("2", "Appointment cancelled by, or on behalf of, the patient", 0),
    ("3", "Did not attend - no advance warning given", 0),
    ("4", "Appointment cancelled or postponed by the health care provider", 0),
)

# ref §6.3 ZU022 outcome of attendance.
APPOINTMENT_OUTCOME: tuple[Code, ...] = (
    ("1", "Discharged from consultant's care (last attendance)", 35),
    ("2", "Another appointment given", 45),
    ("3", "Appointment to be made at a later date", 20),
)

# ref §9.9 (the invented ZRT-3); only 10 and 33 are confirmed, the rest [UNVERIFIED].
RTT_STATUS: tuple[Code, ...] = (
    ("10", "First activity", 0),
    ("20", "Subsequent activity during an RTT period", 0),
    ("30", "Start of first definitive treatment", 0),
    ("33", "Did not attend the first appointment", 0),
    ("90", "Activity after first definitive treatment", 0),
)
