"""The synthetic hospital: seeded, reproducible patients, journeys and days of HL7 messages."""

# The same seed, settings and sequence of calls give byte-identical messages: every random
# choice comes from a stream named by the seed, timestamps come from a simulated clock, and
# control ids from a counter. Nothing reads the wall clock, opens a socket or sleeps.

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from eprlink.hl7 import Message
from eprlink.sim.hospital.journeys.common import lab_order
from eprlink.sim.hospital.journeys.community import plan_contact
from eprlink.sim.hospital.journeys.elective import ElectiveOptions, elective_dates, plan_elective
from eprlink.sim.hospital.journeys.emergency import EmergencyOptions, plan_emergency
from eprlink.sim.hospital.journeys.identity import (
    CHANGES,
    candidate,
    plan_merge,
    plan_registration,
    plan_update,
)
from eprlink.sim.hospital.journeys.inpatient import StayOptions
from eprlink.sim.hospital.journeys.masterfiles import location_file, staff_file
from eprlink.sim.hospital.journeys.outpatient import OutpatientOptions, plan_outpatient
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.results import RESULT_TYPES, result_lines, result_times
from eprlink.sim.hospital.schedule import DAY, DailyVolumes, midnight, plan_day
from eprlink.sim.hospital.settings import Feed, TrustSettings
from eprlink.sim.hospital.visits import Visit, bed_in, consultant_for
from eprlink.sim.hospital.world import Draft, Plan, World

__all__ = ["DEFAULT_START", "Hospital", "Journey", "TimedMessage", "results_for_order"]

DEFAULT_START = datetime(2025, 3, 3, 8, 0)
"""A Monday morning: the simulated clock's default start (never the wall clock)."""


class TimedMessage(NamedTuple):
    """A message with the simulated time it is sent and the feed it goes out on."""

    at: datetime
    feed: Feed
    message: Message


@dataclass(frozen=True, slots=True)
class Journey:
    """One patient journey as written messages, in send order."""

    name: str
    patient: Patient
    events: tuple[TimedMessage, ...]

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(event.message for event in self.events)

    def on(self, feed: Feed) -> tuple[Message, ...]:
        """The messages sent on one feed."""
        return tuple(event.message for event in self.events if event.feed is feed)

    @property
    def triggers(self) -> tuple[str, ...]:
        """MSH-9.2 of each message on the ADT feed (A04, A01 …, S12, I12, M02 …)."""
        return tuple(m.get("MSH-9.2") or "" for m in self.on(Feed.ADT))


class Hospital:
    """A seeded synthetic hospital for one Trust.

    Journeys start at the simulated clock (``now``) unless given a time; each call moves the
    clock on a little, so successive journeys interleave like a real day. ``day()`` gives a
    whole day of a ``beds``-bed hospital in send order.
    """

    def __init__(
        self,
        seed: int,
        *,
        beds: int = 600,
        trust: TrustSettings | None = None,
        start: datetime = DEFAULT_START,
        volumes: DailyVolumes | None = None,
        control_id_prefix: str | None = None,
    ) -> None:
        if beds < 1:
            raise ValueError("a hospital needs at least one bed")
        self.seed = seed
        self.beds = beds
        self.trust = trust or TrustSettings()
        self.volumes = volumes or DailyVolumes()
        prefix = control_id_prefix
        if prefix is None:
            prefix = f"{self.trust.ods_code}{seed % 100_000:05d}"
        if len(prefix) > 10:
            raise ValueError("the control id prefix may have at most 10 characters (MSH-10 ≤ 20)")
        self._world = World(seed, self.trust, prefix)
        self._now = start

    # -- the clock -----------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the simulated clock forward (it never goes back)."""
        if delta < timedelta(0):
            raise ValueError("the simulated clock does not go backwards")
        self._now += delta
        return self._now

    def _begin(self, kind: str, at: datetime | None) -> tuple[datetime, random.Random]:
        number = self._world.counters.next_journey()
        rng = self._world.rng("journey", kind, number)
        start = at if at is not None else self._now
        if at is None:
            self._now += timedelta(minutes=rng.randint(2, 20))
        return start, rng

    def _write(self, plan: Plan) -> Journey:
        ordered = sorted(plan.drafts, key=lambda d: d.at)
        events = tuple(TimedMessage(d.at, d.feed, self._world.write(d)) for d in ordered)
        return Journey(plan.name, plan.patient, events)

    # -- people --------------------------------------------------------------------------------
    def patient(self, *, inpatient: bool = False) -> Patient:
        """A new synthetic patient (no message is sent: see :meth:`register`)."""
        number = self._world.counters.next_journey()
        rng = self._world.rng("patient", number)
        return self._world.new_patient(rng, self._now.date(), inpatient=inpatient)

    def register(self, patient: Patient | None = None, *, at: datetime | None = None) -> Journey:
        """A28: add a person to the MPI."""
        start, rng = self._begin("register", at)
        return self._write(plan_registration(self._world, rng, start, patient))

    def update_demographics(
        self,
        patient: Patient | None = None,
        *,
        change: str | None = None,
        encounter: bool = False,
        at: datetime | None = None,
    ) -> Journey:
        """A31 (or A08 with ``encounter``, during an inpatient stay) carrying one change:
        ``phones_removed`` sends ``""`` in PID-13/14; fields not changed are left out."""
        start, rng = self._begin("update", at)
        chosen = change or rng.choice(CHANGES)
        if chosen not in CHANGES:
            raise ValueError(f"unknown change {chosen!r}: use one of {CHANGES}")
        if patient is None:
            patient = candidate(self._world, rng, start, chosen)
        visit = None
        if encounter:
            specialty = "300"
            visit = Visit(
                number=self._world.visit_number(),
                patient_class="I",
                location=bed_in(rng, "WD10"),
                consultant=consultant_for(rng, specialty),
                specialty=specialty,
                admission_method="21",
                admission_source="19",
                admitted_at=start - timedelta(days=2),
            )
        plan = plan_update(self._world, rng, start, patient, change=chosen, visit=visit)
        return self._write(plan)

    def merge(self, patient: Patient | None = None, *, at: datetime | None = None) -> Journey:
        """A28 for a duplicate record, A40 merging it into ``patient`` (MRG-1), then A31."""
        start, rng = self._begin("merge", at)
        return self._write(plan_merge(self._world, rng, start, patient))

    # -- journeys ------------------------------------------------------------------------------
    def ed_attendance(
        self, patient: Patient | None = None, *, at: datetime | None = None,
        bloods: bool | None = None,
    ) -> Journey:  # fmt: skip
        """A04 (PV1-2 E, PV1-10 180, PV2-38) then A03 with the ED disposal; not admitted."""
        start, rng = self._begin("ed", at)
        options = EmergencyOptions(admit=False, bloods=bloods)
        return self._write(
            plan_emergency(self._world, rng, start, patient=patient, options=options)
        )

    def emergency_admission(
        self,
        patient: Patient | None = None,
        *,
        at: datetime | None = None,
        transfers: int | None = None,
        home_leave: bool | None = None,
        medically_fit: bool | None = None,
        bloods: bool | None = None,
        cancel_admission: bool | None = None,
        cancel_transfer: bool | None = None,
        cancel_discharge: bool | None = None,
    ) -> Journey:
        """ED A04 → A03 (disposal 1) → A01 (method 21) → A02s → A21/A22 → medically fit A08
        → A03; with the cancel options an A11, A12 or A13 on the way. ``None`` = by chance."""
        start, rng = self._begin("emergency", at)
        stay = StayOptions(
            transfers=transfers,
            home_leave=home_leave,
            medically_fit=medically_fit,
            cancel_transfer=cancel_transfer,
            cancel_discharge=cancel_discharge,
        )
        options = EmergencyOptions(
            admit=True, cancel_admission=cancel_admission, bloods=bloods, stay=stay
        )
        return self._write(
            plan_emergency(self._world, rng, start, patient=patient, options=options)
        )

    def elective_admission(
        self,
        patient: Patient | None = None,
        *,
        at: datetime | None = None,
        admission_method: str | None = None,
        day_case: bool | None = None,
        tci_cancelled: bool | None = None,
        removed: bool | None = None,
    ) -> Journey:
        """A05 (PV1-2 W, ZU4, RTT segment) → A14 → [A27 → A14] → A01 (11/12/13) → A03, or
        A05 → A38 when ``removed``."""
        if admission_method not in (None, "11", "12", "13"):
            raise ValueError("an elective admission method is 11, 12 or 13")
        start, rng = self._begin("elective", at)
        tci, admit = elective_dates(rng, start)
        options = ElectiveOptions(
            admission_method=admission_method,
            day_case=day_case,
            tci_cancelled=tci_cancelled,
            removed=removed,
        )
        plan = plan_elective(
            self._world, rng, listed_at=start, tci_at=tci, admit_at=admit, patient=patient,
            options=options,
        )  # fmt: skip
        return self._write(plan)

    def outpatient_referral(
        self,
        patient: Patient | None = None,
        *,
        at: datetime | None = None,
        outcome: str | None = None,
        rescheduled: bool | None = None,
        register: bool | None = None,
        bloods: bool | None = None,
    ) -> Journey:
        """[A28] → REF^I12 → SIU^S12 → [S13] → S14 (attended), S26 (did not attend) or S15
        (cancelled): ``outcome`` is ``attended``, ``dna`` or ``cancelled``."""
        start, rng = self._begin("outpatient", at)
        booked = start + timedelta(days=rng.uniform(1, 10))
        slot = booked + timedelta(days=rng.uniform(7, 42))
        slot = slot.replace(hour=9 + rng.randrange(8), minute=5 * rng.randrange(12), second=0)
        options = OutpatientOptions(
            outcome=outcome, rescheduled=rescheduled, register=register, bloods=bloods
        )
        plan = plan_outpatient(
            self._world, rng, referred_at=start, booked_at=booked, appointment_at=slot,
            patient=patient, options=options,
        )  # fmt: skip
        return self._write(plan)

    def community_contact(
        self, patient: Patient | None = None, *, at: datetime | None = None
    ) -> Journey:
        """A contact under the Trust's contact mapping (default A04/A03 with PV1-2 O)."""
        start, rng = self._begin("contact", at)
        return self._write(plan_contact(self._world, rng, start, patient))

    # -- master files, orders, results ---------------------------------------------------------
    def staff_master_file(self, *, at: datetime | None = None) -> Message:
        """MFN^M02 for three consultants (MFI, then MFE, STF, PRA each)."""
        start, rng = self._begin("m02", at)
        return self._world.write(staff_file(self._world, rng, start))

    def location_master_file(self, *, at: datetime | None = None) -> Message:
        """MFN^M05 for three wards (MFI, then MFE, LOC, LDP each)."""
        start, rng = self._begin("m05", at)
        return self._world.write(location_file(self._world, rng, start))

    def order(
        self,
        patient: Patient | None = None,
        *,
        panels: Sequence[str] = ("FBC", "UE"),
        kind: str = "OML^O21",
        at: datetime | None = None,
    ) -> Message:
        """An OML^O21 (or OMG^O19) for a patient seen in outpatients: one ORC/OBR per panel
        (FBC, UE, LFT, CRP, HBA1C)."""
        start, rng = self._begin("order", at)
        if patient is None:
            patient = self._world.new_patient(rng, start.date())
        drafts = lab_order(
            self._world, rng, patient, None, ordered_at=start, orderer=consultant_for(rng, "300"),
            panels=tuple(panels), kind=kind, results=None,
        )  # fmt: skip
        return self._world.write(drafts[0])

    def results_for(
        self, order: Message, *, at: datetime | None = None, kind: str = "ORU^R01"
    ) -> Message:
        """Results for an accepted OMG^O19/OML^O21 (ours or anyone's): ORU^R01 by default,
        OUL^R22 on request. The same order always gets the same values."""
        return _results(self._world, order, at=at, kind=kind)

    # -- a whole day ---------------------------------------------------------------------------
    def day(self, day_start: date | None = None) -> Iterator[TimedMessage]:
        """Every message of one simulated day (from midnight of ``day_start``, default today
        on the simulated clock), in send order, with its time and feed."""
        start = midnight(day_start or self._now)
        drafts = plan_day(self._world, start, beds=self.beds, volumes=self.volumes)
        for draft in drafts:
            yield TimedMessage(draft.at, draft.feed, self._world.write(draft))
        self._now = max(self._now, start + DAY)


def _results(
    world: World, order: Message, *, at: datetime | None, kind: str, control_id: str | None = None
) -> Message:
    if kind not in RESULT_TYPES:
        raise ValueError(f"unsupported result type {kind!r}: use one of {sorted(RESULT_TYPES)}")
    if order.get("MSH-9.1") not in ("OMG", "OML"):
        raise ValueError("results are produced for OMG^O19 or OML^O21 orders")
    lines = result_lines(order, trust=world.trust, seed=world.seed, at=at, kind=kind)
    reported = result_times(order, at, seed=world.seed)[2]
    application = world.trust.lab_application
    draft = Draft(reported, Feed.RESULTS, RESULT_TYPES[kind], lambda: lines, application)
    return world.write(draft, control_id=control_id)


def results_for_order(
    order: Message,
    *,
    seed: int = 0,
    trust: TrustSettings | None = None,
    at: datetime | None = None,
    kind: str = "ORU^R01",
    control_id: str | None = None,
) -> Message:
    """Results for an order without a :class:`Hospital` (e.g. a listener answering orders).

    The control id defaults to one derived from the order's, so a resent order gets the same
    results message back.
    """
    settings = trust or TrustSettings()
    world = World(seed, settings, settings.ods_code)
    if control_id is None:
        control_id = f"R{order.control_id or 'ORDER'}"[:20]
    return _results(world, order, at=at, kind=kind, control_id=control_id)
