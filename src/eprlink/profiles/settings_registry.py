"""The settings registry: every key a profile layer may set, who reads it, and its default.

Kept apart from the parsing in :mod:`eprlink.profiles.check_settings` because it is a table for
people and tests (docs/profiles.md mirrors it), not code the validator runs per message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any

from eprlink.profiles.check_settings import _PEOPLE, _SPECS, KnownSetting, Settings
from eprlink.profiles.model import Severity

__all__ = ["REGISTRY", "known_setting", "setting_keys"]


# Defaults as docs/profiles.md writes them, for the registry.
_DEFAULT_TEXT = {
    "identifiers.fields": '["PID-3"]',
    "identifiers.recognise_nhs_by": '["authority", "type"]',
    "identity_reliability.field": '"PID-32"',
    "identity_reliability.legacy_field": '"ZU1-27"',
    "sex.field": '"PID-8"',
    "sex.nhs_codes": '["1", "2", "9", "0"]',
    "sex.hl7_codes": '["M", "F", "U", "A", "N", "O"]',
    "matching.case_insensitive": "[]",
    "events.not_supported": "[]",
    "events.backwards_compatibility": "[]",
}


def _default_text(section: str, key: str, attr: str) -> str:
    dotted = f"{section}.{key}"
    if dotted in _DEFAULT_TEXT:
        return _DEFAULT_TEXT[dotted]
    value = next(f.default for f in fields(Settings) if f.name == attr)
    if isinstance(value, Severity):
        return {"E": '"error"', "W": '"warning"', "I": '"info"'}[value.value]
    if value is None:
        return '"off"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


# Readers. Only the validator and the loader read profile settings in code today; the others
# are the documented contract for components that keep their own copies or come later
# (docs/profiles.md, "Settings registry").
_VALIDATOR = "validator"
_SIM = "simulator"
_ENGINE = "engine, simulator"
_MAPPERS = "FHIR mappers, outbound writers"
_PEOPLE_ONLY = "people"
_TRUST_ENGINE = "engine set-up (a record)"

REGISTRY: tuple[KnownSetting, ...] = (
    *(
        KnownSetting(f"{section}.{key}", _VALIDATOR, _default_text(section, key, attr))
        for section, specs in _SPECS.items()
        for key, (attr, _parse) in specs.items()
    ),
    KnownSetting("segment_usage.*", _VALIDATOR, "none"),
    KnownSetting("numeric_ranges.*", _VALIDATOR, "none"),
    KnownSetting("patterns", _VALIDATOR, "[]"),
    # CareFlow: how the sending system behaves (careflow layer, ref §2, §13).
    KnownSetting("integration.careflow.based_on", _PEOPLE_ONLY, '"HL7 UK A.2 ..."'),
    KnownSetting("integration.careflow.triggers.map.*", _SIM, 'admit = "ADT^A01", ...'),
    *(
        KnownSetting(f"integration.careflow.rtt.{key}", _SIM, default)
        for key, default in (
            ("segment", '"ZRT"'),
            ("pathway_id", '"ZRT-1"'),
            ("pathway_issuer", '"ZRT-2"'),
            ("period_status", '"ZRT-3"'),
            ("clock_start", '"ZRT-4"'),
            ("status_date", '"ZRT-5"'),
            ("clock_stop", '"ZRT-6"'),
            ("status_table", '"NHS_RTT_PERIOD_STATUS"'),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.waiting_list.{key}", _SIM, default)
        for key, default in (
            ("comment", '"ZCF-2"'),
            ("details", '"ZU4"'),
            ("patient_class", '"W"'),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.overseas_visitors.{key}", _SIM, default)
        for key, default in (
            ("charging_category", '"ZCF-1"'),
            ("charging_category_table", '"NHS_OVERSEAS_VISITOR_CHARGING_CATEGORY"'),
            ("status", '"ZU1-10"'),
            ("status_table", '"ITK_0171"'),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.medically_optimised.{key}", _SIM, default)
        for key, default in (
            ("medically_fit", '"ZU1-22"'),
            ("ready_for_discharge", '"ZU1-24"'),
            ("criteria_to_reside", '"ZCF-3"'),
            ("event", '"ADT^A08"'),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.link.{key}", _ENGINE, default)
        for key, default in (
            ("queue", '"fifo"'),
            ("messages_in_flight", "1"),
            ("remove_from_queue_on", '"ack"'),
            ("ack_mode", '"original"'),
            ("commit_acks", "false"),
            ("on_application_error", '"block_and_retry"'),
            ("on_application_reject", '"block_and_retry"'),
            ("mllp_release", "1"),
            ("tls", "false"),
        )
    ),
    KnownSetting("integration.careflow.versions.accepted", _SIM, '["2.3", ..., "2.5.1"]'),
    KnownSetting("integration.careflow.versions.generate", _SIM, '"2.4"'),
    *(
        KnownSetting(f"integration.careflow.msh.{key}", _SIM, default)
        for key, default in (
            ("sending_application", '"PAS"'),
            ("sending_facility", '"trust.ods_code"'),
            ("receiving_application", '"ROUTE"'),
            ("receiving_facility", '"ROUTE"'),
            ("profile_id", '""'),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.encoding.{key}", _ENGINE, default)
        for key, default in (
            ("decode", '"utf-8"'),
            ("fallback", '"latin-1"'),
            ("honour_msh_18", "true"),
        )
    ),
    *(
        KnownSetting(f"integration.careflow.identifiers.{key}", _MAPPERS, default)
        for key, default in (
            ("accept_nhs_forms", '["^^^NHS^NH", "^^^NHS"]'),
            ("outbound_nhs_form", '"^^^NHS^NH"'),
            ("accept_status_forms", '["NSTSnn", "nn"]'),
            ("outbound_status_form", '"NSTSnn"'),
        )
    ),
    KnownSetting("integration.careflow.inbound.accepts", _SIM, '"all"'),
    KnownSetting("integration.careflow.inbound.validation", _SIM, '"off"'),
    # Encounters: which ADT events and patient classes carry each kind of encounter.
    *(
        KnownSetting(f"integration.encounters.{kind}.{key}", "simulator, FHIR mappers", default)
        for kind, key, default in (
            ("casualty", "events", '["A04", "A03"]'),
            ("casualty", "patient_class", '"E"'),
            ("waiting_list", "events", '["A05", "A14", "A27", "A38"]'),
            ("waiting_list", "patient_class", '"W"'),
            ("waiting_list", "segment", '"ZU4"'),
            ("contact", "events", '["A04", "A03"]'),
            ("contact", "patient_class", '"O"'),
        )
    ),
    # Mapping: meanings the FHIR mappers and outbound writers need.
    KnownSetting("integration.mapping.pv1_36_meaning", _MAPPERS, '"itk"'),
    KnownSetting("integration.mapping.pv1_36_tables.*", _MAPPERS, 'itk = "HL70112", ...'),
    KnownSetting("integration.mapping.pv1_37_meaning", _MAPPERS, '"discharge_destination"'),
    KnownSetting("integration.mapping.sex_hl7_to_nhs.*", _MAPPERS, 'M = "1", F = "2", ...'),
    # Plug-ins record themselves (plug-in layers).
    KnownSetting("integration.plugins.*.version", _SIM, "the layer's version"),
    KnownSetting("integration.plugins.*.events", _SIM, "the layer's events"),
    KnownSetting("integration.plugins.medically_fit.indicator", _SIM, '"ZU1-22"'),
    KnownSetting("integration.plugins.medically_fit.ready_for_discharge", _SIM, '"" / "ZU1-24"'),
    KnownSetting("integration.plugins.waiting_list.patient_class", _SIM, '"W"'),
    KnownSetting("integration.plugins.waiting_list.segment", _SIM, '"ZU4"'),
    KnownSetting("integration.plugins.waiting_list.rtt_segment", _SIM, '"" / "ZRT"'),
    KnownSetting("integration.plugins.waiting_list.comment", _SIM, '"" / "ZCF-2"'),
    # The Trust overlay's [trust] table, kept whole by the loader.
    KnownSetting("trust.name", _PEOPLE_ONLY, "-"),
    KnownSetting("trust.ods_code", _SIM, "-"),
    KnownSetting("trust.fictional", _PEOPLE_ONLY, "false"),
    KnownSetting("trust.careflow_version", _PEOPLE_ONLY, "-"),
    KnownSetting("trust.careflow_version_note", _PEOPLE_ONLY, "-"),
    KnownSetting("trust.plugins.*", "loader (applies plugins/<name>_<version>.toml)", "none"),
    KnownSetting("trust.identifiers.hospital_number_authority", _MAPPERS, "-"),
    KnownSetting("trust.identifiers.hospital_number_type", _MAPPERS, '"MR"'),
    KnownSetting("trust.identifiers.inbound_order", _MAPPERS, '["MR", "NH"]'),
    KnownSetting("trust.identifiers.outbound_order", _MAPPERS, '["NH", "MR"]'),
    KnownSetting("trust.listeners.*.description", _TRUST_ENGINE, "-"),
    KnownSetting("trust.listeners.*.message_types", _TRUST_ENGINE, "-"),
)


def setting_keys(settings: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """Every leaf key of ``settings`` as a tuple path; lists are leaves, and ``note`` and
    ``source`` (for people) are left out."""
    for key, value in settings.items():
        if key in _PEOPLE:
            continue
        if isinstance(value, Mapping):
            for rest in setting_keys(value):
                yield (key, *rest)
        else:
            yield (key,)


def known_setting(parts: tuple[str, ...]) -> KnownSetting | None:
    """The registry entry for a key (``*`` matches any one part), or ``None``."""
    for entry in REGISTRY:
        wanted = entry.parts
        if len(wanted) != len(parts):
            continue
        if all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return entry
    return None
