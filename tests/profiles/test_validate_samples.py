"""The packaged profile (HL7 v2.4 + HL7 UK + CareFlow) against the synthetic sample messages:
the conformant UK fixtures validate cleanly, the shared benchmark corpus gives exactly its known
issues."""

from __future__ import annotations

from functools import lru_cache

import pytest

from eprlink.errors import ErrorCode
from eprlink.hl7 import parse
from eprlink.profiles import Profile, Report, layer_path, load_profile
from eprlink.profiles.check_structure import StructureMatcher
from eprlink.profiles.validate import validate
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


UK_FIXTURES = FIXTURES / "uk"
UK_NAMES = sorted(p.name for p in UK_FIXTURES.glob("*.hl7"))
TRUST = layer_path("trusts/example-trust")

# The conformant UK fixtures: nothing but one piece of information. HL7 UK makes ZU1 "required if
# available" wherever a structure allows it, and A28 shares ADT_A05 with the episode events;
# a person-level A28 has no episode to describe (the example Trust makes ZU1 optional).
UK_EXPECTED: dict[str, list[tuple[str, int, str]]] = {name: [] for name in UK_NAMES}
UK_EXPECTED["adt_a28.hl7"] = [("I", 100, "ZU1")]


@lru_cache(maxsize=1)
def _trust() -> Profile:
    return load_profile(trust=TRUST)


def _codes(report: Report) -> list[tuple[str, int, str]]:
    return [(i.severity.value, int(i.code), i.path) for i in report.issues]


def test_the_uk_fixtures_are_all_there() -> None:
    events = {"adt_a01", "adt_a03", "adt_a08", "adt_a28", "adt_a40", "oru_r01", "oml_o21"}
    assert {name.removesuffix(".hl7") for name in UK_NAMES} == events


@pytest.mark.parametrize("name", UK_NAMES)
def test_uk_fixture_validates_cleanly_against_the_default_profile(name: str) -> None:
    message = parse((UK_FIXTURES / name).read_bytes(), strict=True)
    report = validate(message, _profile())
    assert report.errors == ()
    assert report.ack_code() == "AA"
    assert _codes(report) == UK_EXPECTED[name]
    kind, trigger, structure = (
        message.get("MSH-9.1"),
        message.get("MSH-9.2"),
        message.get("MSH-9.3"),
    )
    assert report.event == (kind, trigger)
    assert report.structure == structure


@pytest.mark.parametrize("name", UK_NAMES)
def test_uk_fixture_validates_cleanly_against_the_example_trust(name: str) -> None:
    report = validate(parse((UK_FIXTURES / name).read_bytes()), _trust())
    assert report.errors == ()
    assert report.warnings == ()
    assert report.ack_code() == "AA"


def _obr_32(count: int) -> list[tuple[str, int, str]]:
    """OBR-32 written as XCN (``PATH1^PATHOLOGIST^Paul^^^Dr``) where v2.4 has NDL: the name
    lands in NDL-2/-3, the start and end times (TS)."""
    return [
        ("E", 102, f"OBR{'' if n == 1 else f'[{n}]'}-32.{c}")
        for n in range(1, count + 1)
        for c in (2, 3)
    ]


MSH_21 = ("W", 101, "MSH-21")  # no ITK message profile identifier (rule uk.msh-21.itk-profile)
PID_17 = ("W", 103, "PID-17.1")  # religion "C": not an ITK table 0006 code (extensible: warning)
PD1_12 = ("W", 102, "PD1-12")  # protection indicator sent: not used in the UK (moved to ZU8-4)
# The corpus sends its own ZU1 layout (set id, admin category, legal status, ...), not HL7 UK's
# (decision to admit TS, intended management ZU051, coding status ZU010, episode start/end TS, ...).
ZU1_A01 = [
    ("E", 102, "ZU1-1"),
    ("E", 103, "ZU1-2.1"),
    ("E", 103, "ZU1-3"),
    ("E", 102, "ZU1-4"),
    ("E", 102, "ZU1-5"),
    ("W", 102, "ZU1-8"),
]
ZU1_A08 = [("E", 102, "ZU1-1"), ("E", 103, "ZU1-2.1"), ("E", 102, "ZU1-5")]
AL1_RE = ("I", 100, "AL1")  # no AL1 where the structure has one (AL1 is RE in ITK)

# Exactly what the shared benchmark corpus gives against load_profile(): the corpus and the HL7 UK
# layer disagree in these places, and any change in behaviour shows here.
CORPUS_EXPECTED: dict[str, list[tuple[str, int, str]]] = {
    "adt_a01.hl7": [
        MSH_21,
        PID_17,
        PD1_12,
        (
            "E",
            103,
            "NK1-3.1",
        ),  # relationship "SPO" (HL7 0063) where ITK uses PDS codes (1 = spouse)
        ("E", 103, "AL1-4.1"),  # severity SV/MO/MI (HL7 0128) where ITK uses 0/1/3/5/7/9
        ("E", 103, "AL1[2]-4.1"),
        ("E", 103, "AL1[3]-4.1"),
        *ZU1_A01,
    ],
    "adt_a08.hl7": [
        MSH_21,
        PID_17,
        PD1_12,
        ("E", 101, "NK1-2"),  # NK1-2 and NK1-3 are required (R): "" would delete them
        ("E", 101, "NK1-3"),
        *ZU1_A08,
        AL1_RE,
    ],
    "oml_o21.hl7": [
        ("W", 102, "MSH-4.1"),  # GP practice code Z99999 where ITK wants a 3/5-character ODS code
        MSH_21,
        ("W", 102, "PV1-3.4"),  # the same practice code as the facility of PV1-3
        AL1_RE,
    ],
    "oru_r01_200obx.hl7": [MSH_21, *_obr_32(10)],
    "oru_r01_20obx.hl7": [MSH_21, *_obr_32(1)],
}
# The example Trust adds: PID-32 required (the results and orders carry none) and, with the
# medically fit plug-in v2, ZU1-22 expected in an A08 that carries ZU1.
TRUST_EXTRA: dict[str, list[tuple[str, int, str]]] = {
    "adt_a01.hl7": [],
    "adt_a08.hl7": [("W", 101, "ZU1-22")],
    "oml_o21.hl7": [("E", 101, "PID-32")],
    "oru_r01_200obx.hl7": [("E", 101, "PID-32")],
    "oru_r01_20obx.hl7": [("E", 101, "PID-32")],
}


def test_every_corpus_fixture_has_its_known_issues_listed() -> None:
    assert sorted(CORPUS_EXPECTED) == SAMPLE_NAMES == sorted(TRUST_EXTRA)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_corpus_fixture_gives_exactly_the_known_issues(name: str) -> None:
    report = validate(parse(sample_bytes(name)), _profile())
    assert _codes(report) == CORPUS_EXPECTED[name]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_corpus_fixture_gives_exactly_the_known_issues_with_the_trust(name: str) -> None:
    report = validate(parse(sample_bytes(name)), _trust())
    assert sorted(_codes(report)) == sorted(CORPUS_EXPECTED[name] + TRUST_EXTRA[name])


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
