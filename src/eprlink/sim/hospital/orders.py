"""Laboratory orders for a patient: OML^O21 (HL7 UK's usual lab order) or OMG^O19."""

# One ORC/OBR pair per panel, each with its own placer number and one placer group number for
# the set (ref §8.1). Orders go on the ``orders`` feed; the results come from :mod:`results`.

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from eprlink.sim.hospital.er7 import comp, line, minute, second
from eprlink.sim.hospital.fixtures import Clinician
from eprlink.sim.hospital.labs import PANELS
from eprlink.sim.hospital.patients import Patient
from eprlink.sim.hospital.segments import pd1, pid, pv1, xcn
from eprlink.sim.hospital.settings import Feed, TrustSettings
from eprlink.sim.hospital.visits import Visit
from eprlink.sim.hospital.world import Draft

__all__ = ["ORDER_TYPES", "order_draft", "order_lines"]

ORDER_TYPES = {"OML^O21": "OML^O21^OML_O21", "OMG^O19": "OMG^O19^OMG_O19"}

SPECIMEN = "BLDV&Venous blood&HL70070"  # OBR-15 SPS-1 as subcomponents


def order_lines(
    trust: TrustSettings,
    patient: Patient,
    visit: Visit | None,
    *,
    panels: Sequence[str],
    first_placer: int,
    group: int,
    ordered_at: datetime,
    orderer: Clinician,
    entered_by: Clinician,
    clinical_info: str | None = None,
) -> list[str]:
    """The segments after MSH: PID, PD1, PV1, then ORC + OBR (+ NTE) for each panel."""
    namespace = trust.order_application
    lines = [pid(trust, patient), pd1(patient)]
    if visit is not None:
        lines.append(pv1(trust, visit))
    placer_group = comp(f"{trust.ods_code}G{group:08d}", namespace)
    timing = comp(None, None, None, minute(ordered_at), None, "R")
    for index, code in enumerate(panels):
        panel = PANELS[code]
        placer = comp(f"{trust.ods_code}O{first_placer + index:08d}", namespace)
        lines.append(
            line(
                "ORC",
                {
                    1: "NW",
                    2: placer,
                    4: placer_group,
                    7: timing,
                    9: second(ordered_at),
                    10: xcn(entered_by),
                    12: xcn(orderer),
                },
            )
        )
        lines.append(
            line(
                "OBR",
                {
                    1: str(index + 1),
                    2: placer,
                    4: comp(panel.code, panel.name, "L"),
                    7: minute(ordered_at),
                    13: comp(clinical_info) if clinical_info else "",
                    15: SPECIMEN,
                    16: xcn(orderer),
                    27: timing,
                },
            )
        )
    return lines


def order_draft(
    trust: TrustSettings,
    patient: Patient,
    visit: Visit | None,
    *,
    panels: Sequence[str],
    first_placer: int,
    group: int,
    ordered_at: datetime,
    orderer: Clinician,
    entered_by: Clinician,
    kind: str = "OML^O21",
    clinical_info: str | None = None,
) -> Draft:
    """The order as a draft on the ``orders`` feed, sent by the order-comms application."""
    panels = tuple(panels)
    if kind not in ORDER_TYPES:
        raise ValueError(f"unsupported order type {kind!r}: use one of {sorted(ORDER_TYPES)}")
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(f"unknown panels {unknown}: choose from {sorted(PANELS)}")

    def body() -> list[str]:
        return order_lines(
            trust,
            patient,
            visit,
            panels=panels,
            first_placer=first_placer,
            group=group,
            ordered_at=ordered_at,
            orderer=orderer,
            entered_by=entered_by,
            clinical_info=clinical_info,
        )

    return Draft(ordered_at, Feed.ORDERS, ORDER_TYPES[kind], body, trust.order_application)
