"""Visits (spells, attendances, appointments) and the locations they happen in."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime

from eprlink.sim.hospital.fixtures import CLINICS, CONSULTANTS, WARDS, Clinic, Clinician

__all__ = ["Location", "Visit", "bed_in", "clinic_location", "consultant_for"]


@dataclass(frozen=True, slots=True)
class Location:
    """PV1-3 / PV1-6: ward (PL-2), bed (PL-3) and the site number of PL-4."""

    ward: str
    bed: str | None
    site: int


@dataclass(frozen=True, slots=True)
class Visit:
    """One encounter as PV1/PV2/ZU1 describe it; events produce new snapshots."""

    number: str  # PV1-19
    patient_class: str  # PV1-2
    location: Location
    consultant: Clinician
    specialty: str  # PV1-10 and ZU1-6
    admission_method: str | None = None  # PV1-4
    admission_source: str | None = None  # PV1-14
    admitted_at: datetime | None = None  # PV1-44
    discharged_at: datetime | None = None  # PV1-45
    prior_location: Location | None = None  # PV1-6 on transfers
    disposal: str | None = None  # PV1-36
    destination: str | None = None  # PV1-37
    referring: Clinician | None = None  # PV1-8
    decided_at: datetime | None = None  # ZU1-1 decision to admit
    intended_management: str = "1"  # ZU1-2
    medically_fit: bool = False  # ZU1-22
    ready_at: datetime | None = None  # ZU1-24
    arrival_mode: str | None = None  # PV2-38
    reason: str | None = None  # PV2-3 admit reason (local text)
    expected_admit: datetime | None = None  # PV2-8
    expected_discharge: datetime | None = None  # PV2-9

    def moved_to(self, location: Location) -> Visit:
        return replace(self, prior_location=self.location, location=location)


def bed_in(rng: random.Random, ward: str) -> Location:
    """A bed on a ward. Occupancy is not tracked: two patients may share a bed's code."""
    found = WARDS[ward]
    return Location(found.code, rng.choice(found.beds), found.site)


def clinic_location(clinic: Clinic) -> Location:
    return Location(clinic.code, None, clinic.site)


def consultant_for(rng: random.Random, specialty: str) -> Clinician:
    """A consultant of the specialty, or any consultant when none is listed for it."""
    matching = [c for c in CONSULTANTS if c.specialty == specialty]
    return rng.choice(matching or list(CONSULTANTS))


def clinic_for(rng: random.Random) -> Clinic:
    return rng.choice(CLINICS)
