"""The packaged HL7 UK, CareFlow, plug-in and example Trust layers, on a tiny and the real base."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eprlink.errors import ErrorCode
from eprlink.profiles import (
    Profile,
    ProfileError,
    RuleKind,
    Severity,
    StructureNode,
    Usage,
    layer_path,
    load_profile,
    parse_structure,
)

DATA = layer_path("hl7uk").parent
TRUST = DATA / "trusts" / "example-trust.toml"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"
PLUGINS = (
    "plugins/medically_fit_v1",
    "plugins/medically_fit_v2",
    "plugins/waiting_list_v1",
    "plugins/waiting_list_v2",
)
LAYER_FILES = [
    layer_path("hl7uk"),
    layer_path("careflow"),
    *(layer_path(name) for name in PLUGINS),
    TRUST,
]
STACKS = [
    ("hl7uk",),
    ("hl7uk", "careflow"),
    *(("hl7uk", "careflow", plugin) for plugin in PLUGINS),
]

# Structures the layers take from the base without redefining them, in a cut-down form.
MINI_STRUCTURES = {
    "ACK": "MSH MSA [ERR]",
    "ADT_A30": "MSH EVN PID [PD1] MRG",
    "ADT_A39": "MSH EVN {PATIENT: PID [PD1] MRG [PV1]}",
    "ADT_A52": "MSH EVN PID [PD1] PV1 [PV2]",
    "MFK_M01": "MSH MSA [ERR] MFI [{MFA}]",
    "MFN_M02": "MSH MFI {MF_STAFF: MFE STF [PRA]}",
    "OMG_O19": "MSH [PATIENT: PID] {ORDER: ORC OBR}",
    "OML_O21": "MSH [PATIENT: PID] {ORDER: ORC [OBR]}",
    "ORG_O20": "MSH MSA [{ORC}]",
    "ORL_O22": "MSH MSA [PID]",
    "REF_I12": "MSH [RF1] {PRD} PID [PV1]",
    "RRI_I12": "MSH [MSA] {PRD} PID",
    "SIU_S12": "MSH SCH [{PATIENT: PID [PV1]}] {RESOURCES: RGS [{AIS}] [{AIL}]}",
}
_CX = {"datatype": "CX", "max_repetitions": None}
MINI_FIELDS = {
    "PID": [
        {"position": 3, "name": "Patient Identifier List", "usage": "R", **_CX},
        {"position": 32, "name": "Identity Reliability Code", "datatype": "IS", "table": "HL70445"},
    ],
    "PV1": [
        {"position": 2, "name": "Patient Class", "datatype": "IS", "table": "HL70004"},
        {"position": 4, "name": "Admission Type", "datatype": "IS", "table": "HL70007"},
        {"position": 45, "name": "Discharge Date/Time", "datatype": "TS"},
    ],
}


def _raw(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _segment_names(nodes: tuple[StructureNode, ...]) -> Iterator[str]:
    for node in nodes:
        if node.is_group:
            yield from _segment_names(node.children)
        else:
            yield node.name


def _mini_base() -> dict[str, Any]:
    """A tiny base holding every segment the layers refer to but do not define themselves."""
    defined: set[str] = set()
    notations = list(MINI_STRUCTURES.values())
    for path in LAYER_FILES:
        raw = _raw(path)
        defined.update(raw.get("segments", {}))
        notations.extend(raw.get("structures", {}).values())
    used = {name for text in notations for name in _segment_names(parse_structure(text))}
    segments = {
        sid: {"name": sid, "fields": MINI_FIELDS.get(sid, [])} for sid in sorted(used - defined)
    }
    return {
        "layer": {"name": "mini", "version": "2.4"},
        "datatypes": {"ST": {}, "IS": {}, "CX": {}, "TS": {}},
        "segments": segments,
        "tables": {"HL70004": {"name": "Patient class", "codes": {"I": "", "O": ""}}},
        "structures": MINI_STRUCTURES,
        "events": [{"type": "ACK", "trigger": "", "structure": "ACK"}],
    }


@pytest.fixture(scope="module", params=["mini", "hl7v2.4"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str | Path:
    """Every test runs on a tiny base made here and on the generated HL7 v2.4 base layer."""
    if request.param == "hl7v2.4":
        return "hl7v2.4"
    path = tmp_path_factory.mktemp("base") / "mini.json"
    path.write_text(json.dumps(_mini_base()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def uk(base: str | Path) -> Profile:
    return load_profile(("hl7uk", "careflow"), base=base)


@pytest.fixture(scope="module")
def trust(base: str | Path) -> Profile:
    return load_profile(("hl7uk", "careflow"), base=base, trust=TRUST)


def _rule(profile: Profile, message_type: str, trigger: str, kind: RuleKind, path: str) -> Any:
    event = profile.event(message_type, trigger)
    assert event is not None, f"{message_type}^{trigger} missing"
    matches = [r for r in event.rules if r.kind is kind and r.path == path]
    assert matches, f"{message_type}^{trigger}: no {kind.value} rule on {path}"
    return matches[0]


def _codes(profile: Profile, segment: str, position: int) -> set[str]:
    field = profile.segments[segment].field(position)
    assert field is not None and field.table is not None
    return set(profile.tables[field.table].codes)


# --- every layer loads ---------------------------------------------------------------------


@pytest.mark.parametrize("layers", STACKS, ids=lambda s: "+".join(Path(n).name for n in s))
def test_each_layer_stack_loads(base: str | Path, layers: tuple[str, ...]) -> None:
    profile = load_profile(layers, base=base)
    assert profile.layers[1:] == tuple(Path(name).name for name in layers)


def test_default_layers_and_trust_order(trust: Profile) -> None:
    assert trust.layers[1:] == (
        "hl7uk",
        "careflow",
        "medically_fit_v2",
        "waiting_list_v2",
        "example-trust",
    )


# --- HL7 UK spot checks ---------------------------------------------------------------------


def test_zu1_medically_fit_fields(uk: Profile) -> None:
    zu1 = uk.segments["ZU1"]
    fit, ready, osv = zu1.field(22), zu1.field(24), zu1.field(10)
    assert fit is not None and fit.name == "Medically Fit Indicator" and fit.table == "HL70136"
    assert ready is not None and ready.name == "Ready for Discharge" and ready.datatype == "TS"
    assert osv is not None and osv.table == "ITK_0171"
    assert [f.position for f in zu1.fields] == list(range(1, 28))
    assert {code for code in uk.tables["HL70136"].codes} >= {"Y", "N"}


def test_zu_segments_sit_at_the_end_of_uk_structures(base: str | Path) -> None:
    profile = load_profile(("hl7uk",), base=base)
    tail = ["ZU1", "ZU2", "ZU3", "ZU4", "ZU6", "ZU7", "ZU8"]
    for sid in ("ADT_A02", "ADT_A03", "ADT_A05", "ADT_A09", "ADT_A21", "ADT_A38"):
        names = [n.name for n in profile.structures[sid].nodes]
        assert names[-7:] == tail, sid
        assert all(n.min == 0 and n.max == 1 for n in profile.structures[sid].nodes[-7:])
    a01 = [n.name for n in profile.structures["ADT_A01"].nodes]
    assert a01[-8:] == ["ZU1", "ZU2", "ZU3", "ZU4", "ZU5", "ZU6", "ZU7", "ZU8"]
    for sid in ("ADT_A30", "ADT_A39", "ADT_A52"):
        assert not any(n.startswith("ZU") for n in _segment_names(profile.structures[sid].nodes))
    careflow = load_profile(("hl7uk", "careflow"), base=base)
    names = [n.name for n in careflow.structures["ADT_A01"].nodes]
    assert names[-3:] == ["ZU8", "ZRT", "ZCF"]


def test_person_level_events_allow_only_zu1_and_zu8(uk: Profile) -> None:
    for trigger in ("A28", "A31"):
        event = uk.event("ADT", trigger)
        assert event is not None and event.structure == "ADT_A05"
        forbidden = {r.path for r in event.rules if r.kind is RuleKind.SEGMENT_FORBIDDEN}
        assert forbidden == {"ZU2", "ZU3", "ZU4", "ZU6", "ZU7"}
        rule = _rule(uk, "ADT", trigger, RuleKind.VALUE_IN, "PV1-2")
        assert rule.values == ("N", "U") and rule.when.path == "PV1"


def test_patient_class_includes_waiting_list(uk: Profile) -> None:
    assert _codes(uk, "PV1", 2) == {"B", "C", "E", "I", "N", "O", "P", "R", "U", "W"}


def test_admission_method_codes(uk: Profile) -> None:
    expected = {"11", "12", "13", "21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"}
    expected |= {"31", "32", "81", "82", "83", "98", "99"}
    assert _codes(uk, "PV1", 4) == expected
    assert not uk.tables["HL70007"].extensible


def test_identity_reliability_codes(uk: Profile) -> None:
    codes = _codes(uk, "PID", 32)
    assert {f"NSTS0{n}" for n in range(1, 9)} <= codes
    assert {f"0{n}" for n in range(1, 9)} <= codes
    assert {"US", "UD", "UA", "AL", "ED"} <= codes
    assert "NSTS09" not in codes


def test_uk_code_tables_as_the_reference_gives_them(uk: Profile) -> None:
    assert {"1", "2", "9", "0", "M", "F", "U", "A", "N", "O"} == set(uk.tables["HL70001"].codes)
    assert set(uk.tables["HL70023"].codes) >= {"19", "29", "51", "79", "87", "98", "99"}
    assert set(uk.tables["HL70113"].codes) >= {"19", "30", "48", "50", "79", "84", "98"}
    assert set(uk.tables["HL70112"].codes) == {str(n) for n in range(1, 15)}
    assert set(uk.tables["HL70430"].codes) == set("ACFHOPU")
    assert set(uk.tables["HL70189"].codes) == set("ABCDEFGHJKLMNPRSZ") | {"99"}
    assert set(uk.tables["HL70002"].codes) == {"S", "M", "D", "W", "P", "N", "8", "9"}
    assert {"1", "2", "20", "21", "61", "62", "98", "99"} <= set(uk.tables["HL70063"].codes)
    assert {"DA", "FA", "MA", "MC", "IO", "OC", "IC", "IN"} <= set(uk.tables["HL70127"].codes)
    assert set(uk.tables["HL70128"].codes) == {"0", "1", "3", "5", "7", "9"}
    assert set(uk.tables["ZU051"].codes) == {"1", "2", "3", "4", "5", "8", "9"}
    assert set(uk.tables["NHS_DISCHARGE_METHOD"].codes) == {"1", "3", "4", "5", "6", "7", "8", "9"}


def test_pv1_36_conflict_is_configurable(uk: Profile) -> None:
    pv1_36 = uk.segments["PV1"].field(36)
    assert pv1_36 is not None and pv1_36.table == "HL70112" and "[STD conflict]" in pv1_36.note
    mapping = uk.settings["integration"]["mapping"]
    assert mapping["pv1_36_meaning"] == "itk"
    assert mapping["pv1_36_tables"] == {"itk": "HL70112", "hl7uk": "HL70113"}


def test_conditional_event_rules(uk: Profile) -> None:
    discharge = _rule(uk, "ADT", "A03", RuleKind.REQUIRE, "PV1-45")
    assert discharge.severity is Severity.ERROR and discharge.when is None
    assert "discharge" in discharge.text and "§7.2" in discharge.source
    assert _rule(uk, "ADT", "A01", RuleKind.REQUIRE, "PV1-44").severity is Severity.ERROR
    for trigger in ("A05", "A14"):
        assert _rule(uk, "ADT", trigger, RuleKind.REQUIRE, "PV2-8").severity is Severity.ERROR
        _rule(uk, "ADT", trigger, RuleKind.SEGMENT_REQUIRED, "PV2")
    for trigger in ("A21", "A22", "A52", "A53", "A02"):
        assert _rule(uk, "ADT", trigger, RuleKind.REQUIRE, "EVN-6").severity is Severity.ERROR
    waiting = _rule(uk, "ADT", "A38", RuleKind.VALUE_IN, "PV1-2")
    assert waiting.values == ("W",) and waiting.when.path == "ZU4" and waiting.when.present
    casualty = _rule(uk, "ADT", "A04", RuleKind.REQUIRE, "PV2-38")
    assert casualty.when.path == "PV1-2" and casualty.when.values == ("E",)


def test_merge_events_need_mrg(uk: Profile) -> None:
    for trigger in ("A40", "A34", "A47"):
        _rule(uk, "ADT", trigger, RuleKind.SEGMENT_REQUIRED, "MRG")
        _rule(uk, "ADT", trigger, RuleKind.REQUIRE, "MRG-1")
    assert uk.event("ADT", "A40").structure == "ADT_A39"  # type: ignore[union-attr]


def test_global_rules(uk: Profile) -> None:
    by_path = {(r.kind, r.path): r for r in uk.rules}
    assert by_path[(RuleKind.REQUIRE, "EVN-2")].when.path == "EVN"
    assert by_path[(RuleKind.REQUIRE, "MSH-21")].severity is Severity.WARNING
    assert by_path[(RuleKind.VALUE_IN, "MSH-12")].code is ErrorCode.UNSUPPORTED_VERSION_ID
    # PID-3/MRG-1 checks are settings, one switch each, not rules that would repeat them
    assert not {r.path for r in uk.rules} & {"PID-3", "MRG-1"}
    assert uk.tables["ITK_MESSAGE_PROFILE"].extensible
    assert uk.settings["matching"]["case_insensitive"] == ["MSH-21"]


def test_required_events_and_structures(uk: Profile) -> None:
    adt = "A01 A02 A03 A04 A05 A08 A09 A10 A11 A12 A13 A14 A21 A22 A27 A28 A31 A34 A38 A40 A47"
    wanted = [("ADT", t) for t in (*adt.split(), "A52", "A53")]
    wanted += [("SIU", t) for t in ("S12", "S13", "S14", "S15", "S26")]
    wanted += [(m, t) for m in ("REF", "RRI") for t in ("I12", "I13", "I14")]
    wanted += [("MFN", "M02"), ("MFN", "M05"), ("MFK", "M02"), ("MFK", "M05")]
    wanted += [("OMG", "O19"), ("ORG", "O20"), ("OML", "O21"), ("ORL", "O22")]
    wanted += [("OML", "O33"), ("ORL", "O34"), ("ORU", "R01"), ("OUL", "R22"), ("ACK", "")]
    for key in wanted:
        event = uk.event(*key)
        assert event is not None and event.description, key
        assert event.structure in uk.structures, key
    assert uk.event("ADT", "A12").structure == "ADT_A09"  # type: ignore[union-attr]


def test_v25_specimen_structures(uk: Profile) -> None:
    assert uk.event("OML", "O33").structure == "OML_O33"  # type: ignore[union-attr]
    assert uk.event("ORL", "O34").structure == "ORL_O34"  # type: ignore[union-attr]
    assert uk.event("OUL", "R22").structure == "OUL_R22"  # type: ignore[union-attr]
    specimen = uk.structures["OML_O33"].nodes[4]
    assert specimen.name == "SPECIMEN" and specimen.children[0].name == "SPM"
    spm = uk.segments["SPM"]
    assert spm.field(4).usage is Usage.REQUIRED  # type: ignore[union-attr]
    assert spm.field(3).max_repetitions is None  # type: ignore[union-attr]
    assert "RPT" in uk.datatypes and "TQ1" in uk.segments


def test_uk_single_patient_oru_and_optional_ldp(uk: Profile) -> None:
    oru = uk.structures["ORU_R01"].nodes
    assert oru[1].name == "PATIENT" and (oru[1].min, oru[1].max) == (0, 1)
    locations = uk.structures["MFN_M05"].nodes[2]
    assert locations.children[-1].name == "MF_LOC_DEPT" and locations.children[-1].min == 0


def test_uk_settings_for_the_validator(uk: Profile) -> None:
    ids = uk.settings["identifiers"]
    assert (ids["nhs_authority"], ids["nhs_type"], ids["chi_authority"]) == ("NHS", "NH", "CHI")
    assert ids["fields"] == ["PID-3", "MRG-1"] and ids["nhs_number_check"] == "E"
    assert ids["nhs_type_optional"] is True and ids["require_type"] == "W"
    reliability = uk.settings["identity_reliability"]
    assert reliability["accept_bare_status"] and reliability["max_status_codes"] == 1
    nulls = uk.settings["nulls"]
    assert (nulls["required_identifier"], nulls["snapshot_rule"]) == ("E", "W")
    assert uk.settings["segment_usage"]["ZU1"] == "RE"
    assert "ORM^O01" in uk.settings["events"]["not_supported"]
    encounters = uk.settings["integration"]["encounters"]
    assert encounters["casualty"]["patient_class"] == "E"
    assert encounters["contact"]["events"] == ["A04", "A03"]


def test_every_rule_has_text_and_source(trust: Profile) -> None:
    rules = [*trust.rules, *(r for event in trust.events.values() for r in event.rules)]
    assert len(rules) > 50
    for rule in rules:
        assert rule.text and rule.source, rule


# --- CareFlow and plug-ins --------------------------------------------------------------------


def test_careflow_local_segments_are_marked_invented(uk: Profile) -> None:
    for sid in ("ZRT", "ZCF"):
        assert not sid.startswith("ZU")
        assert "invention" in uk.segments[sid].name
        for field in uk.segments[sid].fields:
            assert "[UNVERIFIED]" in field.note, (sid, field.position)
    assert uk.segments["ZRT"].field(3).table == "NHS_RTT_PERIOD_STATUS"  # type: ignore[union-attr]
    rtt = uk.tables["NHS_RTT_PERIOD_STATUS"].codes
    assert "[UNVERIFIED]" not in rtt["10"] and "[UNVERIFIED]" not in rtt["33"]
    assert "[UNVERIFIED]" in rtt["11"]
    ovcc = uk.tables["NHS_OVERSEAS_VISITOR_CHARGING_CATEGORY"].codes
    assert set("ABCDEFP") <= set(ovcc)


def test_careflow_settings_each_carry_a_note_and_source(uk: Profile) -> None:
    careflow = uk.settings["integration"]["careflow"]
    sections = {k: v for k, v in careflow.items() if isinstance(v, dict)}
    assert {"triggers", "rtt", "waiting_list", "overseas_visitors", "medically_optimised"} <= set(
        sections
    )
    for name, section in sections.items():
        assert re.search(r"\[(UNVERIFIED|GAP)\]", section["note"]), name
        assert section["source"], name
    assert careflow["triggers"]["map"]["waiting_list_add"] == "ADT^A05"
    assert careflow["medically_optimised"]["medically_fit"] == "ZU1-22"


def test_only_hl7uk_defines_zu_segments() -> None:
    for path in LAYER_FILES:
        names = set(_raw(path).get("segments", {}))
        if path.stem != "hl7uk":
            assert not any(name.startswith("ZU") for name in names), path


def test_medically_fit_versions_differ(base: str | Path) -> None:
    v1 = load_profile(("hl7uk", "careflow", "plugins/medically_fit_v1"), base=base)
    v2 = load_profile(("hl7uk", "careflow", "plugins/medically_fit_v2"), base=base)
    paths_v1 = {r.path for r in v1.event("ADT", "A08").rules}  # type: ignore[union-attr]
    paths_v2 = {r.path for r in v2.event("ADT", "A08").rules}  # type: ignore[union-attr]
    assert paths_v1 == {"ZU1-22"} and paths_v2 == {"ZU1-22", "ZU1-24"}
    ready = _rule(v2, "ADT", "A08", RuleKind.REQUIRE, "ZU1-24")
    assert ready.when.path == "ZU1-22" and ready.when.values == ("Y",)
    assert v1.settings["integration"]["plugins"]["medically_fit"]["ready_for_discharge"] == ""
    assert v2.settings["integration"]["plugins"]["medically_fit"]["version"] == "v2"
    for profile in (v1, v2):
        assert "[UNVERIFIED]" in profile.settings["integration"]["plugins"]["medically_fit"]["note"]


def test_waiting_list_versions_differ(base: str | Path) -> None:
    v1 = load_profile(("hl7uk", "careflow", "plugins/waiting_list_v1"), base=base)
    v2 = load_profile(("hl7uk", "careflow", "plugins/waiting_list_v2"), base=base)
    kinds_v1 = {(r.kind, r.path) for r in v1.event("ADT", "A05").rules}  # type: ignore[union-attr]
    kinds_v2 = {(r.kind, r.path) for r in v2.event("ADT", "A05").rules}  # type: ignore[union-attr]
    assert (RuleKind.SEGMENT_REQUIRED, "ZRT") in kinds_v2 - kinds_v1
    assert (RuleKind.REQUIRE, "PV2-8") in kinds_v1 & kinds_v2  # hl7uk rules are kept
    assert v1.settings["integration"]["plugins"]["waiting_list"]["rtt_segment"] == ""
    assert v2.settings["integration"]["plugins"]["waiting_list"]["rtt_segment"] == "ZRT"


# --- the example Trust ------------------------------------------------------------------------


def test_example_trust_applies_plugins_and_its_changes(trust: Profile) -> None:
    settings = trust.settings
    assert settings["trust"]["name"] == "Example NHS Foundation Trust"
    assert settings["trust"]["plugins"] == {"medically_fit": "v2", "waiting_list": "v2"}
    assert settings["integration"]["plugins"]["medically_fit"]["version"] == "v2"
    assert settings["integration"]["plugins"]["waiting_list"]["version"] == "v2"
    _rule(trust, "ADT", "A08", RuleKind.REQUIRE, "ZU1-24")
    identifiers = settings["trust"]["identifiers"]
    assert identifiers["inbound_order"] == ["MR", "NH"]
    assert identifiers["outbound_order"] == ["NH", "MR"]
    # tightened
    pid_32 = trust.segments["PID"].field(32)
    assert pid_32 is not None and pid_32.usage is Usage.REQUIRED and pid_32.table == "HL70445"
    assert settings["identity_reliability"]["require_status"] == "E"
    assert settings["identifiers"]["require_nhs_number"] == "E"
    assert settings["identifiers"]["nhs_authority"] == "NHS"  # merged, not replaced
    a01 = {r.path for r in trust.event("ADT", "A01").rules}  # type: ignore[union-attr]
    assert a01 == {"PV1-44", "PV1-19"}
    # loosened
    assert settings["segment_usage"]["ZU1"] == "O"
    assert settings["segment_usage"]["AL1"] == "RE"
    assert settings["identifiers"]["require_type"] == "I"


def test_example_trust_listeners_accept_known_events(trust: Profile) -> None:
    listeners = trust.settings["trust"]["listeners"]
    assert len(listeners) == 5
    for name, listener in listeners.items():
        assert listener["message_types"], name
        for message in listener["message_types"]:
            assert trust.event(*message.split("^")) is not None, (name, message)


# --- broken overlays name the file and the entry ------------------------------------------------


def _trust_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken-trust.toml"
    path.write_text('[trust]\nname = "Broken (synthetic)"\n' + text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "entry", "message"),
    [
        (
            '[[field_patches]]\nsegment = "ZU1"\nposition = 22\nusage = "MAYBE"\n',
            "field_patches[0]",
            "usage 'MAYBE' is not one of",
        ),
        (
            '[[events]]\ntype = "ADT"\ntrigger = "Z99"\nstructure = "ADT_Z99"\n',
            "ADT^Z99",
            "unknown structure ADT_Z99",
        ),
        ('[[events]]\ntype = "ADT"\ntrigger = "Z99"\n', "events[0]", "needs a 'structure'"),
        (
            '[[events]]\ntype = "ADT"\ntrigger = "A01"\nrules = [{ kind = "maybe", path = "X" }]\n',
            "events[0].rules[0]",
            "kind must be one of",
        ),
        ('[trust.plugins]\nwaiting_list = "v9"\n', "trust.plugins.waiting_list", "'v9'"),
    ],
    ids=["unknown-usage", "missing-structure", "no-structure", "unknown-kind", "plugin-version"],
)
def test_broken_overlay_names_file_and_entry(
    base: str | Path, tmp_path: Path, text: str, entry: str, message: str
) -> None:
    broken = _trust_file(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(("hl7uk", "careflow"), base=base, trust=broken)
    assert "broken-trust.toml" in str(caught.value)
    assert entry in str(caught.value) and message in str(caught.value)


# --- the files themselves ---------------------------------------------------------------------


def test_rule_ids_are_unique_and_namespaced() -> None:
    seen: dict[str, Path] = {}
    for path in LAYER_FILES:
        raw = _raw(path)
        event_rules = (r for e in raw.get("events", []) for r in e.get("rules", []))
        rules = [*raw.get("rules", []), *event_rules]
        for rule in rules:
            rule_id = rule["id"]
            assert rule_id not in seen, f"{rule_id} in {path} and {seen[rule_id]}"
            assert rule_id.startswith(("uk.", "cf.", "trust.")), rule_id
            seen[rule_id] = path


def test_layer_files_hold_synthetic_data_only() -> None:
    for path in LAYER_FILES:
        for number in re.findall(r"(?<!\d)\d{10}(?!\d)", path.read_text(encoding="utf-8")):
            assert number.startswith("999"), (path, number)
