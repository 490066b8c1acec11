"""Building replies: policy 2.3 layout, HD-1..HD-13 header rules, both ERR layouts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from eprlink.ack import (
    MSA3_PATTERN,
    AckCode,
    AckCondition,
    AckMode,
    AckUsageError,
    Outcome,
    Problem,
    Reason,
    build_application_ack,
    is_acknowledgement,
    read_ack,
)
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, parse

MakeAck = Callable[..., Message]
BuildAdt = Callable[..., str]


def lines(message: Message) -> list[str]:
    text = message.to_er7()
    assert text.endswith("\r")
    return text[:-1].split("\r")


HEADER_24 = "MSH|^~\\&|EPRLINK|RXX|PAS|RCB|20250314130405+0000||ACK^A01^ACK|ACK0001|P|2.4"


def test_policy_2_3_aa_original_mode_exact_text(make_ack: MakeAck, a01: Message) -> None:
    ack = make_ack(a01, AckCode.AA)
    assert lines(ack) == [HEADER_24, "MSA|AA|MSG00001"]
    assert ack.get("MSA-3") is None


def test_policy_2_3_err_up_to_2_4_single_problem_exact_text(
    make_ack: MakeAck, a01: Message
) -> None:
    ack = make_ack(a01, AckCode.AE, errors=[Problem.at("PID-5", ErrorCode.DATA_TYPE_ERROR)])
    assert lines(ack) == [
        HEADER_24,
        "MSA|AE|MSG00001|data type error at PID-5",
        "ERR|PID^1^5^102&Data type error&HL70357",
    ]


def test_policy_2_3_err_up_to_2_4_repeats_err1_and_leaves_unknown_positions_empty(
    make_ack: MakeAck, a01: Message
) -> None:
    problems = [
        Problem(ErrorCode.SEGMENT_SEQUENCE_ERROR, segment_id="PV1", sequence=1),
        Problem(ErrorCode.APPLICATION_INTERNAL_ERROR),
        Problem.at("OBX[3]-5[2].1", ErrorCode.DATA_TYPE_ERROR),
    ]
    ack = make_ack(a01, AckCode.AR, errors=problems)
    assert lines(ack)[1:] == [
        "MSA|AR|MSG00001|segment sequence error",
        "ERR|PV1^1^^100&Segment sequence error&HL70357"
        "~^^^207&Application internal error&HL70357"
        "~OBX^3^5^102&Data type error&HL70357",
    ]


def test_policy_2_3_err_from_2_5_one_segment_per_problem_exact_text(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(version="2.5"))
    problems = [
        Problem(102, segment_id="PID", sequence=1, field=5, repetition=1, component=2),
        Problem(207),
        Problem(100, segment_id="PV1", sequence=1),
        Problem.at("PID-8", 103, severity="W"),
    ]
    ack = make_ack(received, AckCode.AE, errors=problems)
    assert lines(ack) == [
        HEADER_24.replace("|2.4", "|2.5"),
        "MSA|AE|MSG00001|data type error at PID-5.2",
        "ERR||PID^1^5^1^2|102^Data type error^HL70357|E",
        "ERR|||207^Application internal error^HL70357|E",
        "ERR||PV1^1|100^Segment sequence error^HL70357|E",
        "ERR||PID^1^8|103^Table value not found^HL70357|W",
    ]


def test_policy_2_3_aa_with_warning_keeps_msa3_empty(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(version="2.5.1"))
    ack = make_ack(received, AckCode.AA, errors=[Problem.at("PID-8", 103, severity="W")])
    assert lines(ack)[1:] == [
        "MSA|AA|MSG00001",
        "ERR||PID^1^8|103^Table value not found^HL70357|W",
    ]


@pytest.mark.parametrize("code", list(AckCode))
@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1"])
def test_policy_2_4_msa3_for_every_code_matches_regex(
    make_ack: MakeAck, build_adt: BuildAdt, code: AckCode, version: str
) -> None:
    received = parse(build_adt(version=version))
    problems = [] if code.is_success else [Problem.at("PID-7", 102)]
    ack = make_ack(received, code, mode=code.mode, errors=problems)
    assert ack.get("MSA-1") == code.value
    if code.is_success:
        assert ack.get("MSA-3") is None
    else:
        text = ack.get("MSA-3")
        assert text is not None
        assert len(text) <= 80
        assert MSA3_PATTERN.fullmatch(text)
    assert read_ack(ack.to_bytes()) is not None


@pytest.mark.parametrize("code", [AckCode.AE, AckCode.AR, AckCode.CE, AckCode.CR])
def test_policy_2_3_non_success_without_problem_reports_207(
    make_ack: MakeAck, a01: Message, code: AckCode
) -> None:
    ack = make_ack(a01, code, mode=code.mode)
    assert ack.get("MSA-3") == "application internal error"
    assert ack.raw("ERR-1") == "^^^207&Application internal error&HL70357"


def test_policy_2_4_reason_variants_for_207(make_ack: MakeAck, a01: Message) -> None:
    busy = Problem(207, reason=Reason.TEMPORARILY_UNAVAILABLE)
    assert make_ack(a01, AckCode.AR, errors=[busy]).get("MSA-3") == "temporarily unavailable"
    big = Problem(207, reason="message too large")
    assert make_ack(a01, AckCode.AR, errors=[big]).get("MSA-3") == "message too large"


def test_policy_2_4_msa3_names_first_error_not_a_warning(make_ack: MakeAck, a01: Message) -> None:
    problems = [Problem.at("PID-8", 103, severity="W"), Problem.at("PID-7", 102)]
    assert make_ack(a01, AckCode.AE, errors=problems).get("MSA-3") == "data type error at PID-7"


def test_policy_2_3_msh_swapping(make_ack: MakeAck, build_adt: BuildAdt) -> None:
    received = parse(build_adt(sending="PAS^1.2.826.0.1^ISO", facility="RCB55"))
    ack = make_ack(
        received,
        AckCode.AA,
        sending_application=("EPRLINK", "2.16.840.1", "ISO"),
        sending_facility="RXX",
    )
    assert ack.raw("MSH-3") == "EPRLINK^2.16.840.1^ISO"
    assert ack.raw("MSH-4") == "RXX"
    assert ack.raw("MSH-5") == "PAS^1.2.826.0.1^ISO"
    assert ack.raw("MSH-6") == "RCB55"
    assert ack.raw("MSH-10") == "ACK0001"
    assert ack.get("MSH-7") == "20250314130405+0000"


def test_policy_2_3_own_identity_is_escaped(make_ack: MakeAck, a01: Message) -> None:
    ack = make_ack(a01, AckCode.AA, sending_application="A|B", sending_facility="C^D")
    assert ack.raw("MSH-3") == "A\\F\\B"
    assert ack.get("MSH-4") == "C^D"
    assert len(ack.segments()) == 2


@pytest.mark.parametrize(
    ("version", "msh9"),
    [
        ("2.1", "ACK^A01"),
        ("2.2", "ACK^A01"),
        ("2.3", "ACK^A01"),
        ("2.3.1", "ACK^A01^ACK"),
        ("2.4", "ACK^A01^ACK"),
        ("2.5", "ACK^A01^ACK"),
        ("2.5.1", "ACK^A01^ACK"),
    ],
)
def test_policy_2_3_msh9_structure_by_version(
    make_ack: MakeAck, build_adt: BuildAdt, version: str, msh9: str
) -> None:
    received = parse(build_adt(version=version))
    supported = ("2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1")
    ack = make_ack(received, AckCode.AA, supported_versions=supported)
    assert ack.raw("MSH-9") == msh9
    assert ack.raw("MSH-12") == version


def test_policy_2_3_msh9_trigger_that_is_not_an_event_code_is_not_copied(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(trigger="SMITH"))
    assert make_ack(received, AckCode.AA).raw("MSH-9") == "ACK^^ACK"
    old = parse(build_adt(trigger="", version="2.3"))
    assert make_ack(old, AckCode.AA).raw("MSH-9") == "ACK"


def test_hd7_unsupported_version_replies_in_default_version_and_layout(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(version="2.9"))
    ack = make_ack(received, AckCode.AR, errors=[Problem.at("MSH-12", 203)])
    assert ack.raw("MSH-12") == "2.4"
    assert lines(ack)[1:] == [
        "MSA|AR|MSG00001|unsupported version id at MSH-12",
        "ERR|MSH^1^12^203&Unsupported version id&HL70357",
    ]
    v25 = make_ack(received, AckCode.AR, errors=[Problem.at("MSH-12", 203)], default_version="2.5")
    assert v25.raw("MSH-12") == "2.5"
    assert lines(v25)[2] == "ERR||MSH^1^12|203^Unsupported version id^HL70357|E"


def test_hd7_version_compared_on_first_component_only(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(version="2.5^GBR"))
    assert make_ack(received, AckCode.AA).raw("MSH-12") == "2.5"
    spaced = parse(build_adt(version="2.5 "))
    assert make_ack(spaced, AckCode.AA).raw("MSH-12") == "2.4"


def test_policy_2_3_invalid_configured_versions_are_refused(
    make_ack: MakeAck, a01: Message
) -> None:
    with pytest.raises(AckUsageError):
        make_ack(a01, AckCode.AA, default_version="two")
    with pytest.raises(AckUsageError):
        make_ack(a01, AckCode.AA, supported_versions=("2.4", "v2.5"))


def test_hd6_msh11_echoed_when_readable_even_if_it_mismatches(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(processing="T^I"))
    ack = make_ack(received, AckCode.AR, errors=[Problem.at("MSH-11", 202)])
    assert ack.raw("MSH-11") == "T^I"
    assert ack.get("MSA-3") == "unsupported processing id at MSH-11"


@pytest.mark.parametrize("processing", ["", '""'])
def test_policy_2_3_unreadable_msh11_uses_configured_processing_id(
    make_ack: MakeAck, build_adt: BuildAdt, processing: str
) -> None:
    received = parse(build_adt(processing=processing))
    assert make_ack(received, AckCode.AR, processing_id="T").raw("MSH-11") == "T"


def test_errors_must_be_problem_values(make_ack: MakeAck, a01: Message) -> None:
    with pytest.raises(AckUsageError):
        make_ack(a01, AckCode.AE, errors=["PID-5"])


@pytest.mark.parametrize(
    ("version", "supported", "code"),
    [("2.4", None, 102), ("2.5.1", None, 102), ("2.7", ("2.4", "2.7"), 104)],
)
def test_sz_value_too_long_uses_104_only_from_2_7(
    make_ack: MakeAck, build_adt: BuildAdt, version: str, supported: object, code: int
) -> None:
    received = parse(build_adt(version=version))
    options = {} if supported is None else {"supported_versions": supported}
    ack = make_ack(received, AckCode.AE, errors=[Problem.at("MSH-10", 104)], **options)
    result = read_ack(ack.to_bytes())
    assert result is not None
    assert result.error_codes == (code,)
    assert ack.get("MSA-3") == (
        "value too long at MSH-10" if code == 104 else "data type error at MSH-10"
    )


def test_hd10_enhanced_accept_ack(make_ack: MakeAck, build_adt: BuildAdt) -> None:
    received = parse(build_adt(extra_msh=["", "", "AL", "NE"]))
    ack = make_ack(received, Outcome.ACCEPT, mode=AckMode.ENHANCED)
    assert lines(ack) == [HEADER_24 + "|||NE|NE", "MSA|CA|MSG00001"]
    error = make_ack(received, AckCode.CE, mode=AckMode.ENHANCED, errors=[Problem.at("PID-7", 102)])
    assert error.get("MSA-1") == "CE"
    assert error.get("MSA-3") == "data type error at PID-7"
    with pytest.raises(AckUsageError):
        make_ack(received, AckCode.AA, mode=AckMode.ENHANCED)


def test_hd10_application_ack(build_adt: BuildAdt) -> None:
    received = parse(build_adt(extra_msh=["", "", "AL", "AL"]))
    options = {
        "sending_application": "EPRLINK",
        "sending_facility": "RXX",
        "timestamp": datetime(2025, 3, 14, 13, 4, 5, tzinfo=UTC),
        "control_id": "APP0001",
    }
    ack = build_application_ack(received, Outcome.ACCEPT, **options)  # type: ignore[arg-type]
    assert lines(ack) == [
        HEADER_24.replace("ACK0001", "APP0001") + "|||NE|NE",
        "MSA|AA|MSG00001",
    ]
    wanted = build_application_ack(
        received,
        AckCode.AE,
        accept_ack=AckCondition.AL,
        errors=[Problem.at("PID-7", 102)],
        **options,  # type: ignore[arg-type]
    )
    assert wanted.raw("MSH-15") == "AL"
    assert wanted.raw("MSH-16") == "NE"
    assert wanted.get("MSA-1") == "AE"
    with pytest.raises(AckUsageError):
        build_application_ack(received, AckCode.CA, **options)  # type: ignore[arg-type]


def test_sequence_protocol_msa4_expected_number(make_ack: MakeAck, a01: Message) -> None:
    assert lines(make_ack(a01, AckCode.AA, expected_sequence=8))[1] == "MSA|AA|MSG00001||8"
    assert lines(make_ack(a01, AckCode.AA, expected_sequence=-1))[1] == "MSA|AA|MSG00001||-1"
    with pytest.raises(AckUsageError):
        make_ack(a01, AckCode.AA, expected_sequence="8")


def test_policy_2_3_msh7_is_utc(make_ack: MakeAck, a01: Message) -> None:
    plus_one = timezone(timedelta(hours=1))
    aware = make_ack(a01, AckCode.AA, timestamp=datetime(2025, 6, 1, 13, 0, 0, tzinfo=plus_one))
    assert aware.get("MSH-7") == "20250601120000+0000"
    naive = make_ack(a01, AckCode.AA, timestamp=datetime(2025, 6, 1, 12, 0, 0))
    assert naive.get("MSH-7") == "20250601120000+0000"
    before = datetime.now(UTC).replace(microsecond=0)
    now = make_ack(a01, AckCode.AA, timestamp=None).get("MSH-7")
    assert now is not None
    stamped = datetime.strptime(now, "%Y%m%d%H%M%S%z")
    assert before <= stamped <= datetime.now(UTC)


def test_policy_2_3_msh10_new_control_id(make_ack: MakeAck, a01: Message) -> None:
    first = make_ack(a01, AckCode.AA, control_id=None).control_id
    second = make_ack(a01, AckCode.AA, control_id=None).control_id
    assert first and second and first != second
    assert first != a01.control_id


def _field_values(message: Message) -> set[str]:
    """Every leaf value of the message, except the fields a reply may echo."""
    echoed = {3, 4, 10, 11, 12}
    values: set[str] = set()
    for segment in message.segments():
        for number in range(1, len(segment) + 1):
            if segment.id == "MSH" and (number <= 2 or number in echoed):
                continue
            for repetition in segment.field(number).repetitions:
                for component in repetition.components:
                    for sub in component.subcomponents:
                        if sub.value and len(sub.value) >= 4:
                            values.add(sub.value)
    return values


@pytest.mark.parametrize("code", list(AckCode))
@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5"])
def test_policy_2_4_reply_never_contains_message_content(
    make_ack: MakeAck,
    build_adt: BuildAdt,
    phi_values: tuple[str, ...],
    code: AckCode,
    version: str,
) -> None:
    received = parse(build_adt(version=version, extra_msh=["", "", "AL", "NE"]))
    problems = (
        []
        if code.is_success
        else [
            Problem.at("PID-3", 102),
            Problem.at("PID-5[1].1", 101),
            Problem.at("PID-11", 104),
            Problem.at("DG1-3", 103),
            Problem(207),
        ]
    )
    ack = make_ack(received, code, mode=code.mode, errors=problems)
    text = ack.to_er7()
    for value in phi_values:
        assert value not in text
    for value in _field_values(received):
        assert value not in text, value
    assert re.fullmatch(r"[A-Z0-9]{3}", ack.get("MSH-9.2") or "")


def test_hd4_missing_msh9_named_in_err_not_a_neighbour(make_ack: MakeAck) -> None:
    received = parse("MSH|^~\\&|PAS|RCB|ROUTE|ROUTE|20250101120000|||MSG1|P|2.4\r")
    ack = make_ack(received, AckCode.AR, errors=[Problem.at("MSH-9", 101)])
    assert lines(ack) == [
        "MSH|^~\\&|EPRLINK|RXX|PAS|RCB|20250314130405+0000||ACK^^ACK|ACK0001|P|2.4",
        "MSA|AR|MSG1|required field missing at MSH-9",
        "ERR|MSH^1^9^101&Required field missing&HL70357",
    ]


def test_hd5_unsupported_message_type(make_ack: MakeAck) -> None:
    received = parse("MSH|^~\\&|PAS|RCB|ROUTE|ROUTE|20250101120000||ZZZ^Z99|MSG1|P|2.4\r")
    ack = make_ack(received, AckCode.AR, errors=[Problem.at("MSH-9", 200)])
    assert lines(ack)[1:] == [
        "MSA|AR|MSG1|unsupported message type at MSH-9",
        "ERR|MSH^1^9^200&Unsupported message type&HL70357",
    ]
    assert ack.raw("MSH-9") == "ACK^Z99^ACK"


def test_hd12_refused_sender_reveals_nothing(make_ack: MakeAck, a01: Message) -> None:
    ack = make_ack(a01, AckCode.AR, errors=[Problem(207)])
    assert lines(ack)[1:] == [
        "MSA|AR|MSG00001|application internal error",
        "ERR|^^^207&Application internal error&HL70357",
    ]


def test_hd13_acknowledgement_detected_for_optional_ar_200(make_ack: MakeAck) -> None:
    ack_in = parse("MSH|^~\\&|CIE|RCB|EPRLINK|RXX|20250101||ACK^A01^ACK|R1|P|2.4\rMSA|AA|M1\r")
    assert is_acknowledgement(ack_in)
    reply = make_ack(ack_in, AckCode.AR, errors=[Problem.at("MSH-9", 200)])
    assert reply.get("MSA-2") == "R1"
