"""Elective care from the waiting list: A05 → A14 (→ A27 → A14) → A01 (methods 11/12/13)."""

# Waiting-list messages carry PV1-2 ``W`` and ZU4 (ref §6.4, §7.3); with the waiting-list plug-in
# v2 they also carry the RTT pathway in the Trust's local segment (``ZRT``, invented) and comments
# in ZCF-2 (invented). ZU4 and the RTT segment follow the entry through to the admission.

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from eprlink.sim.hospital import codes
from eprlink.sim.hospital.er7 import comp, day, line
from eprlink.sim.hospital.fixtures import WARDS
from eprlink.sim.hospital.journeys.common import adt, at_time, lag
from eprlink.sim.hospital.journeys.inpatient import StayOptions, plan_stay
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.visits import Location, Visit, bed_in, consultant_for
from eprlink.sim.hospital.world import Draft, Plan, World

__all__ = ["ElectiveOptions", "WaitingEntry", "elective_dates", "plan_elective"]

_SPECIALTIES = (("100", "WD20", 35), ("110", "WD21", 30), ("502", "WD20", 15), ("120", "WD20", 10))
_PROCEDURES = (
    "Laparoscopic cholecystectomy",
    "Inguinal hernia repair",
    "Total knee replacement",
    "Total hip replacement",
    "Hysteroscopy",
    "Tonsillectomy",
    "Arthroscopy of knee",
)
_COMMENTS = (
    "Patient prefers a morning list.",
    "Requires an interpreter.",
    "On anticoagulants: pre-assessment to advise.",
    "Available at short notice.",
    "Carer to attend with patient.",
)


@dataclass(frozen=True, slots=True)
class ElectiveOptions:
    """Force the shape of an elective journey; ``None`` leaves each part to chance."""

    admission_method: str | None = None  # 11, 12 or 13
    day_case: bool | None = None
    tci_cancelled: bool | None = None  # the hospital cancels the first TCI: A27, new A14
    removed: bool | None = None  # taken off the list instead (A38), never admitted
    stay: StayOptions = field(default_factory=lambda: StayOptions(transfers=0))


@dataclass(frozen=True, slots=True)
class WaitingEntry:
    """What ZU4 and the RTT segment say about one waiting-list entry at one moment."""

    listed: datetime
    clock_start: datetime
    pathway: str
    rtt_status: str
    status_date: datetime
    tci: datetime | None = None
    removal_reason: str | None = None
    removed_at: datetime | None = None
    offer_outcome: str | None = None
    clock_stop: datetime | None = None
    comment: str | None = None


def elective_dates(rng: random.Random, listed: datetime) -> tuple[datetime, datetime]:
    """(TCI offered, admission): a 3–18 week wait, the TCI agreed 2–5 weeks before, weekdays."""
    admit = at_time(listed + timedelta(weeks=rng.uniform(3, 18)), rng.uniform(7, 9.5))
    while admit.weekday() >= 5:
        admit += timedelta(days=1)
    tci = at_time(admit - timedelta(weeks=rng.uniform(2, 5)), rng.uniform(9, 16.5))
    tci = max(tci, listed + timedelta(days=1))
    while tci.weekday() >= 5:
        tci += timedelta(days=1)
    return tci, admit


def _zu4(trust_ods: str, entry: WaitingEntry) -> str:
    return line(
        "ZU4",
        {
            1: day(entry.listed),
            2: day(entry.listed),
            6: day(entry.tci) if entry.tci else "",
            7: trust_ods,
            8: comp("OP", "Outpatient clinic decision"),
            9: entry.removal_reason or "",
            10: day(entry.removed_at) if entry.removed_at else "",
            11: entry.offer_outcome or "",
            13: "1",  # elective admission list
        },
    )


def _local(world: World, entry: WaitingEntry) -> list[str]:
    """The Trust's RTT segment (ZRT-1…6, careflow layer) and ZCF-2 comments, per the plug-in."""
    trust, plugin = world.trust, world.trust.waiting_list
    lines: list[str] = []
    if plugin.rtt:
        status = entry.rtt_status
        lines.append(
            line(
                trust.rtt_segment,
                {
                    1: comp(entry.pathway),
                    2: trust.ods_code,
                    3: comp(status, codes.describe(codes.RTT_STATUS, status), "NHSRTT"),
                    4: day(entry.clock_start),
                    5: day(entry.status_date),
                    6: day(entry.clock_stop) if entry.clock_stop else "",
                },
            )
        )
    if plugin.comments and entry.comment:
        lines.append(line("ZCF", {2: comp(entry.comment)}))
    return lines


def plan_elective(
    world: World,
    rng: random.Random,
    *,
    listed_at: datetime,
    tci_at: datetime,
    admit_at: datetime,
    patient: Patient | None = None,
    options: ElectiveOptions = ElectiveOptions(),
) -> Plan:
    """Add to the list (A05, PV2-8 expected date), offer a date (A14), perhaps cancel it (A27)
    and offer another, then admit (A01 with PV1-4 11/12/13) and discharge."""
    trust = world.trust
    if patient is None:
        patient = world.new_patient(rng, listed_at.date(), inpatient=True)
    specialty, ward = rng.choices(
        [(s, w) for s, w, _ in _SPECIALTIES], weights=[w for _, _, w in _SPECIALTIES]
    )[0]
    day_case = options.day_case if options.day_case is not None else rng.random() < 0.6
    if day_case:
        ward = "DSU1"
    operator = world.operator(rng)
    entry = WaitingEntry(
        listed=listed_at,
        clock_start=listed_at - timedelta(days=rng.randint(14, 70)),
        pathway=f"{trust.ods_code}P{world.counters.next_pathway():09d}",
        rtt_status="20",  # decision to admit while the clock runs [UNVERIFIED code]
        status_date=listed_at,
        comment=rng.choice(_COMMENTS) if rng.random() < 0.4 else None,
    )
    visit = Visit(
        number=world.visit_number(),
        patient_class="W",
        location=Location(ward, None, WARDS[ward].site),
        consultant=consultant_for(rng, specialty),
        specialty=specialty,
        referring=patient.gp if patient.gp.family else None,
        decided_at=listed_at,
        intended_management="2" if day_case else "1",
        reason=rng.choice(_PROCEDURES),
        expected_admit=admit_at,
    )
    drafts: list[Draft] = []
    last = listed_at

    def send(trigger: str, occurred: datetime, current: Visit, state: WaitingEntry) -> None:
        nonlocal last
        last = max(lag(rng, occurred), last + timedelta(seconds=30)).replace(microsecond=0)
        drafts.append(
            adt(world, trigger, occurred=occurred, recorded=last, operator=operator,
                patient=patient, visit=current, zu=[_zu4(trust.ods_code, state)],
                local=_local(world, state))
        )  # fmt: skip

    send("A05", listed_at, visit, entry)
    removed = options.removed if options.removed is not None else rng.random() < 0.03
    if removed:
        gone = at_time(listed_at + (tci_at - listed_at) / 2, rng.uniform(9, 16))
        entry = replace(entry, removal_reason="4", removed_at=gone, rtt_status="34",
                        status_date=gone, clock_stop=gone)  # fmt: skip
        send("A38", gone, visit, entry)
        return Plan("waiting-list", patient, tuple(drafts))
    entry = replace(entry, tci=admit_at, status_date=tci_at)
    send("A14", tci_at, visit, entry)
    cancelled = options.tci_cancelled
    if cancelled is None:
        cancelled = rng.random() < 0.08
    if cancelled:
        notice = at_time(admit_at - timedelta(days=rng.randint(1, 7)), rng.uniform(9, 16))
        notice = max(notice, tci_at + timedelta(hours=1))
        entry = replace(entry, offer_outcome="6", status_date=notice)  # cancelled by hospital
        send("A27", notice, visit, entry)
        admit_at = at_time(admit_at + timedelta(days=rng.randint(7, 21)), admit_at.hour)
        while admit_at.weekday() >= 5:
            admit_at += timedelta(days=1)
        reoffer = notice + timedelta(minutes=rng.randint(20, 240))
        visit = replace(visit, expected_admit=admit_at)
        entry = replace(entry, tci=admit_at, offer_outcome=None, status_date=reoffer)
        send("A14", reoffer, visit, entry)
    method = options.admission_method or codes.pick(rng, codes.ADMISSION_METHOD)
    admitted = replace(
        visit,
        patient_class="I",
        location=bed_in(rng, ward),
        admission_method=method,
        admission_source="19",
        admitted_at=admit_at,
        expected_admit=None,
    )
    entry = replace(
        entry,
        removal_reason="1",  # admitted electively
        removed_at=admit_at,
        offer_outcome="8",  # admitted, treatment commenced
        rtt_status="30",  # start of first definitive treatment: clock stop
        status_date=admit_at,
        clock_stop=admit_at,
    )
    send("A01", admit_at, admitted, entry)
    stay = timedelta(hours=rng.uniform(4, 7)) if day_case else timedelta(days=rng.uniform(1, 5))
    stay_options = options.stay
    if day_case:
        stay_options = replace(stay_options, transfers=0, home_leave=False, medically_fit=False)
    drafts += plan_stay(
        world, rng, patient, admitted, stay=stay, options=stay_options, emergency=False,
        not_before=last,
    )  # fmt: skip
    return Plan("elective-admission", patient, tuple(sorted(drafts, key=lambda d: d.at)))
