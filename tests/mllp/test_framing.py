"""Framing rules FR-1..FR-8, SZ-1 and MLLP Release 2 blocks against the sans-I/O decoder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eprlink.mllp.errors import PayloadError, PolicyError
from eprlink.mllp.framing import (
    COMMIT_ACK,
    CommitAck,
    CommitNak,
    Decoder,
    Event,
    Frame,
    FrameCapExceeded,
    FrameOversize,
    FrameTruncated,
    FramingMode,
    FramingPolicy,
    FramingViolation,
    JunkDiscarded,
    JunkLimitExceeded,
    TruncationReason,
    encode,
    encode_commit_ack,
    encode_commit_nak,
)

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
MSG_A = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.4\rPID|1||9990000018^^^NHS^NH\r"
MSG_B = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A02|2|P|2.4\r"
NEW = TruncationReason.NEW_START_BLOCK
EOF = TruncationReason.EOF

SMALL = FramingPolicy(max_message_size=8, hard_cap=16, head_size=4, junk_limit=32)
STRICT = FramingPolicy(mode=FramingMode.STRICT)
R2 = FramingPolicy(release2=True)


def frame(payload: bytes) -> bytes:
    return VT + payload + FS + CR


@dataclass(frozen=True)
class Case:
    rule: str
    data: bytes
    expected: list[Event]
    policy: FramingPolicy = field(default_factory=FramingPolicy)
    closed_before_eof: bool = False


CASES = [
    Case("fr1_two_frames_one_read", frame(MSG_A) + frame(MSG_B), [Frame(MSG_A), Frame(MSG_B)]),
    Case("fr2_nul_before_start", b"\x00\x00" + frame(MSG_A), [JunkDiscarded(2), Frame(MSG_A)]),
    Case(
        "fr2_trailing_lf_between_frames",
        frame(MSG_A) + b"\n" + frame(MSG_B),
        [Frame(MSG_A), JunkDiscarded(1), Frame(MSG_B)],
    ),
    Case("fr2_trailing_lf_at_eof", frame(MSG_A) + b"\r\n", [Frame(MSG_A), JunkDiscarded(2)]),
    Case("fr3_hl7_without_start_block", MSG_B + FS + CR, [JunkDiscarded(len(MSG_B) + 2)]),
    Case(
        "fr3_http_passes_junk_limit",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + frame(MSG_A),
        [JunkLimitExceeded(17)],
        FramingPolicy(junk_limit=16),
        closed_before_eof=True,
    ),
    Case(
        "fr3_tls_client_hello_passes_junk_limit",
        bytes.fromhex("160301020001000200") + frame(MSG_A),
        [JunkLimitExceeded(5)],
        FramingPolicy(junk_limit=4),
        closed_before_eof=True,
    ),
    Case(
        "fr3_junk_equal_to_limit_is_kept",
        b"1234" + frame(MSG_A),
        [JunkDiscarded(4), Frame(MSG_A)],
        FramingPolicy(junk_limit=4),
    ),
    Case(
        "fr3_junk_limit_is_per_run",
        b"1234" + frame(b"x") + b"1234" + frame(b"y"),
        [JunkDiscarded(4), Frame(b"x"), JunkDiscarded(4), Frame(b"y")],
        FramingPolicy(junk_limit=4),
    ),
    Case(
        "fr4_lenient_start_block_after_end_block",
        VT + b"a" + FS + frame(b"b"),
        [FramingViolation(0x0B, fatal=False), Frame(b"a"), Frame(b"b")],
    ),
    Case(
        "fr4_lenient_other_byte_after_end_block",
        VT + b"a" + FS + b"\n" + frame(b"b"),
        [FramingViolation(0x0A, fatal=False), Frame(b"a"), JunkDiscarded(1), Frame(b"b")],
    ),
    Case(
        "fr4_lenient_eof_after_end_block",
        VT + b"a" + FS,
        [FramingViolation(None, fatal=False), Frame(b"a")],
    ),
    Case(
        "fr4_strict_start_block_after_end_block",
        VT + b"a" + FS + frame(b"b"),
        [FramingViolation(0x0B, fatal=True)],
        STRICT,
        closed_before_eof=True,
    ),
    Case("fr4_strict_proper_frame", frame(MSG_A), [Frame(MSG_A)], STRICT),
    Case(
        "fr5_start_block_restarts_frame",
        VT + b"abc" + frame(MSG_A),
        [FrameTruncated(3, NEW), Frame(MSG_A)],
    ),
    Case(
        "fr5_repeated_restarts",
        VT + VT + b"ab" + frame(b"z"),
        [FrameTruncated(0, NEW), FrameTruncated(2, NEW), Frame(b"z")],
    ),
    Case("fr6_empty_frame_is_a_frame", VT + FS + CR, [Frame(b"")]),
    Case("fr6_whitespace_frame_is_a_frame", frame(b" \r\n"), [Frame(b" \r\n")]),
    Case("fr7_eof_mid_frame", VT + b"MSH|abc", [FrameTruncated(7, EOF)]),
    Case(
        "fr8_end_block_ends_frame_rest_is_junk",
        VT + b"abc" + FS + CR + b"def" + FS + CR,
        [Frame(b"abc"), JunkDiscarded(5)],
    ),
    Case("sz1_payload_equal_to_max_accepted", frame(b"12345678"), [Frame(b"12345678")], SMALL),
    Case(
        "sz1_oversize_discarded_head_kept_connection_kept",
        frame(b"123456789") + frame(b"ok"),
        [FrameOversize(9, b"1234"), Frame(b"ok")],
        SMALL,
    ),
    Case(
        "sz1_payload_equal_to_hard_cap_still_oversize",
        frame(b"0123456789abcdef"),
        [FrameOversize(16, b"0123")],
        SMALL,
    ),
    Case(
        "sz1_hard_cap_passed_closes",
        VT + b"0123456789abcdefg" + FS + CR + frame(b"later"),
        [FrameCapExceeded(17)],
        SMALL,
        closed_before_eof=True,
    ),
    Case(
        "sz1_oversize_then_restart_counts_discarded_bytes",
        VT + b"0123456789" + frame(b"ok"),
        [FrameTruncated(10, NEW), Frame(b"ok")],
        SMALL,
    ),
    Case(
        "sz1_oversize_with_lenient_end_block",
        VT + b"0123456789" + FS + frame(b"ok"),
        [FramingViolation(0x0B, fatal=False), FrameOversize(10, b"0123"), Frame(b"ok")],
        SMALL,
    ),
    Case(
        "r2_commit_blocks_recognised",
        encode_commit_ack() + encode_commit_nak() + frame(MSG_A),
        [CommitAck(), CommitNak(), Frame(MSG_A)],
        R2,
    ),
    Case(
        "r2_commit_block_is_a_frame_when_disabled",
        encode_commit_ack(),
        [Frame(COMMIT_ACK)],
    ),
]


def run_chunks(policy: FramingPolicy, chunks: list[bytes]) -> tuple[list[Event], bool]:
    decoder = Decoder(policy)
    events: list[Event] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    closed = decoder.closed
    events.extend(decoder.eof())
    assert decoder.eof() == []
    return events, closed


def splits(data: bytes) -> list[list[bytes]]:
    whole = [[data]]
    one_by_one = [[data[i : i + 1] for i in range(len(data))]]
    two_parts = [[data[:k], data[k:]] for k in range(1, len(data))]
    return whole + one_by_one + two_parts


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_framing_rule_table(case: Case) -> None:
    for chunks in splits(case.data):
        events, closed = run_chunks(case.policy, chunks)
        assert events == case.expected, (case.rule, [len(c) for c in chunks])
        assert closed == case.closed_before_eof, case.rule


def test_fr1_frame_handled_as_soon_as_end_block_arrives() -> None:
    decoder = Decoder()
    assert decoder.feed(VT + MSG_A + FS) == []
    assert decoder.awaiting_cr
    assert decoder.feed(CR + VT + b"part") == [Frame(MSG_A)]
    assert decoder.in_frame


def test_fr4_grace_expiry_lenient_completes_frame_and_late_cr_is_junk() -> None:
    decoder = Decoder()
    assert decoder.feed(VT + MSG_A + FS) == []
    assert decoder.grace_expired() == [FramingViolation(None, fatal=False), Frame(MSG_A)]
    assert not decoder.in_frame
    assert decoder.grace_expired() == []
    assert decoder.feed(CR + frame(MSG_B)) == [JunkDiscarded(1), Frame(MSG_B)]


def test_fr4_grace_expiry_strict_is_fatal() -> None:
    decoder = Decoder(STRICT)
    decoder.feed(VT + MSG_A + FS)
    assert decoder.grace_expired() == [FramingViolation(None, fatal=True)]
    assert decoder.closed
    assert decoder.feed(CR) == []


def test_fr4_cr_within_grace_completes_normally() -> None:
    decoder = Decoder(STRICT)
    decoder.feed(VT + MSG_A + FS)
    assert decoder.feed(CR) == [Frame(MSG_A)]


def test_frame_starts_counts_start_blocks_for_the_deadline() -> None:
    decoder = Decoder()
    decoder.feed(frame(b"a") + VT + b"b")
    assert decoder.frame_starts == 2
    assert decoder.in_frame


def test_sz1_memory_stays_below_max_whatever_the_split() -> None:
    policy = FramingPolicy(max_message_size=1000, hard_cap=10_000, head_size=100)
    data = frame(b"x" * 9000)
    decoder = Decoder(policy)
    peak = 0
    events: list[Event] = []
    for i in range(0, len(data), 7):
        events.extend(decoder.feed(data[i : i + 7]))
        peak = max(peak, decoder.buffered)
    assert peak <= policy.max_message_size
    assert events == [FrameOversize(9000, b"x" * 100)]


def test_sz1_default_hard_cap_is_four_times_max() -> None:
    assert FramingPolicy(max_message_size=10).frame_cap == 40
    assert FramingPolicy().max_message_size == 16 * 1024 * 1024
    assert FramingPolicy().junk_limit == 1024 * 1024
    assert FramingPolicy().mode is FramingMode.LENIENT


def test_fr1_large_frame_in_small_reads_is_linear() -> None:
    payload = b"x" * (8 * 1024 * 1024)
    data = frame(payload)
    decoder = Decoder()
    started = time.perf_counter()
    events: list[Event] = []
    for i in range(0, len(data), 1024):
        events.extend(decoder.feed(data[i : i + 1024]))
    assert time.perf_counter() - started < 5.0
    assert events == [Frame(payload)]


def test_fr5_many_restarts_before_a_distant_end_block_is_linear() -> None:
    data = VT * 20_000 + b"y" * 1_000_000 + FS + CR
    started = time.perf_counter()
    events = Decoder().feed(data)
    assert time.perf_counter() - started < 5.0
    assert len(events) == 20_000
    assert events[-1] == Frame(b"y" * 1_000_000)


def test_encode_wraps_payload() -> None:
    assert encode(b"MSH|x") == b"\x0bMSH|x\x1c\x0d"
    assert encode(b"") == b"\x0b\x1c\x0d"
    assert encode_commit_ack() == b"\x0b\x06\x1c\x0d"
    assert encode_commit_nak() == b"\x0b\x15\x1c\x0d"


@pytest.mark.parametrize("bad", [b"ab\x0bcd", b"ab\x1ccd"])
def test_fr8_encode_refuses_block_bytes_in_payload(bad: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        encode(bad)
    assert info.value.offset == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_message_size": -1},
        {"max_message_size": 10, "hard_cap": 9},
        {"head_size": -1},
        {"junk_limit": -1},
    ],
)
def test_policy_rejects_impossible_limits(kwargs: dict[str, int]) -> None:
    with pytest.raises(PolicyError):
        FramingPolicy(**kwargs)  # type: ignore[arg-type]


payload_st = st.binary(max_size=300).map(lambda b: b.replace(VT, b"").replace(FS, b""))
junk_st = st.binary(max_size=20).map(lambda b: b.replace(VT, b""))


@settings(max_examples=300, deadline=None)
@given(
    payloads=st.lists(payload_st, max_size=8),
    junk=st.lists(junk_st, min_size=9, max_size=9),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_fr1_any_split_of_any_frame_list_decodes_identically(
    payloads: list[bytes], junk: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(j + encode(p) for j, p in zip(junk, payloads, strict=False))
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    decoder = Decoder()
    frames: list[bytes] = []
    for chunk in chunks:
        frames.extend(e.payload for e in decoder.feed(chunk) if isinstance(e, Frame))
    assert frames == payloads
    assert not decoder.in_frame


def test_fr7_closing_side_abandons_open_frame_and_flushes_junk() -> None:
    decoder = Decoder()
    decoder.feed(VT + b"abc" + FS)
    assert decoder.close() == [FrameTruncated(3, TruncationReason.CLOSED)]
    assert decoder.closed
    idle = Decoder()
    idle.feed(b"\r\n\x00")
    assert idle.close() == [JunkDiscarded(3)]
    assert idle.feed(frame(b"x")) == []
