"""Results for an accepted order: ORU^R01 (or the specimen-centric OUL^R22) from OMG/OML."""

# Everything random about a result is drawn from a stream named by the hospital seed and the
# order's placer number, so the same order always gets the same results, whoever asks and when.

from __future__ import annotations

import random
from datetime import datetime, timedelta

from eprlink.hl7 import HL7DateTime, HL7Error, Message
from eprlink.sim.hospital.er7 import comp, line, minute
from eprlink.sim.hospital.fixtures import LAB_STAFF
from eprlink.sim.hospital.labs import Panel, Value, egfr, find_panel, measure
from eprlink.sim.hospital.settings import TrustSettings

__all__ = ["RESULT_TYPES", "report_text", "report_time", "result_lines", "result_times"]

RESULT_TYPES = {"ORU^R01": "ORU^R01^ORU_R01", "OUL^R22": "OUL^R22^OUL_R22"}

_SPECIMEN_TYPE = "BLDV^Venous blood^HL70487"


def _time(message: Message, path: str) -> datetime | None:
    try:
        value = message.typed(path, HL7DateTime)
    except HL7Error:  # a malformed time in someone else's order: fall back, do not fail
        return None
    return None if value is None else value.to_datetime()


def report_time(collected: datetime, placer: str, seed: int) -> datetime:
    """When the laboratory reports a request collected at ``collected``: 50–200 minutes later,
    fixed by the seed and the placer number."""
    minutes = random.Random(f"{seed}:turnaround:{placer}").randint(50, 200)
    return collected + timedelta(minutes=minutes)


def result_times(
    order: Message, at: datetime | None, *, seed: int = 0
) -> tuple[datetime, datetime, datetime]:
    """Collected, received in the laboratory, and reported, for the order's first request.

    Without ``at`` the report follows the order by a fixed, placer-derived turnaround, so the
    result time is reproducible; with ``at`` (a simulator answering now) it is ``at``.
    """
    ordered = _time(order, "MSH-7") or datetime(2000, 1, 1)
    collected = _time(order, "OBR-7") or ordered
    placer = order.get("ORC-2.1") or order.get("OBR-2.1") or ""
    if at is not None and (at.tzinfo is None) != (collected.tzinfo is None):
        collected = collected.replace(tzinfo=at.tzinfo)
    reported = at if at is not None else report_time(collected, placer, seed)
    collected = min(collected, reported - timedelta(minutes=20))
    received = collected + (reported - collected) / 3
    return collected, received, reported


def report_text(panel: Panel, values: list[Value]) -> str:
    """A short interpretive comment, as a laboratory might add to the report."""
    flags = {v.analyte.code: v.flag for v in values}
    found = {v.analyte.code: v for v in values}
    notes: list[str] = []
    if flags.get("HB") == "L":
        notes.append("Low haemoglobin: suggest haematinics if not recently checked.")
    if flags.get("NEUT") == "H" or flags.get("WBC") == "H":
        notes.append("Neutrophilia: ?infection or inflammation.")
    if flags.get("PLT") == "L":
        notes.append("Thrombocytopenia: film reviewed, no platelet clumping seen.")
    if flags.get("K") == "H":
        notes.append("Raised potassium: exclude haemolysis or delayed separation; repeat.")
    if flags.get("NA") == "L":
        notes.append("Hyponatraemia.")
    if flags.get("EGFR") == "L" or flags.get("CREA") == "H":
        notes.append("Reduced kidney function: consider AKI, compare with previous results.")
    if "H" in (flags.get("ALT"), flags.get("BILI"), flags.get("ALP")):
        notes.append("Abnormal liver function tests: suggest clinical correlation.")
    if flags.get("CRP") == "H":
        notes.append("Raised CRP, consistent with inflammation or infection.")
    if "HBA1C" in found:
        a1c = float(found["HBA1C"].text)
        if a1c >= 48:
            notes.append("HbA1c of 48 mmol/mol or more is consistent with diabetes.")
        elif a1c >= 42:
            notes.append("HbA1c 42-47 mmol/mol: increased risk of diabetes.")
    return " ".join(notes) or f"{panel.name}: results within reference ranges."


def _age(order: Message, when: datetime) -> int:
    """Age in years from PID-7 (50 when the order does not say)."""
    try:
        born = order.typed("PID-7", HL7DateTime)
    except HL7Error:
        return 50
    birth = born.to_date() if born is not None else None
    if birth is None:
        return 50
    return max(0, when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day)))


def _measure(
    panel: Panel, rng: random.Random, *, female: bool, unwell: float, age: int
) -> list[Value]:
    values: list[Value] = []
    for analyte in panel.analytes:
        creatinine = next((v for v in values if v.analyte.code == "CREA"), None)
        if analyte.code == "EGFR" and creatinine is not None:
            values.append(egfr(analyte, float(creatinine.text), age=age, female=female))
        else:
            values.append(measure(analyte, rng, female=female, unwell=unwell))
    return values


def _female(order: Message) -> bool:
    return (order.get("PID-8") or "") in ("2", "F")


def _copied(order: Message, segment_id: str) -> str | None:
    segment = order.segment(segment_id)
    return segment.to_er7() if segment is not None else None


def result_lines(
    order: Message,
    *,
    trust: TrustSettings,
    seed: int,
    at: datetime | None = None,
    kind: str = "ORU^R01",
) -> list[str]:
    """The result segments after MSH for every ORC/OBR of ``order``.

    PID, PD1 and PV1 are copied from the order unchanged, so identifiers and visit match what
    the order placer sent. A request the laboratory does not offer is reported with OBR-25
    ``X`` (no results available) and a note saying so.
    """
    if kind not in RESULT_TYPES:
        raise ValueError(f"unsupported result type {kind!r}: use one of {sorted(RESULT_TYPES)}")
    collected, received, reported = result_times(order, at, seed=seed)
    patient = [text for text in (_copied(order, "PID"), _copied(order, "PD1")) if text]
    visit = _copied(order, "PV1")
    lines = list(patient)
    if visit:
        lines.append(visit)
    female = _female(order)
    age = _age(order, collected)
    checker = LAB_STAFF[seed % len(LAB_STAFF)]
    for index, request in enumerate(order.segments("OBR"), start=1):
        placer_id = request.get(2, None, 1) or f"UNKNOWN{index}"
        placer = request.raw(2) or comp(placer_id)
        stream = random.Random(f"{seed}:results:{placer_id}")
        filler = comp(f"{trust.ods_code}L{stream.randrange(10**8):08d}", trust.lab_application)
        panel = find_panel(request.get(4, None, 1), request.get(4, None, 2))
        service = request.raw(4) or comp("UNKNOWN")
        values: list[Value] = []
        if panel is not None:
            unwell = stream.choice((0.05, 0.15, 0.3))
            values = _measure(panel, stream, female=female, unwell=unwell, age=age)
        status = "F" if panel is not None else "X"
        note = (
            report_text(panel, values)
            if panel is not None
            else "This test is not offered by the simulated laboratory."
        )
        ordering = request.raw(16) or ""
        orc = line("ORC", {1: "RE", 2: placer, 3: filler, 5: "CM", 12: ordering})
        obr = line(
            "OBR",
            {
                1: str(index),
                2: placer,
                3: filler,
                4: service,
                7: minute(collected),
                14: minute(received),
                15: request.raw(15) or "",
                16: ordering,
                22: minute(reported),
                24: panel.section if panel is not None else "",
                25: status,
                32: f"{checker.code}&{checker.family}&{checker.given}",
            },
        )
        results = [
            line(
                "OBX",
                {
                    1: str(number),
                    2: "NM",
                    3: comp(v.analyte.code, v.analyte.name, "L"),
                    5: v.text,
                    6: comp(v.analyte.unit, None, "UCUM"),
                    7: v.reference,
                    8: v.flag,
                    11: "F",
                    14: minute(collected),
                },
            )
            for number, v in enumerate(values, start=1)
        ]
        if panel is None:  # results cannot be obtained: one OBX with status X and no value
            results = [line("OBX", {1: "1", 2: "ST", 3: service, 11: "X"})]
        nte = line("NTE", {1: "1", 2: "L", 3: comp(note)})
        if kind == "ORU^R01":
            lines += [orc, obr, nte, *results]
        else:
            specimen = line(
                "SPM",
                {
                    1: str(index),
                    2: "^" + filler.replace("^", "&"),
                    4: _SPECIMEN_TYPE,
                    17: minute(collected),
                    18: minute(received),
                },
            )
            lines += [specimen, obr, orc, nte, *results]
    return lines
