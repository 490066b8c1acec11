"""Reports and issues: ACK codes, PHI-free texts, JSON form; event resolution; the API."""

from __future__ import annotations

import json
import re

import pytest

from eprlink.errors import ErrorCode
from eprlink.profiles import Severity
from eprlink.profiles.report import Issue, Report, reason_text
from eprlink.profiles.validate import Validator, validate, validator_for
from tests.profiles.test_validate_support import (
    ADT,
    EVN,
    PID,
    PROFILE,
    PV1,
    build_profile,
    check,
    codes,
    message,
    msh,
)

MSA3 = re.compile(
    r"^(segment sequence error|unsupported encoding|required field missing|data type error"
    r"|table value not found|value too long"
    r"|unsupported (message type|event code|processing id|version id)"
    r"|duplicate key identifier|temporarily unavailable|message too large"
    r"|application internal error)( at [A-Z][A-Z0-9]{2}-[0-9]+(\.[0-9]+)*)?$"
)


def _issue(code: int, severity: Severity = Severity.ERROR) -> Issue:
    return Issue(severity, ErrorCode(code), "PID-3", "PID", 1, 3, expected="x", found="'y'")


@pytest.mark.parametrize(
    ("issues", "ack"),
    [
        ((), "AA"),
        ((_issue(100, Severity.WARNING), _issue(103, Severity.INFO)), "AA"),
        ((_issue(101),), "AE"),
        ((_issue(104), _issue(102)), "AE"),
        ((_issue(102), _issue(200)), "AR"),
        ((_issue(201),), "AR"),
        ((_issue(203),), "AR"),
        ((_issue(207),), "AR"),
        ((_issue(200, Severity.WARNING),), "AA"),
    ],
)
def test_ack_code_mapping(issues: tuple[Issue, ...], ack: str) -> None:
    report = Report(issues)
    assert report.ack_code() == ack
    assert report.ok == (ack == "AA")


def test_report_views() -> None:
    issues = (_issue(100, Severity.INFO), _issue(101), _issue(102, Severity.WARNING), _issue(103))
    report = Report(issues)
    assert report.errors == (issues[1], issues[3])
    assert report.warnings == (issues[2],)
    assert report.infos == (issues[0],)
    assert report.first_error is issues[1]
    assert list(report) == list(issues)
    assert len(report) == 4
    assert Report().first_error is None


def test_reason_texts_are_the_policy_list() -> None:
    for code in ErrorCode:
        assert MSA3.match(reason_text(code)), code
    assert reason_text(ErrorCode.UNKNOWN_KEY_IDENTIFIER) == "application internal error"


def test_issue_texts() -> None:
    report = check([msh(), EVN, PID, "PV1|1|Z"])
    issue = report.issues[0]
    assert issue.text == (
        "PV1-2 Patient Class: expected a code from table 0004 (Patient class), found 'Z'"
    )
    assert "'Z'" not in issue.safe_text
    assert issue.reason == "table value not found"
    assert issue.msa_text == "table value not found at PV1-2"
    assert issue.location == "PV1-2"
    assert issue.is_error


def test_msa_texts_always_match_the_policy_pattern() -> None:
    segments = [
        msh("ADT^A01^ADT_A01", control="C" * 30),
        "QQQ|1",
        "P-D|2",
        EVN,
        'PID|x||9990000019^^^NHS^NH~""~~ZZ^^^^||NAME^^^^^^Q||2024133|Q',
        "PV1|1|Z|W^B^B^F|||||||||||||||||||||||||||||||||||||||||||2024133",
        "ZZZ|1",
    ]
    report = check(segments)
    assert len(report.issues) > 8
    for issue in report.issues:
        assert MSA3.match(issue.msa_text), issue.msa_text
        assert len(issue.msa_text) <= 80


def test_safe_texts_never_quote_content() -> None:
    secret = "SECRETNAME"
    segments = [
        msh(),
        EVN,
        f"PID|{secret}||{secret}^^^NHS^NH||{secret}^^^^^^{secret}||{secret}|{secret}",
        f"PV1|1|{secret}",
        f"{'Q' * 3}|{secret}",
    ]
    report = check(segments)
    assert report.issues
    for issue in report.issues:
        assert secret not in issue.safe_text
        assert secret not in issue.msa_text
        assert secret not in json.dumps(issue.to_dict())
    assert any(secret in issue.text for issue in report.issues)
    assert secret not in json.dumps(report.to_dict())
    assert secret in json.dumps(report.to_dict(include_text=True))


def test_report_to_dict() -> None:
    report = check([msh(), EVN, PID, "PV1|1|Z"])
    data = report.to_dict()
    assert data["ok"] is False and data["ack_code"] == "AE" and data["errors"] == 1
    assert data["structure"] == "ADT_A01" and data["profile"] == "test"
    assert "event" not in data
    entry = data["issues"][0]
    assert entry == {
        "severity": "E",
        "code": 103,
        "reason": "table value not found",
        "path": "PV1-2",
        "segment": "PV1",
        "sequence": 1,
        "field": 2,
        "repetition": 1,
        "component": None,
        "subcomponent": None,
        "field_name": "Patient Class",
        "safe_text": entry["safe_text"],
    }
    full = report.to_dict(include_text=True)
    assert full["event"] == "ADT^A01"
    assert full["issues"][0]["text"].endswith("found 'Z'")


def test_issues_are_in_message_order() -> None:
    report = check([msh(), EVN, "PID|1||X^^^RCB^MR||N^^^^^^L||bad|Q", "PV1|1|Z", "QQQ"])
    lines = [i.segment for i in report.issues]
    assert lines == sorted(lines, key=["PID", "PV1", "QQQ"].index)


# -- events --------------------------------------------------------------------------------------
def test_unknown_message_type_is_200() -> None:
    report = check([msh("XYZ^A01"), EVN, PID, PV1])
    assert ("E", 200, "MSH-9.1") in codes(report)
    assert report.ack_code() == "AR"
    assert report.structure is None and report.event is None


def test_unknown_event_is_201() -> None:
    report = check([msh("ADT^A99"), EVN, PID, PV1])
    assert codes(report) == [("E", 201, "MSH-9.2")]
    issue = report.issues[0]
    assert issue.found == "'A99'" and "A99" not in issue.safe_text
    assert issue.msa_text == "unsupported event code at MSH-9.2"
    assert report.ack_code() == "AR"


def test_unknown_event_still_checks_a_known_declared_structure() -> None:
    report = check([msh("ADT^A99^ADT_A01"), EVN, PV1])
    assert codes(report) == [("E", 201, "MSH-9.2"), ("E", 100, "PID")]
    assert report.structure == "ADT_A01"


def test_event_argument_overrides_msh_9() -> None:
    report = check([msh("ADT^A99"), EVN, PID, PV1], event=("ADT", "A01"))
    assert codes(report) == []
    assert report.event == ("ADT", "A01")


def test_structure_from_the_event_and_mismatch_warning() -> None:
    assert codes(check([msh("ADT^A08"), EVN, PID, PV1])) == []
    report = check([msh("ADT^A08^ADT_A08"), EVN, PID, PV1])
    assert codes(report) == [("W", 102, "MSH-9.3")]
    assert report.structure == "ADT_A01"
    profile = build_profile(settings={"validation": {"structure_mismatch": "off"}})
    assert codes(check([msh("ADT^A08^ADT_A08"), EVN, PID, PV1], profile)) == []


def test_missing_trigger_event() -> None:
    assert ("E", 101, "MSH-9.2") in codes(check([msh("ADT"), EVN, PID, PV1]))


# -- API -----------------------------------------------------------------------------------------
def test_validate_function_caches_one_validator_per_profile() -> None:
    assert validator_for(PROFILE) is validator_for(PROFILE)
    other = build_profile()
    assert validator_for(other) is not validator_for(PROFILE)
    assert codes(validate(message(*ADT), PROFILE)) == []
    report = validate(message(msh("ADT^A99"), EVN, PID, PV1), PROFILE, event=("ADT", "A01"))
    assert report.ok


def test_programmer_errors_raise() -> None:
    with pytest.raises(TypeError):
        validate("MSH|^~\\&", PROFILE)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Validator(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        validate(message(*ADT), PROFILE, event="ADT^A01")  # type: ignore[arg-type]


def test_other_delimiters() -> None:
    text = "\r".join(
        [
            "MSH#*%!@#PAS#RCB#TIE#RCB#20240101120000##ADT*A01*ADT_A01#MSG1#P#2.4",
            "EVN#A01#20240101120000",
            "PID#1##9990000018***NHS*NH%ZZ1***RCB*MR##TEST*A******L##19750412#F",
            "PV1#1#Z#W*B*B*RCB",
        ]
    )
    from eprlink.hl7 import parse

    report = Validator(PROFILE).validate(parse(text))
    assert codes(report) == [("E", 103, "PV1-2")]


def test_validator_is_reusable_and_deterministic() -> None:
    validator = Validator(PROFILE)
    first = validator.validate(message(msh(), EVN, PV1, PID))
    second = validator.validate(message(msh(), EVN, PV1, PID))
    assert first == second
