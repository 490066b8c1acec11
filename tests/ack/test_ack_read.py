"""Reading partners' responses: AK-3 correlation, AK-5 success set, AK-6 unusable, AK-7."""

from __future__ import annotations

import pytest

from eprlink.ack import (
    DEFAULT_SUCCESS,
    AckCode,
    AckResult,
    ReportedError,
    Verdict,
    classify,
    read_ack,
)
from eprlink.errors import ErrorCode
from eprlink.hl7 import parse

SENT = "MSG00001"


def response(msa: str, *extra: str, version: str = "2.4", kind: str = "ACK^A01^ACK") -> str:
    msh = f"MSH|^~\\&|CIE|RCB|EPRLINK|RXX|20250101120000||{kind}|R1|P|{version}"
    return "\r".join([msh, msa, *extra]) + "\r"


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("AA", Verdict.ACCEPT),
        ("AE", Verdict.ERROR),
        ("AR", Verdict.REJECT),
        ("CA", Verdict.ACCEPT),
        ("CE", Verdict.ERROR),
        ("CR", Verdict.REJECT),
    ],
)
def test_ak5_every_code_classified(code: str, verdict: Verdict) -> None:
    payload = response(f"MSA|{code}|{SENT}").encode()
    result = read_ack(payload)
    assert result is not None
    assert result.code is AckCode(code)
    assert result.classify() is verdict
    assert classify(payload, control_id=SENT) is verdict
    assert classify(result) is verdict


def test_ak5_success_set_is_configurable() -> None:
    result = read_ack(response(f"MSA|CA|{SENT}"))
    assert result is not None
    assert {AckCode.AA, AckCode.CA} == DEFAULT_SUCCESS
    assert result.classify(success={AckCode.AA}) is Verdict.ERROR
    error = read_ack(response(f"MSA|AE|{SENT}"))
    assert error is not None
    assert error.classify(success={AckCode.AA, AckCode.AE}) is Verdict.ACCEPT


def test_ak3_matches_compares_msa2_byte_for_byte() -> None:
    result = read_ack(response("MSA|AA|A\\F\\B"))
    assert result is not None
    assert result.control_id == "A\\F\\B"
    assert result.matches("A\\F\\B")
    assert not result.matches("A|B")
    assert not result.matches("a\\f\\b")
    assert not result.matches("A\\F\\B ")
    padded = read_ack(response("MSA|AA| MSG1"))
    assert padded is not None
    assert not padded.matches("MSG1")


def test_ak3_stale_ack_does_not_match() -> None:
    payload = response("MSA|AA|MSG00000")
    result = read_ack(payload)
    assert result is not None
    assert not result.matches(SENT)
    assert classify(payload, control_id=SENT) is Verdict.STALE
    assert classify(response("MSA|AR|MSG00000"), control_id=SENT) is Verdict.STALE


def test_ak3_empty_msa2_matches_nothing() -> None:
    result = read_ack(response("MSA|AR|"))
    assert result is not None
    assert result.control_id is None
    assert not result.matches("")
    assert classify(response("MSA|AR|"), control_id="") is Verdict.STALE


@pytest.mark.parametrize(
    "payload",
    [
        b"OK\r",
        b"OK",
        b"",
        b"\x06",
        b"MSH|^~\\&|CIE|RCB|||20250101||ACK^A01^ACK|R1|P|2.4\r",
        response("MSA||MSG00001").encode(),
        response("MSA|OK|MSG00001").encode(),
        response("MSA|aa|MSG00001").encode(),
        b"<html>502 Bad Gateway</html>",
        b"MSH|^^^^|broken\r",
    ],
)
def test_ak6_response_without_usable_msa_is_unusable(payload: bytes) -> None:
    assert read_ack(payload) is None
    assert classify(payload) is Verdict.UNUSABLE
    assert classify(payload, control_id=SENT) is Verdict.UNUSABLE
    assert classify(None) is Verdict.UNUSABLE


def test_ak7_application_response_judged_by_its_msa() -> None:
    payload = response(
        f"MSA|AA|{SENT}",
        "QRD|20250101|R|I|Q1|||1^RD|9449305552^^^NHS|DEM",
        "PID|1||9449305552^^^NHS^NH||SMITH^FREDRICA",
        kind="ADR^A19^ADR_A19",
    )
    result = read_ack(payload)
    assert result is not None
    assert (result.message_type, result.trigger_event) == ("ADR", "A19")
    assert result.matches(SENT)
    assert result.classify() is Verdict.ACCEPT
    rejected = read_ack(payload.replace("MSA|AA", "MSA|AR"))
    assert rejected is not None
    assert rejected.classify() is Verdict.REJECT


def test_ak7_application_response_without_msa_is_unusable() -> None:
    payload = "MSH|^~\\&|CIE|RCB|||20250101||ADR^A19|R1|P|2.4\rPID|1||9449305552\r"
    assert read_ack(payload) is None


def test_ak5_errors_read_from_2_4_layout() -> None:
    payload = response(
        f"MSA|AE|{SENT}|data type error at PID-5",
        "ERR|PID^1^5^102&Data type error&HL70357~^^^207&Application internal error&HL70357",
    )
    result = read_ack(payload)
    assert result is not None
    assert result.text == "data type error at PID-5"
    assert result.error_codes == (102, 207)
    assert result.errors[0] == ReportedError(
        code=102, text="Data type error", segment_id="PID", sequence=1, field=5
    )
    assert result.errors[1].segment_id is None
    assert result.errors[1].error_code is ErrorCode.APPLICATION_INTERNAL_ERROR


def test_ak5_errors_read_from_2_5_layout() -> None:
    payload = response(
        f"MSA|AE|{SENT}|data type error at PID-5.2",
        "ERR||PID^1^5^1^2|102^Data type error^HL70357|E",
        "ERR|||207^Application internal error^HL70357|E",
        "ERR||PID^1^8|103^Table value not found^HL70357|W",
        version="2.5",
    )
    result = read_ack(payload)
    assert result is not None
    assert result.error_codes == (102, 207, 103)
    assert [e.severity for e in result.errors] == ["E", "E", "W"]
    assert (result.errors[0].segment_id, result.errors[0].field) == ("PID", 5)


def test_ak5_local_and_unreadable_error_codes_are_kept_as_sent() -> None:
    payload = response(f"MSA|AE|{SENT}", "ERR||PID^x^5|Z99^Local problem^L|E", version="2.5")
    result = read_ack(payload)
    assert result is not None
    assert result.errors[0].code is None
    assert result.errors[0].sequence is None
    assert result.errors[0].error_code is None
    local = read_ack(response(f"MSA|AE|{SENT}", "ERR|||9001^Local^L|E", version="2.5"))
    assert local is not None
    assert local.error_codes == (9001,)
    assert local.errors[0].error_code is None


def test_ak5_msa6_error_condition_read_when_there_is_no_err() -> None:
    result = read_ack(response(f"MSA|AR|{SENT}||||207^Application internal error"))
    assert result is not None
    assert result.error_codes == (207,)


def test_sequence_protocol_msa4_expected_number_read() -> None:
    result = read_ack(response(f"MSA|AA|{SENT}||8"))
    assert result is not None
    assert result.expected_sequence == 8
    resync = read_ack(response(f"MSA|AA|{SENT}||-1"))
    assert resync is not None
    assert resync.expected_sequence == -1
    junk = read_ack(response(f"MSA|AA|{SENT}||eight"))
    assert junk is not None
    assert junk.expected_sequence is None


def test_read_ack_accepts_text_bytes_and_messages() -> None:
    text = response(f"MSA|AA|{SENT}")
    assert read_ack(text) == read_ack(text.encode()) == read_ack(parse(text))
    latin = response(f"MSA|AE|{SENT}|caf\xe9").encode("latin-1")
    decoded = read_ack(latin)
    assert decoded is not None
    assert decoded.text == "caf\xe9"


def test_read_ack_with_custom_delimiters() -> None:
    payload = "MSH#$*/%#CIE#RCB###20250101##ACK$A01$ACK#R1#P#2.4\rMSA#AE#M/F/1#x\r"
    result = read_ack(payload)
    assert result is not None
    assert result.control_id == "M/F/1"
    assert result.matches("M/F/1")


def test_ack_result_is_a_frozen_value() -> None:
    result = AckResult(code=AckCode.AA, control_id=SENT)
    with pytest.raises(AttributeError):
        result.code = AckCode.AE  # type: ignore[misc]
    assert result.error_codes == ()
