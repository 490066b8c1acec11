"""Codes, conditions, reasons and problems: tables 0008, 0155, 0357, 0516 and policy 2.2/2.4."""

from __future__ import annotations

import pytest

from eprlink.ack import (
    MSA3_PATTERN,
    AckCode,
    AckCondition,
    AckError,
    AckMode,
    AckUsageError,
    Outcome,
    Problem,
    Reason,
    Severity,
    ack_code,
    outcome_for,
    reason_for,
)
from eprlink.errors import EprlinkError, ErrorCode
from eprlink.hl7 import Location, ParseError, parse


@pytest.mark.parametrize(
    ("code", "success", "error", "reject", "commit"),
    [
        (AckCode.AA, True, False, False, False),
        (AckCode.AE, False, True, False, False),
        (AckCode.AR, False, False, True, False),
        (AckCode.CA, True, False, False, True),
        (AckCode.CE, False, True, False, True),
        (AckCode.CR, False, False, True, True),
    ],
)
def test_table_0008_helpers(
    code: AckCode, success: bool, error: bool, reject: bool, commit: bool
) -> None:
    assert (code.is_success, code.is_error, code.is_reject, code.is_commit) == (
        success,
        error,
        reject,
        commit,
    )
    assert code.mode is (AckMode.ENHANCED if commit else AckMode.ORIGINAL)
    assert str(code) == code.value


@pytest.mark.parametrize(
    ("outcome", "mode", "expected"),
    [
        (Outcome.ACCEPT, AckMode.ORIGINAL, AckCode.AA),
        (Outcome.ERROR, AckMode.ORIGINAL, AckCode.AE),
        (Outcome.REJECT, AckMode.ORIGINAL, AckCode.AR),
        (Outcome.ACCEPT, AckMode.ENHANCED, AckCode.CA),
        (Outcome.ERROR, AckMode.ENHANCED, AckCode.CE),
        (Outcome.REJECT, AckMode.ENHANCED, AckCode.CR),
    ],
)
def test_policy_2_1_mode_and_outcome_give_the_code(
    outcome: Outcome, mode: AckMode, expected: AckCode
) -> None:
    assert ack_code(outcome, mode) is expected
    assert ack_code(expected, mode) is expected
    assert expected.outcome is outcome


def test_policy_2_1_code_contradicting_the_mode_is_refused() -> None:
    with pytest.raises(AckUsageError):
        ack_code(AckCode.CA, AckMode.ORIGINAL)
    with pytest.raises(AckUsageError):
        ack_code(AckCode.AA, AckMode.ENHANCED)
    assert issubclass(AckUsageError, AckError)
    assert issubclass(AckError, EprlinkError)


@pytest.mark.parametrize(
    ("condition", "accept", "error", "reject"),
    [
        (AckCondition.AL, True, True, True),
        (AckCondition.NE, False, False, False),
        (AckCondition.ER, False, True, True),
        (AckCondition.SU, True, False, False),
    ],
)
def test_table_0155_conditions(
    condition: AckCondition, accept: bool, error: bool, reject: bool
) -> None:
    assert condition.wants(Outcome.ACCEPT) is accept
    assert condition.wants(Outcome.ERROR) is error
    assert condition.wants(Outcome.REJECT) is reject
    assert condition.wants(AckCode.CA) is accept
    assert condition.wants(AckCode.CR) is reject


def test_table_0155_reading_blank_or_unknown_gives_none() -> None:
    assert AckCondition.read("AL") is AckCondition.AL
    assert AckCondition.read(None) is None
    assert AckCondition.read("") is None
    assert AckCondition.read("al") is None
    assert AckCondition.read("XX") is None


def test_table_0516_severity_values() -> None:
    assert [s.value for s in Severity] == ["E", "W", "I"]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_policy_2_4_default_reason_for_every_code_matches_the_regex(code: ErrorCode) -> None:
    reason = reason_for(code)
    assert MSA3_PATTERN.fullmatch(reason.value)
    problem = Problem(code, segment_id="PID", sequence=1, field=5, component=1)
    assert MSA3_PATTERN.fullmatch(problem.text)
    assert problem.text == f"{reason.value} at PID-5.1"


@pytest.mark.parametrize("reason", list(Reason))
def test_policy_2_4_every_reason_text_matches_the_regex(reason: Reason) -> None:
    assert MSA3_PATTERN.fullmatch(reason.value)
    assert MSA3_PATTERN.fullmatch(f"{reason.value} at OBX-5.1.2")


def test_policy_2_4_reason_table() -> None:
    assert reason_for(100) is Reason.SEGMENT_SEQUENCE_ERROR
    assert reason_for(100, "unsupported encoding") is Reason.UNSUPPORTED_ENCODING
    assert reason_for(203) is Reason.UNSUPPORTED_VERSION_ID
    assert reason_for(205) is Reason.DUPLICATE_KEY_IDENTIFIER
    assert reason_for(207) is Reason.APPLICATION_INTERNAL_ERROR
    assert reason_for(207, Reason.TEMPORARILY_UNAVAILABLE) is Reason.TEMPORARILY_UNAVAILABLE
    assert reason_for(207, Reason.MESSAGE_TOO_LARGE) is Reason.MESSAGE_TOO_LARGE
    # 204/206 are not used by the listener; the catch-all reveals nothing.
    assert reason_for(204) is Reason.APPLICATION_INTERNAL_ERROR
    assert reason_for(206) is Reason.APPLICATION_INTERNAL_ERROR


def test_policy_2_4_reason_must_belong_to_its_code() -> None:
    with pytest.raises(AckUsageError):
        reason_for(102, Reason.TEMPORARILY_UNAVAILABLE)
    with pytest.raises(AckUsageError):
        reason_for(102, "patient SMITH has no NHS number")
    with pytest.raises(AckUsageError):
        reason_for(999)
    with pytest.raises(AckUsageError):
        Problem(ErrorCode.DATA_TYPE_ERROR, reason=Reason.MESSAGE_TOO_LARGE)


def test_policy_2_4_msa3_location_suffix_and_80_character_limit() -> None:
    assert Problem.at("MSH-9", 101).text == "required field missing at MSH-9"
    assert Problem.at("PID-3[2].1", 102).text == "data type error at PID-3.1"
    assert Problem.at("OBX[3]-5", 102).text == "data type error at OBX-5"
    assert Problem(207).text == "application internal error"
    assert Problem(100, segment_id="PV1", sequence=1).text == "segment sequence error"
    huge = Problem(102, segment_id="ZZZ", field=10**40, component=10**30)
    assert len(huge.text) <= 80
    assert huge.text == "data type error"


def test_problem_at_reads_paths() -> None:
    p = Problem.at("OBX[3]-5[2].1.2", ErrorCode.DATA_TYPE_ERROR, severity="W")
    assert (p.segment_id, p.sequence, p.field, p.repetition, p.component, p.subcomponent) == (
        "OBX",
        3,
        5,
        2,
        1,
        2,
    )
    assert p.severity is Severity.WARNING
    assert p.code is ErrorCode.DATA_TYPE_ERROR
    assert p.reason is Reason.DATA_TYPE_ERROR


@pytest.mark.parametrize(
    "build",
    [
        lambda: Problem(999),
        lambda: Problem(102, segment_id="pid"),
        lambda: Problem(102, segment_id="PID|"),
        lambda: Problem(102, segment_id="PID", field=0),
        lambda: Problem(102, field=3),
        lambda: Problem(102, segment_id="PID", component=1),
        lambda: Problem(102, segment_id="PID", field=3, subcomponent=1),
        lambda: Problem(102, severity="X"),
        lambda: Problem.at("OBX[-1]-5", 102),
        lambda: Problem.at("not a path", 102),
    ],
)
def test_problem_refuses_locations_err_cannot_carry(build: object) -> None:
    with pytest.raises(AckUsageError):
        build()  # type: ignore[operator]


def test_problem_from_parse_error_hd2_bad_msh2() -> None:
    with pytest.raises(ParseError) as caught:
        parse("MSH|^^\\&|PAS|RCB|||x||ADT^A01|MSG1|P|2.4\r")
    problem = Problem.from_parse_error(caught.value)
    assert (problem.code, problem.segment_id, problem.sequence, problem.field) == (
        ErrorCode.DATA_TYPE_ERROR,
        "MSH",
        1,
        2,
    )
    assert problem.rejects
    assert problem.text == "data type error at MSH-2"


def test_problem_from_parse_error_hd3_not_msh_is_segment_sequence_error() -> None:
    payload = b"PID|1||9449305552^^^NHS\r"
    with pytest.raises(ParseError) as caught:
        parse(payload)
    problem = Problem.from_parse_error(caught.value, payload=payload)
    assert problem.code is ErrorCode.SEGMENT_SEQUENCE_ERROR
    assert problem.reason is Reason.SEGMENT_SEQUENCE_ERROR
    assert problem.segment_id is None
    assert problem.rejects


@pytest.mark.parametrize("payload", [b"OK\r", b'{"resourceType": "Bundle"}', b"\x00\x01\x02"])
def test_problem_from_parse_error_policy_2_4_not_er7_is_unsupported_encoding(
    payload: bytes,
) -> None:
    with pytest.raises(ParseError) as caught:
        parse(payload)
    problem = Problem.from_parse_error(caught.value, payload=payload)
    assert problem.code is ErrorCode.SEGMENT_SEQUENCE_ERROR
    assert problem.reason is Reason.UNSUPPORTED_ENCODING
    assert problem.text == "unsupported encoding"


def test_problem_from_parse_error_counts_segment_occurrence_in_payload() -> None:
    payload = "MSH|^~\\&|PAS|RCB|||x||ORU^R01|M1|P|2.4\rPID|1\rOBX|1|ST|||a\rOBX|2|ST|||b\x01\r"
    with pytest.raises(ParseError) as caught:
        parse(payload, strict=True)
    problem = Problem.from_parse_error(caught.value, payload=payload)
    assert (problem.segment_id, problem.sequence, problem.field) == ("OBX", 2, 5)
    without = Problem.from_parse_error(caught.value)
    assert (without.segment_id, without.sequence, without.field) == ("OBX", None, 5)


def test_problem_from_parse_error_drops_locations_that_are_not_segment_ids() -> None:
    location = Location(segment_index=2, segment_id="a\ufffdb", field=3)
    error = ParseError("bad bytes", code=ErrorCode.DATA_TYPE_ERROR, location=location)
    problem = Problem.from_parse_error(error)
    assert (problem.segment_id, problem.field) == (None, None)


@pytest.mark.parametrize(
    ("problem", "rejects"),
    [
        (Problem(100), True),
        (Problem(100, segment_id="PV1", sequence=1), False),
        (Problem(100, segment_id="MSH", sequence=2), False),
        (Problem.at("MSH-9", 101), True),
        (Problem.at("PID-3", 101), False),
        (Problem.at("MSH-2", 102), True),
        (Problem.at("MSH-7", 102), False),
        (Problem.at("PID-7", 102), False),
        (Problem.at("OBX-5", 103), False),
        (Problem.at("OBX-5", 104), False),
        (Problem.at("MSH-9", 200), True),
        (Problem.at("MSH-9", 201), True),
        (Problem.at("MSH-11", 202), True),
        (Problem.at("MSH-12", 203), True),
        (Problem.at("MSH-10", 205), False),
        (Problem(207), True),
    ],
)
def test_policy_2_2_which_codes_reject(problem: Problem, rejects: bool) -> None:
    assert problem.rejects is rejects
    expected = Outcome.REJECT if rejects else Outcome.ERROR
    assert outcome_for([problem]) is expected


def test_policy_2_2_outcome_for_mixed_problems() -> None:
    assert outcome_for([]) is Outcome.ACCEPT
    assert outcome_for([Problem.at("PID-8", 103, severity="W")]) is Outcome.ACCEPT
    assert outcome_for([Problem.at("PID-7", 102), Problem.at("MSH-12", 203)]) is Outcome.REJECT
    # A rejecting code reported only as a warning does not reject.
    assert outcome_for([Problem.at("MSH-12", 203, severity="I")]) is Outcome.ACCEPT


def test_problem_is_a_frozen_value() -> None:
    problem = Problem.at("PID-5", 102)
    with pytest.raises(AttributeError):
        problem.field = 6  # type: ignore[misc]
    assert problem == Problem.at("PID-5", 102)
    assert hash(problem) == hash(Problem.at("PID-5", 102))
    assert problem.with_code(ErrorCode.VALUE_TOO_LONG).reason is Reason.VALUE_TOO_LONG
