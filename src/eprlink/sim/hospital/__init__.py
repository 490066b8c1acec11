"""A synthetic hospital: seeded, reproducible UK patients, journeys and days of HL7 v2 messages."""

# Usage: ``Hospital(seed=7).emergency_admission().triggers`` starts ("A04", "A03", "A01");
# ``Hospital(seed=7, beds=600).day(datetime(2025, 3, 4))`` yields a whole day in send order.
# Everything is generated from the seed and a simulated clock: no wall clock, sockets or sleeps.
# See docs/synthetic-hospital.md for the codes used and every assumption.

from __future__ import annotations

from eprlink.sim.hospital.codes import RTT_STATUS
from eprlink.sim.hospital.hospital import (
    DEFAULT_START,
    Hospital,
    Journey,
    TimedMessage,
    results_for_order,
)
from eprlink.sim.hospital.identifiers import NHS_TEST_RANGE, nhs_check_digit
from eprlink.sim.hospital.journeys.identity import CHANGES
from eprlink.sim.hospital.journeys.outpatient import OUTCOMES
from eprlink.sim.hospital.labs import PANELS
from eprlink.sim.hospital.overlay import trust_from_overlay
from eprlink.sim.hospital.pacing import ScheduledMessage, paced, schedule
from eprlink.sim.hospital.patients import Address, NextOfKin, Patient, Sex, Telecom
from eprlink.sim.hospital.schedule import DailyVolumes
from eprlink.sim.hospital.settings import (
    MEDICALLY_FIT_V1,
    MEDICALLY_FIT_V2,
    WAITING_LIST_V1,
    WAITING_LIST_V2,
    ContactMapping,
    DischargeDisposition,
    Feed,
    IdentifierKind,
    MedicallyFitPlugin,
    SexCoding,
    TrustSettings,
    WaitingListPlugin,
)

__all__ = [
    "CHANGES",
    "DEFAULT_START",
    "MEDICALLY_FIT_V1",
    "MEDICALLY_FIT_V2",
    "NHS_TEST_RANGE",
    "OUTCOMES",
    "PANELS",
    "RTT_STATUS",
    "WAITING_LIST_V1",
    "WAITING_LIST_V2",
    "Address",
    "ContactMapping",
    "DailyVolumes",
    "DischargeDisposition",
    "Feed",
    "Hospital",
    "IdentifierKind",
    "Journey",
    "MedicallyFitPlugin",
    "NextOfKin",
    "Patient",
    "ScheduledMessage",
    "Sex",
    "SexCoding",
    "Telecom",
    "TimedMessage",
    "TrustSettings",
    "WaitingListPlugin",
    "nhs_check_digit",
    "paced",
    "results_for_order",
    "schedule",
    "trust_from_overlay",
]
