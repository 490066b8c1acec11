"""Message.raw_fields (one split for many reads); messages freed without the cycle collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from eprlink.hl7 import Delimiters, Message, parse

ADT = (
    "MSH|^~\\&|PAS^RXX|RXX|TIE|RXX|20250101120000||ADT^A08^ADT_A01|MSG\\F\\1|P|2.4||||||8859/1\r"
    "EVN|A08|20250101120000\r"
    "PID|1||9990000018^^^NHS^NH||SMITH^JOHN\r"
    "OBX|1|NM|HT^Height||180|cm\r"
    "OBX|2|NM|WT^Weight||75|kg\r"
)


def _by_path(message: Message, segment: str, count: int, repetition: int = 1) -> list[str]:
    """What raw() reads field by field, with absent fields as ""."""
    prefix = segment if repetition == 1 else f"{segment}[{repetition}]"
    return [message.raw(f"{prefix}-{n}") or "" for n in range(1, count)]


@pytest.mark.parametrize("edited", [False, True])
def test_raw_fields_matches_raw_field_by_field(edited: bool) -> None:
    message = parse(ADT)
    if edited:
        message.set("PID-5.2", "JAMES")
    msh = message.raw_fields("MSH")
    assert msh is not None
    assert msh[0] == "MSH" and msh[1] == "|" and msh[2] == "^~\\&"
    assert msh[1:] == _by_path(message, "MSH", len(msh))
    assert msh[10] == "MSG\\F\\1"  # still escaped, as MSA-2 echoes it
    second = message.raw_fields("OBX", 2)
    assert second is not None and second[0] == "OBX"
    assert second[1:] == _by_path(message, "OBX", len(second), repetition=2)
    last = message.raw_fields("OBX", -1)
    assert last == second
    pid = message.raw_fields("PID")
    assert pid is not None and pid[5] == ("SMITH^JAMES" if edited else "SMITH^JOHN")


def test_raw_fields_absent_segment_and_other_delimiters() -> None:
    message = parse(ADT)
    assert message.raw_fields("ZZZ") is None
    assert message.raw_fields("OBX", 3) is None
    other = parse("MSH#$*/%#PAS#RXX##########2.4\rPID#1##X$Y\r")
    assert other.delimiters == Delimiters("#", "$", "*", "/", "%")
    msh = other.raw_fields("MSH")
    assert msh is not None and msh[1] == "#" and msh[2] == "$*/%" and msh[3] == "PAS"
    pid = other.raw_fields("PID")
    assert pid == ["PID", "1", "", "X$Y"]


def test_raw_fields_keeps_the_message_unsplit_and_objectless() -> None:
    message = parse(ADT.encode("latin-1"))
    assert message.raw_fields("PID") is not None
    assert message._objects is None and message._raw_segments is None


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_gc")
@pytest.mark.parametrize("declared", ["", "8859/1", "UNICODE UTF-8"])
def test_messages_parsed_from_text_and_encoded_leave_no_cycles(declared: str) -> None:
    text = f"MSH|^~\\&|A|B|C|D|20260101||ACK|1|P|2.4||||||{declared}\rMSA|AA|1\r"
    for _ in range(200):
        message = parse(text)
        assert message.to_bytes()
        assert message.charset in {"utf-8", "iso-8859-1"}
    del message
    assert gc.collect() == 0


@pytest.mark.usefixtures("no_automatic_gc")
def test_charset_read_without_segment_objects_matches_the_segment() -> None:
    text = "MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.4||||||8859/1~UNICODE\rPID|1\r"
    assert parse(text).charset == "iso-8859-1"
    read = parse(text)
    assert read.segment("MSH") is not None  # a segment object exists: it is used as before
    assert read.charset == "iso-8859-1"
    assert parse("MSH|^~\\&|A\rPID|1\r").charset == "utf-8"
    assert parse("MSH|^~\\&|A||||||||||||||||^X\r").charset == "utf-8"  # MSH-18.1 empty
