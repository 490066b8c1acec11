"""The settings registry: every settings key in the packaged layers is known, documented, and
read by the component the registry names, so no layer can carry a setting that does nothing."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from eprlink.profiles import Profile, load_profile
from eprlink.profiles.check_settings import VALIDATOR_SECTIONS, Settings
from eprlink.profiles.settings_registry import REGISTRY, known_setting, setting_keys
from eprlink.profiles.validate import Validator

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "profiles.md"
SOURCES = ROOT / "src" / "eprlink" / "profiles"
TRUST = ROOT / "src" / "eprlink" / "profiles" / "data" / "trusts" / "example-trust.toml"
PLUGINS = ("medically_fit_v1", "medically_fit_v2", "waiting_list_v1", "waiting_list_v2")


def _profiles() -> list[tuple[str, Profile]]:
    stacks = [("default", load_profile()), ("example trust", load_profile(trust=TRUST))]
    for plugin in PLUGINS:
        stacks.append((plugin, load_profile(("hl7uk", "careflow", f"plugins/{plugin}"))))
    return stacks


PROFILES = _profiles()


@pytest.mark.parametrize(("label", "profile"), PROFILES, ids=[label for label, _ in PROFILES])
def test_every_settings_key_is_in_the_registry(label: str, profile: Profile) -> None:
    keys = list(setting_keys(profile.settings))
    assert len(keys) > 30, label
    unknown = [".".join(key) for key in keys if known_setting(key) is None]
    assert unknown == [], f"{label}: settings no component reads: {unknown}"


@pytest.mark.parametrize(("label", "profile"), PROFILES, ids=[label for label, _ in PROFILES])
def test_the_packaged_profiles_build_a_validator(label: str, profile: Profile) -> None:
    settings = Validator(profile).settings
    assert settings.case_insensitive and settings.patterns and settings.numeric_ranges, label


def test_the_default_profile_sets_what_the_uk_layer_says() -> None:
    settings = Validator(load_profile()).settings
    assert [str(p) for p in settings.fields] == ["PID-3", "MRG-1"]
    assert settings.require_authority is not None and settings.require_authority.value == "E"
    assert ("ADT", "A46") in settings.unsupported_events
    assert ("ADT", "A34") in settings.backwards_compatibility
    assert dict(settings.segment_usage)["ZU2"].value == "B"
    trust = Validator(load_profile(trust=TRUST)).settings
    assert dict(trust.segment_usage)["ZU1"].value == "O"
    assert trust.require_status is not None and trust.require_status.value == "E"


def test_every_registry_key_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [entry.key for entry in REGISTRY if f"`{entry.key}`" not in docs]
    assert missing == [], "registry keys missing from docs/profiles.md's registry table"


def test_documented_readers_and_defaults_match_the_registry() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    table = docs[docs.index("### Settings registry") :]
    table = table[: table.index("\n## ")]
    rows = {
        key: (reader.strip(), default.strip())
        for key, reader, default in re.findall(
            r"^\| `([^`]+)` \| ([^|]+) \| (.+) \|$", table, flags=re.MULTILINE
        )
    }
    assert len(rows) == len(REGISTRY)
    for entry in REGISTRY:
        assert rows[entry.key] == (entry.reader, entry.default.replace("|", "\\|")), entry.key


def test_validator_keys_are_exactly_the_validator_sections() -> None:
    for entry in REGISTRY:
        section = entry.key.split(".", 1)[0]
        assert (entry.reader == "validator") == (section in VALIDATOR_SECTIONS), entry.key


# One non-default value per validator key: each must change what the validator reads.
NON_DEFAULT: dict[str, Any] = {
    "validation.structure": "warning",
    "validation.unknown_z_segments": "error",
    "validation.not_supported": "error",
    "validation.re_missing": "warning",
    "validation.backward_present": "error",
    "validation.datatypes": "warning",
    "validation.lengths": "warning",
    "validation.repetitions": "warning",
    "validation.tables": "warning",
    "validation.extensible_tables": "error",
    "validation.structure_mismatch": "error",
    "validation.out_of_range": "error",
    "identifiers.fields": ["PID-3", "MRG-1"],
    "identifiers.nhs_authority": "NHSX",
    "identifiers.nhs_type": "NHX",
    "identifiers.nhs_type_optional": False,
    "identifiers.recognise_nhs_by": ["authority"],
    "identifiers.chi_authority": "SCOT",
    "identifiers.chi_type": "CH",
    "identifiers.nhs_number_check": "warning",
    "identifiers.require_authority": "error",
    "identifiers.require_type": "error",
    "identifiers.require_nhs_number": "error",
    "identifiers.repeated_digit_nhs_number": "error",
    "identity_reliability.field": "PID-33",
    "identity_reliability.nhs_status_prefix": "NNS",
    "identity_reliability.accept_bare_status": False,
    "identity_reliability.max_status_codes": 2,
    "identity_reliability.too_many_status_codes": "error",
    "identity_reliability.require_status": "error",
    "identity_reliability.legacy_field": "",
    "sex.field": "NK1-15",
    "sex.nhs_codes": ["1", "2"],
    "sex.hl7_codes": ["M", "F"],
    "sex.accept": "nhs",
    "nulls.snapshot_rule": "error",
    "nulls.required_identifier": "warning",
    "segment_usage.*": "RE",
    "matching.case_insensitive": ["MSH-21"],
    "events.not_supported": ["ADT^A46"],
    "events.backwards_compatibility": ["ADT^A34"],
    "numeric_ranges.*": [0, 9],
    "patterns": [{"path": "MSH-4.1", "regex": "[A-Z]{3}"}],
}


def _table(key: str, value: Any) -> dict[str, Any]:
    section, _, rest = key.partition(".")
    if section == "patterns":
        return {"patterns": value}
    name = {"segment_usage": "ZU1", "numeric_ranges": "ZU2-3"}.get(section, rest)
    return {section: {name: value}}


@pytest.mark.parametrize(
    "entry", [e for e in REGISTRY if e.reader == "validator"], ids=lambda e: e.key
)
def test_every_validator_key_changes_the_settings(entry: Any) -> None:
    assert entry.key in NON_DEFAULT, f"{entry.key}: add a non-default value and a test"
    assert Settings.from_profile(_table(entry.key, NON_DEFAULT[entry.key])) != Settings()


def test_every_validator_setting_is_read_by_a_check() -> None:
    """A setting parsed into :class:`Settings` but never read by a check would do nothing."""
    checks = "\n".join(
        path.read_text(encoding="utf-8")
        for path in SOURCES.glob("*.py")
        if path.name not in ("check_settings.py", "__init__.py")
    )
    indirect = {"nhs_codes", "hl7_codes", "accept"}  # through Settings.refused_sex_codes
    for item in fields(Settings):
        if item.name in indirect:
            assert re.search(r"\.refused_sex_codes\b", checks)
            continue
        assert re.search(rf"\.{item.name}\b", checks), f"Settings.{item.name} is never read"
