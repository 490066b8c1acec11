"""`eprlink show` and `eprlink get` on files holding one or many messages."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from eprlink.cli import main
from tests.conftest import FIXTURES

A08 = str(FIXTURES / "adt_a08.hl7")


def test_help_everywhere() -> None:
    runner = CliRunner()
    for args in (["--help"], ["show", "--help"], ["get", "--help"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_get_prints_three_states() -> None:
    result = CliRunner().invoke(main, ["get", A08, "MSH-10", "PID-13", "PID-99", "PID-3[2].1"])
    assert result.exit_code == 0, result.output
    assert result.output == 'PAS20261123143015000987\t""\t\tZZ1000123\n'


def test_get_raw_keeps_escapes(tmp_path: Path) -> None:
    file = tmp_path / "m.hl7"
    file.write_bytes(b"MSH|^~\\&|A|B|||||ADT^A01|X\\F\\1|P|2.4\r")
    runner = CliRunner()
    assert runner.invoke(main, ["get", str(file), "MSH-10"]).output == "X|1\n"
    assert runner.invoke(main, ["get", "--raw", str(file), "MSH-10"]).output == "X\\F\\1\n"


def test_many_messages_plain_and_mllp(tmp_path: Path) -> None:
    one = (FIXTURES / "adt_a01.hl7").read_bytes()
    two = (FIXTURES / "adt_a08.hl7").read_bytes()
    plain = tmp_path / "plain.hl7"
    plain.write_bytes(one + b"\n" + two)
    framed = tmp_path / "framed.mllp"
    framed.write_bytes(b"\x0b" + one + b"\x1c\r\x0b" + two + b"\x1c\r")
    for file in (plain, framed):
        result = CliRunner().invoke(main, ["get", str(file), "MSH-9.2"])
        assert result.exit_code == 0, result.output
        assert result.output == "A01\nA08\n"


def test_show_makes_nulls_and_escapes_visible(tmp_path: Path) -> None:
    file = tmp_path / "m.hl7"
    file.write_bytes(b'MSH|^~\\&|A|B|||||ADT^A08|1|P|2.4\rPID|1||""||A\\T\\B\r')
    result = CliRunner().invoke(main, ["show", str(file)])
    assert result.exit_code == 0, result.output
    assert "explicit null" in result.output
    assert "PID-3" in result.output and "PID-5" in result.output
    assert "escaped: A\\T\\B" in result.output


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "bad.hl7"
    file.write_bytes(b"this is not HL7\r")
    for command in (["show", str(file)], ["get", str(file), "MSH-10"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2
        assert "cannot parse" in result.output


def test_missing_file_and_bad_path_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["get", str(tmp_path / "nope.hl7"), "MSH-10"])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(main, ["get", A08, "not-a-path"])
    assert result.exit_code == 2 and "invalid path" in result.output


def test_bad_bytes_exit_2_with_location(tmp_path: Path) -> None:
    file = tmp_path / "cp1252.hl7"
    file.write_bytes(b"MSH|^~\\&|A|B|||||ADT^A08|1|P|2.4\rPID|1||X||BRONT\xcb\r")
    result = CliRunner().invoke(main, ["get", str(file), "PID-5"])
    assert result.exit_code == 2 and "PID-5" in result.output
    result = CliRunner().invoke(main, ["get", "--encoding", "cp1252", str(file), "PID-5"])
    assert result.exit_code == 0 and result.output == "BRONTË\n"
