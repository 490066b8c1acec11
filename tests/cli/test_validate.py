"""`eprlink validate` and the field names in `eprlink show`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from eprlink.cli import main
from tests.conftest import FIXTURES

OML = str(FIXTURES / "oml_o21.hl7")
A08 = str(FIXTURES / "adt_a08.hl7")


def test_valid_message_exits_0_and_says_so() -> None:
    result = CliRunner().invoke(main, ["validate", OML])
    assert result.exit_code == 0, result.output
    assert "OML^O21 ICE20261123091233000042: valid" in result.output


def test_invalid_message_exits_1_with_paths_names_and_codes() -> None:
    result = CliRunner().invoke(main, ["validate", A08])
    assert result.exit_code == 1
    assert "error   101 NK1-2 Name: expected a value (required field)" in result.output
    assert "ZU1-1 Date of Decision to Admit: expected a timestamp" in result.output


def test_json_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--json", OML, A08])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["profile"][:3] == ["hl7v2.4", "hl7uk", "careflow"]
    first, second = document["messages"]
    assert first["ok"] is True and second["ok"] is False
    assert any(i["code"] == 101 and i["path"] == "NK1-2" for i in second["issues"])


def test_base_layer_only_is_more_permissive() -> None:
    result = CliRunner().invoke(main, ["validate", "--layer", "hl7uk", OML])
    assert result.exit_code == 0, result.output


def test_unusable_input_and_profile_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"not hl7\r")
    assert CliRunner().invoke(main, ["validate", str(bad)]).exit_code == 2
    broken = tmp_path / "trust.toml"
    broken.write_text('[[field_patches]]\nsegment = "PV1"\nposition = 2\nusage = "SOMETIMES"\n')
    result = CliRunner().invoke(main, ["validate", "--trust", str(broken), OML])
    assert result.exit_code == 2 and "profile not loaded" in result.output
    assert "trust.toml" in result.output


def test_show_has_field_names_from_the_profile() -> None:
    result = CliRunner().invoke(main, ["show", A08], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "Patient Identifier List / Assigning Authority" in result.output
    plain = CliRunner().invoke(main, ["show", "--no-names", A08], env={"COLUMNS": "160"})
    assert "Patient Identifier List" not in plain.output


def test_unknown_setting_in_a_trust_overlay_exits_2(tmp_path: Path) -> None:
    trust = tmp_path / "trust.toml"
    trust.write_text('[settings.identity_reliability]\nrequire_statuss = "error"\n')
    result = CliRunner().invoke(main, ["validate", "--trust", str(trust), OML])
    assert result.exit_code == 2, result.output
    assert "require_statuss" in result.output
