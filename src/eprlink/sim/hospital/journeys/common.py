"""What every journey needs: ADT drafts in the HL7 UK segment order, lags, and lab orders."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from eprlink.sim.hospital import segments
from eprlink.sim.hospital.er7 import line
from eprlink.sim.hospital.fixtures import Clinician
from eprlink.sim.hospital.orders import order_draft
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.results import RESULT_TYPES, report_time, result_lines
from eprlink.sim.hospital.settings import Feed
from eprlink.sim.hospital.visits import Visit
from eprlink.sim.hospital.world import Draft, World

__all__ = ["adt", "at_time", "lab_order", "lag", "pick_panels"]

_WITH_NK1 = frozenset({"ADT_A01", "ADT_A05"})


def lag(rng: random.Random, occurred: datetime, low: int = 1, high: int = 12) -> datetime:
    """When the PAS records an event (EVN-2, MSH-7): a few minutes after it happened (EVN-6),
    to the whole second."""
    moment = occurred + timedelta(minutes=rng.randint(low, high), seconds=rng.randrange(60))
    return moment.replace(microsecond=0)


def at_time(moment: datetime, hour: float) -> datetime:
    """The same day at ``hour`` (fractions are minutes)."""
    base = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(minutes=round(hour * 60))


def adt(
    world: World,
    trigger: str,
    *,
    occurred: datetime,
    recorded: datetime,
    operator: Clinician,
    patient: Patient,
    visit: Visit | None,
    zu1: bool = True,
    zu1_patch: Mapping[int, str] | None = None,
    pv1_patch: Mapping[int, str] | None = None,
    pid_fields: Mapping[int, str] | None = None,
    full: bool = True,
    zu: Sequence[str] = (),
    local: Sequence[str] = (),
    reason: str | None = None,
) -> Draft:
    """An ADT draft: EVN PID [PD1] [NK1] PV1 [PV2] then ZU1, other ZU segments, ZU8, and the
    Trust's local Z-segments last (Z-segments at the end, in the careflow layer's order).

    ``full`` sends everything the PAS holds ("fully populated", ref §4.2); an update passes
    ``full=False`` with only the PID fields it changes, so what it leaves out means "no change".
    """
    trust = world.trust
    structure = segments.STRUCTURES[trigger]
    plugin = trust.medically_fit

    def body() -> list[str]:
        fields = pid_fields if pid_fields is not None else segments.pid_fields(trust, patient)
        lines = [
            segments.evn(recorded, occurred, operator, reason=reason),
            line("PID", fields),
        ]
        if full:
            lines.append(segments.pd1(patient))
            kin = segments.nk1(trust, patient) if structure in _WITH_NK1 else None
            if kin:
                lines.append(kin)
        if visit is None:
            lines.append(line("PV1", {2: "N"}))  # person-level event (ref §7.2)
        else:
            pv1 = segments.pv1_fields(trust, visit)
            pv1.update(pv1_patch or {})
            lines.append(line("PV1", pv1))
            pv2 = segments.pv2(visit)
            if pv2:
                lines.append(pv2)
            if zu1:
                fields_zu1 = segments.zu1_fields(
                    visit,
                    ready_for_discharge=plugin.ready_for_discharge,
                    ready_with_time=plugin.ready_with_time,
                )
                fields_zu1.update(zu1_patch or {})
                lines.append(line("ZU1", fields_zu1))
        lines.extend(zu)
        if full and structure in _WITH_NK1:
            misc = segments.zu8(patient)
            if misc:
                lines.append(misc)
        lines.extend(local)
        return lines

    return Draft(recorded, Feed.ADT, segments.adt_type(trigger), body)


def pick_panels(rng: random.Random, *, acute: bool) -> tuple[str, ...]:
    """A typical request: FBC and U&E, often CRP, sometimes LFT, rarely HbA1c."""
    panels = ["FBC", "UE"] if acute or rng.random() < 0.8 else ["UE"]
    if rng.random() < (0.6 if acute else 0.3):
        panels.append("CRP")
    if rng.random() < 0.3:
        panels.append("LFT")
    if rng.random() < 0.04:
        panels.append("HBA1C")
    return tuple(panels)


def lab_order(
    world: World,
    rng: random.Random,
    patient: Patient,
    visit: Visit | None,
    *,
    ordered_at: datetime,
    orderer: Clinician,
    panels: Sequence[str],
    kind: str = "OML^O21",
    results: str | None = "ORU^R01",
) -> list[Draft]:
    """An order on the ``orders`` feed and, unless ``results`` is None, its results on the
    ``results`` feed once the laboratory has reported them."""
    counters = world.counters
    first = counters.order + 1
    for _ in panels:
        counters.next_order()
    group = first
    order = order_draft(
        world.trust,
        patient,
        visit,
        panels=panels,
        first_placer=first,
        group=group,
        ordered_at=ordered_at,
        orderer=orderer,
        entered_by=world.operator(rng),
        kind=kind,
    )
    drafts = [order]
    if results is None:
        return drafts
    if results not in RESULT_TYPES:
        raise ValueError(f"unsupported result type {results!r}")
    trust, seed = world.trust, world.seed
    placer = f"{trust.ods_code}O{first:08d}"
    reported = report_time(ordered_at.replace(second=0, microsecond=0), placer, seed)

    def body() -> list[str]:
        ordered = world.write(order, control_id="PLANNED")  # the order as the lab receives it
        return result_lines(ordered, trust=trust, seed=seed, kind=results)

    drafts.append(Draft(reported, Feed.RESULTS, RESULT_TYPES[results], body, trust.lab_application))
    return drafts
