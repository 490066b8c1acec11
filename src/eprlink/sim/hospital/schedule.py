"""One simulated day of an N-bed hospital as pure scheduling: what is sent, when, on which feed."""

# Journeys that started before the day (patients already in a bed, outpatients booked weeks ago)
# are planned too, and only their messages inside the day are kept, so the day looks like a day
# in a running hospital rather than the first day of a new one. The rates are per bed per day and
# are assumptions, documented in docs/synthetic-hospital.md, not measurements.

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from eprlink.sim.hospital.journeys.common import at_time
from eprlink.sim.hospital.journeys.community import plan_contact
from eprlink.sim.hospital.journeys.elective import elective_dates, plan_elective
from eprlink.sim.hospital.journeys.emergency import EmergencyOptions, plan_emergency
from eprlink.sim.hospital.journeys.identity import CHANGES, candidate, plan_merge, plan_update
from eprlink.sim.hospital.journeys.masterfiles import location_file, staff_file
from eprlink.sim.hospital.journeys.outpatient import plan_outpatient
from eprlink.sim.hospital.settings import Feed
from eprlink.sim.hospital.world import Draft, World

__all__ = ["DAY", "DailyVolumes", "midnight", "plan_day"]

DAY = timedelta(days=1)

# ED arrivals by hour of day (relative weights): quiet at night, busiest late morning to evening.
_ED_HOURS = (2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4.5, 5.5, 6, 6, 6, 6, 5.8, 5.6, 5.5, 5.5, 5.2, 5, 4.5,
             4, 3.2, 2.5)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DailyVolumes:
    """Activity per bed per day (weekday). Defaults give roughly 9 ADT, 1 order and 1 result
    message per bed per weekday; see docs/synthetic-hospital.md for the reasoning."""

    ed_attendances: float = 0.5
    ed_admitted: float = 0.3  # share of ED attendances admitted
    elective_admissions: float = 0.08
    outpatient_appointments: float = 2.5
    referrals: float = 1.0
    community_contacts: float = 0.15
    demographic_updates: float = 0.08
    merges: float = 0.004
    master_files: int = 2  # one MFN^M02 and one MFN^M05 a day
    weekend_outpatients: float = 0.03  # share of the weekday outpatient activity at weekends
    weekend_electives: float = 0.15
    history_days: int = 21  # how far back journeys still in progress are planned

    def per_day(self, rate: float, beds: int, rng: random.Random) -> int:
        """``rate × beds`` as a whole number, the fraction rounded up by chance."""
        expected = rate * beds
        whole = int(expected)
        return whole + (1 if rng.random() < expected - whole else 0)

    def bounds(self, beds: int, *, weekend: bool = False) -> dict[Feed, tuple[int, int]]:
        """Documented bounds for one day's message count per feed (inclusive), for tests and
        for anyone sizing a receiver: about 8 ADT, 1 order and 1 result message per bed on a
        weekday; at weekends clinics close and the ADT feed drops to about 2 per bed."""
        adt = (1.0, 4.0) if weekend else (6.0, 12.0)
        lab = (0.3, 1.5) if weekend else (0.5, 1.8)
        return {
            Feed.ADT: (int(adt[0] * beds), int(adt[1] * beds) + 20),
            Feed.ORDERS: (int(lab[0] * beds), int(lab[1] * beds) + 10),
            Feed.RESULTS: (int(lab[0] * beds), int(lab[1] * beds) + 10),
        }


def midnight(value: date) -> datetime:
    """The start of a calendar day, from a date or any moment in it (time zone kept)."""
    if isinstance(value, datetime):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    return datetime(value.year, value.month, value.day)


def _ed_arrival(rng: random.Random, day: datetime) -> datetime:
    hour = rng.choices(range(24), weights=_ED_HOURS)[0]
    return day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _office(rng: random.Random, day: datetime, start: float = 9, end: float = 17) -> datetime:
    return at_time(day, rng.uniform(start, end)) + timedelta(seconds=rng.randrange(60))


def _weekday(moment: datetime) -> datetime:
    while moment.weekday() >= 5:
        moment += DAY
    return moment


def _clinic_slot(rng: random.Random, day: datetime) -> datetime:
    minutes = 8 * 60 + 30 + 5 * rng.randrange(0, 8 * 12)  # 08:30–16:25 in 5-minute slots
    return day + timedelta(minutes=minutes)


def plan_day(world: World, day_start: date, *, beds: int, volumes: DailyVolumes) -> list[Draft]:
    """Every draft sent on the calendar day of ``day_start`` (from its midnight), in send order."""
    day = day_start = midnight(day_start)
    end = day_start + DAY
    weekend = day_start.weekday() >= 5
    op_factor = volumes.weekend_outpatients if weekend else 1.0
    el_factor = volumes.weekend_electives if weekend else 1.0
    label = day.strftime("%Y%m%d")
    drafts: list[Draft] = []

    def keep(found: tuple[Draft, ...] | list[Draft]) -> None:
        drafts.extend(d for d in found if day_start <= d.at < end)

    # Emergency care: admitted patients from the last weeks, everyone arriving today or late
    # yesterday (whose departure may fall after midnight).
    for back in range(volumes.history_days, -1, -1):
        date = day - back * DAY
        counter = world.rng(label, "ed-count", back)
        for number in range(volumes.per_day(volumes.ed_attendances, beds, counter)):
            rng = world.rng(label, "ed", back, number)
            admitted = rng.random() < volumes.ed_admitted
            if not admitted and back > 1:
                continue
            arrival = _ed_arrival(rng, date)
            options = EmergencyOptions(admit=admitted)
            plan = plan_emergency(world, rng, arrival, options=options)
            keep(plan.drafts)

    counter = world.rng(label, "counts")
    # Elective: added to the list today, a date offered today, admitted in the last week.
    for number in range(volumes.per_day(volumes.elective_admissions * el_factor, beds, counter)):
        rng = world.rng(label, "listed", number)
        listed = _office(rng, day)
        tci, admit = elective_dates(rng, listed)
        keep(plan_elective(world, rng, listed_at=listed, tci_at=tci, admit_at=admit).drafts)
        rng = world.rng(label, "tci", number)
        tci = _office(rng, day)
        admit = _weekday(at_time(tci + timedelta(weeks=rng.uniform(2, 5)), rng.uniform(7, 9.5)))
        listed = admit - timedelta(weeks=rng.uniform(5, 18))
        keep(plan_elective(world, rng, listed_at=listed, tci_at=tci, admit_at=admit).drafts)
    for back in range(7, -1, -1):
        date = day - back * DAY
        if date.weekday() >= 5:
            continue
        count = world.rng(label, "admit-count", back)
        for number in range(volumes.per_day(volumes.elective_admissions, beds, count)):
            rng = world.rng(label, "admit", back, number)
            admit = at_time(date, rng.uniform(7, 9.5))
            listed = admit - timedelta(weeks=rng.uniform(5, 18))
            tci = admit - timedelta(weeks=rng.uniform(2, 4))
            keep(plan_elective(world, rng, listed_at=listed, tci_at=tci, admit_at=admit).drafts)

    # Outpatients: today's clinics, today's bookings for later clinics, today's referrals.
    for number in range(
        volumes.per_day(volumes.outpatient_appointments * op_factor, beds, counter)
    ):
        rng = world.rng(label, "clinic", number)
        slot = _clinic_slot(rng, day)
        booked = _office(rng, slot - timedelta(days=rng.uniform(7, 56)))
        referred = _office(rng, booked - timedelta(days=rng.uniform(1, 14)))
        keep(plan_outpatient(world, rng, referred_at=referred, booked_at=booked,
                             appointment_at=slot).drafts)  # fmt: skip
        rng = world.rng(label, "booking", number)
        booked = _office(rng, day)
        slot = _clinic_slot(rng, _weekday(day + timedelta(days=rng.randint(7, 56))))
        referred = _office(rng, booked - timedelta(days=rng.uniform(1, 14)))
        keep(plan_outpatient(world, rng, referred_at=referred, booked_at=booked,
                             appointment_at=slot).drafts)  # fmt: skip
    for number in range(volumes.per_day(volumes.referrals * op_factor, beds, counter)):
        rng = world.rng(label, "referral", number)
        referred = _office(rng, day, 8, 18)
        booked = _office(rng, referred + timedelta(days=rng.uniform(1, 14)))
        slot = _clinic_slot(rng, _weekday(booked + timedelta(days=rng.randint(7, 56))))
        keep(plan_outpatient(world, rng, referred_at=referred, booked_at=booked,
                             appointment_at=slot).drafts)  # fmt: skip

    # Community contacts, demographic updates, merges and master files.
    for number in range(volumes.per_day(volumes.community_contacts * op_factor, beds, counter)):
        rng = world.rng(label, "contact", number)
        keep(plan_contact(world, rng, _office(rng, day, 8, 17)).drafts)
    for number in range(volumes.per_day(volumes.demographic_updates, beds, counter)):
        rng = world.rng(label, "update", number)
        at = _office(rng, day, 8, 18)
        change = rng.choice(CHANGES)
        patient = candidate(world, rng, at, change)
        keep(plan_update(world, rng, at, patient, change=change).drafts)
    for number in range(volumes.per_day(volumes.merges, beds, counter)):
        rng = world.rng(label, "merge", number)
        keep(plan_merge(world, rng, _office(rng, day)).drafts)
    for number in range(volumes.master_files):
        rng = world.rng(label, "master-file", number)
        at = at_time(day, 6 + number / 12)
        keep([(staff_file if number % 2 == 0 else location_file)(world, rng, at)])

    drafts.sort(key=lambda d: d.at)
    return drafts
