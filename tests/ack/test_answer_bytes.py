"""``answer_bytes`` gives exactly the bytes ``answer(...).reply_bytes`` gives, whichever path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eprlink.ack import answer, answer_bytes
from eprlink.ack.answer import _plain_accept
from tests.ack.test_ack_fast_path import headers

IDENTITY = {"sending_application": "TIE", "sending_facility": "ZZ1"}
SAMPLES = sorted((Path(__file__).parents[2] / "src" / "eprlink" / "samples").glob("*.hl7"))


def _masked(reply: bytes | None) -> list[list[bytes]] | None:
    """Segments split into fields, MSH-7 (now) and MSH-10 (a fresh id) blanked out."""
    if reply is None:
        return None
    rows = [line.split(b"|") for line in reply.rstrip(b"\r").split(b"\r")]
    assert re.fullmatch(rb"\d{14}\+0000", rows[0][6])
    assert re.fullmatch(rb"[0-9a-f]{20}", rows[0][9])
    rows[0][6] = rows[0][9] = b"<generated>"
    return rows


def _same(payload: bytes, encoding: str | None = None) -> None:
    fast = answer_bytes(payload, encoding=encoding, **IDENTITY)
    general = answer(payload, encoding=encoding, **IDENTITY).reply_bytes
    assert _masked(fast) == _masked(general)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_samples_take_the_fast_path_and_match(path: Path) -> None:
    payload = path.read_bytes()
    assert _plain_accept(payload, "TIE", "ZZ1", None) is not None
    _same(payload)


CHARSETS = st.sampled_from(["", "", "8859/1", "UNICODE UTF-8", "ASCII", "KLINGON", "8859/1~X"])
BODIES = st.sampled_from(
    [
        b"PID|1||9990000018^^^NHS^NH||TEST^PATIENT\r",
        "PID|1||9990000018^^^NHS^NH||ZO\u00cb^PATIENT\r".encode(),
        "PID|1||9990000018^^^NHS^NH||ZO\u00cb^PATIENT\r".encode("latin-1"),
        b"PID|1||9990000018\xff\xfe\r",
        b"PID|1||9990000018\nPV1|1|I\n",
        b"",
    ]
)


@settings(max_examples=300, deadline=None)
@given(headers(), CHARSETS, BODIES, st.sampled_from([None, "utf-8", "latin-1", "utf-16", "cp500"]))
def test_any_header_charset_and_body_give_the_same_bytes(
    text: str, charset: str, body: bytes, encoding: str | None
) -> None:
    header = text.split("\r", 1)[0]
    if charset:
        fs = header[3]
        count = header.count(fs)
        header += fs * max(0, 17 - count) + charset if count < 17 else ""
    _same(header.encode("utf-8") + b"\r" + body, encoding)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"   \r\n",
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ACK^A01|C1|P|2.4\rMSA|AA|X1\r",  # HD-13
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ACK|C1|P|2.4\rMSA|AA|X1\r",
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4",  # no terminator
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\nPID|1\n",  # LF terminators
        b"\xef\xbb\xbfMSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\r",  # BOM
        b"MSH|^~\\&|PAS|R\\T\\X|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\r",  # escape in header
        b"MSH|^~\\&#|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\r",  # truncation character
        b"MSH|^~\\&|P\xc3\x85S|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\r",  # non-ASCII header
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C\x01|P|2.4\r",  # control character
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\rPID|1|\xff\r",  # bad UTF-8
        b"MSH|^~\\&|PAS|RXX|TIE|ZZ1|20240101||ADT^A01|C1|P|2.4\r" + b"ZZZ\r" * 10_001,
    ],
)
def test_edge_cases_give_the_same_bytes(payload: bytes) -> None:
    _same(payload)
