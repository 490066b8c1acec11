"""Escape sequences: decoding on read (ES-1..ES-7) and encoding on write."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters, Formatting, ParseError, escape, unescape

CUSTOM = Delimiters(field="#", component="$", repetition="*", escape="/", subcomponent="%")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("A\\F\\B", "A|B"),
        ("\\S\\\\R\\\\T\\\\E\\", "^~&\\"),
        ("\\X0D\\\\X0A\\", "\r\n"),  # ES-3: consecutive escapes decode independently
        ("caf\\XC3A9\\", "café"),  # ES-7: hex of any even length, in the message charset
        ("^\\E\\", "^\\"),  # ES-2: \E\ at the end is fine
        ("a\\H\\bold\\N\\b", "a\\H\\bold\\N\\b"),  # highlighting kept by default
        ("x\\.br\\y", "x\\.br\\y"),  # ES-5: formatting kept by default
        ("x\\.sp2\\y", "x\\.sp2\\y"),
        ("\\Zlocal\\", "\\Zlocal\\"),  # Z escapes verbatim
        ("\\C2842\\x", "\\C2842\\x"),  # charset switches verbatim
        ("\\M2442\\x", "\\M2442\\x"),
        ("lone \\ escape", "lone \\ escape"),  # ES-4: malformed is literal text
        ("C:\\path\\file", "C:\\path\\file"),
        ("unterminated \\F", "unterminated \\F"),
        ("bad \\Xz1\\ hex", "bad \\Xz1\\ hex"),
        ("odd \\X123\\", "odd \\X123\\"),
        ("\\\\", "\\\\"),
    ],
)
def test_unescape_lenient(raw: str, expected: str) -> None:
    assert unescape(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("x\\.br\\y", "x\ny"),
        ("x\\.sp2\\y", "x\n\ny"),
        ("a\\H\\bold\\N\\b", "aboldb"),
        ("x\\.in+4\\y", "xy"),
        ("x\\.ce\\y", "x\ny"),
        ("x\\.sk3\\y", "x   y"),
    ],
)
def test_unescape_render_formatting(raw: str, expected: str) -> None:
    assert unescape(raw, formatting=Formatting.RENDER) == expected


@pytest.mark.parametrize("raw", ["lone \\ escape", "\\Q\\", "\\X12", "\\Xzz\\", "\\.xx\\"])
def test_unescape_strict_raises_102(raw: str) -> None:
    with pytest.raises(ParseError) as caught:
        unescape(raw, strict=True)
    assert caught.value.code is ErrorCode.DATA_TYPE_ERROR


def test_truncation_escape_only_when_declared() -> None:
    assert unescape("a\\P\\b", Delimiters(truncation="#")) == "a#b"
    assert unescape("a\\P\\b") == "a\\P\\b"


def test_custom_delimiters() -> None:
    assert unescape("a/F/b/S/c/E/", CUSTOM) == "a#b$c/"
    assert escape("a#b$c*d%e/f", CUSTOM) == "a/F/b/S/c/R/d/T/e/E/f"


def test_escape_control_characters_and_delimiters() -> None:
    assert escape("A|B^C~D&E\\F\r\n\x07") == "A\\F\\B\\S\\C\\R\\D\\T\\E\\E\\F\\X0D\\\\X0A\\\\X07\\"
    assert escape("nothing special") == "nothing special"


def test_latin1_hex_escape() -> None:
    assert unescape("caf\\XE9\\", charset="iso-8859-1") == "café"
    assert unescape("caf\\XE9\\", charset="utf-8") == "caf\\XE9\\"


_delimiter_sets = st.sampled_from(
    [Delimiters(), CUSTOM, Delimiters(truncation="#"), Delimiters(subcomponent=None)]
)


@given(st.text(), _delimiter_sets)
def test_escape_unescape_inverse_es1(value: str, delimiters: Delimiters) -> None:
    encoded = escape(value, delimiters)
    assert unescape(encoded, delimiters) == value
    assert "\r" not in encoded and "\n" not in encoded and delimiters.field not in encoded


@given(st.text())
def test_unescape_never_raises_in_lenient_mode(value: str) -> None:
    unescape(value)
    unescape(value, formatting=Formatting.RENDER)
