"""Trust settings from a Trust overlay file, so the profile that validates also shapes the data."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from eprlink.sim.hospital.settings import (
    IdentifierKind,
    MedicallyFitPlugin,
    TrustSettings,
    WaitingListPlugin,
)

__all__ = ["trust_from_overlay"]

_STRICT = ("E", "W")


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = data.get(key, {})
        data = value if isinstance(value, dict) else {}
    return data


def trust_from_overlay(path: str | Path, **overrides: Any) -> TrustSettings:
    """Read a Trust overlay (``profiles/data/trusts/*.toml``) into generator settings.

    Used: ``[trust]`` ods_code and name; ``[trust.plugins]`` medically_fit and waiting_list;
    ``[trust.identifiers]`` hospital_number_authority and inbound_order (what CareFlow sends
    to the Trust's engine); ``[settings.identifiers] require_nhs_number`` (then no patient goes
    without an NHS number) and a required PID-32 (then every update repeats it). Keyword
    arguments override anything read.
    """
    with Path(path).open("rb") as handle:
        data = tomllib.load(handle)
    trust = _table(data, "trust")
    plugins = _table(data, "trust", "plugins")
    identifiers = _table(data, "trust", "identifiers")
    values: dict[str, Any] = {}
    if isinstance(trust.get("ods_code"), str):
        values["ods_code"] = trust["ods_code"]
    if isinstance(trust.get("name"), str):
        values["name"] = trust["name"]
    if "medically_fit" in plugins:
        values["medically_fit"] = MedicallyFitPlugin.for_version(str(plugins["medically_fit"]))
    if "waiting_list" in plugins:
        values["waiting_list"] = WaitingListPlugin.for_version(str(plugins["waiting_list"]))
    if isinstance(identifiers.get("hospital_number_authority"), str):
        values["mrn_authority"] = identifiers["hospital_number_authority"]
    order = identifiers.get("inbound_order")
    if isinstance(order, list) and order:
        values["identifier_order"] = tuple(IdentifierKind(str(kind)) for kind in order)
    if _table(data, "settings", "identifiers").get("require_nhs_number") in _STRICT:
        values["patients_without_nhs_number"] = 0.0
    status_required = _table(data, "settings", "identity_reliability").get("require_status")
    patched = any(
        isinstance(p, dict) and p.get("segment") == "PID" and p.get("position") == 32
        and p.get("usage") == "R"
        for p in data.get("field_patches", [])
    )  # fmt: skip
    if status_required in _STRICT or patched:
        values["update_fields"] = (32,)
    return replace(TrustSettings(**values), **overrides)
