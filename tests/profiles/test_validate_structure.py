"""Structure, order and cardinality: the greedy matcher, groups, Z and unknown segments."""

from __future__ import annotations

from eprlink.profiles.check_structure import StructureMatcher
from tests.profiles.test_validate_support import (
    ADT,
    EVN,
    ORU,
    PID,
    PROFILE,
    PV1,
    STRUCTURES,
    build_profile,
    check,
    codes,
    msh,
)


def _placed(structure: str, ids: list[str]) -> list[tuple[str, ...] | None]:
    placed: list[tuple[str, ...] | None] = []
    StructureMatcher(STRUCTURES[structure]).match(ids, placed)
    return placed


def test_valid_structures_have_no_findings() -> None:
    assert codes(check(ADT)) == []
    assert codes(check([*ADT, "PV2||||||||20240102", "OBX|1|ST|X^Y||ok||||||F"])) == []


def test_missing_required_segment_is_reported_at_that_segment() -> None:
    report = check([msh(), EVN, PV1])
    assert codes(report) == [("E", 100, "PID")]
    issue = report.issues[0]
    assert (issue.segment, issue.sequence, issue.field) == ("PID", 1, None)
    assert "segment PID (Patient Identification) in ADT_A01" in issue.text


def test_missing_segment_at_the_end() -> None:
    assert codes(check([msh(), EVN, PID])) == [("E", 100, "PV1")]


def test_pv1_before_pid_is_out_of_order_once() -> None:
    report = check([msh(), EVN, PV1, PID])
    assert codes(report) == [("E", 100, "PV1")]
    assert report.issues[0].found == "PV1 after EVN"
    assert report.ack_code() == "AE"


def test_swapped_neighbours_blame_the_first_of_the_pair() -> None:
    # the lookahead sees EVN next, so PID is the segment out of place (and EVN not missing)
    report = check([msh(), PID, EVN, PV1])
    assert codes(report) == [("E", 100, "PID")]
    assert report.issues[0].found == "PID after MSH"


def test_segment_repeated_beyond_its_maximum() -> None:
    report = check([msh(), EVN, PID, PID, PV1])
    assert codes(report) == [("E", 100, "PID[2]")]
    assert "at most 1 PID" in report.issues[0].expected


def test_second_msh() -> None:
    report = check([*ADT, msh(control="X2")])
    assert codes(report) == [("E", 100, "MSH[2]")]
    assert report.issues[0].expected == "one MSH per message"


def test_unknown_non_z_segment_is_an_error() -> None:
    report = check([*ADT, "QQQ|1|2"])
    assert codes(report) == [("E", 100, "QQQ")]
    assert report.issues[0].found == "unknown segment QQQ"


def test_known_segment_not_in_the_structure_is_unexpected() -> None:
    report = check([*ADT, "IN1|1"])
    assert codes(report) == [("E", 100, "IN1")]
    assert "only segments that ADT_A01 contains" in report.issues[0].expected


def test_unknown_z_segment_is_info_and_anywhere() -> None:
    report = check([msh(), "ZPI|1|LOCAL^DATA", EVN, PID, PV1, "ZPI|2"])
    assert codes(report) == [("I", 100, "ZPI"), ("I", 100, "ZPI[2]")]
    assert report.ok
    assert report.ack_code() == "AA"


def test_unknown_z_severity_is_configurable() -> None:
    segments = [*ADT, "ZPI|1"]
    for value, expected in (("warning", "W"), ("error", "E"), ("E", "E"), ("I", "I")):
        profile = build_profile(settings={"validation": {"unknown_z_segments": value}})
        assert codes(check(segments, profile)) == [(expected, 100, "ZPI")]
    profile = build_profile(settings={"validation": {"unknown_z_segments": "off"}})
    assert codes(check(segments, profile)) == []


def test_known_z_segment_outside_its_structure_is_allowed_anywhere() -> None:
    assert codes(check([msh(), EVN, "ZU4|1|20240101", PID, PV1])) == []


def test_z_segment_defined_in_the_structure_keeps_its_place() -> None:
    assert codes(check([*ADT, "ZU1|1|01^NHS"])) == []
    assert codes(check([msh(), EVN, PID, "ZU1|1", PV1])) == [("E", 100, "ZU1")]


def test_invalid_segment_id() -> None:
    report = check([*ADT, "P-D|1"])
    assert codes(report) == [("E", 100, "segment 5")]
    issue = report.issues[0]
    assert issue.segment is None and issue.found == "'P-D'"
    assert "P-D" not in issue.safe_text


def test_structure_checks_can_be_switched_off() -> None:
    profile = build_profile(settings={"validation": {"structure": "off"}})
    assert codes(check([msh(), EVN, PV1, PID], profile)) == []
    # unknown segments are still refused (ST-1 style), even without the order check
    assert codes(check([*ADT, "QQQ|1"], profile)) == [("E", 100, "QQQ")]


def test_structure_as_warning() -> None:
    profile = build_profile(settings={"validation": {"structure": "warning"}})
    report = check([msh(), EVN, PV1, PID], profile)
    assert codes(report) == [("W", 100, "PV1")]
    assert report.ok


def test_oru_second_obr_starts_a_new_order_observation() -> None:
    ids = ["MSH", "PID", "PV1", "OBR", "OBX", "NTE", "OBR", "OBX", "OBX"]
    placed = _placed("ORU_R01", ids)
    assert placed[3] == ("PATIENT_RESULT[1]", "ORDER_OBSERVATION[1]", "OBR")
    assert placed[5] == ("PATIENT_RESULT[1]", "ORDER_OBSERVATION[1]", "OBSERVATION[1]", "NTE")
    assert placed[6] == ("PATIENT_RESULT[1]", "ORDER_OBSERVATION[2]", "OBR")
    assert placed[8] == ("PATIENT_RESULT[1]", "ORDER_OBSERVATION[2]", "OBSERVATION[2]", "OBX")
    assert codes(check([*ORU, "OBR|2||X|U^E^L", "OBX|1|ST|A^B||x||||||F"])) == []


def test_multi_order_oml_is_grouped_in_order_never_reordered() -> None:
    order = ["ORC", "OBR", "NTE", "DG1", "OBX"]
    ids = ["MSH", "PID", "PV1", *order, *order, *order]
    placed = _placed("OML_O21", ids)
    for number, start in enumerate((3, 8, 13), 1):
        assert placed[start] == ("ORDER_GENERAL[1]", f"ORDER[{number}]", "ORC")
        request = ("ORDER_GENERAL[1]", f"ORDER[{number}]", "OBSERVATION_REQUEST[1]")
        assert placed[start + 1] == (*request, "OBR")
        assert placed[start + 3] == (*request, "DG1")
        assert placed[start + 4] == (*request, "OBSERVATION[1]", "OBX")
    # a segment list without DG1 is still read as three orders, not as prior results
    ids = ["MSH", "PID", "ORC", "OBR", "OBX", "ORC", "OBR", "OBX", "ORC", "OBR", "OBX"]
    placed = _placed("OML_O21", ids)
    assert [p[1] for p in placed if p and p[-1] == "ORC"] == ["ORDER[1]", "ORDER[2]", "ORDER[3]"]


def test_oml_prior_result_without_orc_is_a_prior_result() -> None:
    ids = ["MSH", "PID", "ORC", "OBR", "OBX", "OBR", "OBX"]
    placed = _placed("OML_O21", ids)
    assert placed[5] is not None and "ORDER_PRIOR[1]" in placed[5]


def test_oml_message_validates_and_keeps_its_text() -> None:
    segments = [
        msh("OML^O21^OML_O21"),
        PID,
        "ORC|NW|A",
        "OBR|1|A||FBC^FBC^L",
        "DG1|1",
        "ORC|NW|B",
        "OBR|2|B||UE^UE^L",
        "NTE|1||note",
        "DG1|1",
        "OBX|1|ST|Q^Q||text||||||F",
    ]
    from tests.profiles.test_validate_support import message

    parsed = message(*segments)
    before = parsed.to_er7()
    report = check(segments)
    assert codes(report) == []
    assert parsed.to_er7() == before


def test_missing_group_is_named_by_its_first_required_segment() -> None:
    report = check([msh("ORU^R01^ORU_R01"), PID, PV1])
    assert codes(report) == [("E", 100, "OBR")]
    assert "group ORDER_OBSERVATION (starting with OBR)" in report.issues[0].expected


def test_obx_without_obr_reports_the_missing_obr() -> None:
    report = check([msh("ORU^R01^ORU_R01"), PID, PV1, "OBX|1|ST|A^B||x||||||F"])
    assert codes(report) == [("E", 100, "OBR")]


def test_structure_cache_is_reused_and_bounded() -> None:
    matcher = StructureMatcher(STRUCTURES["ORU_R01"])
    ids = ["MSH", "PID", "OBR", *["OBX"] * 50]
    assert matcher.match(ids) == []
    size = len(matcher._steps)
    assert matcher.match(ids) == []
    assert len(matcher._steps) == size  # a second message costs lookups only


def test_long_message_of_unplaceable_segments_stays_linear() -> None:
    segments = [*ADT, *["PID|1||X^^^A^MR||N"] * 2000]
    report = check(segments)
    assert len([i for i in report.issues if i.code == 100]) == 2000


def test_profile_used_by_default_helpers_is_not_mutated() -> None:
    assert PROFILE.settings == {}


def test_out_of_order_text_never_quotes_an_invalid_segment() -> None:
    report = check([msh(), EVN, "JOHN SMITH 19750412", PV1, PID])
    texts = [i.safe_text for i in report.issues] + [i.text for i in report.issues if i.segment]
    assert not any("JOHN" in t for t in texts)
