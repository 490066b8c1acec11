"""Master files: staff (MFN^M02 with STF, PRA) and locations (MFN^M05 with LOC, LDP)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from eprlink.sim.hospital import segments
from eprlink.sim.hospital.er7 import comp, day, line, second
from eprlink.sim.hospital.fixtures import CONSULTANTS, SPECIALTIES, WARDS, Clinician, Ward
from eprlink.sim.hospital.settings import Feed
from eprlink.sim.hospital.visits import Location
from eprlink.sim.hospital.world import Draft, World

__all__ = ["location_file", "staff_file"]


def _mfi(kind: str, application: str, at: datetime) -> str:
    return line(
        "MFI",
        {1: comp(kind), 2: comp(application), 3: "UPD", 4: second(at), 5: second(at), 6: "AL"},
    )


def staff_file(
    world: World, rng: random.Random, at: datetime, staff: Sequence[Clinician] | None = None
) -> Draft:
    """MFN^M02 adding or updating consultants: STF (ids, name, type, specialty) and PRA."""
    trust = world.trust
    chosen = tuple(staff) if staff is not None else tuple(rng.sample(CONSULTANTS, 3))
    events = tuple(rng.choice(("MAD", "MUP")) for _ in chosen)
    base = world.counters.next_master_file()

    def body() -> list[str]:
        lines = [_mfi("STF", trust.sending_application, at)]
        for number, (person, event) in enumerate(zip(chosen, events, strict=True), start=1):
            service = SPECIALTIES.get(person.specialty, "")
            lines += [
                line(
                    "MFE",
                    {
                        1: event,
                        2: f"{trust.ods_code}M{base:08d}-{number}",
                        3: second(at),
                        4: comp(person.code, None, "GMC"),
                        5: "CE",
                    },
                ),
                line(
                    "STF",
                    {
                        1: comp(person.code, None, "GMC"),
                        2: comp(person.code, None, None, "GMC", "DN"),
                        3: comp(person.family, person.given, None, None, person.title),
                        4: "CONS",
                        7: "A",
                        9: comp(person.specialty, service, "L"),
                    },
                ),
                line(
                    "PRA",
                    {
                        1: comp(person.code, None, "GMC"),
                        3: "CONS",
                        5: comp(service, "GMC", "C"),
                        6: comp(person.code, "GMC"),
                        8: day(at),
                    },
                ),
            ]
        return lines

    return Draft(at, Feed.ADT, "MFN^M02^MFN_M02", body)


def location_file(
    world: World, rng: random.Random, at: datetime, wards: Sequence[Ward] | None = None
) -> Draft:
    """MFN^M05 adding or updating wards: LOC (description, type, Trust) and LDP (specialty,
    patient classes)."""
    trust = world.trust
    chosen = tuple(wards) if wards is not None else tuple(rng.sample(list(WARDS.values()), 3))
    events = tuple(rng.choice(("MAD", "MUP")) for _ in chosen)
    base = world.counters.next_master_file()

    def body() -> list[str]:
        lines = [_mfi("LOC", trust.sending_application, at)]
        for number, (ward, event) in enumerate(zip(chosen, events, strict=True), start=1):
            place = segments.pl(trust, Location(ward.code, None, ward.site))
            classes = "E" if ward.code == "ED" else "I"
            lines += [
                line(
                    "MFE",
                    {
                        1: event,
                        2: f"{trust.ods_code}M{base:08d}-{number}",
                        3: second(at),
                        4: place,
                        5: "PL",
                    },
                ),
                line(
                    "LOC",
                    {1: place, 2: comp(ward.name), 3: ward.kind, 4: comp(trust.name)},
                ),
                line(
                    "LDP",
                    {
                        1: place,
                        2: comp(ward.specialty, SPECIALTIES.get(ward.specialty), "L"),
                        3: ward.specialty,
                        5: classes,
                        6: "A",
                        7: second(at),
                    },
                ),
            ]
        return lines

    return Draft(at, Feed.ADT, "MFN^M05^MFN_M05", body)
