"""Settings that tune the validator: usage (RE, B/W, segment usage), NHS and CHI recognition,
identity reliability (PID-32), sex coding, case-insensitive codes, events, ranges, patterns."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from eprlink.profiles import FieldDef, ProfileError, Rule, RuleKind, SegmentDef, Severity, Usage
from eprlink.profiles.check_settings import regex_hazard
from eprlink.profiles.validate import Validator
from tests.profiles.test_validate_support import (
    ADT,
    EVN,
    ORU,
    PID,
    PV1,
    SEGMENTS,
    build_profile,
    check,
    codes,
    msh,
    replaced,
)


def _with_fields(sid: str, *extra: FieldDef) -> dict[str, SegmentDef]:
    """The test profile's segment ``sid`` with fields added or replaced."""
    segment = SEGMENTS[sid]
    by_position = {f.position: f for f in segment.fields}
    by_position.update({f.position: f for f in extra})
    fields = tuple(by_position[p] for p in sorted(by_position))
    return {sid: replace(segment, fields=fields)}


def _pid(**fields: str) -> str:
    parts = PID.split("|")
    for key, value in fields.items():
        position = int(key[1:])
        parts.extend([""] * (position + 1 - len(parts)))
        parts[position] = value
    return "|".join(parts)


def _profile(settings: dict[str, Any], **kw: Any) -> Any:
    return build_profile(settings=settings, **kw)


# -- usage RE, B/W --------------------------------------------------------------------------------
VISIT_RE = _with_fields("PV1", FieldDef(19, "Visit Number", "CX", Usage.REQUIRED_IF_KNOWN))


def test_re_field_absent_is_reported_at_re_missing() -> None:
    profile = build_profile(segments=VISIT_RE)
    report = check(ADT, profile)
    assert codes(report) == [("I", 101, "PV1-19")]
    assert report.issues[0].expected.startswith("a value when one is available (usage RE")
    assert report.ok
    present = replaced(ADT, "PV1", PV1 + "|" * 16 + "V1^^^RCB^VN")
    assert codes(check(present, profile)) == []
    deleted = replaced(ADT, "PV1", PV1 + "|" * 16 + '""')  # "" is sent: not absent
    assert codes(check(deleted, profile)) == []
    loud = build_profile(settings={"validation": {"re_missing": "W"}}, segments=VISIT_RE)
    assert codes(check(ADT, loud)) == [("W", 101, "PV1-19")]
    quiet = build_profile(settings={"validation": {"re_missing": "off"}}, segments=VISIT_RE)
    assert codes(check(ADT, quiet)) == []


ALIAS_B = _with_fields("PID", FieldDef(9, "Patient Alias", "XPN", Usage.BACKWARD, None))


@pytest.mark.parametrize("usage", [Usage.BACKWARD, Usage.WITHDRAWN])
def test_backward_field_present_is_reported_at_backward_present(usage: Usage) -> None:
    segments = _with_fields("PID", FieldDef(9, "Patient Alias", "XPN", usage, None))
    profile = build_profile(segments=segments)
    sent = replaced(ADT, "PID", _pid(f9="OLDNAME^ALICE"))
    report = check(sent, profile)
    assert codes(report) == [("W", 102, "PID-9")]
    assert "backwards compatibility only" in report.issues[0].expected
    assert codes(check(ADT, profile)) == []
    assert codes(check(replaced(ADT, "PID", _pid(f9='""')), profile)) == []
    strict = build_profile(settings={"validation": {"backward_present": "E"}}, segments=segments)
    assert codes(check(sent, strict)) == [("E", 102, "PID-9")]


def test_backward_field_value_is_still_checked() -> None:
    segments = _with_fields("PID", FieldDef(9, "Old Date", "DT", Usage.BACKWARD))
    report = check(replaced(ADT, "PID", _pid(f9="2024-01-01")), build_profile(segments=segments))
    # the datatype error and the backward finding share a code and place: the error is kept
    assert codes(report) == [("E", 102, "PID-9")]


# -- segment usage --------------------------------------------------------------------------------
def test_segment_usage_re_absent_where_the_structure_allows_it() -> None:
    profile = _profile({"segment_usage": {"AL1": "RE", "ZU1": "O"}})
    report = check(ADT, profile)
    assert codes(report) == [("I", 100, "AL1")]
    assert "required if available" in report.issues[0].expected
    assert codes(check([*ADT, "AL1|1"], profile)) == []
    assert codes(check(ORU, profile)) == []  # ORU_R01 has no AL1: nothing to say
    quiet = _profile({"segment_usage": {"AL1": "RE"}, "validation": {"re_missing": "off"}})
    assert codes(check(ADT, quiet)) == []


def test_segment_usage_required_absent_is_an_error() -> None:
    report = check(ADT, _profile({"segment_usage": {"ZU1": "R"}}))
    assert codes(report) == [("E", 100, "ZU1")]
    assert report.ack_code() == "AE"
    assert codes(check([*ADT, "ZU1|1"], _profile({"segment_usage": {"ZU1": "R"}}))) == []


def test_segment_usage_backward_and_not_supported_present() -> None:
    sent = [*ADT, "AL1|1", "AL1|2", "ZU1|1"]
    report = check(sent, _profile({"segment_usage": {"ZU1": "B", "AL1": "X"}}))
    assert codes(report) == [("W", 100, "AL1"), ("W", 100, "AL1[2]"), ("W", 100, "ZU1")]
    assert "backwards compatibility" in report.issues[2].expected
    assert "not supported" in report.issues[0].expected
    settings = {"segment_usage": {"ZU1": "W"}, "validation": {"backward_present": "E"}}
    assert codes(check(sent, _profile(settings))) == [("E", 100, "ZU1")]
    assert codes(check(ADT, _profile({"segment_usage": {"ZU1": "B"}}))) == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"ZZ9": "O"}, r"segment_usage\.ZZ9: the profile defines no segment ZZ9"),
        ({"ZU1": "MAYBE"}, r"segment_usage\.ZU1: usage 'MAYBE' is not one of"),
        ({"zu1": "O"}, r"keys are segment ids"),
    ],
)
def test_segment_usage_mistakes_are_profile_errors(table: dict[str, str], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        Validator(_profile({"segment_usage": table}))


# -- NHS number and CHI recognition ---------------------------------------------------------------
def test_nhs_number_recognised_by_authority_or_by_type() -> None:
    bad_by_type = _pid(f3="9990000019^^^RCB^NH")  # CX-5 NH, local authority
    bad_by_authority = _pid(f3="9990000019^^^NHS^MR")  # CX-4 NHS whatever the type
    assert codes(check(replaced(ADT, "PID", bad_by_type))) == [("E", 102, "PID-3[1]")]
    assert codes(check(replaced(ADT, "PID", bad_by_authority))) == [("E", 102, "PID-3[1]")]
    by_authority = _profile({"identifiers": {"recognise_nhs_by": ["authority"]}})
    assert codes(check(replaced(ADT, "PID", bad_by_type), by_authority)) == []
    assert codes(check(replaced(ADT, "PID", bad_by_authority), by_authority)) == [
        ("E", 102, "PID-3[1]")
    ]
    by_type = _profile({"identifiers": {"recognise_nhs_by": ["type"]}})
    assert codes(check(replaced(ADT, "PID", bad_by_authority), by_type)) == []


def test_chi_number_is_an_identifier_but_not_an_nhs_number() -> None:
    chi = replaced(ADT, "PID", _pid(f3="0101011234^^^CHI^NH"))
    assert codes(check(chi)) == []  # not checked by modulus 11 although CX-5 is NH
    itk_style = replaced(ADT, "PID", _pid(f3="0101011234^^^CHI"))
    assert codes(check(itk_style)) == [("W", 101, "PID-3[1].5")]  # no CX-5: only NHS is exempt
    # a CHI number does not satisfy require_nhs_number
    needed = _profile({"identifiers": {"require_nhs_number": "E"}})
    assert codes(check(chi, needed)) == [("E", 101, "PID-3")]
    # the authority and type that mark CHI are settings
    other = _profile({"identifiers": {"chi_authority": "SCOT"}})
    assert codes(check(chi, other)) == [("E", 102, "PID-3[1]")]
    typed = _profile({"identifiers": {"chi_type": "CH"}})
    assert codes(check(chi, typed)) == [("E", 102, "PID-3[1]")]


def test_nhs_number_rule_uses_the_same_recognition() -> None:
    rule = Rule(RuleKind.NHS_NUMBER, "MRG-1")
    segments = [msh("ADT^A40^ADT_A40"), EVN, PID, "MRG|1234567890^^^CHI^NH~9990000019^^^X^NH"]
    report = check(segments, build_profile(rules=(rule,)))
    assert codes(report) == [("E", 102, "MRG-1[2]")]


# -- identity reliability (PID-32) ----------------------------------------------------------------
STATUS_FIELD = _with_fields(
    "PID", FieldDef(32, "Identity Reliability Code", "IS", Usage.OPTIONAL, None)
)
LEGACY = _with_fields("ZU1", FieldDef(27, "NHS Number Tracing Status", "IS"))


def _status(value: str, settings: dict[str, Any] | None = None, *extra: str) -> list[Any]:
    profile = build_profile(settings=settings or {}, segments={**STATUS_FIELD, **LEGACY})
    return codes(check([*replaced(ADT, "PID", _pid(f32=value)), *extra], profile))


@pytest.mark.parametrize("value", ["NSTS01", "01", "ED~NSTS01", "US~UD~NSTS08~AL", "ED", ""])
def test_one_status_in_any_position_passes(value: str) -> None:
    assert _status(value) == []


def test_more_than_one_status_is_reported() -> None:
    assert _status("NSTS01~NSTS02") == [("W", 102, "PID-32[2]")]
    assert _status("ED~NSTS01~AL~01") == [("W", 102, "PID-32[4]")]  # a bare code counts
    assert _status("NSTS01~NSTS02~NSTS03") == [("W", 102, "PID-32[2]")]  # said once
    assert _status("NSTS01~NSTS02", {"identity_reliability": {"max_status_codes": 2}}) == []
    loud = {"identity_reliability": {"too_many_status_codes": "E"}}
    assert _status("NSTS01~NSTS02", loud) == [("E", 102, "PID-32[2]")]


def test_bare_status_codes_can_be_refused() -> None:
    settings = {"identity_reliability": {"accept_bare_status": False}}
    assert _status("01", settings) == [("E", 103, "PID-32[1]")]
    assert _status("NSTS01", settings) == []


def test_status_prefix_is_a_setting() -> None:
    settings = {"identity_reliability": {"nhs_status_prefix": "NNS"}}
    assert _status("NNS01~NNS02", settings) == [("W", 102, "PID-32[2]")]
    assert _status("NSTS01~NSTS02", settings) == []  # not status codes under that prefix


def test_require_status_with_the_legacy_carrier() -> None:
    settings = {"identity_reliability": {"require_status": "E"}}
    assert _status("ED", settings) == [("E", 101, "PID-32")]
    assert _status("", settings) == [("E", 101, "PID-32")]
    assert _status("NSTS03", settings) == []
    # ZU1-27 (legacy) is read when PID-32 holds no status
    assert _status("ED", settings, "ZU1|1||||||||||||||||||||||||||02") == []
    off = {"identity_reliability": {"require_status": "E", "legacy_field": ""}}
    assert _status("ED", off, "ZU1|1||||||||||||||||||||||||||02") == [("E", 101, "PID-32")]


def test_identity_reliability_reads_every_patient() -> None:
    settings = {"identity_reliability": {"require_status": "W"}}
    profile = build_profile(settings=settings, segments=STATUS_FIELD)
    first = [_pid(f32="NSTS01"), "MRG|Z1^^^RCB^MR"]
    merge = [msh("ADT^A40^ADT_A40"), EVN, *first, PID, "MRG|Z2^^^RCB^MR"]
    assert codes(check(merge, profile)) == [("W", 101, "PID[2]-32")]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_status_codes": 0}, "max_status_codes must be 1 or more"),
        ({"field": "PID-32.1"}, "must name a whole field"),
        ({"accept_bare_status": "yes"}, "must be true or false"),
        ({"nhs_status_prefix": ""}, "non-empty string"),
    ],
)
def test_identity_reliability_mistakes(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        Validator(_profile({"identity_reliability": table}))


# -- sex ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "value", "expected"),
    [
        ("both", "1", []),
        ("both", "M", []),
        ("nhs", "2", []),
        ("nhs", "F", [("E", 103, "PID-8")]),
        ("hl7", "F", []),
        ("hl7", "2", [("E", 103, "PID-8")]),
        ("nhs", '""', []),
    ],
)
def test_sex_coding_forms(accept: str, value: str, expected: list[Any]) -> None:
    profile = _profile({"sex": {"accept": accept}})
    report = check(replaced(ADT, "PID", _pid(f8=value)), profile)
    assert codes(report) == expected
    if expected:
        assert f"{accept.upper()} form" in report.issues[0].expected


def test_sex_code_of_neither_form_is_the_tables_business() -> None:
    # table 0001 of the test profile is extensible: a warning, whatever the form setting
    report = check(replaced(ADT, "PID", _pid(f8="X")), _profile({"sex": {"accept": "nhs"}}))
    assert codes(report) == [("W", 103, "PID-8")]


def test_sex_settings_are_checked() -> None:
    with pytest.raises(ProfileError, match=r"settings\.sex\.accept must be 'nhs', 'hl7'"):
        Validator(_profile({"sex": {"accept": "either"}}))
    with pytest.raises(ProfileError, match=r"settings\.sex\.hl7_to_nhs is not a setting"):
        Validator(_profile({"sex": {"hl7_to_nhs": {"M": "1"}}}))


# -- case-insensitive codes -----------------------------------------------------------------------
def test_case_insensitive_table_values() -> None:
    lower = replaced(ADT, "PV1", "PV1|1|i|WARD1^BAY1^BED1^RCB")
    assert codes(check(lower)) == [("E", 103, "PV1-2")]
    assert codes(check(lower, _profile({"matching": {"case_insensitive": ["PV1-2"]}}))) == []
    # a component path: only that component's table
    name = replaced(ADT, "PID", _pid(f5="TESTPATIENT^ALICE^^^^^l"))
    assert codes(check(name)) == [("E", 103, "PID-5[1].7")]
    assert codes(check(name, _profile({"matching": {"case_insensitive": ["PID-5.7"]}}))) == []
    assert codes(check(name, _profile({"matching": {"case_insensitive": ["PID-5.1"]}}))) == [
        ("E", 103, "PID-5[1].7")
    ]


def test_case_insensitive_rule_values_and_conditions() -> None:
    rule = Rule(RuleKind.VALUE_IN, "MSH-3", values=("PAS",), severity=Severity.WARNING)
    when = Rule(RuleKind.REQUIRE, "PV1-45", when=_cond("PV1-2", "I"), severity=Severity.WARNING)
    sent = replaced(replaced(ADT, "MSH", msh().replace("|PAS|", "|pas|")), "PV1", "PV1|1|i")
    folded = ["MSH-3", "PV1-2"]
    plain = build_profile(rules=(rule, when), tables={})
    assert ("W", 103, "MSH-3") in codes(check(sent, plain))
    assert ("W", 101, "PV1-45") not in codes(check(sent, plain))  # "i" is not "I"
    caseless = build_profile(
        rules=(rule, when), settings={"matching": {"case_insensitive": folded}}
    )
    found = codes(check(sent, caseless))
    assert ("W", 103, "MSH-3") not in found
    assert ("W", 101, "PV1-45") in found


def _cond(path: str, *values: str) -> Any:
    from eprlink.profiles import Condition

    return Condition(path, values)


def test_case_insensitive_paths_are_checked() -> None:
    with pytest.raises(ProfileError, match="must name a field or a component"):
        Validator(_profile({"matching": {"case_insensitive": ["PV1"]}}))
    with pytest.raises(ProfileError, match="list of paths"):
        Validator(_profile({"matching": {"case_insensitive": "PV1-2"}}))


# -- events ---------------------------------------------------------------------------------------
def test_not_supported_event_of_a_supported_type_is_201() -> None:
    profile = _profile({"events": {"not_supported": ["ADT^A08"]}})
    report = check(replaced(ADT, "MSH", msh("ADT^A08^ADT_A01")), profile)
    assert codes(report)[0] == ("E", 201, "MSH-9.2")
    assert report.ack_code() == "AR"
    assert codes(check(ADT, profile)) == []  # A01 is still fine


def test_not_supported_message_type_is_200() -> None:
    profile = _profile({"events": {"not_supported": ["ORU^R01"]}})
    report = check(ORU, profile)
    assert codes(report)[0] == ("E", 200, "MSH-9.1")
    assert report.ack_code() == "AR"
    # an undefined trigger of that type is a 200 too: no ORU event is supported
    other = check(replaced(ORU, "MSH", msh("ORU^R30^ORU_R01")), profile)
    assert codes(other)[0] == ("E", 200, "MSH-9.1")


def test_backwards_compatibility_event_is_validated_and_reported() -> None:
    profile = _profile({"events": {"backwards_compatibility": ["ADT^A03"]}})
    report = check(replaced(ADT, "MSH", msh("ADT^A03^ADT_A01")), profile)
    assert codes(report) == [("W", 201, "MSH-9.2")]
    assert "backwards compatibility" in report.issues[0].expected
    assert report.event == ("ADT", "A03") and report.structure == "ADT_A01"
    events = {"backwards_compatibility": ["ADT^A03"]}
    loud = _profile({"events": events, "validation": {"backward_present": "E"}})
    assert check(replaced(ADT, "MSH", msh("ADT^A03^ADT_A01")), loud).ack_code() == "AR"


def test_event_lists_are_checked() -> None:
    with pytest.raises(ProfileError, match=r"must be TYPE\^TRIGGER"):
        Validator(_profile({"events": {"not_supported": ["ADTA46"]}}))


# -- numeric ranges -------------------------------------------------------------------------------
def _volume(value: str, settings: dict[str, Any]) -> list[Any]:
    oru = replaced(ORU, "OBR", f"OBR|1|ORD1||FBC^Full blood count^L|||||{value}")
    return codes(check(oru, _profile(settings)))


def test_numeric_range() -> None:
    ranges = {"numeric_ranges": {"OBR-9": [0, 10]}}
    assert _volume("5", ranges) == []
    assert _volume("0", ranges) == [] and _volume("10.0", ranges) == []
    assert _volume("10.5", ranges) == [("W", 102, "OBR-9")]
    assert _volume("-1", ranges) == [("W", 102, "OBR-9")]
    assert _volume("abc", ranges) == [("E", 102, "OBR-9")]  # NM's own check, more severe
    assert _volume('""', ranges) == []
    loud = {**ranges, "validation": {"out_of_range": "error"}}
    assert _volume("11", loud) == [("E", 102, "OBR-9")]
    assert _volume("11", {**ranges, "validation": {"out_of_range": "off"}}) == []


def test_numeric_range_on_a_text_field_and_per_occurrence() -> None:
    second = [*ORU, "OBR|2|ORD2||U^Urea^L", "OBX|1|NM|U^Urea^L||199|mmol/L|||||F"]
    settings = {"numeric_ranges": {"OBX-5": [0, 150]}}
    assert codes(check(second, _profile(settings))) == [("W", 102, "OBX[3]-5[1]")]
    only_first = {"numeric_ranges": {"OBX[1]-5": [0, 150]}}
    assert codes(check(second, _profile(only_first))) == []
    text = {"numeric_ranges": {"NTE-3": [0, 1]}}
    report = check(ORU, _profile(text))  # "Comment on WBC" is not a number
    assert codes(report) == [("W", 102, "NTE-3[1]")]
    assert report.issues[0].found_safe == "a value that is not a number"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"OBR-9": [10, 0]}, r"must be \[min, max\]"),
        ({"OBR-9": [1]}, r"must be \[min, max\]"),
        ({"OBR-9": ["a", "b"]}, r"must be \[min, max\]"),
        ({"OBR": [0, 1]}, "must name a field or a component"),
    ],
)
def test_numeric_range_mistakes(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        Validator(_profile({"numeric_ranges": table}))


# -- patterns -------------------------------------------------------------------------------------
ODS = {
    "path": "MSH-4.1",
    "regex": "[A-Z0-9]{3}([A-Z0-9]{2})?",
    "severity": "W",
    "text": "A 3- or 5-character ODS code.",
}


def _facility(value: str, *patterns: dict[str, Any]) -> Any:
    sent = replaced(ADT, "MSH", msh().replace("|RCB|TIE|", f"|{value}|TIE|"))
    return check(sent, _profile({"patterns": list(patterns) or [ODS]}))


def test_pattern_matches_the_whole_value() -> None:
    assert codes(_facility("RCB")) == [] and codes(_facility("RCB55")) == []
    report = _facility("RCB5")
    assert codes(report) == [("W", 102, "MSH-4.1")]
    assert (
        report.issues[0].expected == "a value of the expected form (A 3- or 5-character ODS code)"
    )
    assert report.issues[0].found_safe == "a value of another form"
    assert codes(_facility("XRCB55")) == [("W", 102, "MSH-4.1")]  # fullmatch, not search
    assert codes(_facility('""')) == []  # nothing to match in a delete


def test_pattern_on_a_repeating_field_reports_each_repetition() -> None:
    postcode = {"path": "PID-11.5", "regex": ".{0,8}", "severity": "E", "text": "Postcode"}
    pid = _pid(f11="1 A ST^^LEEDS^^XX1 1AB^GBR^H~2 B^^L^^XX1 1ABCDEF")
    report = check(replaced(ADT, "PID", pid), _profile({"patterns": [postcode]}))
    assert codes(report) == [("E", 102, "PID-11[2].5")]


def test_long_values_never_reach_the_regex() -> None:
    # SZ-4: a huge value is reported by its length alone; the regex would be slow on it
    slow = {**ODS, "regex": "[A-Z]{1,3}[A-Z0-9]*[A-Z0-9]*[A-Z0-9]*9", "max_length": 64}
    started = time.perf_counter()
    report = _facility("A" * 1_000_000, slow)
    assert time.perf_counter() - started < 1.0
    assert codes(report) == [("W", 102, "MSH-4.1")]
    assert report.issues[0].found == "a value of 1000000 characters"


@pytest.mark.parametrize(
    "regex", ["(a+)+$", "(a|ab)*c", r"(\w*)*x", r"(a)\1", "(?:x+y?)+z", "([A-Z]{2}){2,}"]
)
def test_catastrophic_patterns_are_refused_at_load(regex: str) -> None:
    assert regex_hazard(regex) is not None
    with pytest.raises(ProfileError, match=r"settings\.patterns\[0\]\.regex: .* is refused"):
        Validator(_profile({"patterns": [{**ODS, "regex": regex}]}))


@pytest.mark.parametrize(
    "regex", ["^[A-Z0-9]{3}([A-Z0-9]{2})?$", "^G[0-9]{7}$", "^.{0,8}$", "(a|b)*", "[A-Z]+-[0-9]+"]
)
def test_ordinary_patterns_are_accepted(regex: str) -> None:
    assert regex_hazard(regex) is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "MSH-4.1"}, "needs a 'path' and a 'regex'"),
        ({**ODS, "regex": "[A-Z"}, "is not a regular expression"),
        ({**ODS, "colour": "red"}, r"unknown keys \['colour'\]"),
        ({**ODS, "max_length": 0}, "max_length must be a whole number"),
        ({**ODS, "severity": "loud"}, "severity must be one of"),
        ({**ODS, "path": "MSH"}, "must name a field or a component"),
    ],
)
def test_pattern_mistakes(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        Validator(_profile({"patterns": [entry]}))


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"numeric_ranges": {"ZZ9-1": [0, 1]}}, "settings.numeric_ranges ZZ9-1"),
        ({"patterns": [{**ODS, "path": "ZZ9-1.1"}]}, "settings.patterns ZZ9-1.1"),
        ({"matching": {"case_insensitive": ["ZZ9-1"]}}, "settings.matching.case_insensitive ZZ9-1"),
    ],
)
def test_paths_on_undefined_segments_are_refused(settings: dict[str, Any], where: str) -> None:
    # the segment pass only visits segments the profile defines: such a check would never run
    with pytest.raises(ProfileError, match=f"{where}: the profile defines no segment ZZ9"):
        Validator(_profile(settings))


def test_patterns_must_be_a_list_of_tables() -> None:
    with pytest.raises(ProfileError, match=r"settings\.patterns must be a list of tables"):
        Validator(_profile({"patterns": ODS}))
