"""Community contacts under the Trust's contact mapping (default A04/A03 with PV1-2 O)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from eprlink.sim.hospital.journeys.common import adt, lag
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.visits import Location, Visit, consultant_for
from eprlink.sim.hospital.world import Plan, World

__all__ = ["plan_contact"]


def plan_contact(
    world: World, rng: random.Random, start: datetime, patient: Patient | None = None
) -> Plan:
    """A district-nursing style contact at the community site: start event, then end event."""
    mapping = world.trust.contact
    if patient is None:
        patient = world.new_patient(rng, start.date())
    operator = world.operator(rng)
    visit = Visit(
        number=world.visit_number(),
        patient_class=mapping.patient_class,
        location=Location("", None, 2),  # the community site only (PL-4)
        consultant=consultant_for(rng, "430"),
        specialty="430",
        admitted_at=start,
    )
    end = start + timedelta(minutes=rng.randint(20, 75))
    begun = lag(rng, start)
    drafts = (
        adt(world, mapping.start_event, occurred=start, recorded=begun, operator=operator,
            patient=patient, visit=visit, zu1=False),
        adt(world, mapping.end_event, occurred=end, recorded=max(lag(rng, end), begun),
            operator=operator, patient=patient, visit=replace(visit, discharged_at=end),
            zu1=False),
    )  # fmt: skip
    return Plan("community-contact", patient, drafts)
