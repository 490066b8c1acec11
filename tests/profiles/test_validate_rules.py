"""Profile rules of every kind, with and without ``when``, global and per event."""

from __future__ import annotations

import pytest

from eprlink.errors import ErrorCode
from eprlink.profiles import Condition, ProfileError, Rule, RuleKind, Severity
from eprlink.profiles.validate import Validator
from tests.profiles.test_validate_support import (
    ADT,
    EVN,
    ORU,
    PID,
    PV1,
    build_profile,
    check,
    codes,
    message,
    msh,
    replaced,
)

A03 = [msh("ADT^A03^ADT_A01"), "EVN|A03|20240101120000", PID, PV1]


def _with(*rules: Rule, event: tuple[str, str] | None = None) -> Validator:
    if event is None:
        return Validator(build_profile(rules=rules))
    return Validator(build_profile(event_rules={event: rules}))


def _run(validator: Validator, segments: list[str]) -> list[tuple[str, int, str]]:
    return codes(validator.validate(message(*segments)))


def test_require_on_an_event() -> None:
    rule = Rule(RuleKind.REQUIRE, "PV1-45", text="PV1-45 is required on A03", source="HL7 UK")
    validator = _with(rule, event=("ADT", "A03"))
    assert _run(validator, A03) == [("E", 101, "PV1-45")]
    report = validator.validate(message(*A03))
    issue = report.issues[0]
    assert issue.field_name == "Discharge Date/Time"
    assert "PV1-45 is required on A03" in issue.expected
    fixed = replaced(A03, "PV1", PV1 + "|" * 41 + "|20240102")
    assert _run(validator, fixed) == []
    assert _run(validator, ADT) == []  # the A03 rule does not apply to A01
    assert _run(validator, replaced(A03, "PV1", PV1 + "|" * 42 + '""')) == [("E", 101, "PV1-45")]


def test_require_with_when_value() -> None:
    when = Condition("PV1-2", ("E",))
    validator = _with(Rule(RuleKind.REQUIRE, "PV2-8", when=when, severity=Severity.WARNING))
    assert _run(validator, ADT) == []
    emergency = replaced(ADT, "PV1", "PV1|1|E")
    assert _run(validator, emergency) == [("W", 101, "PV2-8")]
    assert _run(validator, [*emergency, "PV2||||||||20240101"]) == []


def test_when_on_segment_presence() -> None:
    rule = Rule(RuleKind.REQUIRE, "AL1-6", when=Condition("AL1", present=True))
    validator = _with(rule)
    assert _run(validator, ADT) == []
    assert _run(validator, [*ADT, "AL1|1", "AL1|2|||||20240101"]) == [("E", 101, "AL1-6")]


def test_when_present_false() -> None:
    rule = Rule(RuleKind.REQUIRE, "PID-8", when=Condition("PID-7", present=False))
    validator = _with(rule)
    assert _run(validator, ADT) == []
    pid = "PID|1||9990000018^^^NHS^NH||TESTPATIENT^ALICE^^^^^L"
    assert _run(validator, replaced(ADT, "PID", pid)) == [("E", 101, "PID-8")]


def test_rules_apply_to_every_occurrence_with_the_same_occurrence_condition() -> None:
    rule = Rule(RuleKind.REQUIRE, "OBX-6", when=Condition("OBX-2", ("NM",)))
    validator = _with(rule)
    segments = [*ORU, "OBX|3|NM|PLT^Platelets^L||256||||||F", "OBX|4|ST|C^C^L||text||||||F"]
    assert _run(validator, segments) == [("E", 101, "OBX[3]-6")]


def test_explicit_occurrence_applies_to_that_one_only() -> None:
    validator = _with(Rule(RuleKind.REQUIRE, "OBX[2]-14"))
    assert _run(validator, ORU) == [("E", 101, "OBX[2]-14")]


def test_forbid() -> None:
    validator = _with(Rule(RuleKind.FORBID, "PID-29"))
    assert _run(validator, ADT) == []
    report_codes = _run(validator, replaced(ADT, "PID", PID + "|" * 20 + "|20240101"))
    assert report_codes == [("E", 102, "PID-29")]
    assert _run(validator, replaced(ADT, "PID", PID + "|" * 20 + '|""')) == [("E", 102, "PID-29")]


def test_forbid_with_explicit_code_and_when() -> None:
    rule = Rule(
        RuleKind.FORBID,
        "PV1-45",
        when=Condition("MSH-9.2", ("A01",)),
        code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
    )
    validator = _with(rule)
    discharged = replaced(ADT, "PV1", PV1 + "|" * 41 + "|20240102")
    assert _run(validator, discharged) == [("E", 100, "PV1-45")]
    assert _run(validator, replaced(discharged, "MSH", msh("ADT^A08^ADT_A01"))) == []


def test_not_null() -> None:
    validator = _with(Rule(RuleKind.NOT_NULL, "PID-8"))
    assert _run(validator, ADT) == []
    assert _run(validator, replaced(ADT, "PID", PID[:-1] + '""')) == [("E", 101, "PID-8")]
    absent = "PID|1||9990000018^^^NHS^NH||TESTPATIENT^ALICE^^^^^L"
    assert _run(validator, replaced(ADT, "PID", absent)) == []


def test_value_in() -> None:
    rule = Rule(RuleKind.VALUE_IN, "PV1-2", ("N", "U"), severity=Severity.WARNING)
    validator = _with(rule)
    report = validator.validate(message(*ADT))
    assert codes(report) == [("W", 103, "PV1-2")]
    assert report.issues[0].expected == "one of N, U"
    assert report.issues[0].found == "'I'"
    assert "'I'" not in report.issues[0].safe_text
    assert _run(validator, replaced(ADT, "PV1", "PV1|1|N")) == []


def test_value_in_checks_every_repetition_and_the_first_component() -> None:
    validator = _with(Rule(RuleKind.VALUE_IN, "PID-3.5", ("NH", "MR")))
    assert _run(validator, ADT) == []
    validator = _with(Rule(RuleKind.VALUE_IN, "PID-3", ("9990000018",)))
    assert _run(validator, ADT) == [("E", 103, "PID-3[2]")]


def test_value_in_with_when_and_code() -> None:
    rule = Rule(
        RuleKind.VALUE_IN,
        "MSH-12",
        ("2.4",),
        code=ErrorCode.UNSUPPORTED_VERSION_ID,
        when=Condition("MSH-12", present=True),
    )
    validator = _with(rule)
    assert _run(validator, ADT) == []
    report = validator.validate(message(msh(version="2.5"), EVN, PID, PV1))
    assert codes(report) == [("E", 203, "MSH-12")]
    assert report.ack_code() == "AR"


def test_nhs_number_rule() -> None:
    validator = _with(Rule(RuleKind.NHS_NUMBER, "MRG-1"), event=("ADT", "A40"))
    good = [msh("ADT^A40^ADT_A40"), EVN, PID, "MRG|ZZ1^^^RCB^MR~9990000026^^^NHS^NH"]
    assert _run(validator, good) == []
    bad = replaced(good, "MRG", "MRG|ZZ1^^^RCB^MR~9990000019^^^NHS")
    assert _run(validator, bad) == [("E", 102, "MRG-1[2]")]


def test_nhs_number_rule_and_built_in_check_report_once() -> None:
    validator = _with(Rule(RuleKind.NHS_NUMBER, "PID-3"))
    bad = replaced(ADT, "PID", PID.replace("9990000018", "9990000019"))
    assert _run(validator, bad) == [("E", 102, "PID-3[1]")]


def test_segment_required_and_forbidden() -> None:
    when = Condition("PV1-2", ("W",))
    validator = _with(
        Rule(RuleKind.SEGMENT_REQUIRED, "ZU4", when=when, severity=Severity.WARNING),
        Rule(RuleKind.SEGMENT_FORBIDDEN, "MRG"),
    )
    assert _run(validator, ADT) == []
    waiting = replaced(ADT, "PV1", "PV1|1|W")
    assert _run(validator, waiting) == [("W", 100, "ZU4")]
    assert _run(validator, [*waiting, "ZU4|1"]) == []
    # MRG is also outside ADT_A01: one issue per code and place
    assert _run(validator, [*ADT, "MRG|X^^^RCB^MR"]) == [("E", 100, "MRG")]
    merge = [msh("ADT^A40^ADT_A40"), EVN, PID, "MRG|X^^^RCB^MR"]
    assert _run(validator, merge) == [("E", 100, "MRG")]


def test_rules_are_checked_when_the_validator_is_built() -> None:
    with pytest.raises(ProfileError, match="not a path"):
        Validator(build_profile(rules=(Rule(RuleKind.REQUIRE, "PV1-x"),)))
    with pytest.raises(ProfileError, match="names a segment"):
        Validator(build_profile(rules=(Rule(RuleKind.REQUIRE, "PV1"),)))
    with pytest.raises(ProfileError, match="segment rule"):
        Validator(build_profile(rules=(Rule(RuleKind.SEGMENT_REQUIRED, "PV1-2"),)))
    with pytest.raises(ProfileError, match="no value to compare"):
        bad = Rule(RuleKind.REQUIRE, "PV1-2", when=Condition("PV1", ("E",)))
        Validator(build_profile(rules=(bad,)))
    with pytest.raises(ProfileError, match=r"events ADT\^A03 rules\[0\]"):
        Validator(build_profile(event_rules={("ADT", "A03"): (Rule(RuleKind.REQUIRE, "?"),)}))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"validation": {"lengths": "loud"}}, "settings.validation.lengths"),
        ({"validation": "error"}, "settings.validation must be a table"),
        ({"identifiers": {"fields": "PID-3[1]"}}, "whole field"),
        ({"identifiers": {"fields": [3]}}, "list of field paths"),
        ({"identifiers": {"nhs_authority": ""}}, "non-empty string"),
    ],
)
def test_bad_settings_raise_profile_error(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("[", r"\[")):
        Validator(build_profile(settings=settings))


def test_other_components_settings_are_left_alone() -> None:
    settings = {
        "identifiers": {"chi_authority": "CHI", "note": "for people", "source": "ref §5.3"},
        "integration": {"careflow": {"x": 1}},
        "trust": {"name": "Example", "anything": True},
    }
    assert codes(check(ADT, build_profile(settings=settings))) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # a key nobody reads would silently do nothing: refused
        ({"careflow": {"x": 1}}, r"settings\.careflow: no eprlink component reads"),
        ({"identifers": {"require_type": "E"}}, r"settings\.identifers: no eprlink component"),
        ({"identifiers": {"require_typ": "E"}}, r"settings\.identifiers\.require_typ is not a"),
        ({"usage": {"re_missing": "I"}}, r"settings\.usage: no eprlink component reads"),
        ({"validation": {"z_segments": "W"}}, r"settings\.validation\.z_segments is not a"),
        ({"identity_reliability": {"positional": False}}, r"identity_reliability\.positional"),
    ],
)
def test_unknown_settings_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        Validator(build_profile(settings=settings))


# Every kind, with a condition that holds and one that does not (PV1-2 is I in ADT).
BAD_MRG = "MRG|X^^^RCB^MR~9990000019^^^NHS^NH"  # MRG-1 is not a built-in identifier field
KIND_CASES = [
    (Rule(RuleKind.REQUIRE, "PV1-45"), ADT, ("E", 101, "PV1-45")),
    (Rule(RuleKind.FORBID, "PV1-3"), ADT, ("E", 102, "PV1-3")),
    (Rule(RuleKind.NOT_NULL, "PV1-3"), replaced(ADT, "PV1", 'PV1|1|I|""'), ("E", 101, "PV1-3")),
    (Rule(RuleKind.VALUE_IN, "PV1-2", ("O",)), ADT, ("E", 103, "PV1-2")),
    (Rule(RuleKind.NHS_NUMBER, "MRG-1"), [*ADT, BAD_MRG], ("E", 102, "MRG-1[2]")),
    (Rule(RuleKind.SEGMENT_REQUIRED, "PV2"), ADT, ("E", 100, "PV2")),
    (Rule(RuleKind.SEGMENT_FORBIDDEN, "EVN"), ADT, ("E", 100, "EVN")),
]


@pytest.mark.parametrize(("rule", "segments", "expected"), KIND_CASES)
def test_every_kind_with_and_without_when(
    rule: Rule, segments: list[str], expected: tuple[str, int, str]
) -> None:
    from dataclasses import replace as copy

    assert expected in _run(_with(rule), segments)
    holds = copy(rule, when=Condition("PV1-2", ("I",)))
    assert expected in _run(_with(holds), segments)
    fails = copy(rule, when=Condition("PV1-2", ("E",)))
    assert expected not in _run(_with(fails), segments)
    absent = copy(rule, when=Condition("ZU4", present=True))
    assert expected not in _run(_with(absent), segments)


def test_single_repetition_nhs_rule_and_built_in_check_report_once() -> None:
    validator = _with(Rule(RuleKind.NHS_NUMBER, "PID-3"))
    pid = "PID|1||9990000019^^^NHS^NH||TESTPATIENT^ALICE^^^^^L||19750412|F"
    assert _run(validator, replaced(ADT, "PID", pid)) == [("E", 102, "PID-3[1]")]
