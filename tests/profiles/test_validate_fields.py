"""Field checks: usage, nulls, datatypes, lengths, tables, repetitions, identifiers."""

from __future__ import annotations

import pytest

from eprlink.profiles import FieldDef, ProfileError, SegmentDef, Usage
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


def _pid(**fields: str) -> str:
    """PID with fields replaced by position (``f3="..."``)."""
    parts = PID.split("|")
    for key, value in fields.items():
        position = int(key[1:])
        parts.extend([""] * (position + 1 - len(parts)))
        parts[position] = value
    return "|".join(parts)


def _adt(pid: str | None = None, pv1: str | None = None) -> list[str]:
    return [msh(), EVN, pid or PID, pv1 or PV1]


# -- usage ---------------------------------------------------------------------------------------
def test_required_field_absent() -> None:
    report = check(_adt(pv1="PV1|1"))
    assert codes(report) == [("E", 101, "PV1-2")]
    issue = report.issues[0]
    assert (issue.segment, issue.sequence, issue.field, issue.field_name) == (
        "PV1",
        1,
        2,
        "Patient Class",
    )
    assert issue.text == "PV1-2 Patient Class: expected a value (required field), found nothing"
    assert issue.msa_text == "required field missing at PV1-2"


def test_required_field_explicit_null() -> None:
    report = check(_adt(pv1='PV1|1|""'))
    assert codes(report) == [("E", 101, "PV1-2")]
    assert report.issues[0].found == 'the explicit null ""'


def test_required_field_past_the_end_of_the_segment() -> None:
    assert codes(check(_adt(pid="PID|1"))) == [("E", 101, "PID-3"), ("E", 101, "PID-5")]


def test_required_header_field() -> None:
    text = "MSH|^~\\&|PAS|RCB|TIE|RCB|20240101120000||ADT^A01^ADT_A01||P|2.4"
    assert codes(check([text, EVN, PID, PV1])) == [("E", 101, "MSH-10")]


def test_not_supported_field_present_is_a_warning() -> None:
    report = check(_adt(pid=_pid(f2="X1^^^RCB^MR")))
    assert codes(report) == [("W", 102, "PID-2")]
    assert report.ok
    profile = build_profile(settings={"validation": {"not_supported": "error"}})
    assert codes(check(_adt(pid=_pid(f2="X1")), profile)) == [("E", 102, "PID-2")]


def test_explicit_null_is_never_a_datatype_error() -> None:
    pid = _pid(f7='""', f8='""', f29='""', f30='""', f11='""', f13='""')
    assert codes(check(_adt(pid=pid, pv1='PV1|""|I|""^""^""|""|||""'))) == []
    assert codes(check(_adt(pv1='PV1|1|I|||||||||||||||||||||||||||||||||||||||||||""|""'))) == []


# -- datatypes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("118", True),
        ("-1.5", True),
        ("+.5", True),
        ("007", True),
        ("1e5", False),
        ("1.2.3", False),
        ("NaN", False),
        (" 1", False),
        ("١٢", False),  # Arabic-Indic digits are not HL7 digits
        ("", True),
    ],
)
def test_nm(value: str, ok: bool) -> None:
    obr = f"OBR|1|ORD1||FBC^Full blood count^L|||||{value}"
    report = check(replaced(ORU, "OBR", obr))
    assert codes(report) == ([] if ok else [("E", 102, "OBR-9")])


def test_nm_error_text_and_safe_text() -> None:
    report = check(replaced(ORU, "OBR", "OBR|1|ORD1||FBC^FBC^L|||||12,5"))
    issue = report.issues[0]
    assert issue.text.startswith("OBR-9 Collection Volume: expected a number (NM")
    assert issue.found == "'12,5'"
    assert "12,5" not in issue.safe_text
    assert issue.msa_text == "data type error at OBR-9"


@pytest.mark.parametrize("value", ["20240230", "2024133", "19751", "1975-04-12", "2024010112"])
def test_bad_dt(value: str) -> None:
    report = check([*ADT, f"AL1|1|||||{value}"])
    assert codes(report) == [("E", 102, "AL1-6")]


@pytest.mark.parametrize("value", ["2024", "202401", "20240229"])
def test_good_dt(value: str) -> None:
    assert codes(check([*ADT, f"AL1|1|||||{value}"])) == []


@pytest.mark.parametrize(
    "value", ["20241301", "202401011260", "2024010124", "2024-01-01", "20240101+25", "tomorrow"]
)
def test_bad_ts(value: str) -> None:
    report = check(_adt(pid=_pid(f7=value)))
    assert codes(report) == [("E", 102, "PID-7")]
    assert value not in report.issues[0].safe_text


@pytest.mark.parametrize(
    "value", ["1975", "197504121230", "20240101120000.1234", "20240101120000+0100", "2024^Y"]
)
def test_good_ts(value: str) -> None:
    assert codes(check(_adt(pid=_pid(f7=value)))) == []


def test_ts_inside_a_component() -> None:
    segment = SegmentDef("ZZR", "Range", (FieldDef(1, "Range", "DR"),))
    profile = build_profile(segments={"ZZR": segment})
    assert codes(check([*ADT, "ZZR|20240101^20240102"], profile)) == []
    assert codes(check([*ADT, "ZZR|20240101^2024013"], profile)) == [("E", 102, "ZZR-1.2")]


TIMES = [("1230", True), ("12", True), ("123", False), ("2400", False), ("1260", False),
         ("120000.5+0100", True), ("1200+2500", False), ("12:30", False)]  # fmt: skip


@pytest.mark.parametrize(("value", "ok"), TIMES)
def test_tm(value: str, ok: bool) -> None:
    segments = [msh(), EVN, PID, f"ROL|R1||||||{value}", PV1]
    assert codes(check(segments)) == ([] if ok else [("E", 102, "ROL-7")])


@pytest.mark.parametrize(
    ("value", "ok"), [("1", True), ("0012", True), ("-1", False), ("1.0", False)]
)
def test_si(value: str, ok: bool) -> None:
    assert codes(check(_adt(pid=_pid(f1=value)))) == ([] if ok else [("E", 102, "PID-1")])


def test_obx_5_is_checked_as_the_type_obx_2_names() -> None:
    bad = "OBX|1|NM|HB^Haemoglobin^L||FOO|g/L|||||F"
    report = check(replaced(ORU, "OBX", bad))
    assert codes(report) == [("E", 102, "OBX-5[1]")]
    assert report.issues[0].field_name == "Observation Value"
    assert codes(check(replaced(ORU, "OBX", "OBX|1|ST|C^C^L||FOO||||||F"))) == []
    assert codes(check(replaced(ORU, "OBX", "OBX|1|ZZ|C^C^L||FOO||||||F"))) == [("E", 103, "OBX-2")]
    assert codes(check(replaced(ORU, "OBX", "OBX|1|TS|C^C^L||20241301||||||F"))) == [
        ("E", 102, "OBX-5[1]")
    ]


def test_escaped_values_are_unescaped_before_table_checks() -> None:
    # \T\ is the subcomponent separator: the value is "I&" which is not in table 0004
    assert codes(check(_adt(pv1="PV1|1|I\\T\\"))) == [("E", 103, "PV1-2")]
    assert codes(check(_adt(pv1="PV1|1|\\X49\\"))) == []  # \X49\ is "I"


# -- lengths -------------------------------------------------------------------------------------
def test_too_long_is_102_before_v27() -> None:
    control = "C" * 21
    report = check([msh(control=control), EVN, PID, PV1])
    assert codes(report) == [("E", 102, "MSH-10")]
    assert report.issues[0].found == "21 characters"
    assert report.issues[0].safe_text.endswith("found 21 characters")


def test_too_long_is_104_from_v27() -> None:
    report = check([msh(version="2.7", control="C" * 21), EVN, PID, PV1])
    assert codes(report) == [("E", 104, "MSH-10")]
    assert report.issues[0].msa_text == "value too long at MSH-10"


def test_length_severity_is_configurable_and_counts_unescaped_characters() -> None:
    profile = build_profile(settings={"validation": {"lengths": "warning"}})
    assert codes(check([msh(control="C" * 21), EVN, PID, PV1], profile)) == [("W", 102, "MSH-10")]
    escaped = "C" * 18 + "\\T\\"  # 21 characters as written, 19 as meant
    assert codes(check([msh(control=escaped), EVN, PID, PV1])) == []


def test_length_per_repetition() -> None:
    ok = "~".join(["x" * 30] * 3)
    assert codes(check(_adt(pid=_pid(f11=ok)))) == []
    report = check(_adt(pid=_pid(f11="x~" + "y" * 31)))
    assert codes(report) == [("E", 102, "PID-11[2]")]


def test_huge_value_is_refused_quickly() -> None:
    import time

    value = "a" * 1_000_000 + "!"
    started = time.perf_counter()
    report = check(_adt(pid=_pid(f7=value, f11=value, f1=value)))
    assert time.perf_counter() - started < 2  # policy SZ-4 asks for < 100 ms on a quiet machine
    assert ("E", 102, "PID-7") in codes(report)
    assert all(len(i.found) < 100 for i in report.issues)


# -- tables --------------------------------------------------------------------------------------
def test_value_outside_a_closed_table_is_103() -> None:
    report = check(_adt(pv1="PV1|1|Z"))
    assert codes(report) == [("E", 103, "PV1-2")]
    issue = report.issues[0]
    assert issue.text == (
        "PV1-2 Patient Class: expected a code from table 0004 (Patient class), found 'Z'"
    )
    assert issue.safe_text == (
        "PV1-2 Patient Class: expected a code from table 0004 (Patient class), "
        "found a code not in the table"
    )
    assert issue.reason == "table value not found"


def test_extensible_table_gives_a_warning() -> None:
    report = check(_adt(pid=_pid(f8="X")))
    assert codes(report) == [("W", 103, "PID-8")]
    profile = build_profile(settings={"validation": {"extensible_tables": "off"}})
    assert codes(check(_adt(pid=_pid(f8="X")), profile)) == []


def test_undefined_and_empty_tables_are_skipped() -> None:
    # PV1-4 names table 9999, which the profile does not define; HD-1 uses 0300 (no codes)
    assert codes(check(_adt(pv1="PV1|1|I|W^B^B^ANYTHING|ANY"))) == []


def test_table_on_a_composite_field_applies_to_its_first_component() -> None:
    report = check([msh("XYZ^A01^ADT_A01"), EVN, PID, PV1])
    assert ("E", 103, "MSH-9.1") in codes(report)


def test_component_table() -> None:
    report = check(_adt(pid=_pid(f3="9990000018^^^NHS^XX")))
    assert ("E", 103, "PID-3[1].5") in codes(report)


def test_table_severity_setting() -> None:
    profile = build_profile(settings={"validation": {"tables": "warning"}})
    assert codes(check(_adt(pv1="PV1|1|Z"), profile)) == [("W", 103, "PV1-2")]


# -- repetitions and the snapshot rule ----------------------------------------------------------
def test_repetition_in_a_non_repeating_field() -> None:
    report = check(_adt(pv1="PV1|1|I~O"))
    assert codes(report) == [("E", 102, "PV1-2")]
    assert report.issues[0].expected == "at most 1 repetition"


def test_snapshot_rule_for_empty_and_null_repetitions() -> None:
    report = check(_adt(pid=_pid(f13='01134960123~""~~07700900123')))
    assert codes(report) == [("W", 102, "PID-13[2]"), ("W", 102, "PID-13[3]")]
    assert report.ok


def test_uk_delete_form_is_not_a_snapshot_violation() -> None:
    assert codes(check(_adt(pid=_pid(f5='""^""^""^""^""^""^""', f13='""')))) == []
    assert codes(check(_adt(pid=_pid(f13='""^""')))) == []
    assert codes(check(_adt(pid=_pid(f13='""')))) == []


def test_snapshot_rule_setting() -> None:
    pid = _pid(f13='a~""')
    profile = build_profile(settings={"nulls": {"snapshot_rule": "error"}})
    assert codes(check(_adt(pid=pid), profile)) == [("E", 102, "PID-13[2]")]
    profile = build_profile(settings={"nulls": {"snapshot_rule": "off"}})
    assert codes(check(_adt(pid=pid), profile)) == []


def test_too_many_repetitions() -> None:
    segment = SegmentDef("PID", "Patient Identification", tuple(
        FieldDef(f.position, f.name, f.datatype, f.usage, 2 if f.position == 13 else
                 f.max_repetitions, f.max_length, f.table) for f in SEGMENTS["PID"].fields
    ))  # fmt: skip
    profile = build_profile(segments={"PID": segment})
    report = check(_adt(pid=_pid(f13="a~b~c")), profile)
    assert codes(report) == [("E", 102, "PID-13")]
    assert report.issues[0].found == "3 repetitions"


# -- identifiers ---------------------------------------------------------------------------------
def test_valid_nhs_number_in_either_position_and_form() -> None:
    assert codes(check(_adt(pid=_pid(f3="ZZ1^^^RCB^MR~9990000018^^^NHS^NH")))) == []
    # ITK's form without CX-5 needs no type (identifiers.nhs_type_optional, default true) ...
    assert codes(check(_adt(pid=_pid(f3="9990000018^^^NHS")))) == []
    # ... unless the profile says otherwise; other identifiers still need one
    strict = build_profile(settings={"identifiers": {"nhs_type_optional": False}})
    assert codes(check(_adt(pid=_pid(f3="9990000018^^^NHS")), strict)) == [("W", 101, "PID-3[1].5")]
    assert codes(check(_adt(pid=_pid(f3="9990000018^^^NHS~Z1^^^RCB")))) == [
        ("W", 101, "PID-3[2].5")
    ]


def test_invalid_nhs_number_is_102_at_its_repetition() -> None:
    report = check(_adt(pid=_pid(f3="ZZ1^^^RCB^MR~9990000019^^^NHS^NH")))
    assert codes(report) == [("E", 102, "PID-3[2]")]
    issue = report.issues[0]
    assert issue.found == "'9990000019'"
    assert issue.found_safe == "a number whose check digit is wrong"
    assert "9990000019" not in issue.safe_text
    assert issue.msa_text == "data type error at PID-3"
    assert report.ack_code() == "AE"


@pytest.mark.parametrize("value", ["999 000 0018", "999-000-0018", "999000001", "99900000180"])
def test_nhs_number_must_be_ten_plain_digits(value: str) -> None:
    report = check(_adt(pid=_pid(f3=f"{value}^^^NHS^NH")))
    assert codes(report) == [("E", 102, "PID-3[1]")]
    assert report.issues[0].found_safe == "a value that is not 10 digits"


def test_chi_and_local_numbers_are_not_nhs_numbers() -> None:
    assert codes(check(_adt(pid=_pid(f3="1234567890^^^CHI^NH")))) == []
    assert codes(check(_adt(pid=_pid(f3="1234567890^^^RCB^MR")))) == []


def test_nhs_number_check_settings() -> None:
    pid = _pid(f3="9990000019^^^NHS^NH")
    for value, expected in (("warning", [("W", 102, "PID-3[1]")]), ("off", [])):
        profile = build_profile(settings={"identifiers": {"nhs_number_check": value}})
        assert codes(check(_adt(pid=pid), profile)) == expected
    # recognised by CX-5 NH whatever the authority, unless recognise_nhs_by leaves "type" out
    profile = build_profile(settings={"identifiers": {"nhs_authority": "NHSX"}})
    assert codes(check(_adt(pid=pid), profile)) == [("E", 102, "PID-3[1]")]
    settings = {"identifiers": {"nhs_authority": "NHSX", "recognise_nhs_by": ["authority"]}}
    assert codes(check(_adt(pid=pid), build_profile(settings=settings))) == []


def test_identifier_without_authority_or_type() -> None:
    report = check(_adt(pid=_pid(f3="ZZ1000123")))
    assert codes(report) == [("W", 101, "PID-3[1].4"), ("W", 101, "PID-3[1].5")]
    settings = {"identifiers": {"require_authority": "E", "require_type": "off"}}
    report = check(_adt(pid=_pid(f3="ZZ1000123")), build_profile(settings=settings))
    assert codes(report) == [("E", 101, "PID-3[1].4")]


def test_null_in_a_required_identifier() -> None:
    report = check(_adt(pid=_pid(f3='9990000018^^^NHS^NH~""')))
    assert codes(report) == [("E", 101, "PID-3[2]")]
    report = check(_adt(pid=_pid(f3='""^^^NHS^NH')))
    assert codes(report) == [("E", 101, "PID-3[1].1")]
    report = check(_adt(pid=_pid(f3='""')))
    assert codes(report) == [("E", 101, "PID-3")]


def test_identifier_fields_setting() -> None:
    settings = {"identifiers": {"fields": ["PID-3", "MRG-1"]}}
    segments = [msh("ADT^A40^ADT_A40"), EVN, PID, "MRG|9990000019^^^NHS^NH"]
    report = check(segments, build_profile(settings=settings))
    assert codes(report) == [("E", 102, "MRG-1[1]")]
    report = check(segments, build_profile(settings={"identifiers": {"fields": "MRG-1"}}))
    assert codes(report) == [("E", 102, "MRG-1[1]")]
    with pytest.raises(ProfileError, match=r"settings\.identifiers\.field is not a setting"):
        check(segments, build_profile(settings={"identifiers": {"field": "MRG-1"}}))


def test_optional_identifier_checks() -> None:
    settings = {"identifiers": {"require_nhs_number": "E", "repeated_digit_nhs_number": "W"}}
    profile = build_profile(settings=settings)
    assert codes(check(_adt(pid=_pid(f3="ZZ1^^^RCB^MR")), profile)) == [("E", 101, "PID-3")]
    report = check(_adt(pid=_pid(f3="9999999999^^^NHS^NH")), profile)
    assert codes(report) == [("W", 102, "PID-3[1]")]
    assert codes(check(_adt(), profile)) == []


def test_component_usage_required() -> None:
    from dataclasses import replace

    from eprlink.profiles import DatatypeDef
    from tests.profiles.test_validate_support import DATATYPES

    xpn = DATATYPES["XPN"]
    components = tuple(
        replace(c, usage=Usage.REQUIRED) if c.position == 7 else c for c in xpn.components
    )
    profile = build_profile()
    profile = replace(profile, datatypes={**DATATYPES, "XPN": DatatypeDef("XPN", components)})
    report = check(_adt(pid=_pid(f5="SMITH^JOHN~JONES^JOHN^^^^^L")), profile)
    assert codes(report) == [("E", 101, "PID-5[1].7")]
    assert report.issues[0].field_name == "Patient Name / Name Type Code"
