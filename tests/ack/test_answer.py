"""answer(): one received payload to its reply, per the policy's bad-input rules."""

from __future__ import annotations

from eprlink.ack import Outcome, answer, answer_oversize
from eprlink.hl7 import parse

IDENTITY = {"sending_application": "EPRLINK", "sending_facility": "RXX"}
GOOD = (
    b"MSH|^~\\&|PAS|RXX01|EPRLINK|RXX|20250101120000||ADT^A01^ADT_A01|MSG1|P|2.4\r"
    b"PID|1||9990000018^^^NHS^NH||SMITH^JOHN\r"
)


def test_good_message_gets_aa() -> None:
    result = answer(GOOD, **IDENTITY)
    assert result.accepted and result.outcome is Outcome.ACCEPT
    assert result.reply is not None
    assert result.reply.get("MSA-1") == "AA" and result.reply.get("MSA-2") == "MSG1"
    assert result.reply.get("MSH-5") == "PAS" and result.reply.get("MSH-6") == "RXX01"


def test_fr6_empty_frame_gets_ar_100_with_empty_msa2() -> None:
    for payload in (b"", b"  \r\n"):
        result = answer(payload, **IDENTITY)
        assert result.reply is not None
        assert result.reply.get("MSA-1") == "AR"
        assert result.reply.get("MSA-2") is None
        assert "100" in result.reply.to_er7().split("\rERR|", 1)[1]


def test_en6_not_er7_gets_ar_unsupported_encoding() -> None:
    result = answer("MSH".encode("utf-16"), **IDENTITY)
    assert result.reply is not None and result.reply.get("MSA-1") == "AR"
    assert result.reply.get("MSA-3") == "unsupported encoding"


def test_en3_bad_bytes_get_ae_102_at_the_field_and_echo_the_header() -> None:
    payload = GOOD.replace(b"SMITH", b"SM\xcbTH")
    result = answer(payload, **IDENTITY)
    assert result.outcome is Outcome.ERROR and result.message is None
    reply = result.reply
    assert reply is not None
    assert reply.get("MSA-1") == "AE" and reply.get("MSA-2") == "MSG1"
    assert reply.get("MSA-3") == "data type error at PID-5"
    assert reply.get("MSH-5") == "PAS"
    assert "SM" not in reply.to_er7().split("MSA|", 1)[1]  # no content echoed


def test_hd2_bad_delimiters_get_ar_with_salvaged_control_id() -> None:
    payload = GOOD.replace(b"MSH|^~\\&|", b"MSH|^^|", 1)
    result = answer(payload, **IDENTITY)
    assert result.reply is not None and result.reply.get("MSA-1") == "AR"
    assert result.reply.get("MSA-2") == "MSG1"


def test_hd13_acknowledgement_gets_no_reply() -> None:
    ack = b"MSH|^~\\&|X|Y|||20250101||ACK^A01^ACK|A1|P|2.4\rMSA|AA|MSG1\r"
    result = answer(ack, **IDENTITY)
    assert result.reply is None and result.message is not None


def test_extra_problems_decide_the_outcome() -> None:
    from eprlink.ack import Problem

    result = answer(GOOD, problems=[Problem.at("PID-8", 103)], **IDENTITY)
    assert result.reply is not None and result.reply.get("MSA-1") == "AE"
    assert result.reply.get("MSA-3") == "table value not found at PID-8"


def test_sz1_oversize_gets_ar_207_message_too_large() -> None:
    reply = answer_oversize(GOOD[:80], **IDENTITY)
    assert reply.get("MSA-1") == "AR" and reply.get("MSA-3") == "message too large"
    assert parse(reply.to_er7()).get("MSA-2") == "MSG1"
