"""`eprlink anonymise`: key handling, framing, outputs, exit codes and a summary without PHI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eprlink.cli.anonymise import KEY_ENVVAR, anonymise_command
from eprlink.hl7 import parse, split_messages
from tests.conftest import FIXTURES

KEY = "cli test key 0123456789"
A01, A08 = FIXTURES / "adt_a01.hl7", FIXTURES / "adt_a08.hl7"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(anonymise_command, list(args), env=env or {KEY_ENVVAR: ""})
    return result.exit_code, result.stdout_bytes, result.stderr


def test_key_is_required_with_a_clear_error() -> None:
    code, out, err = run(str(A01))
    assert code == 2 and out == b""
    assert "key is required" in err and KEY_ENVVAR in err


def test_key_from_option_environment_or_file_gives_the_same_output(tmp_path: Path) -> None:
    by_option = run(str(A01), "--key", KEY)
    by_env = run(str(A01), env={KEY_ENVVAR: KEY})
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    by_file = run(str(A01), "--key-file", str(key_file))
    assert by_option[0] == by_env[0] == by_file[0] == 0
    assert by_option[1] == by_env[1] == by_file[1]
    assert run(str(A01), "--key", "a different key 0123")[1] != by_option[1]
    code, _, err = run(str(A01), "--key", KEY, "--key-file", str(key_file))
    assert code == 2 and "once" in err


def test_output_parses_and_keeps_plain_framing() -> None:
    code, out, err = run(str(A01), str(A08), "--key", KEY)
    assert code == 0, err
    payloads = split_messages(out)
    assert len(payloads) == 2
    assert out.count(b"\rMSH|") == 1 and out.endswith(b"\r")
    first, second = (parse(p) for p in payloads)
    assert first.get("PID-3[1].1") == second.get("PID-3[1].1") != "9991234578"
    assert first.trigger_event == "A01" and second.trigger_event == "A08"


def test_mllp_framing_is_kept(tmp_path: Path) -> None:
    framed = tmp_path / "capture.mllp"
    framed.write_bytes(b"\x0b" + A01.read_bytes() + b"\x1c\r\x0b" + A08.read_bytes() + b"\x1c\r")
    code, out, _ = run(str(framed), "--key", KEY)
    assert code == 0
    assert out.startswith(b"\x0bMSH|") and out.count(b"\x1c\r") == 2
    assert len(split_messages(out)) == 2


def test_summary_counts_without_patient_data_or_key() -> None:
    code, out, err = run(str(A01), "--key", KEY)
    assert code == 0
    assert "anonymised 1 message(s) from 1 file(s)" in err
    assert "1 NHS number(s)" in err and "date(s) shifted" in err
    assert "--remap-control-ids" in err  # MSH-10 holds the real date in this sample
    for secret in (KEY, "9991234578", "TESTPATIENT", "Alice", "19750412", "LS99 9ZZ"):
        assert secret not in err
    assert KEY.encode() not in out
    code, _, err = run(str(A01), "--key", KEY, "--remap-control-ids")
    assert code == 0 and "--remap-control-ids" not in err


def test_short_key_warns() -> None:
    code, _, err = run(str(A01), "--key", "short")
    assert code == 0 and "key is short" in err


def test_output_file_and_directory(tmp_path: Path) -> None:
    single = tmp_path / "all.hl7"
    code, out, _ = run(str(A01), str(A08), "--key", KEY, "-o", str(single))
    assert code == 0 and out == b""
    assert len(split_messages(single.read_bytes())) == 2
    target = tmp_path / "out"
    code, out, _ = run(str(A01), str(A08), "--key", KEY, "--out", str(target))
    assert code == 0 and out == b""
    assert sorted(p.name for p in target.iterdir()) == ["adt_a01.hl7", "adt_a08.hl7"]
    assert (target / "adt_a01.hl7").read_bytes() == split_messages(single.read_bytes())[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "OUT", "-o", "x.hl7"], "not both"),
        (["--min-shift-days", "40", "--max-shift-days", "10"], "larger"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    args = [a.replace("OUT", str(tmp_path / "d")) for a in extra]
    code, _, err = run(str(A01), "--key", KEY, *args)
    assert code == 2 and message in err


def test_out_directory_refuses_clashes_and_stdin(tmp_path: Path) -> None:
    other = tmp_path / "adt_a01.hl7"
    other.write_bytes(A01.read_bytes())
    code, _, err = run(str(A01), str(other), "--key", KEY, "--out", str(tmp_path / "o"))
    assert code == 2 and "both" in err
    code, _, err = run(str(other), "--key", KEY, "--out", str(tmp_path))
    assert code == 2 and "input file" in err
    code, _, err = run("-", "--key", KEY, "--out", str(tmp_path / "o"))
    assert code == 2 and "standard input" in err


def test_unreadable_input_exits_2_and_is_never_copied(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"not HL7 at all\r")
    code, out, err = run(str(bad), "--key", KEY)
    assert code == 2 and out == b"" and "cannot parse" in err
    mixed = tmp_path / "mixed.hl7"
    mixed.write_bytes(A01.read_bytes() + b"MSH|^~\\&|A|B|||20250101||ADT^A08|1|P|2.4\rPID|1\xff\r")
    code, out, err = run(str(mixed), "--key", KEY)
    assert code == 2 and len(split_messages(out)) == 1 and "could not be read" in err
    code, _, err = run(str(tmp_path / "missing.hl7"), "--key", KEY)
    assert code == 2 and "cannot read" in err


def test_deterministic_across_runs_with_dates_shifted() -> None:
    one = run(str(A01), "--key", KEY, "--min-shift-days", "100", "--max-shift-days", "100")
    two = run(str(A01), "--key", KEY, "--min-shift-days", "100", "--max-shift-days", "100")
    assert one[1] == two[1]
    assert parse(one[1]).get("PID-7") == "19750102"  # 12 April 1975 less 100 days


def test_help_mentions_environment_variable() -> None:
    result = CliRunner().invoke(anonymise_command, ["--help"])
    assert result.exit_code == 0 and KEY_ENVVAR in result.output


def test_works_with_and_without_a_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    import eprlink.cli.profiles as module
    from eprlink.profiles import ProfileError

    with_profile = run(str(A01), "--key", KEY)

    def refuse(**_: object) -> None:
        raise ProfileError("profile data not there")

    monkeypatch.setattr(module, "load_profile", refuse)
    without = run(str(A01), "--key", KEY)
    assert with_profile[0] == without[0] == 0
    # The built-in field list covers every identifying field of the sample either way.
    assert parse(with_profile[1]).get("PID-7") == parse(without[1]).get("PID-7") != "19750412"
    assert parse(with_profile[1]).get("PID-5") == parse(without[1]).get("PID-5")
