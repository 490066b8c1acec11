"""Patients: test-range NHS numbers, the NSTS mix, and synthetic demographics in UK codings."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nhs_number
import pytest

from eprlink.hl7 import Message
from eprlink.sim.hospital import (
    MEDICALLY_FIT_V1,
    NHS_TEST_RANGE,
    WAITING_LIST_V1,
    Hospital,
    IdentifierKind,
    MedicallyFitPlugin,
    SexCoding,
    TimedMessage,
    TrustSettings,
    WaitingListPlugin,
    trust_from_overlay,
)
from eprlink.sim.hospital.codes import ETHNIC_CATEGORY, RELATIONSHIP, RELIGION

_POSTCODE = re.compile(r"^XX[0-9]{1,2}[A-Z]? [0-9][ABD-HJLNP-UW-Z]{2}$")
_PHONE = re.compile(r"^(07700900[0-9]{3}|01632960[0-9]{3}|02079460[0-9]{3}|01134960[0-9]{3})$")


def _identifiers(message: Message, path: str) -> list[tuple[str, str, str]]:
    """(id, authority, type) of each repetition of a CX field."""
    raw = message.raw(path) or ""
    found = []
    for repetition in raw.split("~"):
        parts = [*repetition.split("^"), "", "", "", "", ""]
        found.append((parts[0], parts[3], parts[4]))
    return found


def test_every_nhs_number_is_valid_and_in_the_test_range(
    weekday: list[TimedMessage], everything: list[Message]
) -> None:
    numbers = set()
    for message in [event.message for event in weekday] + everything:
        for path in ("PID-3", "MRG-1"):
            for value, authority, kind in _identifiers(message, path):
                if authority == "NHS" or kind == "NH":
                    numbers.add(value)
    assert len(numbers) > 300
    low, high = NHS_TEST_RANGE
    for number in numbers:
        assert nhs_number.is_valid(number), number
        assert low <= int(number) <= high, number
        assert len(set(number)) > 1, number


def test_nhs_number_status_mix() -> None:
    hospital = Hospital(2, beds=10)
    patients = [hospital.patient() for _ in range(1500)]
    statuses = Counter(p.nhs_status for p in patients)
    assert statuses["NSTS01"] > 0.7 * len(patients)
    for status in ("NSTS02", "NSTS03", "NSTS07", "01"):
        assert statuses[status] > 0, status
    assert all((p.nhs_number is None) == (p.nhs_status == "NSTS07") for p in patients)
    assert any(p.reliability for p in patients)  # ED / UD alongside the status
    for baby in (p for p in patients if p.nhs_status == "NSTS08"):
        assert (hospital.now.date() - baby.birth_date).days < 42
        assert baby.mother_mrn is not None


def test_babies_carry_the_mothers_identifier() -> None:
    hospital = Hospital(9, beds=10)
    baby = next(p for p in iter(hospital.patient, None) if p.nhs_status == "NSTS08")
    message = hospital.register(baby).messages[0]
    assert message.get("PID-21.1") == baby.mother_mrn
    assert message.get("PID-32") == "NSTS08"


def test_no_nhs_number_share_is_a_setting() -> None:
    hospital = Hospital(2, beds=10, trust=TrustSettings(patients_without_nhs_number=0.0))
    assert all(hospital.patient().nhs_number for _ in range(300))


def test_demographics_are_synthetic_and_uk_coded(weekday: list[TimedMessage]) -> None:
    pids = [event.message for event in weekday if event.message.segment("PID") is not None]
    full = [m for m in pids if m.get("PID-7") is not None]
    assert len(full) > 300
    ethnic = {code for code, _, _ in ETHNIC_CATEGORY}
    religion = {code for code, _, _ in RELIGION}
    for message in full:
        postcode = message.get("PID-11.5") or ""
        assert _POSTCODE.match(postcode) or postcode == "ZZ99 3VZ", postcode
        assert len(postcode) <= 8
        assert message.get("PID-11.6") == "GBR"
        assert message.get("PID-8") in ("1", "2", "9", "0")
        assert message.get("PID-22") in ethnic
        assert message.get("PID-17") in religion
        assert re.fullmatch(r"[A-Z][A-Z' -]*", message.get("PID-5.1") or "")
        assert message.get("PID-5.7") == "L"
        for phone in (message.raw("PID-13") or "").split("~"):
            number, _, kind = ([*phone.split("^"), "", ""])[:3]
            if kind == "Internet":
                assert phone.endswith("@example.com")
            elif phone:
                assert _PHONE.match(number), number
        practice = message.get("PD1-3.3")
        if practice is not None:
            assert re.fullmatch(r"[A-Z][0-9]{5}", practice)
            assert re.fullmatch(r"G[0-9]{7}", message.get("PD1-4.1") or "")
        kin = message.get("NK1-3.1")
        if kin is not None:
            assert kin in {code for code, _, _ in RELATIONSHIP}


def test_sex_coding_and_identifier_order_are_settings() -> None:
    trust = TrustSettings(
        sex_coding=SexCoding.HL7, identifier_order=(IdentifierKind.NHS, IdentifierKind.MRN)
    )
    hospital = Hospital(6, beds=10, trust=trust)
    sexes = set()
    for _ in range(60):
        patient = hospital.patient()
        message = hospital.register(patient).messages[0]
        sexes.add(message.get("PID-8"))
        ids = _identifiers(message, "PID-3")
        if patient.nhs_number:
            assert ids[0] == (patient.nhs_number, "NHS", "NH")
            assert ids[1] == (patient.mrn, "RZZ", "MR")
        else:
            assert ids == [(patient.mrn, "RZZ", "MR")]
    assert sexes <= {"M", "F", "O", "U"}
    assert {"M", "F"} <= sexes


def test_every_identifier_has_an_authority_and_a_type(
    weekday: list[TimedMessage], everything: list[Message]
) -> None:
    for message in [event.message for event in weekday] + everything:
        for path in ("PID-3", "MRG-1", "PV1-19", "PID-21"):
            if message.raw(path) is None:
                continue
            for value, authority, kind in _identifiers(message, path):
                assert value and authority and kind, (path, message.raw(path))


@pytest.mark.parametrize("segment", ["ZU1", "ZRT", "ZCF"])
def test_settings_refuse_a_local_segment_in_the_hl7_uk_namespace(segment: str) -> None:
    if segment == "ZU1":
        with pytest.raises(ValueError, match="ZU"):
            TrustSettings(rtt_segment=segment)
    else:
        assert TrustSettings(rtt_segment=segment).rtt_segment == segment


def test_trust_settings_from_an_overlay_file(tmp_path: Path) -> None:
    overlay = tmp_path / "trust.toml"
    overlay.write_text(
        '[trust]\nods_code = "RQQ"\nname = "FICTIONAL TEST TRUST"\n'
        '[trust.plugins]\nmedically_fit = "v1"\nwaiting_list = "v1"\n'
        '[trust.identifiers]\nhospital_number_authority = "RQQPAS"\n'
        'inbound_order = ["NH", "MR"]\n',
        encoding="utf-8",
    )
    trust = trust_from_overlay(overlay, charset=None)
    assert trust.ods_code == "RQQ" and trust.mrn_issuer == "RQQPAS" and trust.charset is None
    assert trust.medically_fit == MEDICALLY_FIT_V1 and trust.waiting_list == WAITING_LIST_V1
    assert trust.identifier_order == (IdentifierKind.NHS, IdentifierKind.MRN)
    assert trust.patients_without_nhs_number > 0 and trust.update_fields == ()
    with pytest.raises(ValueError, match="v9"):
        MedicallyFitPlugin.for_version("v9")
    with pytest.raises(ValueError, match="v9"):
        WaitingListPlugin.for_version("v9")
