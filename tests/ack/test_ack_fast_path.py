"""The plain accept's fast path gives the general path's reply; control ids, clock, versions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eprlink.ack import (
    DEFAULT_SUPPORTED_VERSIONS,
    AckCode,
    AckCondition,
    AckMode,
    AckUsageError,
    Outcome,
    answer,
    build_ack,
    build_application_ack,
    reply_version,
)
from eprlink.ack import build as ack_build
from eprlink.ack.codes import ack_code
from eprlink.hl7 import DEFAULT_DELIMITERS, Leniency, Message, parse

FIXED = datetime(2025, 3, 14, 13, 4, 5, tzinfo=UTC)
IDENTITY = {"sending_application": "EPRLINK", "sending_facility": "RXX"}

# Field texts chosen to reach every rule: components and repetitions, escape sequences, the
# explicit null, control characters (never echoed raw) and plain values. Plain values are the
# most likely, so that most examples take the fast path and are compared with the general one.
PLAIN = ["A", "PAS", "RXX01", "^", "~", "&", '""', " ", "é"]
PIECES = st.sampled_from([*PLAIN, *PLAIN, *PLAIN, "\\F\\", "\\E\\", "\\X41\\", "\t", "\x7f"])
TEXT = st.lists(PIECES, max_size=5).map("".join)
TRIGGERS = st.sampled_from(
    ["A01", "A01", "A01", "R01", "a01", "A0", "A011", "", '""', "A\\T\\1", "A01~X"]
)
VERSIONS = st.sampled_from(
    ["2.4", "2.4", "2.3", "2.3.1", "2.5", "2.5.1", "2.9", "2.4^GBR", "2.5~2.4", "", '""', "2\\.4"]
)
PROCESSING = st.sampled_from(["P", "P", "P", "T^I", "", '""', "D~P", "\\F\\", "P\x01"])
DELIMITERS = st.sampled_from(["|^~\\&"] * 6 + ["|^~\\&#", "#$*/%", "|^~\\"])


def _translate(text: str, msh2: str) -> str:
    """Standard-delimiter text rewritten for other delimiters, character by character."""
    table = dict(zip("|^~\\&", msh2, strict=False))
    return "".join(table.get(ch, ch) for ch in text)


@st.composite
def headers(draw: st.DrawFn) -> str:
    delimiters = draw(DELIMITERS)
    fields = [
        draw(TEXT),
        draw(TEXT),
        "EPRLINK",
        "RXX",
        "20250101120000",
        "",
        f"ADT^{draw(TRIGGERS)}^ADT_A01",
        draw(TEXT),
        draw(PROCESSING),
        draw(VERSIONS),
        *draw(st.lists(st.sampled_from(["", "AL", "NE", "GBR"]), max_size=4)),
    ]
    fields = fields[: draw(st.integers(min_value=6, max_value=len(fields)))]
    if delimiters != "|^~\\&":
        fields = [_translate(f, delimiters) for f in fields]
    fs, msh2 = delimiters[0], delimiters[1:]
    return "MSH" + fs + msh2 + fs + fs.join(fields) + "\rPID|1||9990000018^^^NHS^NH\r"


def _normalised(reply: Message, *, stamp: bool, control: bool) -> list[list[str]]:
    """Segments split into fields, with a generated MSH-7 or MSH-10 blanked out."""
    rows = [line.split("|") for line in reply.to_er7().rstrip("\r").split("\r")]
    if stamp:
        assert re.fullmatch(r"\d{14}\+0000", rows[0][6])
        rows[0][6] = "<now>"
    if control:
        assert re.fullmatch(r"[0-9a-f]{20}", rows[0][9])
        rows[0][9] = "<new>"
    return rows


def _general(received: Message, code: AckCode, **options: Any) -> Message:
    """The general path on its own: every value read through the message, text parsed back."""
    settings_: dict[str, Any] = {
        "errors": (),
        "control_id": None,
        "timestamp": None,
        "default_version": "2.4",
        "supported_versions": DEFAULT_SUPPORTED_VERSIONS,
        "processing_id": "P",
        "raw_control_id": None,
        "expected_sequence": None,
        "conditions": None,
        **options,
    }
    return ack_build._build(received, code, **settings_)


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "sending_application": st.sampled_from(["EPRLINK", "E|P", ["EPR", "1.2", "ISO"]]),
        "sending_facility": st.sampled_from(["RXX", "", "R^X"]),
        "control_id": st.sampled_from(["ACK1", "A|B", "\\E\\"]),
        "timestamp": st.just(FIXED),
        "default_version": st.sampled_from(["2.4", "2.3", "2.5.1"]),
        "supported_versions": st.sampled_from(
            [("2.4",), ["2.3", "2.5"], DEFAULT_SUPPORTED_VERSIONS]
        ),
        "processing_id": st.sampled_from(["P", "T", "D|X"]),
    },
)


@settings(max_examples=400, deadline=None)
@given(headers(), OPTIONS, st.sampled_from([AckMode.ORIGINAL, AckMode.ENHANCED]))
def test_fast_path_reply_equals_general_path(
    text: str, options: dict[str, Any], mode: AckMode
) -> None:
    options = {**IDENTITY, **options}
    received = parse(text)
    code = ack_code(Outcome.ACCEPT, mode)
    conditions = (AckCondition.NE, AckCondition.NE) if mode is AckMode.ENHANCED else None
    fast = build_ack(received, Outcome.ACCEPT, mode=mode, **options)
    general = _general(received, code, conditions=conditions, **options)
    stamp, control = "timestamp" not in options, "control_id" not in options
    assert _normalised(fast, stamp=stamp, control=control) == _normalised(
        general, stamp=stamp, control=control
    )
    assert fast.charset == general.charset == "utf-8"
    assert fast.delimiters == general.delimiters == DEFAULT_DELIMITERS
    assert fast.leniencies == general.leniencies == frozenset()
    assert fast.get("MSA-2") == general.get("MSA-2")
    if received.delimiters == DEFAULT_DELIMITERS and received.raw_fields("MSH") is not None:
        application = build_application_ack(received, AckCode.AA, **options)
        reference = _general(
            received, AckCode.AA, conditions=(AckCondition.NE, AckCondition.NE), **options
        )
        assert _normalised(application, stamp=stamp, control=control) == _normalised(
            reference, stamp=stamp, control=control
        )


@settings(max_examples=200, deadline=None)
@given(headers())
def test_answer_reply_equals_general_path(text: str) -> None:
    result = answer(text.encode("utf-8"), **IDENTITY)
    message = parse(text.encode("utf-8"))
    if message.message_type == "ACK":
        assert result.reply is None
        return
    assert result.reply is not None and result.message is not None
    general = _general(message, AckCode.AA, **IDENTITY)
    assert _normalised(result.reply, stamp=True, control=True) == _normalised(
        general, stamp=True, control=True
    )
    assert result.reply_bytes == result.reply.to_bytes()


def test_plain_header_takes_the_fast_path_and_odd_ones_do_not() -> None:
    plain = parse("MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M1|P|2.4\rPID|1\r")
    fields = plain.raw_fields("MSH")
    assert fields is not None
    options: dict[str, Any] = {
        **IDENTITY,
        "control_id": None,
        "timestamp": None,
        "default_version": "2.4",
        "supported_versions": DEFAULT_SUPPORTED_VERSIONS,
        "processing_id": "P",
        "conditions": None,
    }
    assert ack_build._is_standard(plain.delimiters)
    text = ack_build.accept_text(fields, AckCode.AA, **options)
    assert text is not None and text.endswith("|P|2.4\rMSA|AA|M1\r")
    other = parse("MSH#$*/%#PAS#RXX###20250101##ADT$A01#M1#P#2.4\r")
    assert not ack_build._is_standard(other.delimiters)  # echoed values need re-encoding
    for odd in (
        "MSH|^~\\&|PAS|RXX|||20250101||ADT^A\\T\\1|M1|P|2.4\r",  # escaped trigger
        "MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M1|P|2\\E\\4\r",  # escaped version
        "MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M1\x01|P|2.4\r",  # control character echoed
    ):
        message = parse(odd)
        split = message.raw_fields("MSH")
        assert split is not None
        assert ack_build.accept_text(split, AckCode.AA, **options) is None, odd


def test_answer_to_an_acknowledgement_read_from_the_split_header() -> None:
    for header in ("ACK^A01^ACK", "ACK", "ACK~ADT^A01", "\\X41\\CK^A01"):
        payload = f"MSH|^~\\&|X|Y|||20250101||{header}|A1|P|2.4\rMSA|AA|M1\r".encode()
        result = answer(payload, **IDENTITY)
        assert (result.reply is None) == (parse(payload).message_type == "ACK"), header
    assert answer(b"MSH|^~\\&|X|Y|||20250101||ACKS^A01|A1|P|2.4\r", **IDENTITY).reply


def test_new_control_ids_are_20_hex_digits_and_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [ack_build._CONTROL_IDS.next() for _ in range(5000)]
    assert all(re.fullmatch(r"[0-9a-f]{20}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    prefix = ids[0][:12]
    monkeypatch.setattr(ack_build, "_CONTROL_ID_COUNTER", 4)
    ack_build._CONTROL_IDS.reseed()  # a new prefix, as in a forked child
    more = [ack_build._CONTROL_IDS.next() for _ in range(20)]  # the counter runs out 4 times
    assert len({i[:12] for i in more}) == 5 and prefix not in {i[:12] for i in more}
    assert len(set(ids + more)) == len(ids) + len(more)
    received = parse("MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M1|P|2.4\r")
    replies = {build_ack(received, AckCode.AA, **IDENTITY).control_id for _ in range(50)}
    assert len(replies) == 50


def test_clock_formats_utc_now_to_the_second() -> None:
    for _ in range(3):
        before = datetime.now(UTC).replace(microsecond=0)
        stamp = ack_build._CLOCK.now()
        after = datetime.now(UTC)
        assert before <= datetime.strptime(stamp, "%Y%m%d%H%M%S%z") <= after
        assert stamp == ack_build._CLOCK.now() or stamp < ack_build._CLOCK.now()


def test_supported_versions_checked_once_but_refused_every_time() -> None:
    received = parse("MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M1|P|2.5\r")
    for supported in (("2.4", "2.5"), ["2.4", "2.5"], iter(["2.4", "2.5"])):
        assert reply_version(received, supported_versions=supported) == "2.5"
    assert reply_version(received, supported_versions=("2.4",)) == "2.4"
    for _ in range(2):
        with pytest.raises(AckUsageError):
            reply_version(received, supported_versions=("2.4", "v2.5"))
        with pytest.raises(AckUsageError):
            build_ack(received, AckCode.AA, default_version="two", **IDENTITY)


def test_fast_reply_is_a_complete_message() -> None:
    received = parse(b"MSH|^~\\&|PAS|RXX|||20250101||ADT^A01|M\\F\\1|T|2.5\rPID|1\r")
    reply = build_ack(received, Outcome.ACCEPT, control_id="C1", timestamp=FIXED, **IDENTITY)
    assert reply.to_er7() == (
        "MSH|^~\\&|EPRLINK|RXX|PAS|RXX|20250314130405+0000||ACK^A01^ACK|C1|T|2.5\rMSA|AA|M\\F\\1\r"
    )
    assert reply.get("MSA-2") == received.get("MSH-10") == "M|1"
    assert Leniency.EMPTY_SEGMENTS not in reply.leniencies
    assert [s.id for s in reply.segments()] == ["MSH", "MSA"]
    copy: Sequence[str] = reply.copy().to_er7().split("\r")
    assert copy[0].startswith("MSH|^~\\&|EPRLINK")
