"""The Trust the simulator plays, from its plug-in profile file: settings and a content check.

One file describes a Trust for both sides of the wire: the engine validates against it, and
the simulator both generates messages shaped by it (ODS code, plug-in versions, identifier
order) and validates what third parties send with it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eprlink.ack import Problem
from eprlink.hl7 import Message
from eprlink.profiles import Severity, load_profile
from eprlink.profiles.report import Issue
from eprlink.profiles.validate import Validator
from eprlink.sim.answers import Check
from eprlink.sim.config import TrustConfig
from eprlink.sim.hospital import (
    MEDICALLY_FIT_V1,
    MEDICALLY_FIT_V2,
    WAITING_LIST_V1,
    WAITING_LIST_V2,
    IdentifierKind,
    TrustSettings,
)

__all__ = ["overlay_of", "profile_check", "trust_settings"]


def _document(path: Path | None) -> Mapping[str, Any]:
    if path is None:
        return {}
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        found = data.get(key, {})
        data = found if isinstance(found, Mapping) else {}
    return data


def overlay_of(path: Path | None) -> Mapping[str, Any]:
    """The ``[trust]`` table of a Trust profile file (empty without a file or a table)."""
    return _table(_document(path), "trust")


def _identifier_order(overlay: Mapping[str, Any]) -> tuple[IdentifierKind, ...] | None:
    identifiers = overlay.get("identifiers", {})
    order = identifiers.get("inbound_order") if isinstance(identifiers, Mapping) else None
    if not isinstance(order, list):
        return None
    known = {kind.value: kind for kind in IdentifierKind}
    kinds = tuple(known[item] for item in order if item in known)
    return kinds or None


def trust_settings(config: TrustConfig) -> TrustSettings:
    """Settings for the synthetic hospital: the profile file's ``[trust]`` values where it
    has them (``ods_code``, ``plugins``, ``identifiers.inbound_order``), else sim.toml's. A
    Trust whose profile makes a missing NHS number an error
    (``settings.identifiers.require_nhs_number = "E"``) gets patients who all have one, and
    one requiring the trace status (``settings.identity_reliability.require_status = "E"``)
    gets updates that repeat PID-32."""
    document = _document(config.profile)
    overlay = _table(document, "trust")
    plugins = _table(overlay, "plugins")
    fit = str(plugins.get("medically_fit", config.medically_fit))
    waiting = str(plugins.get("waiting_list", config.waiting_list))
    ods = overlay.get("ods_code", config.ods_code)
    options: dict[str, Any] = {}
    order = _identifier_order(overlay)
    if order is not None:
        options["identifier_order"] = order
    if _table(document, "settings", "identifiers").get("require_nhs_number") == "E":
        options["patients_without_nhs_number"] = 0.0
    if _table(document, "settings", "identity_reliability").get("require_status") == "E":
        options["update_fields"] = (32,)  # updates repeat the trace status the Trust requires
    return TrustSettings(
        ods_code=ods if isinstance(ods, str) and ods else config.ods_code,
        charset=config.charset,
        profile_id=config.profile_id,
        medically_fit=MEDICALLY_FIT_V1 if fit == "v1" else MEDICALLY_FIT_V2,
        waiting_list=WAITING_LIST_V1 if waiting == "v1" else WAITING_LIST_V2,
        **options,
    )


def _problem(issue: Issue) -> Problem:
    return Problem.from_finding(issue)


def profile_check(config: TrustConfig) -> Check:
    """Validation against the Trust's layers and profile file, as ACK problems."""
    validator = Validator(load_profile(config.layers, trust=config.profile))

    def check(message: Message) -> list[Problem]:
        report = validator.validate(message)
        return [_problem(i) for i in report.issues if i.severity is not Severity.INFO]

    return check
