"""The packaged profile (HL7 v2.4 + HL7 UK + CareFlow) against the synthetic sample messages."""

from __future__ import annotations

from functools import lru_cache

import pytest

from eprlink.errors import ErrorCode
from eprlink.hl7 import parse
from eprlink.profiles import Profile, load_profile
from eprlink.profiles.check_structure import StructureMatcher
from eprlink.profiles.validate import Validator, validate
from tests.conftest import FIXTURES, SAMPLE_NAMES, sample_bytes


@lru_cache(maxsize=1)
def _profile() -> Profile:
    return load_profile()


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_has_no_structure_or_identifier_errors(name: str) -> None:
    report = validate(parse(sample_bytes(name)), _profile())
    assert report.structure is not None
    assert report.event is not None
    wrong = [
        i.text
        for i in report.errors
        if i.code in (ErrorCode.SEGMENT_SEQUENCE_ERROR, ErrorCode.UNSUPPORTED_MESSAGE_TYPE)
        or int(i.code) >= 200
        or (i.segment == "PID" and i.field == 3)
    ]
    assert wrong == []


@pytest.mark.xfail(
    reason="samples and the HL7 UK/CareFlow layers disagree in places (reported to the lead: "
    "ZU1 layout, NK1-3/AL1-4 code tables, OBR-32 written as XCN, NK1-2/-3 null in A08)",
    strict=False,
)
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_validates_without_errors(name: str) -> None:
    report = validate(parse(sample_bytes(name)), _profile())
    assert [i.text for i in report.errors] == []


def test_oml_sample_is_grouped_by_order() -> None:
    message = parse(sample_bytes("oml_o21.hl7"))
    profile = _profile()
    structure = profile.structures[profile.events[("OML", "O21")].structure]
    placed: list[tuple[str, ...] | None] = []
    StructureMatcher(structure).match([s.id for s in message.segments()], placed)
    orders = [p[1] for p in placed if p is not None and p[-1] == "ORC"]
    assert orders == ["ORDER[1]", "ORDER[2]", "ORDER[3]", "ORDER[4]"]
    assert all(p is not None for p in placed)


def test_invalid_nhs_number_in_a_sample() -> None:
    text = sample_bytes("adt_a01.hl7").decode().replace("9991234578", "9990000019")
    report = validate(parse(text), _profile())
    assert any(i.path == "PID-3[1]" and i.code == 102 and i.is_error for i in report.issues)
    assert report.ack_code() == "AE"


def test_missing_pid_in_a_sample() -> None:
    lines = sample_bytes("adt_a01.hl7").decode().split("\r")
    text = "\r".join(line for line in lines if not line.startswith("PID"))
    report = validate(parse(text), _profile())
    assert any(i.path == "PID" and i.code == 100 for i in report.errors)


def test_trust_overlay_profile_validates_samples() -> None:
    trusts = sorted((FIXTURES.parents[1] / "src/eprlink/profiles/data/trusts").glob("*.toml"))
    if not trusts:
        pytest.skip("no packaged Trust overlay")
    validator = Validator(load_profile(trust=trusts[0]))
    for name in SAMPLE_NAMES:
        report = validator.validate(parse(sample_bytes(name)))
        assert report.ack_code() in ("AA", "AE", "AR")
