"""Outpatients: referral (REF^I12), booking (SIU^S12), reschedule (S13), outcome (S14/S26/S15)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from eprlink.sim.hospital import codes, segments
from eprlink.sim.hospital.er7 import comp, line, minute
from eprlink.sim.hospital.fixtures import Clinician
from eprlink.sim.hospital.journeys.common import adt, at_time, lab_order, lag
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.settings import Feed
from eprlink.sim.hospital.visits import Visit, clinic_for, clinic_location, consultant_for
from eprlink.sim.hospital.world import Draft, Plan, World

__all__ = ["OUTCOMES", "Appointment", "OutpatientOptions", "plan_outpatient"]

OUTCOMES = ("attended", "dna", "cancelled")


@dataclass(frozen=True, slots=True)
class OutpatientOptions:
    """Force the shape of an outpatient journey; ``None`` leaves each part to chance."""

    outcome: str | None = None  # attended, dna or cancelled
    rescheduled: bool | None = None
    register: bool | None = None  # a new patient: A28 before the referral
    bloods: bool | None = None
    cancel_on_the_day: bool | None = None


@dataclass(frozen=True, slots=True)
class Appointment:
    """One booked slot: ids, clinic visit, start, length and status (SCH-25, table 0278)."""

    placer: str
    filler: str
    visit: Visit
    start: datetime
    minutes: int
    status: str
    first: bool


def _sch(world: World, appointment: Appointment, reason: str, operator: Clinician) -> str:
    ods = world.trust.ods_code
    end = appointment.start + timedelta(minutes=appointment.minutes)
    kind = "FOLLOWUP" if not appointment.first else "ROUTINE"
    return line(
        "SCH",
        {
            1: comp(appointment.placer, ods),
            2: comp(appointment.filler, ods),
            6: reason,
            7: comp(kind, kind.title(), "HL70276"),
            8: comp("Normal", "Normal", "HL70277"),
            9: str(appointment.minutes),
            10: comp("min", "minutes", "ISO+"),
            11: comp(None, None, None, minute(appointment.start), minute(end)),
            16: segments.xcn(operator),
            20: segments.xcn(operator),
            25: comp(appointment.status, appointment.status, "HL70278"),
        },
    )


def _resources(world: World, appointment: Appointment, action: str) -> list[str]:
    trust = world.trust
    start, length = minute(appointment.start), str(appointment.minutes)
    status = comp(appointment.status, appointment.status, "HL70278")
    return [
        line("RGS", {1: "1", 2: action}),
        line(
            "AIL",
            {
                1: "1",
                2: action,
                3: segments.pl(trust, appointment.visit.location),
                4: comp("C", "Clinic", "HL70305"),
                6: start,
                9: length,
                10: comp("min", "minutes", "ISO+"),
                12: status,
            },
        ),
        line(
            "AIP",
            {
                1: "1",
                2: action,
                3: segments.xcn(appointment.visit.consultant),
                4: comp("CONS", "Consultant", "L"),
                6: start,
                9: length,
                10: comp("min", "minutes", "ISO+"),
                12: status,
            },
        ),
    ]


def _siu(
    world: World,
    trigger: str,
    at: datetime,
    patient: Patient,
    appointment: Appointment,
    *,
    reason: str,
    operator: Clinician,
    action: str,
    outcome: str | None = None,
) -> Draft:
    trust = world.trust

    def body() -> list[str]:
        lines = [
            _sch(world, appointment, reason, operator),
            segments.pid(trust, patient),
            segments.pd1(patient),
            segments.pv1(trust, appointment.visit),
        ]
        if outcome:
            text = codes.describe(codes.APPOINTMENT_OUTCOME, outcome)
            value = comp(outcome, text, "ZU022")
            code = comp("ZU022", "Outcome of attendance", "L")
            lines.append(line("OBX", {1: "1", 2: "CE", 3: code, 5: value, 11: "F"}))
        return lines + _resources(world, appointment, action)

    return Draft(at, Feed.ADT, f"SIU^{trigger}^SIU_S12", body)


def _referral(
    world: World, at: datetime, patient: Patient, *, referral: str, visit: Visit, urgent: bool
) -> Draft:
    trust = world.trust
    gp, practice = patient.gp, patient.practice

    def body() -> list[str]:
        priority = comp("A", "ASAP", "HL70280") if urgent else comp("R", "Routine", "HL70280")
        consultant = visit.consultant
        lines = [
            line(
                "RF1",
                {
                    1: comp("P", "Pending", "HL70283"),
                    2: priority,
                    3: comp("Med", "Medical", "HL70281"),
                    4: comp("AM", "Assume management", "HL70282"),
                    5: comp("O", "Outpatient", "HL70284"),
                    6: comp(referral, trust.ods_code),
                    7: minute(at),
                    8: minute(at + timedelta(days=180)),
                    9: minute(at),
                    10: comp("O", "Provider ordered", "HL70336"),
                },
            ),
            line(
                "PRD",
                {
                    1: comp("RP", "Referring provider", "HL70286"),
                    2: comp(gp.family or "UNKNOWN", gp.given or None, None, None, gp.title or None),
                    4: comp(None, None, None, practice.code),
                    7: comp(gp.code, "GMP"),
                },
            ),
            line(
                "PRD",
                {
                    1: comp("RT", "Referred to provider", "HL70286"),
                    2: comp(consultant.family, consultant.given, None, None, consultant.title),
                    4: segments.pl(trust, visit.location),
                    7: comp(consultant.code, "GMC"),
                },
            ),
            segments.pid(trust, patient),
        ]
        kin = segments.nk1(trust, patient)
        if kin:
            lines.append(kin)
        gp_visit = {1: "1", 2: "O", 8: segments.xcn(gp) if gp.family else "", 10: visit.specialty}
        lines.append(line("PV1", gp_visit))
        return lines

    return Draft(at, Feed.ADT, "REF^I12^REF_I12", body)


def plan_outpatient(
    world: World,
    rng: random.Random,
    *,
    referred_at: datetime,
    booked_at: datetime,
    appointment_at: datetime,
    patient: Patient | None = None,
    options: OutpatientOptions = OutpatientOptions(),
) -> Plan:
    """Referral → booking → (reschedule) → attendance outcome, each on the ADT feed."""
    trust = world.trust
    register = options.register if options.register is not None else rng.random() < 0.5
    if patient is None:
        patient = world.new_patient(rng, referred_at.date())
    operator = world.operator(rng)
    clinic = clinic_for(rng)
    consultant = consultant_for(rng, clinic.specialty)
    referral = f"{trust.ods_code}R{world.counters.next_referral():09d}"
    visit = Visit(
        number=world.visit_number(),
        patient_class="O",
        location=clinic_location(clinic),
        consultant=consultant,
        specialty=clinic.specialty,
        referring=patient.gp if patient.gp.family else None,
    )
    drafts: list[Draft] = []
    if register:
        made = referred_at - timedelta(minutes=rng.randint(5, 60))
        drafts.append(
            adt(world, "A28", occurred=made, recorded=lag(rng, made, 0, 2), operator=operator,
                patient=patient, visit=None, zu1=False)
        )  # fmt: skip
    urgent = rng.random() < 0.2
    drafts.append(
        _referral(world, referred_at, patient, referral=referral, visit=visit, urgent=urgent)
    )
    appointment = Appointment(
        placer=referral,
        filler=f"{trust.ods_code}A{world.counters.next_appointment():09d}",
        visit=visit,
        start=appointment_at,
        minutes=rng.choice((15, 20, 20, 30, 30, 45)),
        status="Booked",
        first=rng.random() < 0.4,
    )
    booked = comp("BOOKED", "Appointment booked", "L")
    drafts.append(
        _siu(world, "S12", booked_at, patient, appointment, reason=booked, operator=operator,
             action="A")
    )  # fmt: skip
    rescheduled = options.rescheduled
    if rescheduled is None:
        rescheduled = rng.random() < 0.1
    if rescheduled:
        moved_at = booked_at + (appointment_at - booked_at) * rng.uniform(0.1, 0.6)
        moved_at = at_time(moved_at, rng.uniform(9, 17))  # the booking office is open 9–5
        moved_at = max(moved_at, booked_at + timedelta(minutes=10))
        shift = timedelta(days=rng.choice((-7, 7, 14)))
        if appointment_at + shift <= moved_at + timedelta(days=1):
            shift = timedelta(days=7)
        appointment = replace(appointment, start=appointment_at + shift)
        reason = comp("PATREQ", "Rescheduled at the patient's request", "L")
        drafts.append(
            _siu(world, "S13", moved_at, patient, appointment, reason=reason, operator=operator,
                 action="U")
        )  # fmt: skip
    outcome = options.outcome or rng.choices(OUTCOMES, weights=(85, 7, 8))[0]
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: use one of {OUTCOMES}")
    start = appointment.start
    end = start + timedelta(minutes=appointment.minutes)
    if outcome == "cancelled":
        by_patient = rng.random() < 0.6
        code = "2" if by_patient else "4"
        same_day = options.cancel_on_the_day
        if same_day is None:
            same_day = rng.random() < 0.4
        lead = timedelta(hours=rng.uniform(1, 5)) if same_day else timedelta(days=rng.uniform(1, 9))
        when = max(start - lead, drafts[-1].at + timedelta(minutes=5))
        reason = comp(code, codes.describe(codes.ATTENDANCE, code), "ZU007")
        cancelled = replace(appointment, status="Cancelled")
        drafts.append(
            _siu(world, "S15", when, patient, cancelled, reason=reason, operator=operator,
                 action="D")
        )  # fmt: skip
    elif outcome == "dna":
        when = end + timedelta(minutes=rng.randint(20, 120))
        reason = comp("3", codes.describe(codes.ATTENDANCE, "3"), "ZU007")
        missed = replace(appointment, status="Noshow")
        drafts.append(
            _siu(world, "S26", when, patient, missed, reason=reason, operator=operator,
                 action="U")
        )  # fmt: skip
    else:
        when = end + timedelta(minutes=rng.randint(5, 60))
        code = codes.pick(rng, codes.ATTENDANCE)
        reason = comp(code, codes.describe(codes.ATTENDANCE, code), "ZU007")
        seen = replace(appointment, status="Complete")
        drafts.append(
            _siu(world, "S14", when, patient, seen, reason=reason, operator=operator,
                 action="U", outcome=codes.pick(rng, codes.APPOINTMENT_OUTCOME))
        )  # fmt: skip
        bloods = options.bloods
        if bloods is None:
            bloods = rng.random() < (0.6 if clinic.code == "DIABOP1" else 0.12)
        if bloods:
            panels = ("HBA1C", "UE") if clinic.code == "DIABOP1" else ("FBC", "UE")
            drafts += lab_order(
                world, rng, patient, visit, ordered_at=end, orderer=consultant, panels=panels
            )
    return Plan("outpatient-referral", patient, tuple(sorted(drafts, key=lambda d: d.at)))
