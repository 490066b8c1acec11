"""The generated HL7 v2.4 base layer (``data/hl7v2.4.json``) loads and holds the standard's facts.

The file is written by ``tools/gen_hl7v24.py`` from hl7apy 1.3.5, which is not installed in the
test environment; ``tools/gen_hl7v24.py --check`` (run in its own venv) compares the file with
a fresh generation. These tests check the facts eprlink relies on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from eprlink.profiles import (
    Profile,
    StructureNode,
    Usage,
    layer_path,
    load_profile,
    parse_structure,
)


@pytest.fixture(scope="module")
def base() -> Profile:
    return load_profile(layers=())


def _walk(nodes: tuple[StructureNode, ...]) -> Iterator[StructureNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def test_base_loads_alone(base: Profile) -> None:
    assert base.layers == ("hl7v2.4",)
    assert (base.name, base.version) == ("hl7v2.4", "2.4")
    assert len(base.segments) > 100 and len(base.datatypes) > 80 and len(base.tables) > 250
    assert base.rules == ()


def test_layer_names_its_generator() -> None:
    data = json.loads(layer_path("hl7v2.4", ".json").read_text(encoding="utf-8"))
    assert set(data) == {"layer", "datatypes", "segments", "tables", "structures", "events"}
    description = data["layer"]["description"]
    assert "tools/gen_hl7v24.py" in description
    assert "hl7apy 1.3.5" in description


def test_pv1_2_patient_class(base: Profile) -> None:
    field = base.segments["PV1"].field(2)
    assert field is not None
    assert (field.name, field.datatype, field.table) == ("Patient Class", "IS", "HL70004")
    assert field.usage is Usage.REQUIRED and field.max_repetitions == 1
    table = base.tables["HL70004"]
    assert table.name == "Patient class"
    assert {"E", "I", "O", "P"} <= set(table.codes)
    assert table.extensible  # a user-defined (IS) table


def test_pid_3_is_a_required_repeating_cx(base: Profile) -> None:
    field = base.segments["PID"].field(3)
    assert field is not None
    assert (field.name, field.datatype) == ("Patient Identifier List", "CX")
    assert field.usage is Usage.REQUIRED
    assert field.max_repetitions is None
    cx = base.datatypes["CX"]
    assert [c.name for c in cx.components[:1]] == ["ID"]
    assert cx.components[4].table == "HL70203"


def test_msh_9_message_type_has_three_components(base: Profile) -> None:
    field = base.segments["MSH"].field(9)
    assert field is not None
    assert (field.name, field.datatype, field.table) == ("Message Type", "MSG", "HL70076")
    components = base.datatypes["MSG"].components
    assert [(c.position, c.name, c.datatype) for c in components] == [
        (1, "Message Type", "ID"),
        (2, "Trigger Event", "ID"),
        (3, "Message Structure", "ID"),
    ]


def test_set_id_names_keep_the_segment(base: Profile) -> None:
    field = base.segments["PV1"].field(1)
    assert field is not None and field.name == "Set ID - PV1"


def test_segment_fields_are_numbered_from_one(base: Profile) -> None:
    for segment in base.segments.values():
        assert [f.position for f in segment.fields] == list(range(1, len(segment.fields) + 1))
        assert all(f.usage in (Usage.REQUIRED, Usage.OPTIONAL) for f in segment.fields)


def test_every_datatype_used_is_defined(base: Profile) -> None:
    used = {f.datatype for s in base.segments.values() for f in s.fields}
    used |= {c.datatype for d in base.datatypes.values() for c in d.components}
    assert used <= set(base.datatypes)
    assert base.datatypes["ST"].is_primitive
    assert not base.datatypes["XPN"].is_primitive


def test_adt_a01_structure(base: Profile) -> None:
    structure = base.structures["ADT_A01"]
    assert structure.notation.startswith("MSH EVN PID ")
    assert [n.name for n in structure.nodes[:3]] == ["MSH", "EVN", "PID"]
    procedure = next(n for n in structure.nodes if n.name == "PROCEDURE")
    assert (procedure.min, procedure.max) == (0, None)
    assert [c.name for c in procedure.children] == ["PR1", "ROL"]


def test_oru_r01_groups(base: Profile) -> None:
    (msh, patient_result, _dsc) = base.structures["ORU_R01"].nodes
    assert msh.name == "MSH"
    assert patient_result.name == "PATIENT_RESULT"
    assert (patient_result.min, patient_result.max) == (1, None)
    order = next(n for n in patient_result.children if n.name == "ORDER_OBSERVATION")
    assert order.is_group and (order.min, order.max) == (1, None)
    assert {"ORC", "OBR", "OBSERVATION"} <= {n.name for n in order.children}


def test_every_structure_uses_defined_segments(base: Profile) -> None:
    for structure in base.structures.values():
        segments = [n.name for n in _walk(structure.nodes) if not n.is_group]
        assert segments and segments[0] == "MSH", structure.id
        assert set(segments) <= set(base.segments), structure.id
        assert parse_structure(structure.notation) == structure.nodes


@pytest.mark.parametrize(
    ("message_type", "trigger", "structure"),
    [
        ("ADT", "A01", "ADT_A01"),
        ("ADT", "A04", "ADT_A01"),
        ("ADT", "A08", "ADT_A01"),
        ("ADT", "A13", "ADT_A01"),
        ("ADT", "A07", "ADT_A06"),
        ("ADT", "A11", "ADT_A09"),
        ("ADT", "A28", "ADT_A05"),
        ("ADT", "A31", "ADT_A05"),
        ("ADT", "A23", "ADT_A21"),
        ("ADT", "A34", "ADT_A30"),
        ("ADT", "A40", "ADT_A39"),
        ("ADT", "A44", "ADT_A43"),
        ("ADT", "A53", "ADT_A52"),
        ("ADT", "A62", "ADT_A61"),
        ("SIU", "S12", "SIU_S12"),
        ("SIU", "S26", "SIU_S12"),
        ("REF", "I15", "REF_I12"),
        ("RRI", "I13", "RRI_I12"),
        ("MFN", "M02", "MFN_M02"),
        ("MFN", "M05", "MFN_M05"),
        ("MFK", "M05", "MFK_M01"),
        ("OMG", "O19", "OMG_O19"),
        ("ORG", "O20", "ORG_O20"),
        ("OML", "O21", "OML_O21"),
        ("ORL", "O22", "ORL_O22"),
        ("ORU", "R01", "ORU_R01"),
        ("OUL", "R21", "OUL_R21"),
        ("ACK", "", "ACK"),
        ("ACK", "A01", "ACK"),
        ("ACK", "R01", "ACK"),
    ],
)
def test_event_structures(base: Profile, message_type: str, trigger: str, structure: str) -> None:
    event = base.event(message_type, trigger)
    assert event is not None
    assert event.structure == structure
    assert event.structure in base.structures


def test_events_describe_the_trigger(base: Profile) -> None:
    event = base.event("ADT", "A01")
    assert event is not None and event.description == "Admit/visit notification"
    assert all(e.rules == () for e in base.events.values())


def test_structures_of_later_versions_are_not_in_the_base(base: Profile) -> None:
    # OUL_R22, OML_O33 and ORL_O34 are v2.5 structures: another layer adds them
    for structure in ("OUL_R22", "OML_O33", "ORL_O34"):
        assert structure not in base.structures
    assert base.event("OUL", "R22") is None


def test_acknowledgment_code_table(base: Profile) -> None:
    table = base.tables["HL70008"]
    assert set(table.codes) == {"AA", "AE", "AR", "CA", "CE", "CR"}
    assert not table.extensible  # an HL7-defined (ID) table


def test_error_condition_table_has_codes_only(base: Profile) -> None:
    table = base.tables["HL70357"]
    assert {"0", "100", "101", "102", "103", "200", "207"} <= set(table.codes)
    assert not {"Errors", "Rejection", "Success"} & set(table.codes)


def test_table_ids_are_hl7_numbered(base: Profile) -> None:
    for tid, table in base.tables.items():
        assert tid == table.id
        assert tid.startswith("HL7") and len(tid) == 7 and tid[3:].isdigit()
