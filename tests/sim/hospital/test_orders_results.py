"""Orders for a patient, and realistic results for any accepted OMG^O19 / OML^O21."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

import pytest

from eprlink.hl7 import Message, parse
from eprlink.sim.hospital import PANELS, Hospital, results_for_order


def _ids(message: Message) -> list[str]:
    return [segment.id for segment in message.segments()]


def _in_range(value: float, reference: str) -> str:
    if reference.startswith(">"):
        return "L" if value < float(reference[1:]) else "N"
    low, high = (float(part) for part in reference.split("-"))
    return "L" if value < low else "H" if value > high else "N"


@pytest.mark.parametrize(("kind", "structure"), [("OML^O21", "OML_O21"), ("OMG^O19", "OMG_O19")])
def test_order_builder(kind: str, structure: str) -> None:
    order = Hospital(1, beds=20).order(panels=("FBC", "CRP"), kind=kind)
    assert order.get("MSH-9.3") == structure
    assert _ids(order) == ["MSH", "PID", "PD1", "ORC", "OBR", "ORC", "OBR"]
    assert [s.get(4, None, 1) for s in order.segments("OBR")] == ["FBC", "CRP"]
    orcs = order.segments("ORC")
    assert {s.get(1) for s in orcs} == {"NW"}
    assert orcs[0].get(2, None, 1) != orcs[1].get(2, None, 1)  # a placer number each
    assert orcs[0].raw(4) == orcs[1].raw(4)  # one placer group


def test_order_builder_refuses_unknown_requests() -> None:
    hospital = Hospital(1, beds=20)
    with pytest.raises(ValueError, match="panels"):
        hospital.order(panels=("TSH",))
    with pytest.raises(ValueError, match="order type"):
        hospital.order(kind="ORM^O01")


def test_results_have_units_ranges_flags_and_report_text() -> None:
    hospital = Hospital(2, beds=20)
    flags: set[str] = set()
    for _ in range(15):
        order = hospital.order(panels=tuple(PANELS))
        result = hospital.results_for(order)
        assert result.get("MSH-9") == "ORU^R01^ORU_R01"
        assert result.raw("PID-3") == order.raw("PID-3")
        assert len(result.segments("OBR")) == len(PANELS)
        for group in result.groups("OBR", members=("OBX", "NTE")):
            assert group.head.get(25) == "F"
            assert group.head.get(2, None, 1) is not None and group.head.get(3) is not None
            assert group.segments("NTE")[0].get(3)  # report text
            for obx in group.segments("OBX"):
                value = float(obx.get(5) or "nan")
                assert obx.get(2) == "NM" and obx.get(11) == "F"
                assert obx.get(6, None, 3) == "UCUM"
                assert obx.get(8) == _in_range(value, obx.get(7) or "")
                flags.add(obx.get(8) or "")
        for orc in result.segments("ORC"):
            assert orc.get(1) == "RE" and orc.get(5) == "CM"
    assert flags == {"H", "L", "N"}


def test_the_same_order_always_gets_the_same_results() -> None:
    hospital = Hospital(3, beds=20)
    order = hospital.order(panels=("UE", "LFT"))
    first, second = hospital.results_for(order), hospital.results_for(order)
    assert first.control_id != second.control_id

    def body(message: Message) -> list[str]:
        return [segment.to_er7() for segment in message.segments()][1:]

    assert body(first) == body(second)
    assert body(Hospital(3, beds=20).results_for(order)) == body(first)  # another instance


def test_results_for_another_systems_order() -> None:
    """The sample OML^O21 from a GP system: known tests get results, TSH is not offered."""
    raw = resources.files("eprlink.samples").joinpath("oml_o21.hl7").read_bytes()
    order = parse(raw)
    at = datetime(2026, 11, 23, 12, 30)
    result = results_for_order(order, seed=4, at=at)
    assert result.get("MSH-7") == "20261123123000"
    assert result.control_id == results_for_order(order, seed=4, at=at).control_id
    assert result.raw("PID-3") == order.raw("PID-3")
    statuses = [s.get(25) for s in result.segments("OBR")]
    assert statuses == ["F", "F", "F", "X"]
    assert result.segments("OBR")[0].get(22) == "202611231230"
    unknown = list(result.groups("OBR", members=("OBX", "NTE")))[-1]
    assert [obx.get(11) for obx in unknown.segments("OBX")] == ["X"]


def test_specimen_centric_results() -> None:
    hospital = Hospital(5, beds=20)
    order = hospital.order(panels=("FBC", "HBA1C"))
    result = hospital.results_for(order, kind="OUL^R22")
    assert result.get("MSH-9") == "OUL^R22^OUL_R22"
    ids = _ids(result)
    assert ids.count("SPM") == 2
    assert ids.index("SPM") < ids.index("OBR") < ids.index("ORC")


def test_results_only_for_orders() -> None:
    hospital = Hospital(6, beds=20)
    admission = hospital.register().messages[0]
    with pytest.raises(ValueError, match="OMG"):
        hospital.results_for(admission)
    with pytest.raises(ValueError, match="result type"):
        hospital.results_for(hospital.order(), kind="ORU^R30")
