"""Structure notation and the layer loader (with small layer files made in the test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eprlink.errors import ErrorCode
from eprlink.profiles import (
    ProfileError,
    RuleKind,
    Severity,
    StructureNode,
    Usage,
    load_profile,
    parse_structure,
)


def test_notation_segments_groups_and_cardinality() -> None:
    nodes = parse_structure("MSH EVN PID [PD1] [{NK1}] PV1 [{PROCEDURE: PR1 [{ROL}]}] {OBX}")
    assert [n.name for n in nodes] == ["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PROCEDURE", "OBX"]
    assert nodes[3] == StructureNode("PD1", 0, 1)
    assert nodes[4] == StructureNode("NK1", 0, None)
    assert nodes[7] == StructureNode("OBX", 1, None)
    group = nodes[6]
    assert group.is_group and (group.min, group.max) == (0, None)
    assert group.children == (StructureNode("PR1"), StructureNode("ROL", 0, None))


def test_notation_unnamed_group_gets_a_name() -> None:
    (_, order) = parse_structure("MSH {ORC [OBR {OBX}]}")
    assert order.is_group and order.children[0].name == "ORC"
    inner = order.children[1]
    assert inner.is_group and inner.min == 0 and [c.name for c in inner.children] == ["OBR", "OBX"]


@pytest.mark.parametrize("text", ["", "MSH [PID", "MSH PID]", "MSH []", "MSH pid", "MSH NAME: PID"])
def test_notation_errors(text: str) -> None:
    with pytest.raises(ProfileError):
        parse_structure(text)


BASE = {
    "layer": {"name": "mini", "version": "2.4"},
    "datatypes": {"ST": {"components": []}, "IS": {"components": []}},
    "segments": {
        "MSH": {"name": "Message Header", "fields": [
            {"position": 1, "name": "Field Separator", "datatype": "ST", "usage": "R"}]},
        "PID": {"name": "Patient Identification", "fields": [
            {"position": 3, "name": "Patient Identifier List", "datatype": "CX", "usage": "R",
             "max_repetitions": None}]},
        "PV1": {"name": "Patient Visit", "fields": [
            {"position": 2, "name": "Patient Class", "datatype": "IS", "usage": "R",
             "table": "HL70004"}]},
    },
    "tables": {
        "HL70004": {"name": "Patient class", "codes": {"I": "Inpatient", "O": "Outpatient"}}
    },
    "structures": {"ADT_A01": "MSH PID PV1"},
    "events": [{"type": "ADT", "trigger": "A01", "structure": "ADT_A01"}],
}  # fmt: skip


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(BASE))
    return path


def _layer(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_base_only(base: Path) -> None:
    profile = load_profile((), base=base)
    assert profile.segments["PID"].field(3).max_repetitions is None  # type: ignore[union-attr]
    assert profile.event("ADT", "A01") is not None
    assert profile.layers == ("mini",)


def test_layers_patch_extend_and_add(base: Path, tmp_path: Path) -> None:
    uk = _layer(
        tmp_path,
        "uk",
        """
[layer]
name = "uk"
[[field_patches]]
segment = "PV1"
position = 2
note = "UK patient class"
[tables.HL70004]
mode = "extend"
codes = { W = "Waiting list" }
[segments.ZU1]
name = "UK Additional Data"
fields = [{ position = 22, name = "Medically Fit Indicator", datatype = "ID", table = "HL70136" }]
[structures]
ADT_A01 = "MSH PID PV1 [ZU1]"
[[events]]
type = "ADT"
trigger = "A03"
structure = "ADT_A01"
rules = [{ kind = "require", path = "PV1-45", text = "discharge date", code = 101 }]
[[rules]]
kind = "nhs_number"
path = "PID-3"
severity = "W"
when = { path = "PV1-2", values = ["I"] }
[settings.identifiers]
nhs_authority = "NHS"
""",
    )
    profile = load_profile((uk,), base=base)
    pv1_2 = profile.segments["PV1"].field(2)
    assert pv1_2 is not None and pv1_2.usage is Usage.REQUIRED and pv1_2.note == "UK patient class"
    assert set(profile.tables["HL70004"].codes) == {"I", "O", "W"}
    assert profile.segments["ZU1"].field(22).name == "Medically Fit Indicator"  # type: ignore[union-attr]
    assert [n.name for n in profile.structures["ADT_A01"].nodes] == ["MSH", "PID", "PV1", "ZU1"]
    rule = profile.event("ADT", "A03").rules[0]  # type: ignore[union-attr]
    assert rule.kind is RuleKind.REQUIRE and rule.code is ErrorCode.REQUIRED_FIELD_MISSING
    (global_rule,) = profile.rules
    assert global_rule.severity is Severity.WARNING and global_rule.when is not None
    assert profile.settings["identifiers"] == {"nhs_authority": "NHS"}
    assert profile.layers == ("mini", "uk")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[field_patches]]\nsegment = "PV1"\nposition = 2\nusage = "MAYBE"', "usage 'MAYBE'"),
        ('[[field_patches]]\nsegment = "XYZ"\nposition = 2', "no segment XYZ"),
        ('[[field_patches]]\nsegment = "PV1"\nposition = 2\ncolour = "red"', "unknown keys"),
        ('[structures]\nADT_A01 = "MSH [PID"', "structures.ADT_A01"),
        ('[structures]\nADT_A01 = "MSH ZZZ"', "undefined segment ZZZ"),
        ('[[events]]\ntype = "ADT"\ntrigger = "A99"', "needs a 'structure'"),
        ('[[events]]\ntype = "ADT"\ntrigger = "A99"\nstructure = "NOPE"', "unknown structure"),
        ('[[rules]]\nkind = "guess"\npath = "PID-3"', "kind must be one of"),
        ('[[rules]]\nkind = "require"\npath = "PID-3"\ncode = 999', "table 0357"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_broken_layers_name_file_and_entry(
    base: Path, tmp_path: Path, text: str, message: str
) -> None:
    broken = _layer(tmp_path, "broken", text)
    with pytest.raises(ProfileError) as caught:
        load_profile((broken,), base=base)
    assert message in str(caught.value)
    assert "broken.toml" in str(caught.value) or "layers" in str(caught.value)


def test_trust_overlay_with_unknown_plugin(base: Path, tmp_path: Path) -> None:
    trust = _layer(
        tmp_path, "trust", '[trust]\nname = "X"\n[trust.plugins]\nmedically_fit = "v9"\n'
    )
    with pytest.raises(ProfileError) as caught:
        load_profile((), base=base, trust=trust)
    assert "trust.plugins.medically_fit" in str(caught.value)


def test_trust_settings_are_kept(base: Path, tmp_path: Path) -> None:
    trust = _layer(tmp_path, "trust", '[trust]\nname = "Example"\nods_code = "RXX"\n')
    profile = load_profile((), base=base, trust=trust)
    assert profile.settings["trust"] == {"name": "Example", "ods_code": "RXX"}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile((), base=tmp_path / "nope.json")
    assert "cannot read" in str(caught.value)


def test_rule_ids_let_later_layers_replace_or_disable(base: Path, tmp_path: Path) -> None:
    first = _layer(
        tmp_path,
        "first",
        '[[rules]]\nid = "r1"\nkind = "require"\npath = "PID-3"\n'
        '[[rules]]\nid = "r2"\nkind = "require"\npath = "PV1-2"\n',
    )
    second = _layer(
        tmp_path,
        "second",
        '[[rules]]\nid = "r1"\nkind = "require"\npath = "PID-3"\nseverity = "W"\n'
        '[[rules]]\nid = "r2"\nenabled = false\n',
    )
    profile = load_profile((first, second), base=base)
    assert [(r.id, r.severity) for r in profile.rules] == [("r1", Severity.WARNING)]
    bad = _layer(tmp_path, "bad", '[[rules]]\nid = "nope"\nenabled = false\n')
    with pytest.raises(ProfileError) as caught:
        load_profile((bad,), base=base)
    assert "no earlier rule with id 'nope'" in str(caught.value)


def test_unbounded_repetitions_in_segment_definitions(base: Path, tmp_path: Path) -> None:
    layer = _layer(
        tmp_path,
        "z",
        '[segments.ZXX]\nfields = [{ position = 1, name = "A", datatype = "ST", '
        "max_repetitions = -1 }]\n",
    )
    assert load_profile((layer,), base=base).segments["ZXX"].fields[0].max_repetitions is None
