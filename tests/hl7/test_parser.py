"""parse(): header checks, charsets, line endings, strict mode, byte-exact text."""

from __future__ import annotations

import pytest

from eprlink.errors import EprlinkError, ErrorCode
from eprlink.hl7 import Delimiters, Leniency, ParseError, parse
from tests.conftest import sample_bytes

ADT = (
    "MSH|^~\\&|PAS|RXX|TIE|RXX|20250101120000||ADT^A01^ADT_A01|MSG0001|P|2.4\r"
    "EVN|A01|20250101120000\r"
    "PID|1||9990000018^^^NHS^NH~RX1234567^^^RXX^PI||SMITH^JOHN^PAUL^^MR||19800101|M|||"
    '1 HIGH STREET^^LEEDS^^LS1 1AA^GBR^H||""\r'
    "PV1|1|I|WARD1^BAY2^BED3^RXX\r"
)


def test_round_trip_is_byte_exact_for_every_sample(sample: bytes) -> None:
    message = parse(sample)
    assert message.to_bytes() == sample
    assert message.to_er7() == sample.decode(message.charset)


def test_text_and_bytes_give_the_same_message() -> None:
    assert parse(ADT).to_er7() == parse(ADT.encode()).to_er7() == ADT


def test_trailing_terminator_absent_is_kept_absent_en2() -> None:
    text = ADT.rstrip("\r")
    message = parse(text)
    assert message.to_er7() == text
    assert message.get("PV1-2") == "I"


def test_trailing_delimiters_and_empty_fields_kept_st6() -> None:
    text = (
        "MSH|^~\\&|A|B|||||ADT^A08|1|P|2.4\rPID|1||9990000018^^^NHS^NH|||||||\rZPI|1|LOCAL^DATA|\r"
    )
    message = parse(text)
    assert message.to_er7() == text
    message.set("ZPI-2.2", "OTHER")
    assert message.to_er7() == text.replace("LOCAL^DATA", "LOCAL^OTHER")


@pytest.mark.parametrize(
    ("terminator", "leniency"),
    [("\n", Leniency.LF_TERMINATORS), ("\r\n", Leniency.CRLF_TERMINATORS)],
)
def test_en1_lf_and_crlf_accepted_leniently_and_output_uses_cr(
    terminator: str, leniency: Leniency
) -> None:
    message = parse(ADT.replace("\r", terminator))
    assert leniency in message.leniencies
    assert len(message) == 4
    assert message.to_er7() == ADT
    with pytest.raises(ParseError) as caught:
        parse(ADT.replace("\r", terminator), strict=True)
    assert caught.value.code is ErrorCode.SEGMENT_SEQUENCE_ERROR


def test_empty_segments_skipped_and_recorded() -> None:
    message = parse(ADT.replace("EVN", "\rEVN"))
    assert len(message) == 4
    assert Leniency.EMPTY_SEGMENTS in message.leniencies
    assert message.to_er7() == ADT.replace("EVN", "\rEVN")  # unedited: text unchanged


def test_en5_bom_and_leading_whitespace_are_skipped() -> None:
    message = parse(b"\xef\xbb\xbf\r\n  " + ADT.encode())
    assert {Leniency.BOM_STRIPPED, Leniency.LEADING_WHITESPACE} <= message.leniencies
    assert message.to_er7() == ADT
    assert parse("\ufeff" + ADT).to_er7() == ADT


@pytest.mark.parametrize(
    "payload",
    [b"", b"PID|1", b"msh|^~\\&|A", b"\xff\xfeM\x00S\x00H\x00", b"<xml/>", b"GET / HTTP/1.1\r\n"],
)
def test_hd3_en6_payload_must_start_with_msh(payload: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse(payload)
    assert caught.value.code is ErrorCode.SEGMENT_SEQUENCE_ERROR
    assert isinstance(caught.value, EprlinkError)


@pytest.mark.parametrize(
    "header",
    [
        "MSH",
        "MSH|",
        "MSH|^~",
        "MSH|^~\\&#@|",
        "MSH|^^\\&|",
        "MSH|^~|&|",
        "MSH|^~\\a|",
        "MSHA^~\\&|",
    ],
)
def test_hd2_malformed_delimiters_are_data_type_errors(header: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(header + "A|B\r")
    assert caught.value.code is ErrorCode.DATA_TYPE_ERROR
    assert caught.value.location.segment_id == "MSH"


def test_hd1_any_declared_delimiters_are_used_and_kept() -> None:
    text = "MSH#$*/%#APP#FAC#####ADT$A01#ID/F/1#P#2.4\rPID#1##9990000018$$$NHS$NH*X1$$$RXX$PI\r"
    message = parse(text)
    assert message.delimiters == Delimiters("#", "$", "*", "/", "%")
    assert message.get("MSH-1") == "#"
    assert message.get("MSH-2") == "$*/%"
    assert message.get("MSH-10") == "ID#1"
    assert message.control_id == "ID/F/1"
    assert message.get("PID-3[2].1") == "X1"
    assert message.to_er7() == text


def test_fifth_truncation_character_is_kept_verbatim() -> None:
    text = "MSH|^~\\&#|A|B|||||ADT^A01|1|P|2.7\rNTE|1||cut\\P\\here\r"
    message = parse(text)
    assert message.delimiters.truncation == "#"
    assert message.get("MSH-2") == "^~\\&#"
    assert message.get("NTE-3") == "cut#here"
    assert message.to_er7() == text


def test_three_character_msh2_has_no_subcomponents() -> None:
    message = parse("MSH|^~\\|A|B|||||ADT^A01|1|P|2.3\rPID|1||A&B^C\r")
    assert message.delimiters.subcomponent is None
    assert message.get("PID-3.1") == "A&B"


# -- charsets (EN-3) ---------------------------------------------------------------------------
def _with_charset(name: str, body: bytes) -> bytes:
    return (
        b"MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.4||||||" + name.encode() + b"\rPID|1||"
        b"9990000018^^^NHS^NH||" + body + b"\r"
    )


def test_msh18_latin1_is_decoded() -> None:
    message = parse(_with_charset("8859/1", "BRONTË".encode("latin-1")))
    assert message.charset == "iso-8859-1"
    assert message.get("PID-5") == "BRONTË"


def test_msh18_unicode_utf8_is_decoded() -> None:
    message = parse(_with_charset("UNICODE UTF-8", "Łukasz".encode()))
    assert message.get("PID-5") == "Łukasz"
    assert message.to_bytes() == _with_charset("UNICODE UTF-8", "Łukasz".encode())


def test_default_is_utf8_and_bad_bytes_raise_with_location() -> None:
    payload = _with_charset("", "BRONTË".encode("cp1252"))
    with pytest.raises(ParseError) as caught:
        parse(payload)
    error = caught.value
    assert error.code is ErrorCode.DATA_TYPE_ERROR
    assert error.location.segment_id == "PID"
    assert error.location.segment_index == 2
    assert error.location.field == 5
    assert "BRONT" not in str(error)  # no patient data in errors


def test_partner_encoding_and_explicit_fallback() -> None:
    payload = _with_charset("", "BRONTË".encode("cp1252"))
    assert parse(payload, encoding="cp1252").get("PID-5") == "BRONTË"
    message = parse(payload, fallback="cp1252")
    assert message.get("PID-5") == "BRONTË"
    assert Leniency.CHARSET_FALLBACK in message.leniencies


def test_unsupported_msh18_uses_configured_charset_and_is_recorded() -> None:
    message = parse(_with_charset("KLINGON", b"SMITH"), encoding="ascii")
    assert message.charset == "ascii"
    assert Leniency.CHARSET_UNSUPPORTED in message.leniencies


def test_charset_table_is_configuration() -> None:
    message = parse(
        _with_charset("UNICODE", "BRONTË".encode("cp1252")), charsets={"unicode": "cp1252"}
    )
    assert message.get("PID-5") == "BRONTË"


def test_windows_1252_declared() -> None:
    payload = _with_charset("WINDOWS-1252", "O’NEIL".encode("cp1252"))
    assert parse(payload).get("PID-5") == "O’NEIL"


# -- strict mode -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("segment", "code"),
    [
        ("PI|1", ErrorCode.SEGMENT_SEQUENCE_ERROR),
        ("pid|1", ErrorCode.SEGMENT_SEQUENCE_ERROR),
        ("P-D|1", ErrorCode.SEGMENT_SEQUENCE_ERROR),
        ("MSH|^~\\&|X", ErrorCode.SEGMENT_SEQUENCE_ERROR),
        ("PID|1||SMI\x07TH", ErrorCode.DATA_TYPE_ERROR),
        ("NTE|1||bad \\Q\\ escape", ErrorCode.DATA_TYPE_ERROR),
        ("NTE|1||unterminated \\F", ErrorCode.DATA_TYPE_ERROR),
    ],
)
def test_strict_mode_refuses_nonconformant_segments(segment: str, code: ErrorCode) -> None:
    text = ADT + segment + "\r"
    parse(text)  # lenient mode accepts it
    with pytest.raises(ParseError) as caught:
        parse(text, strict=True)
    assert caught.value.code is code
    assert caught.value.location.segment_index == 5


def test_strict_accepts_conformant_message(sample: bytes) -> None:
    parse(sample, strict=True)


def test_strict_reports_field_of_control_character() -> None:
    with pytest.raises(ParseError) as caught:
        parse(ADT.replace("SMITH", "SM\x00ITH"), strict=True)
    assert caught.value.location.segment_id == "PID"
    assert caught.value.location.field == 5


def test_segment_limit_st5() -> None:
    text = "MSH|^~\\&|A\r" + "NTE|1\r" * 20
    assert len(parse(text, max_segments=21)) == 21
    with pytest.raises(ParseError) as caught:
        parse(text, max_segments=5)
    assert caught.value.code is ErrorCode.DATA_TYPE_ERROR


def test_en9_long_segment_parses_in_linear_time() -> None:
    text = "MSH|^~\\&|A\rOBX|1|TX|||" + "a" * 5_000_000
    message = parse(text)
    assert len(message.get("OBX-5") or "") == 5_000_000


def test_non_text_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse(12345)  # type: ignore[arg-type]


def test_sample_loaded_from_fixture() -> None:
    assert parse(sample_bytes("adt_a01.hl7")).trigger_event == "A01"
