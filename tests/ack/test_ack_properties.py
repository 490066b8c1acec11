"""Property tests (policy 5.4): MSA-2 echo (HD-8), delimiters (HD-1), never-raising readers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from eprlink.ack import (
    AckCode,
    ReceiverSequence,
    SenderAction,
    SenderSequence,
    SequenceStatus,
    build_ack,
    control_id_of,
    read_ack,
)
from eprlink.hl7 import Delimiters, escape, parse

OPTIONS = {
    "sending_application": "EPRLINK",
    "sending_facility": "RXX",
    "timestamp": datetime(2025, 1, 1, tzinfo=UTC),
    "control_id": "ACK1",
}
ESCAPES = ["\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\", "\\X41\\", "\\H\\", "\\N\\", "\\.br\\"]
PLAIN = st.characters(
    min_codepoint=0x20,
    max_codepoint=0x2FF,
    blacklist_characters="|",
    blacklist_categories=("Cs", "Cc"),
)
RAW_CONTROL_IDS = st.lists(
    st.one_of(PLAIN, st.sampled_from(ESCAPES), st.sampled_from(["\\Z12\\", "\\"])),
    min_size=1,
    max_size=30,
).map("".join)


def message_with(control_id: str) -> str:
    return (
        f"MSH|^~\\&|PAS|RCB|ROUTE|ROUTE|20250101||ADT^A01^ADT_A01|{control_id}|P|2.4\r"
        "PID|1||9449305552^^^NHS^NH||SMITH^FREDRICA\r"
    )


@settings(max_examples=300, deadline=None)
@given(RAW_CONTROL_IDS)
def test_hd8_property_msa2_equals_msh10_byte_for_byte(control_id: str) -> None:
    original = parse(message_with(control_id).encode("utf-8"))
    for code in (AckCode.AA, AckCode.AE, AckCode.AR):
        ack = build_ack(original, code, **OPTIONS)  # type: ignore[arg-type]
        wire = ack.to_bytes()
        reread = parse(wire)
        raw = reread.raw("MSA-2")
        assert raw is not None
        assert raw.encode("utf-8") == control_id.encode("utf-8")
        assert reread.get("MSA-2") == original.get("MSH-10")
        assert [s.id for s in reread.segments()][:2] == ["MSH", "MSA"]
        result = read_ack(wire)
        assert result is not None
        assert result.matches(control_id)
        assert result.code is code


DELIMITER_CHARS = [c for c in map(chr, range(0x21, 0x7F)) if not c.isalnum()]


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    chars = draw(st.permutations(DELIMITER_CHARS))
    size = draw(st.sampled_from([4, 5]))
    return Delimiters.from_msh2(chars[0], "".join(chars[1 : size + 1]))


@settings(max_examples=300, deadline=None)
@given(delimiter_sets(), st.text(PLAIN, min_size=1, max_size=30))
def test_hd1_property_custom_delimiters_msa2_decodes_to_the_same_value(
    d: Delimiters, value: str
) -> None:
    fs = d.field
    fields = ["MSH", d.encoding_characters, escape("PAS", d), "RCB", "X", "Y", "20250101", ""]
    fields += [d.component.join(["ADT", "A01"]), escape(value, d), "P", "2.4"]
    original = parse(fs.join(fields) + "\r" + fs.join(["PID", "1", "", "SMITH"]) + "\r")
    assert original.delimiters == d
    ack = build_ack(original, AckCode.AA, **OPTIONS)  # type: ignore[arg-type]
    reread = parse(ack.to_bytes())
    assert reread.delimiters == Delimiters()
    assert reread.get("MSA-2") == original.get("MSH-10")
    assert [s.id for s in reread.segments()] == ["MSH", "MSA"]
    assert reread.get("MSH-5") == "PAS"
    if value.isalnum():
        assert reread.raw("MSA-2") == value


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_hd2_property_salvage_and_reading_never_raise(payload: bytes) -> None:
    found = control_id_of(payload)
    assert found is None or isinstance(found, str)
    assert read_ack(payload) is None or payload.lstrip().startswith((b"MSH", b"\xef\xbb\xbf"))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(map(chr, range(0x21, 0x7F)))).filter(lambda c: not c.isalnum()),
    st.text(PLAIN.filter(lambda c: c not in "\r\n"), min_size=1, max_size=20),
    st.binary(max_size=50),
)
def test_hd2_property_salvage_splits_on_msh1(separator: str, control_id: str, tail: bytes) -> None:
    if separator in control_id:
        return
    fields = ["MSH", "AB", "PAS", "RCB", "", "", "20250101", "", "ADT", control_id, "P"]
    payload = separator.join(fields).encode("utf-8") + b"\r" + tail
    assert control_id_of(payload) == control_id


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["deliver", "lose_ack", "restart"]), max_size=40))
def test_sequence_property_every_transaction_applied_once_in_order(script: list[str]) -> None:
    """Lost ACKs and link restarts never make the receiver skip or repeat a transaction."""
    sender = SenderSequence()
    receiver = ReceiverSequence()
    applied: list[int] = []
    for event in script:
        if event == "restart":
            start = receiver.check(0)
            assert start.status is SequenceStatus.START
            step = sender.after_start(start.expected)
        else:
            check = receiver.check(sender.next_number)
            if check.apply:
                applied.append(sender.next_number)
            receiver = check.state
            if event == "lose_ack":
                continue  # the sender times out and resends the same number
            step = sender.after_ack(check.expected, accepted=check.outcome.value == "accept")
        assert step.action is SenderAction.SEND
        sender = step.state
    assert applied == list(range(1, len(applied) + 1))
