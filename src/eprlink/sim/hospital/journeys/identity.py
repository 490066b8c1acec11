"""Patient identity: registration (A28), updates with omissions and nulls, merges (A40)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from eprlink.sim.hospital import segments
from eprlink.sim.hospital.er7 import NULL
from eprlink.sim.hospital.fixtures import GP_PRACTICES
from eprlink.sim.hospital.journeys.common import adt, lag
from eprlink.sim.hospital.patients import Patient, Telecom, landline, random_address
from eprlink.sim.hospital.settings import Feed
from eprlink.sim.hospital.visits import Visit
from eprlink.sim.hospital.world import Draft, Plan, World

__all__ = [
    "CHANGES",
    "apply_change",
    "candidate",
    "plan_merge",
    "plan_registration",
    "plan_update",
]

CHANGES = ("phones_removed", "address", "name", "gp", "nhs_traced")


def apply_change(
    world: World, rng: random.Random, patient: Patient, change: str
) -> tuple[Patient, dict[int, str], bool]:
    """The patient after ``change``, the PID fields that say so, and whether PD1 goes too.

    Only PID-1, the identifiers, the name and the changed fields are sent: an omitted field
    means "no change" (ref §4.1). A deleted value is sent as ``""``; repeating fields are
    snapshots, so a changed phone list is sent whole.
    """
    trust = world.trust
    fields = segments.pid_fields(trust, patient)
    always = (1, 3, 5, *trust.update_fields)
    sent = {key: fields[key] for key in always if fields.get(key)}
    with_pd1 = False
    if change == "phones_removed":
        if patient.phones or patient.email:
            sent[13] = NULL
        if patient.work_phone:
            sent[14] = NULL
        patient = replace(patient, phones=(), work_phone=None, email=None)
    elif change == "address":
        mobiles = tuple(p for p in patient.phones if p.equipment == "CP")
        patient = replace(
            patient,
            address=random_address(rng),
            phones=(Telecom(landline(rng), "PRN", "PH"), *mobiles),
        )
        fields = segments.pid_fields(trust, patient)
        sent[11] = fields[11]
        sent[13] = fields[13]
    elif change == "name":
        family = rng.choice(("HARGREAVES", "OKONJO", "FAIRBAIRN", "LINDLEY", "MALIK", "ROWE"))
        title = "MRS" if patient.title in ("MISS", "MS", "MRS") else patient.title
        patient = replace(patient, family=family, title=title, marital="M")
        fields = segments.pid_fields(trust, patient)
        sent[5] = fields[5]
        sent[16] = fields[16]
    elif change == "gp":
        practice = rng.choice([p for p in GP_PRACTICES if p.code != patient.practice.code])
        patient = replace(patient, practice=practice, gp=rng.choice(practice.gps))
        with_pd1 = True
    elif change == "nhs_traced":
        number = patient.nhs_number or world.patients.nhs_number(rng)
        patient = replace(patient, nhs_number=number, nhs_status="NSTS01")
        fields = segments.pid_fields(trust, patient)
        sent[3] = fields[3]
        sent[32] = fields[32]
    else:
        raise ValueError(f"unknown change {change!r}: use one of {CHANGES}")
    return patient, sent, with_pd1


def candidate(world: World, rng: random.Random, at: datetime, change: str) -> Patient:
    """A patient for whom ``change`` means something: an untraced number to trace, a phone
    to remove."""
    patient = world.new_patient(rng, at.date())
    if change == "nhs_traced" and patient.nhs_status in ("NSTS01", "01"):
        patient = replace(patient, nhs_status="NSTS03")
    if change == "phones_removed" and not patient.phones:
        patient = replace(patient, phones=(Telecom(landline(rng), "PRN", "PH"),))
    return patient


def plan_update(
    world: World,
    rng: random.Random,
    at: datetime,
    patient: Patient,
    *,
    change: str,
    visit: Visit | None = None,
) -> Plan:
    """A31 (person level, PV1-2 N) or, with a current visit, A08, carrying one change."""
    updated, fields, with_pd1 = apply_change(world, rng, patient, change)
    operator = world.operator(rng)
    trigger = "A31" if visit is None else "A08"
    draft = adt(
        world,
        trigger,
        occurred=at,
        recorded=lag(rng, at, 0, 3),
        operator=operator,
        patient=updated,
        visit=visit,
        zu1=False,
        pid_fields=fields,
        full=False,
    )
    if with_pd1:
        draft = _with_pd1(draft, updated)
    return Plan(f"update-{change}", updated, (draft,))


def _with_pd1(draft: Draft, patient: Patient) -> Draft:
    """The same update with the new PD1 after PID (the GP changed; nothing else did)."""
    inner = draft.body

    def body() -> list[str]:
        lines = list(inner())
        return [*lines[:2], segments.pd1(patient), *lines[2:]]

    return replace(draft, body=body)


def plan_registration(
    world: World, rng: random.Random, at: datetime, patient: Patient | None = None
) -> Plan:
    """A28: a new person on the MPI, fully populated, PV1-2 N."""
    if patient is None:
        patient = world.new_patient(rng, at.date())
    draft = adt(
        world, "A28", occurred=at, recorded=lag(rng, at, 0, 2), operator=world.operator(rng),
        patient=patient, visit=None, zu1=False,
    )  # fmt: skip
    return Plan("registration", patient, (draft,))


def plan_merge(
    world: World, rng: random.Random, at: datetime, patient: Patient | None = None
) -> Plan:
    """A duplicate registered without an NHS number (A28), then merged into the surviving
    record (A40: PID-3 survivor, MRG-1 the duplicate's identifiers), then the survivor's full
    demographics (A31) — A40 itself must not change data (ref §7.2)."""
    trust = world.trust
    if patient is None:
        patient = world.new_patient(rng, at.date())
    # Registered again without a trace; where every record must carry an NHS number, the
    # duplicate has the number but has not been traced.
    keep_number = trust.patients_without_nhs_number == 0 and patient.nhs_number is not None
    duplicate = replace(
        patient,
        mrn=world.patients.mrn(),
        nhs_number=patient.nhs_number if keep_number else None,
        nhs_status="NSTS02" if keep_number else "NSTS03",
        phones=patient.phones[:1],
        email=None,
        next_of_kin=None,
    )
    operator = world.operator(rng)
    created = at - timedelta(hours=rng.uniform(2, 72))
    drafts = [
        adt(world, "A28", occurred=created, recorded=lag(rng, created, 0, 2),
            operator=operator, patient=duplicate, visit=None, zu1=False),
    ]  # fmt: skip
    merged = lag(rng, at, 0, 2)

    def merge_body() -> list[str]:
        return [
            segments.evn(merged, at, operator),
            segments.pid(trust, patient),
            segments.pd1(patient),
            segments.mrg(trust, duplicate.mrn, duplicate.nhs_number),
        ]

    drafts.append(Draft(merged, Feed.ADT, segments.adt_type("A40"), merge_body))
    after = merged + timedelta(minutes=rng.randint(1, 5))
    drafts.append(
        adt(world, "A31", occurred=after, recorded=after, operator=operator, patient=patient,
            visit=None, zu1=False)
    )  # fmt: skip
    return Plan("merge", patient, tuple(drafts))
