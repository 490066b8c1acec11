"""Paths and message diffs."""

from __future__ import annotations

import pytest

from eprlink.hl7 import ChangeKind, Path, PathError, diff, parse, parse_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MSH-9.2", Path("MSH", 1, 9, None, 2)),
        ("PID-3", Path("PID", 1, 3)),
        ("PID-3[2].1", Path("PID", 1, 3, 2, 1)),
        ("PID-3[2].4.1", Path("PID", 1, 3, 2, 4, 1)),
        ("OBX[3]-5", Path("OBX", 3, 5)),
        ("OBX[-1]-5", Path("OBX", -1, 5)),
        ("ZU1-22", Path("ZU1", 1, 22)),
        ("PID", Path("PID")),
    ],
)
def test_parse_path(text: str, expected: Path) -> None:
    assert parse_path(text) == expected
    assert str(parse_path(text)) == text


@pytest.mark.parametrize(
    "text",
    ["", "pid-3", "PID.3", "PID-0", "PID-3[0]", "PID-3[-1]", "OBX[0]-5", "PID-3.1.2.3", "P-3"],
)
def test_bad_paths(text: str) -> None:
    with pytest.raises(PathError) as caught:
        parse_path(text)
    assert "PID-3[2].1" in str(caught.value)  # the message shows the expected syntax


def test_get_requires_a_field() -> None:
    with pytest.raises(PathError):
        parse("MSH|^~\\&|A\r").get("MSH")


OLD = (
    "MSH|^~\\&|PAS|RXX|||20250101||ADT^A08|1|P|2.4\r"
    "PID|1||9990000018^^^NHS^NH~RX1^^^RXX^PI||SMITH^JOHN|||M|||1 HIGH ST^^LEEDS\r"
    "PV1|1|I|WARD1^BAY2\r"
    "OBX|1|NM|HT||180\r"
)


def test_diff_tells_absent_null_and_changed_apart() -> None:
    new = parse(OLD)
    new.set("PID-5.2", "JOHNNY")  # changed
    new.set("PID-8", "")  # value -> explicit null
    new.set("PID-13", "")  # absent -> explicit null
    new.set("PID-3[2].1", None)  # value -> absent
    new.set("PV1-3.3", "BED4")  # absent -> value
    new.add_segment("OBX|2|NM|WT||75")
    changes = {d.path: d for d in diff(parse(OLD), new)}
    assert changes["PID-5.2"].kind is ChangeKind.CHANGED
    assert (changes["PID-8"].old, changes["PID-8"].new) == ("M", "")
    assert changes["PID-8"].kind is ChangeKind.NULLED
    assert changes["PID-13"].kind is ChangeKind.NULLED and changes["PID-13"].old is None
    assert changes["PID-3[2].1"].kind is ChangeKind.REMOVED
    assert changes["PV1-3.3"].kind is ChangeKind.ADDED
    assert changes["OBX[2]"].kind is ChangeKind.ADDED
    assert changes["OBX[2]"].new == "OBX|2|NM|WT||75"
    assert "OBX[1]" not in changes
    assert len(changes) == 6
    assert str(changes["PID-8"]) == "PID-8: nulled 'M' -> (null \"\")"


def test_diff_of_identical_messages_is_empty() -> None:
    assert diff(parse(OLD), parse(OLD)) == []


def test_diff_across_delimiters_compares_values() -> None:
    other = OLD.replace("|", "#").replace("^", "$")
    changes = diff(parse(OLD), parse(other))
    assert [d.path for d in changes] == ["MSH-1", "MSH-2"]


def test_diff_whole_field_removed_is_one_difference() -> None:
    new = parse(OLD)
    new.delete("PV1-3")
    changes = diff(parse(OLD), new)
    assert [(d.path, d.kind) for d in changes] == [("PV1-3", ChangeKind.REMOVED)]
    assert changes[0].old == "WARD1^BAY2"
