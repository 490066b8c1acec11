"""Message reading (three states, paths, lookups, groups) and editing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eprlink.hl7 import CX, XPN, HL7DateTime, Message, PathError, Segment, create, parse
from tests.conftest import sample_bytes

ADT = (
    "MSH|^~\\&|PAS|RXX|TIE|RXX|20250101120000||ADT^A08^ADT_A01|MSG\\F\\1|P|2.4\r"
    "EVN|A08|20250101120000\r"
    'PID|1||9990000018^^^NHS^NH~RX1234567^^^RXX^PI||SMITH^JOHN^^^MR|""|19800101|M|||'
    '1 HIGH ST^^LEEDS^^LS1 1AA^GBR^H~2 LOW RD^^YORK||""|\r'
    "PV1|1|I|WARD1^BAY2^BED3^RXX||||C123^JONES^ANN&MARY\r"
    "OBX|1|NM|HT^Height||180|cm\r"
    "OBX|2|NM|WT^Weight||75|kg\r"
    "NTE|1||line one\\.br\\line two \\T\\ \\X0D0A\\\r"
    "ZU1|20250101|1|C\r"
)


@pytest.fixture
def adt() -> Message:
    return parse(ADT)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("MSH-1", "|"),
        ("MSH-2", "^~\\&"),
        ("MSH-9", "ADT^A08^ADT_A01"),
        ("MSH-9.2", "A08"),
        ("MSH-10", "MSG|1"),
        ("PID-3", "9990000018^^^NHS^NH~RX1234567^^^RXX^PI"),
        ("PID-3.1", "9990000018"),
        ("PID-3[1].4", "NHS"),
        ("PID-3[2].1", "RX1234567"),
        ("PID-3[2].4.1", "RXX"),
        ("PID-3[3].1", None),
        ("PID-5.2", "JOHN"),
        ("PID-5.3", None),
        ("PID-5.99", None),
        ("PID-6", ""),
        ("PID-13", ""),
        ("PID-14", None),
        ("PID-15", None),
        ("PID-99", None),
        ("PID-11[2].3", "YORK"),
        ("PV1-7.3.2", "MARY"),
        ("PV1-7.3", "ANN&MARY"),
        ("OBX-5", "180"),
        ("OBX[2]-5", "75"),
        ("OBX[-1]-5", "75"),
        ("OBX[-2]-3.2", "Height"),
        ("OBX[3]-5", None),
        ("ZU1-3", "C"),
        ("AL1-1", None),
        ("NTE-3", "line one\\.br\\line two & \r\n"),
    ],
)
def test_get_three_states(adt: Message, path: str, expected: str | None) -> None:
    assert adt.get(path) == expected
    assert adt[path] == expected


def test_edited_and_unedited_reads_agree(adt: Message) -> None:
    paths = ["MSH-10", "PID-3[2].4.1", "PID-6", "OBX[-1]-5", "NTE-3", "PV1-7.3.2", "PID-5.99"]
    before = [adt.get(p) for p in paths]
    adt.set("ZU1-1", "20250102")  # any edit moves reads from the text to segment objects
    assert [adt.get(p) for p in paths] == before


def test_raw_keeps_escapes(adt: Message) -> None:
    assert adt.raw("MSH-10") == "MSG\\F\\1"
    assert adt.control_id == "MSG\\F\\1"
    assert adt.raw("PID-6") == '""'
    assert adt.raw("PID-14") is None


def test_formatting_commands_kept_or_rendered_on_request_es5(adt: Message) -> None:
    from eprlink.hl7 import Formatting

    assert adt.get("NTE-3", formatting=Formatting.RENDER) == "line one\nline two & \r\n"


def test_header_shortcuts(adt: Message) -> None:
    assert (adt.message_type, adt.trigger_event, adt.structure) == ("ADT", "A08", "ADT_A01")
    assert (adt.version, adt.processing_id) == ("2.4", "P")
    assert "PID" in adt and "AL1" not in adt
    assert repr(adt) == "<Message ADT^A08 control_id='MSG\\\\F\\\\1' segments=8>"


def test_segment_lookup_and_iteration(adt: Message) -> None:
    assert [s.id for s in adt] == ["MSH", "EVN", "PID", "PV1", "OBX", "OBX", "NTE", "ZU1"]
    assert len(adt.segments("OBX")) == 2
    last = adt.segment("OBX", -1)
    assert last is not None and last.get(5) == "75"
    assert adt.segment("AL1") is None
    pid = adt.segment("PID")
    assert pid is not None
    assert pid.get(3, 2, 4, 1) == "RXX"
    assert pid.field(3).repetition(2).component(1).value == "RX1234567"
    assert [r.component(4).value for r in pid.field(3).repetitions] == ["NHS", "RXX"]
    assert pid.field(6).is_null and pid.field(6).value == ""
    assert pid.field(14).is_absent and pid.field(14).repetitions == []
    assert len(pid) == 14


def test_typed_values(adt: Message) -> None:
    nhs = adt.typed("PID-3", CX)
    assert nhs is not None and nhs.is_nhs_number and nhs.id == "9990000018"
    local = adt.typed("PID-3[2]", CX)
    assert local is not None and local.identifier_type_code == "PI"
    name = adt.typed("PID-5", XPN)
    assert name is not None and name.family_name == "SMITH"
    when = adt.typed("MSH-7", HL7DateTime)
    assert when is not None and when.to_datetime() == datetime(2025, 1, 1, 12, 0, 0)
    assert adt.typed("PID-14", CX) is None


def test_groups_keep_text_order() -> None:
    message = parse(sample_bytes("oml_o21.hl7"))
    groups = list(message.groups("OBR", members=("OBX", "NTE"), until=("ORC",)))
    assert len(groups) == 4
    assert all([s.id for s in g.members] == ["NTE", "OBX"] for g in groups)
    pairs = list(message.groups("ORC", members=("OBR",)))
    assert len(pairs) == 4 and all(len(g.segments("OBR")) == 1 for g in pairs)
    assert [s.id for s in pairs[0]] == ["ORC", "OBR"]


def test_groups_of_results() -> None:
    message = parse(sample_bytes("oru_r01_200obx.hl7"))
    groups = list(message.groups("OBR", members=("OBX",)))
    assert len(groups) == 10
    assert sum(len(g.members) for g in groups) == 200


# -- editing ----------------------------------------------------------------------------------
def test_set_escapes_delimiters_and_round_trips(adt: Message) -> None:
    adt.set("PID-5.1", "O'BRIEN|^~\\&")
    assert adt.raw("PID-5.1") == "O'BRIEN\\F\\\\S\\\\R\\\\E\\\\T\\"
    assert adt.get("PID-5.1") == "O'BRIEN|^~\\&"
    assert parse(adt.to_er7()).get("PID-5.1") == "O'BRIEN|^~\\&"


def test_set_control_characters_cannot_create_segments(adt: Message) -> None:
    adt.set("PID-5.1", "A\rMSH|evil")
    text = adt.to_er7()
    assert text.count("\r") == ADT.count("\r")
    assert parse(text).get("PID-5.1") == "A\rMSH|evil"


def test_set_empty_string_writes_explicit_null_and_none_deletes(adt: Message) -> None:
    adt.set("PID-8", "")
    assert adt.raw("PID-8") == '""' and adt.get("PID-8") == ""
    adt.set("PID-8", None)
    assert adt.get("PID-8") is None
    adt.delete("PID-7")
    assert adt.get("PID-7") is None
    assert "|19800101|" not in adt.to_er7()


def test_set_extends_fields_repetitions_components(adt: Message) -> None:
    adt.set("PID-3[4].4", "X")
    assert adt.raw("PID-3") == "9990000018^^^NHS^NH~RX1234567^^^RXX^PI~~^^^X"
    adt.set("ZU1-8.2.3", "S")
    assert adt.raw("ZU1-8") == "^&&S"
    adt.set("ZU1-8", "whole")
    assert adt.segment("ZU1") is not None
    assert adt.to_er7().endswith("ZU1|20250101|1|C|||||whole\r")


def test_set_on_later_repetition_of_segment(adt: Message) -> None:
    adt.set("OBX[2]-5", "76")
    assert adt.get("OBX[2]-5") == "76" and adt.get("OBX[1]-5") == "180"


def test_set_raw_allows_lower_delimiters_only(adt: Message) -> None:
    adt.set_raw("PID-5", "JONES^ANN")
    assert adt.get("PID-5.2") == "ANN"
    with pytest.raises(PathError):
        adt.set_raw("PID-5.1", "A^B")
    with pytest.raises(PathError):
        adt.set_raw("PID-5", "A|B")
    with pytest.raises(PathError):
        adt.set_raw("PID-3[1]", "A~B")


@pytest.mark.parametrize("path", ["MSH-1", "MSH-2", "AL1-1", "PID"])
def test_unwritable_paths(adt: Message, path: str) -> None:
    with pytest.raises(PathError):
        adt.set(path, "x")


def test_add_and_remove_segments(adt: Message) -> None:
    added = adt.add_segment("AL1|1|DA|Z88.5", after="PV1")
    assert isinstance(added, Segment)
    assert [s.id for s in adt][4] == "AL1"
    adt.add_segment(Segment.build("NK1", ["1", "SMITH^JANE", ""], adt.delimiters))
    assert adt.to_er7().endswith('NK1|1|SMITH\\S\\JANE|""\r')
    adt.remove_segment("OBX", 2)
    assert len(adt.segments("OBX")) == 1
    adt.remove_segment("ZU1")
    assert "ZU1" not in adt
    with pytest.raises(PathError):
        adt.remove_segment("MSH")
    with pytest.raises(PathError):
        adt.add_segment("BAD\rSEG")
    with pytest.raises(PathError):
        adt.add_segment("X", after="ZZZ")


def test_segment_set_through_segment_object_marks_message(adt: Message) -> None:
    pv1 = adt.segment("PV1")
    assert pv1 is not None
    pv1.set(3, "WARD9", component=1)
    assert "PV1|1|I|WARD9^BAY2" in adt.to_er7()


def test_copy_is_independent(adt: Message) -> None:
    clone = adt.copy()
    clone.set("PV1-2", "O")
    assert adt.get("PV1-2") == "I" and clone.get("PV1-2") == "O"
    assert adt.to_er7() == ADT


def test_create_fills_header() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    message = create(
        "ADT^A01^ADT_A01",
        sending_application="EPRLINK",
        sending_facility="RXX",
        control_id="ABC123",
        timestamp=moment,
        charset="UNICODE UTF-8",
    )
    assert message.to_er7() == (
        "MSH|^~\\&|EPRLINK|RXX|||20250102030405+0000||ADT^A01^ADT_A01|ABC123|P|2.4"
        "||||||UNICODE UTF-8\r"
    )
    message.add_segment("PID|1")
    message.set("PID-3.1", "9990000018")
    assert parse(message.to_er7()).get("PID-3.1") == "9990000018"


def test_create_generates_unique_control_ids() -> None:
    ids = {create("ADT^A01").control_id for _ in range(100)}
    assert len(ids) == 100


def test_overlong_segment_ids_are_found_the_same_way_edited_or_not() -> None:
    message = parse("MSH|^~\\&|A|B|||x||ADT^A01|M1|P|2.4\rZPIDX|one|two\rZPI|three\r")
    assert message.raw("ZPI-1") == "three"
    zpi = message.segment("ZPI")
    assert zpi is not None and zpi.get(1) == "three"
    assert message.segment("ZPIDX") is not None
    message.set("MSH-10", "M2")
    assert message.raw("ZPI-1") == "three"
