"""Echoing received values into replies: HD-1 delimiters, HD-2/HD-3 broken headers, HD-8 MSA-2."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eprlink.ack import (
    AckCode,
    AckUsageError,
    Outcome,
    Problem,
    control_id_of,
)
from eprlink.hl7 import Message, ParseError, parse

MakeAck = Callable[..., Message]
BuildAdt = Callable[..., str]


def lines(message: Message) -> list[str]:
    text = message.to_er7()
    assert text.endswith("\r")
    return text[:-1].split("\r")


@pytest.mark.parametrize(
    "control_id",
    ["A\\F\\B", "X\\S\\Y\\T\\Z\\R\\", "ESC\\E\\X", "HEX\\X41\\", "  padded  ", "A^B~C&D", '""'],
)
def test_hd8_msa2_echoes_escaped_control_id(
    make_ack: MakeAck, build_adt: BuildAdt, control_id: str
) -> None:
    received = parse(build_adt(control_id=control_id))
    ack = make_ack(received, AckCode.AA)
    assert ack.raw("MSA-2") == control_id
    assert ack.get("MSA-2") == received.get("MSH-10")
    assert [s.id for s in ack.segments()] == ["MSH", "MSA"]


def test_hd8_example_from_policy(make_ack: MakeAck, build_adt: BuildAdt) -> None:
    received = parse(build_adt(control_id="A\\F\\B"))
    ack = parse(make_ack(received, AckCode.AA).to_bytes())
    assert ack.raw("MSA-2") == "A\\F\\B"
    assert ack.get("MSA-2") == "A|B"


def test_hd8_long_control_id_is_echoed_untruncated(make_ack: MakeAck, build_adt: BuildAdt) -> None:
    control_id = "X" * 500
    received = parse(build_adt(control_id=control_id))
    ack = make_ack(received, AckCode.AE, errors=[Problem.at("MSH-10", 102)])
    assert ack.raw("MSA-2") == control_id


def test_hd8_control_characters_cannot_break_the_reply(
    make_ack: MakeAck, build_adt: BuildAdt
) -> None:
    received = parse(build_adt(control_id="A\x1cB\x0bC"))
    ack = make_ack(received, AckCode.AA)
    text = ack.to_er7()
    assert "\x1c" not in text
    assert "\x0b" not in text
    assert ack.raw("MSA-2") == "A\\X1C\\B\\X0B\\C"
    assert ack.get("MSA-2") == received.get("MSH-10")


CUSTOM = (
    "MSH#$*/%#PAS$1.2$ISO#RCB#ROUTE#ROUTE#201010101418##ADT$A01$ADT_A01#{cid}#P#2.4\r"
    "PID#1##9449305552$$$NHS$NH##SMITH$FREDRICA\r"
)


@pytest.mark.parametrize(
    ("control_id", "msa2"),
    [
        ("MSG00001", "MSG00001"),  # plain ids stay byte for byte
        ("A/F/B", "A#B"),  # the sender's escaped field separator is plain text for us
        ("A|B", "A\\F\\B"),  # our field separator is plain text for the sender
        ("A\\B", "A\\E\\B"),
        ("A^B$C", "A\\S\\B$C"),
        ("X/X41/Y", "XAY"),
        ("A/E/B", "A/B"),
    ],
)
def test_hd1_custom_delimiters_get_standard_ack_with_same_msa2_value(
    make_ack: MakeAck, control_id: str, msa2: str
) -> None:
    received = parse(CUSTOM.format(cid=control_id))
    assert received.delimiters.field == "#"
    ack = make_ack(received, AckCode.AA)
    text = ack.to_er7()
    assert text.startswith("MSH|^~\\&|EPRLINK|RXX|PAS^1.2^ISO|RCB|")
    assert ack.raw("MSA-2") == msa2
    reparsed = parse(ack.to_bytes())
    assert reparsed.get("MSA-2") == received.get("MSH-10")
    assert [s.id for s in reparsed.segments()] == ["MSH", "MSA"]


def test_hd1_custom_delimiters_msh3_components_reencoded(make_ack: MakeAck) -> None:
    received = parse("MSH#$*/%#P|S$a/S/b%c#R^C#X#Y#20250101##ADT$A01#M1#P$T#2.4\r")
    ack = make_ack(received, AckCode.AA)
    assert ack.raw("MSH-5") == "P\\F\\S^a$b&c"
    assert ack.raw("MSH-6") == "R\\S\\C"
    assert ack.raw("MSH-11") == "P^T"
    assert ack.get("MSH-5.1") == "P|S"
    assert ack.get("MSH-5.2.1") == "a$b"


def test_hd1_three_character_msh2_is_answered_with_standard_delimiters(
    make_ack: MakeAck,
) -> None:
    received = parse("MSH|^~\\|PAS|R&D|X|Y|20250101||ADT^A01|M&1|P|2.4\r")
    assert received.delimiters.subcomponent is None
    ack = make_ack(received, AckCode.AA)
    assert ack.raw("MSA-2") == "M\\T\\1"
    assert ack.get("MSA-2") == "M&1"
    plain = make_ack(parse("MSH|^~\\|PAS|R|X|Y|20250101||ADT^A01|MSG1|P|2.4\r"), AckCode.AA)
    assert plain.raw("MSA-2") == "MSG1"
    assert ack.raw("MSH-6") == "R\\T\\D"
    assert ack.get("MSH-6") == "R&D"


def test_hd3_unparsable_msh_gets_ar_with_empty_msa2(make_ack: MakeAck) -> None:
    ack = make_ack(None, AckCode.AR)
    assert lines(ack) == [
        "MSH|^~\\&|EPRLINK|RXX|||20250314130405+0000||ACK^^ACK|ACK0001|P|2.4",
        "MSA|AR||segment sequence error",
        "ERR|^^^100&Segment sequence error&HL70357",
    ]
    assert ack.get("MSA-2") is None


def test_hd3_unparsable_msh_reply_uses_default_version_and_processing_id(
    make_ack: MakeAck,
) -> None:
    ack = make_ack(None, Outcome.REJECT, default_version="2.5", processing_id="T")
    assert ack.raw("MSH-12") == "2.5"
    assert ack.raw("MSH-11") == "T"
    assert lines(ack)[2] == "ERR|||100^Segment sequence error^HL70357|E"


def test_hd2_bad_msh2_rejected_with_salvaged_control_id(make_ack: MakeAck) -> None:
    payload = b"MSH|^^\\&|PAS|RCB|ROUTE|ROUTE|20250101||ADT^A01|MSG77|P|2.4\rPID|1||SMITH\r"
    with pytest.raises(ParseError) as caught:
        parse(payload)
    problem = Problem.from_parse_error(caught.value, payload=payload)
    ack = make_ack(None, AckCode.AR, errors=[problem], raw_control_id=control_id_of(payload))
    assert lines(ack)[1:] == [
        "MSA|AR|MSG77|data type error at MSH-2",
        "ERR|MSH^1^2^102&Data type error&HL70357",
    ]


def test_hd2_salvaged_control_id_cannot_inject_fields(make_ack: MakeAck) -> None:
    ack = make_ack(None, AckCode.AR, raw_control_id="A|B\rPID|SMITH")
    assert [s.id for s in ack.segments()] == ["MSH", "MSA", "ERR"]
    assert ack.raw("MSA-2") == "A\\F\\B\\X0D\\PID\\F\\SMITH"


def test_hd3_unparsable_message_can_only_be_rejected(make_ack: MakeAck) -> None:
    with pytest.raises(AckUsageError):
        make_ack(None, AckCode.AA)
    with pytest.raises(AckUsageError):
        make_ack(None, Outcome.ERROR)


def test_raw_control_id_is_only_for_unparsable_messages(make_ack: MakeAck, a01: Message) -> None:
    with pytest.raises(AckUsageError):
        make_ack(a01, AckCode.AR, raw_control_id="X")


@pytest.mark.parametrize(
    ("payload", "found"),
    [
        (b"MSH|^^\\&|PAS|RCB|X|Y|20250101||ADT^A01|MSG1|P|2.4\r", "MSG1"),
        (b"MSH#bad#PAS#RCB#X#Y#20250101##ADT$A01#M|1#P#2.4", "M|1"),
        (b"\xef\xbb\xbf \r\nMSH|x|PAS|RCB|X|Y|20250101||ADT^A01|BOM1|P\nPID|1\r", "BOM1"),
        (b"MSH|^~\\&|PAS|RCB|X|Y|20250101||ADT^A01|caf\xe9|P|2.4\r", "caf\xe9"),
        (b"MSH|^~\\&|PAS|RCB|X|Y|20250101||ADT^A01||P|2.4\r", None),
        (b"MSH|^~\\&|PAS|RCB|X|Y|20250101||ADT^A01\rMSA|AA|MSG1\r", None),
        (b"MSH|^~\\&|PAS|RCB\r|X|Y|20250101||ADT^A01|MSG1|P\r", None),
        (b"MSHA^~\\&AAAAAAAAAAAAAAAAMSG1", None),
        (b"MSH ^~\\& PAS RCB X Y 2025 x ADT MSG1 P", None),
        (b"msh|^~\\&|PAS|RCB|X|Y|20250101||ADT^A01|MSG1|P|2.4\r", None),
        (b"PID|1|2|3|4|5|6|7|8|9|10\r", None),
        (b"MSH", None),
        (b"", None),
    ],
)
def test_hd2_control_id_salvaged_from_broken_payloads(payload: bytes, found: str | None) -> None:
    assert control_id_of(payload) == found


def test_hd2_salvage_is_bounded_and_never_truncates() -> None:
    head = b"MSH|^~\\&|PAS|RCB|X|Y|20250101||ADT^A01|"
    long_id = head + b"Z" * 100
    assert control_id_of(long_id, limit=len(head) + 50) is None
    assert control_id_of(long_id) == "Z" * 100
    assert control_id_of(long_id + b"|P", limit=len(long_id) + 1) == "Z" * 100
    assert control_id_of(head + b"A" * 10_000_000 + b"|P") is None
    assert control_id_of(memoryview(b"MSH|a|b|c|d|e|f|g|h|ID9|P")) == "ID9"
    assert control_id_of("MSH|a|b|c|d|e|f|g|h|ID9|P") is None  # type: ignore[arg-type]
