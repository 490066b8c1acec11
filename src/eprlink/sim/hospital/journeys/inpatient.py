"""An inpatient stay after admission: transfers, home leave, bloods, medically fit, discharge."""

# Events are planned on a timeline first, then walked in time order so every message carries the
# visit as it stands at that moment (location, prior location, medically fit flag).

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from eprlink.sim.hospital import codes
from eprlink.sim.hospital.er7 import NULL
from eprlink.sim.hospital.fixtures import BASE_WARDS, WARDS
from eprlink.sim.hospital.journeys.common import adt, at_time, lab_order, lag, pick_panels
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.settings import DischargeDisposition
from eprlink.sim.hospital.visits import Location, Visit, bed_in
from eprlink.sim.hospital.world import Draft, World

__all__ = ["StayOptions", "discharge_time", "plan_stay"]

_GENERAL_WARDS = ("WD10", "WD11", "WD12", "WD20", "WD21")


@dataclass(frozen=True, slots=True)
class StayOptions:
    """Force parts of a stay (``None`` leaves each to chance, at the rates in the docs)."""

    transfers: int | None = None  # ward and bed moves after admission
    home_leave: bool | None = None
    medically_fit: bool | None = None
    bloods: bool = True
    cancel_transfer: bool | None = None  # one A02 keyed in error, then A12
    cancel_discharge: bool | None = None  # an A03 in error, then A13, then the real A03


def discharge_time(rng: random.Random, admitted: datetime, stay: timedelta) -> datetime:
    """Discharges happen in the day (11:00–19:30), at least four hours after admission."""
    moment = at_time(admitted + stay, rng.uniform(11, 19.5))
    while moment < admitted + timedelta(hours=4):
        moment += timedelta(days=1)
    return moment


def _free_time(
    rng: random.Random, windows: list[tuple[datetime, datetime]], count: int
) -> list[datetime]:
    """``count`` sorted moments drawn evenly from the windows (a stay minus its home leave)."""
    spans = [(start, end) for start, end in windows if end > start]
    total = sum((end - start).total_seconds() for start, end in spans)
    moments: list[datetime] = []
    for _ in range(count if total > 0 else 0):
        offset = rng.uniform(0, total)
        for start, end in spans:
            length = (end - start).total_seconds()
            if offset <= length:
                moments.append(start + timedelta(seconds=offset))
                break
            offset -= length
    return sorted(moments)


def _moves(
    rng: random.Random, visit: Visit, moments: list[datetime]
) -> list[tuple[datetime, Location]]:
    """Transfers: first from an assessment unit to a base ward of the specialty, then bed
    moves (sometimes to another ward of the specialty)."""
    moves: list[tuple[datetime, Location]] = []
    ward = visit.location.ward
    for number, moment in enumerate(moments):
        if number == 0 and WARDS[ward].code in ("AMU1", "SAU1", "ED"):
            ward = rng.choice(BASE_WARDS.get(visit.specialty, ("WD10",)))
        moves.append((moment, bed_in(rng, ward)))
    return moves


def plan_stay(
    world: World,
    rng: random.Random,
    patient: Patient,
    visit: Visit,
    *,
    stay: timedelta,
    options: StayOptions,
    emergency: bool,
    not_before: datetime,
) -> list[Draft]:
    """Everything after the A01 for an admitted patient, up to and including the discharge.

    ``not_before`` is when the A01 was recorded: ADT messages of one patient are recorded in
    the order their events happened, however close together (a FIFO feed must not reorder).
    """
    trust = world.trust
    operator = world.operator(rng)
    admitted = visit.admitted_at
    assert admitted is not None
    if options.home_leave and stay < timedelta(days=3):
        stay = timedelta(days=3 + rng.uniform(0, 2))  # long enough for the leave asked for
    discharge = discharge_time(rng, admitted, stay)
    days = (discharge - admitted).total_seconds() / 86400
    leave: tuple[datetime, datetime] | None = None
    wants_leave = options.home_leave
    if wants_leave is None:
        wants_leave = days >= 4 and rng.random() < 0.12
    if wants_leave and days >= 1.5:
        start = at_time(admitted + timedelta(days=max(1.0, days / 2)), rng.uniform(10, 14))
        start = min(start, discharge - timedelta(hours=10))
        longest = (discharge - start).total_seconds() / 3600 / 2
        end = start + timedelta(hours=min(rng.uniform(5, 28), longest))
        leave = (start, end)
    count = options.transfers
    if count is None:
        first = 1 if emergency and days >= 0.5 and rng.random() < 0.85 else 0
        count = first + (1 if rng.random() < 0.35 * min(days, 4) / 4 else 0)
    if options.cancel_transfer and count == 0:
        count = 1  # a transfer to cancel
    windows = [(admitted + timedelta(hours=1), discharge - timedelta(hours=2))]
    if leave:
        windows = [
            (admitted + timedelta(hours=1), leave[0] - timedelta(hours=1)),
            (leave[1] + timedelta(hours=1), discharge - timedelta(hours=2)),
        ]
    moves = _moves(rng, visit, _free_time(rng, windows, count))
    fit = options.medically_fit
    if fit is None:
        fit = days >= 2 and rng.random() < 0.55
    ready: datetime | None = None
    if fit:
        ready = discharge - timedelta(hours=rng.uniform(3, min(72, days * 12)))
        if leave and leave[0] <= ready <= leave[1]:
            ready = leave[1] + timedelta(hours=1)
        ready = min(max(ready, admitted + timedelta(hours=2)), discharge - timedelta(hours=1))
    withdraw = ready is not None and rng.random() < trust.medically_fit.withdrawal_rate
    cancel_move = options.cancel_transfer
    if cancel_move is None:
        cancel_move = rng.random() < 0.03
    cancel_discharge = options.cancel_discharge
    if cancel_discharge is None:
        cancel_discharge = rng.random() < 0.01

    timeline: list[tuple[datetime, int, str, object]] = []
    for moment, location in moves:
        timeline.append((moment, 2, "move", location))
    if cancel_move and moves:
        moment, _ = moves[0]
        moment = max(
            moment - timedelta(minutes=rng.randint(30, 90)), admitted + timedelta(minutes=10)
        )
        if leave and leave[0] - timedelta(hours=1) <= moment <= leave[1]:
            moment = leave[1] + timedelta(minutes=10)
        wards = [w for w in _GENERAL_WARDS if w != visit.location.ward]
        wrong = bed_in(rng, rng.choice(wards))
        timeline.append((moment, 1, "wrong", wrong))
    if leave:
        timeline += [(leave[0], 3, "leave", None), (leave[1], 3, "return", None)]
    if ready is not None:
        timeline.append((ready, 4, "fit", None))
        if withdraw:
            hours = max(1.5, (discharge - ready).total_seconds() / 3600 / 3)
            back = ready + timedelta(hours=rng.uniform(1, hours))
            timeline.append((min(back, discharge - timedelta(minutes=40)), 5, "unfit", None))
            timeline.append((discharge - timedelta(minutes=rng.randint(15, 30)), 6, "refit", None))
    if options.bloods:
        day = admitted.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        while day < discharge:
            draw = at_time(day, rng.uniform(6, 9))
            on_leave = leave is not None and leave[0] <= draw <= leave[1]
            if draw < discharge and not on_leave and rng.random() < 0.6:
                timeline.append((draw, 7, "bloods", None))
            day += timedelta(days=1)
    timeline.sort(key=lambda item: (item[0], item[1]))

    drafts: list[Draft] = []
    current = visit
    last = not_before

    def send(  # noqa: PLR0917 - a local shorthand, always called positionally
        trigger: str,
        occurred: datetime,
        recorded: datetime,
        state: Visit,
        patch: dict[int, str] | None = None,
        pv1: dict[int, str] | None = None,
    ) -> Draft:
        return adt(
            world, trigger, occurred=occurred, recorded=recorded, operator=operator,
            patient=patient, visit=state, zu1_patch=patch, pv1_patch=pv1,
        )  # fmt: skip

    def record(moment: datetime) -> datetime:
        nonlocal last
        last = max(lag(rng, moment), last + timedelta(seconds=30)).replace(microsecond=0)
        return last

    for moment, _, kind, payload in timeline:
        recorded = record(moment) if kind != "bloods" else moment
        if kind in ("move", "wrong"):
            assert isinstance(payload, Location)
            before = current
            current = current.moved_to(payload)
            drafts.append(send("A02", moment, recorded, current))
            if kind == "wrong":
                fixed = recorded + timedelta(minutes=rng.randint(5, 25))
                restored = replace(current, location=before.location, prior_location=payload)
                drafts.append(send("A12", fixed, record(fixed), restored))
                current = before
        elif kind == "leave":
            drafts.append(send("A21", moment, recorded, current))
        elif kind == "return":
            drafts.append(send("A22", moment, recorded, current))
        elif kind in ("fit", "refit"):
            current = replace(current, medically_fit=True, ready_at=moment)
            drafts.append(send("A08", moment, recorded, current))
        elif kind == "unfit":
            current = replace(current, medically_fit=False, ready_at=None)
            patch = {24: NULL} if trust.medically_fit.ready_for_discharge else None
            drafts.append(send("A08", moment, recorded, current, patch))
        elif kind == "bloods":
            drafts += lab_order(
                world,
                rng,
                patient,
                current,
                ordered_at=moment,
                orderer=current.consultant,
                panels=pick_panels(rng, acute=False),
            )
    drafts += _discharge(
        world, rng, current, discharge, cancelled_first=cancel_discharge, record=record, send=send
    )
    return drafts


def _disposal(world: World, rng: random.Random, destination: str) -> str:
    mode = world.trust.discharge_disposition
    if mode is DischargeDisposition.DESTINATION:
        return destination
    if mode is DischargeDisposition.METHOD:
        return codes.pick(rng, codes.DISCHARGE_METHOD)
    return codes.pick(rng, codes.INPATIENT_DISPOSAL)


def _discharge(
    world: World,
    rng: random.Random,
    visit: Visit,
    moment: datetime,
    *,
    cancelled_first: bool,
    record: Callable[[datetime], datetime],
    send: Callable[..., Draft],
) -> list[Draft]:
    """A03 with PV1-45, PV1-36 (as configured) and PV1-37; optionally an A03 in error first,
    cancelled by an A13 that deletes the discharge date with ``""``."""
    drafts: list[Draft] = []
    destination = codes.pick(rng, codes.DISCHARGE_DESTINATION)
    if cancelled_first:
        early = moment - timedelta(hours=rng.uniform(3, 6))
        wrong = replace(visit, discharged_at=early, disposal=_disposal(world, rng, destination))
        wrong = replace(wrong, destination=destination)
        sent = record(early)
        drafts.append(send("A03", early, sent, wrong))
        undo = sent + timedelta(minutes=rng.randint(10, 50))
        deleted = {45: NULL, 36: NULL, 37: NULL}  # the discharge is undone: delete its data
        drafts.append(send("A13", undo, record(undo), visit, None, deleted))
    final = replace(
        visit,
        discharged_at=moment,
        disposal=_disposal(world, rng, destination),
        destination=destination,
    )
    drafts.append(send("A03", moment, record(moment), final))
    return drafts
