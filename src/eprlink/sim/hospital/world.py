"""Shared generator state, and drafts: messages planned now and written when they are sent."""

# Journeys are planned first (every random choice made, in a fixed order) and their messages
# written later, in send order, so control ids rise with time and a day's schedule only pays for
# the messages that fall inside the day. Writing a draft draws no random numbers.

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from eprlink.hl7 import Message, create
from eprlink.sim.hospital.fixtures import OPERATORS, Clinician
from eprlink.sim.hospital.identifiers import Counters
from eprlink.sim.hospital.patients import Patient, PatientFactory
from eprlink.sim.hospital.settings import Feed, TrustSettings

__all__ = ["Draft", "Plan", "World"]


@dataclass(frozen=True, slots=True)
class Draft:
    """One planned message: when it is sent, on which feed, its MSH-9, and its body."""

    at: datetime
    feed: Feed
    message_type: str
    body: Callable[[], Sequence[str]]
    application: str | None = None  # MSH-3 when not the Trust's sending application

    @property
    def trigger(self) -> str:
        return self.message_type.split("^")[1]


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned journey: the patient as they end it, and its drafts in time order."""

    name: str
    patient: Patient
    drafts: tuple[Draft, ...]


@dataclass
class World:
    """Settings, counters and the patient factory every journey planner shares."""

    seed: int
    trust: TrustSettings
    control_prefix: str
    counters: Counters = field(default_factory=Counters)
    patients: PatientFactory = field(init=False)

    def __post_init__(self) -> None:
        self.patients = PatientFactory(
            self.counters,
            mrn_stem=self.trust.mrn_stem,
            without_number=self.trust.patients_without_nhs_number,
        )

    def rng(self, *parts: object) -> random.Random:
        """An independent random stream named by ``parts`` (string seeds are stable across runs
        and Python versions, unlike ``hash``)."""
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def new_patient(self, rng: random.Random, today: date, *, inpatient: bool = False) -> Patient:
        return self.patients.create(rng, today=today, inpatient=inpatient)

    def visit_number(self) -> str:
        return f"{self.trust.ods_code}V{self.counters.next_visit():09d}"

    def operator(self, rng: random.Random) -> Clinician:
        return rng.choice(OPERATORS)

    # -- writing -------------------------------------------------------------------------------
    def next_control_id(self) -> str:
        return f"{self.control_prefix}{self.counters.next_control():010d}"

    def write(self, draft: Draft, *, control_id: str | None = None) -> Message:
        """The draft as a full message; the next control id unless one is given."""
        trust = self.trust
        message = create(
            draft.message_type,
            sending_application=draft.application or trust.sending_application,
            sending_facility=trust.facility,
            receiving_application=trust.receiving_application,
            receiving_facility=trust.receiver_facility,
            control_id=control_id if control_id is not None else self.next_control_id(),
            timestamp=draft.at,
            processing_id=trust.processing_id,
            version="2.4",
            charset=trust.charset,
        )
        message.set("MSH-17", "GBR")
        message.set("MSH-19", "EN")
        if trust.profile_id:
            message.set("MSH-21", trust.profile_id)
        for segment in draft.body():
            message.add_segment(segment)
        return message
