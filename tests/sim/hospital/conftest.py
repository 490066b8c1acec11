"""Shared fixtures: a weekday of a small hospital, and each journey with its parts forced."""

from __future__ import annotations

from datetime import datetime

import pytest

from eprlink.hl7 import Message
from eprlink.sim.hospital import Hospital, TimedMessage, TrustSettings

WEEKDAY = datetime(2025, 3, 4)  # a Tuesday
SATURDAY = datetime(2025, 3, 8)


def one_of_everything(hospital: Hospital) -> list[Message]:
    """Every journey and message kind, with the optional parts switched on."""
    journeys = [
        hospital.ed_attendance(bloods=True),
        hospital.emergency_admission(
            transfers=2, home_leave=True, medically_fit=True, bloods=True,
            cancel_admission=False, cancel_transfer=True, cancel_discharge=True,
        ),
        hospital.emergency_admission(cancel_admission=True),
        hospital.elective_admission(tci_cancelled=True, day_case=False, removed=False),
        hospital.elective_admission(removed=True),
        hospital.outpatient_referral(outcome="attended", rescheduled=True, register=True,
                                     bloods=True),
        hospital.outpatient_referral(outcome="dna"),
        hospital.outpatient_referral(outcome="cancelled"),
        hospital.update_demographics(change="phones_removed"),
        hospital.update_demographics(change="address", encounter=True),
        hospital.update_demographics(change="gp"),
        hospital.update_demographics(change="name"),
        hospital.update_demographics(change="nhs_traced"),
        hospital.merge(),
        hospital.register(),
        hospital.community_contact(),
    ]  # fmt: skip
    messages = [m for journey in journeys for m in journey.messages]
    messages += [hospital.staff_master_file(), hospital.location_master_file()]
    for kind in ("OML^O21", "OMG^O19"):
        order = hospital.order(panels=("FBC", "UE", "LFT", "CRP", "HBA1C"), kind=kind)
        messages += [
            order,
            hospital.results_for(order),
            hospital.results_for(order, kind="OUL^R22"),
        ]
    return messages


@pytest.fixture(scope="session")
def weekday() -> list[TimedMessage]:
    return list(Hospital(11, beds=60).day(WEEKDAY))


@pytest.fixture(scope="session")
def everything() -> list[Message]:
    return one_of_everything(Hospital(21, beds=60))


def all_messages(trust: TrustSettings, *, seed: int = 31, beds: int = 30) -> list[Message]:
    """A day plus one of everything, for one Trust configuration."""
    hospital = Hospital(seed, beds=beds, trust=trust)
    day = [event.message for event in hospital.day(WEEKDAY)]
    return day + one_of_everything(hospital)
