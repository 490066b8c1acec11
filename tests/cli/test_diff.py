"""`eprlink diff`: pairing by position, absent vs "" vs changed, field names, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import eprlink.cli.profiles as profiles_module
from eprlink.careflow import Anonymiser
from eprlink.cli.diff import diff_command
from eprlink.cli.profiles import field_name
from eprlink.hl7 import parse
from eprlink.profiles import (
    ComponentDef,
    DatatypeDef,
    FieldDef,
    Profile,
    ProfileError,
    SegmentDef,
    load_profile,
)
from tests.conftest import FIXTURES

OLD = (
    "MSH|^~\\&|PAS|RZZ|||20250301||ADT^A08|1|P|2.4\r"
    "PID|1||9990000018^^^NHS^NH||SMITH^JOHN|||F|||1 HIGH ST\r"
)
NEW = (
    "MSH|^~\\&|PAS|RZZ|||20250301||ADT^A08|1|P|2.4\r"
    'PID|1||9990000018^^^NHS^NH||SMITH^JON|||""|||||01632960123\r'
)


def profile() -> Profile:
    return Profile(
        name="test",
        version="2.4",
        segments={
            "PID": SegmentDef(
                "PID",
                "Patient Identification",
                (
                    FieldDef(5, "Patient Name", "XPN"),
                    FieldDef(8, "Administrative Sex", "IS"),
                    FieldDef(11, "Patient Address", "XAD"),
                    FieldDef(13, "Phone Number - Home", "XTN"),
                ),
            )
        },
        datatypes={
            "XPN": DatatypeDef(
                "XPN", (ComponentDef(1, "Family Name", "FN"), ComponentDef(2, "Given Name", "ST"))
            )
        },
        tables={},
        structures={},
        events={},
    )


def files(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    a, b = tmp_path / "a.hl7", tmp_path / "b.hl7"
    a.write_text(old, newline="")
    b.write_text(new, newline="")
    return str(a), str(b)


@pytest.fixture
def no_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: object) -> Profile:
        raise ProfileError("profile data not there")

    monkeypatch.setattr(profiles_module, "load_profile", refuse)


@pytest.fixture
def test_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles_module, "load_profile", lambda **_: profile())


@pytest.mark.usefixtures("no_profile")
def test_identical_files_exit_0(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD + OLD, OLD + OLD)
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 0
    assert "no differences (2 message(s) compared)" in result.output


@pytest.mark.usefixtures("no_profile")
def test_absent_null_and_changed_told_apart_without_profile(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD, NEW)
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert lines["PID-5.2"].split()[1:] == ["changed", "'JOHN'", "->", "'JON'"]
    assert lines["PID-8"].split()[1:] == ["nulled", "'F'", "->", '""']
    assert lines["PID-11"].split()[1:] == ["removed", "'1", "HIGH", "ST'", "->", "(absent)"]
    assert lines["PID-13"].split()[1:] == ["added", "(absent)", "->", "'01632960123'"]
    assert "warning" not in result.stderr  # no --trust: field names are silently optional


@pytest.mark.usefixtures("test_profile")
def test_field_names_from_the_profile(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD, NEW)
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 1
    assert "PID-8    Administrative Sex" in result.stdout
    assert "Patient Name / Given Name" in result.stdout


@pytest.mark.usefixtures("test_profile")
def test_json_output(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD, NEW + OLD)
    result = CliRunner().invoke(diff_command, [a, b, "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["identical"] is False and document["field_names"] is True
    found = {d["path"]: d for d in document["messages"][0]["differences"]}
    assert found["PID-8"] == {
        "path": "PID-8",
        "field": "Administrative Sex",
        "kind": "nulled",
        "old": "F",
        "new": "",
    }
    assert found["PID-13"]["old"] is None
    assert document["unpaired"] == [{"source": b, "number": 2}]


@pytest.mark.usefixtures("no_profile")
def test_unpaired_messages_differ(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD + OLD, OLD)
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 1
    assert f"message #2: only in {a}" in result.stdout


@pytest.mark.usefixtures("no_profile")
def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD, "this is not HL7\r")
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 2 and "cannot parse" in result.stderr
    result = CliRunner().invoke(diff_command, [a, str(tmp_path / "missing.hl7")])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = CliRunner().invoke(diff_command, ["-", "-"])
    assert result.exit_code == 2


def test_broken_trust_file_falls_back_with_a_warning(tmp_path: Path) -> None:
    a, b = files(tmp_path, OLD, NEW)
    trust = tmp_path / "trust.toml"
    trust.write_text("this is [ not toml")
    result = CliRunner().invoke(diff_command, [a, b, "--trust", str(trust)])
    assert result.exit_code == 1
    assert "profile not loaded" in result.stderr
    assert "PID-8" in result.stdout


def test_field_name_lookup() -> None:
    p = profile()
    assert field_name(None, "PID-8") == ""
    assert field_name(p, "PID-8") == "Administrative Sex"
    assert field_name(p, "PID-5[2].1") == "Patient Name / Family Name"
    assert field_name(p, "PID-13.4") == "Phone Number - Home"  # XTN not defined here
    assert field_name(p, "PID") == "Patient Identification"
    assert field_name(p, "OBX[2]-5") == ""
    assert field_name(p, "not a path") == ""


def test_real_profile_names_fields_when_it_loads(tmp_path: Path) -> None:
    try:
        load_profile(layers=())
    except (ProfileError, OSError) as exc:
        pytest.skip(f"profile data does not load yet: {exc}")
    a, b = files(tmp_path, OLD, NEW)
    result = CliRunner().invoke(diff_command, [a, b])
    assert result.exit_code == 1
    assert "Administrative Sex" in result.stdout


@pytest.mark.usefixtures("no_profile")
def test_diff_of_an_anonymised_sample_shows_what_was_replaced(tmp_path: Path) -> None:
    original = (FIXTURES / "adt_a08.hl7").read_bytes()
    anonymised = Anonymiser("diff test key 012345").anonymise(parse(original)).to_bytes()
    a, b = tmp_path / "a.hl7", tmp_path / "b.hl7"
    a.write_bytes(original)
    b.write_bytes(anonymised)
    result = CliRunner().invoke(diff_command, [str(a), str(b), "--json"])
    assert result.exit_code == 1
    paths = {d["path"] for d in json.loads(result.stdout)["messages"][0]["differences"]}
    assert {"PID-3[1].1", "PID-5.1", "PID-7", "MSH-7"} <= paths
    assert not any(p.startswith(("PID-8", "PID-13", "NK1")) for p in paths)  # "" kept as ""
