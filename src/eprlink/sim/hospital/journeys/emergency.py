"""Emergency care: an ED attendance (A04, PV1-2 E), home again (A03) or admitted (A01 …)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from eprlink.sim.hospital import codes
from eprlink.sim.hospital.fixtures import ASSESSMENT_WARD, CONSULTANTS
from eprlink.sim.hospital.journeys.common import adt, lab_order, lag, pick_panels
from eprlink.sim.hospital.journeys.inpatient import StayOptions, plan_stay
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.visits import Visit, bed_in, consultant_for
from eprlink.sim.hospital.world import Draft, Plan, World

__all__ = ["EmergencyOptions", "emergency_stay", "plan_emergency"]

_ED_CONSULTANT = next(c for c in CONSULTANTS if c.specialty == "180")


@dataclass(frozen=True, slots=True)
class EmergencyOptions:
    """Force the shape of an ED journey; ``None`` leaves each part to chance."""

    admit: bool | None = None
    cancel_admission: bool | None = None  # A01 then A11: admitted in error
    bloods: bool | None = None
    stay: StayOptions = field(default_factory=StayOptions)


def emergency_stay(rng: random.Random) -> timedelta:
    """Length of an emergency stay: median 3 days, mean about 4.5, capped at 21 days, which
    with the default rates keeps roughly three quarters of the beds occupied."""
    days = min(rng.lognormvariate(1.1, 0.9), 21.0)
    return timedelta(days=days)


def plan_emergency(
    world: World,
    rng: random.Random,
    arrival: datetime,
    *,
    patient: Patient | None = None,
    options: EmergencyOptions = EmergencyOptions(),
) -> Plan:
    """ED arrival (A04) → departure (A03 with the ITK 0112 disposal in PV1-36) or admission:
    A03 disposal 1 (if the Trust closes the attendance), A01 (method 21, source 19, PV1-44),
    then the stay. Blood tests go out as orders with their results."""
    trust = world.trust
    admit = options.admit
    if admit is None:
        admit = rng.random() < 0.3
    if patient is None:
        patient = world.new_patient(rng, arrival.date(), inpatient=admit)
    presentation = rng.choices(
        codes.ED_PRESENTATIONS, weights=[w for _, _, w in codes.ED_PRESENTATIONS]
    )[0]
    complaint, specialty = presentation[0], presentation[1]
    operator = world.operator(rng)
    ed = Visit(
        number=world.visit_number(),
        patient_class="E",
        location=bed_in(rng, "ED"),
        consultant=_ED_CONSULTANT,
        specialty="180",
        admitted_at=arrival,
        arrival_mode=codes.pick(rng, codes.MODE_OF_ARRIVAL),
        reason=complaint,
    )
    registered = lag(rng, arrival, 2, 10)
    drafts: list[Draft] = [
        adt(
            world,
            "A04",
            occurred=arrival,
            recorded=registered,
            operator=operator,
            patient=patient,
            visit=ed,
            zu1=False,
        )
    ]
    bloods = options.bloods
    if bloods is None:
        bloods = rng.random() < (0.9 if admit else 0.4)
    if bloods:
        drafts += lab_order(
            world,
            rng,
            patient,
            ed,
            ordered_at=registered + timedelta(minutes=rng.randint(15, 60)),
            orderer=_ED_CONSULTANT,
            panels=pick_panels(rng, acute=True),
        )
    if not admit:
        left = arrival + timedelta(minutes=rng.randint(60, 300))
        done = replace(ed, discharged_at=left, disposal=codes.pick(rng, codes.ED_DISPOSAL))
        drafts.append(
            adt(world, "A03", occurred=left, recorded=lag(rng, left), operator=operator,
                patient=patient, visit=done, zu1=False)
        )  # fmt: skip
        return Plan("ed-attendance", patient, tuple(sorted(drafts, key=lambda d: d.at)))

    decided = arrival + timedelta(minutes=rng.randint(90, 300))
    left = decided + timedelta(minutes=rng.randint(20, 200))
    last = registered
    if trust.close_ed_attendance_on_admission:
        done = replace(ed, discharged_at=left, disposal="1")  # ITK 0112: admitted
        last = max(lag(rng, left), last + timedelta(seconds=30))
        drafts.append(
            adt(world, "A03", occurred=left, recorded=last, operator=operator,
                patient=patient, visit=done, zu1=False)
        )  # fmt: skip
    ward = ASSESSMENT_WARD.get(specialty, "AMU1")
    spell = Visit(
        number=world.visit_number(),
        patient_class="I",
        location=bed_in(rng, ward),
        consultant=consultant_for(rng, specialty),
        specialty=specialty,
        admission_method="21",  # emergency via this provider's ED (ref §9.1)
        admission_source=codes.pick(rng, codes.SOURCE_OF_ADMISSION),
        admitted_at=left + timedelta(minutes=rng.randint(1, 5)),
        decided_at=decided,
        arrival_mode=ed.arrival_mode,
        reason=complaint,
    )
    assert spell.admitted_at is not None
    admitted = spell.admitted_at
    last = max(lag(rng, admitted), last + timedelta(seconds=30))
    drafts.append(
        adt(world, "A01", occurred=admitted, recorded=last, operator=operator,
            patient=patient, visit=spell)
    )  # fmt: skip
    cancel = options.cancel_admission
    if cancel is None:
        cancel = rng.random() < 0.01
    if cancel:
        undo = last + timedelta(minutes=rng.randint(10, 90))
        drafts.append(
            adt(world, "A11", occurred=undo, recorded=lag(rng, undo), operator=operator,
                patient=patient, visit=spell)
        )  # fmt: skip
        return Plan("emergency-admission", patient, tuple(sorted(drafts, key=lambda d: d.at)))
    drafts += plan_stay(
        world,
        rng,
        patient,
        spell,
        stay=emergency_stay(rng),
        options=options.stay,
        emergency=True,
        not_before=last,
    )
    return Plan("emergency-admission", patient, tuple(sorted(drafts, key=lambda d: d.at)))
