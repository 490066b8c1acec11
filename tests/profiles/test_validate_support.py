"""A small hand-built profile and message helpers shared by the validator tests (no layer files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eprlink.hl7 import Message, parse
from eprlink.profiles import (
    CodeTable,
    ComponentDef,
    DatatypeDef,
    EventDef,
    FieldDef,
    MessageStructure,
    Profile,
    Rule,
    SegmentDef,
    Usage,
    parse_structure,
)
from eprlink.profiles.report import Report
from eprlink.profiles.validate import Validator

R, OPT, X = Usage.REQUIRED, Usage.OPTIONAL, Usage.NOT_SUPPORTED
MANY = None


def _components(*specs: tuple[str, str] | tuple[str, str, str | None]) -> tuple[ComponentDef, ...]:
    out = []
    for position, spec in enumerate(specs, 1):
        name, datatype, *rest = spec
        out.append(ComponentDef(position, name, datatype, table=rest[0] if rest else None))
    return tuple(out)


DATATYPES = {
    "HD": DatatypeDef(
        "HD", _components(("Namespace ID", "IS", "0300"), ("Universal ID", "ST"), ("Type", "ID"))
    ),
    "CX": DatatypeDef(
        "CX",
        _components(
            ("ID", "ST"),
            ("Check Digit", "ST"),
            ("Check Digit Scheme", "ID"),
            ("Assigning Authority", "HD"),
            ("Identifier Type Code", "ID", "0203"),
            ("Assigning Facility", "HD"),
            ("Effective Date", "DT"),
            ("Expiration Date", "DT"),
        ),
    ),
    "CE": DatatypeDef(
        "CE", _components(("Identifier", "ST"), ("Text", "ST"), ("Coding System", "ST"))
    ),
    "TS": DatatypeDef("TS", _components(("Time", "ST"), ("Degree of Precision", "ST"))),
    "XPN": DatatypeDef(
        "XPN",
        _components(
            ("Family Name", "ST"),
            ("Given Name", "ST"),
            ("Second Name", "ST"),
            ("Suffix", "ST"),
            ("Prefix", "ST"),
            ("Degree", "ST"),
            ("Name Type Code", "ID", "0200"),
        ),
    ),
    "PL": DatatypeDef(
        "PL",
        _components(("Point of Care", "IS"), ("Room", "IS"), ("Bed", "IS"), ("Facility", "HD")),
    ),
    "MSG": DatatypeDef(
        "MSG",
        _components(("Message Type", "ID"), ("Trigger Event", "ID"), ("Structure", "ID")),
    ),
    "PT": DatatypeDef(
        "PT",
        _components(
            ("Processing ID", "ID", "0103"),
        ),
    ),
    "VID": DatatypeDef(
        "VID",
        _components(
            ("Version ID", "ID"),
        ),
    ),
    "XCN": DatatypeDef("XCN", _components(("ID", "ST"), ("Family Name", "ST"))),
    "EI": DatatypeDef("EI", _components(("Entity Identifier", "ST"), ("Namespace ID", "IS"))),
    "DR": DatatypeDef("DR", _components(("Start", "TS"), ("End", "TS"))),
}


def _f(  # noqa: PLR0917 - a compact field table reads better than keyword soup
    position: int,
    name: str,
    datatype: str,
    usage: Usage = OPT,
    reps: int | None = 1,
    length: int | None = None,
    table: str | None = None,
) -> FieldDef:
    return FieldDef(position, name, datatype, usage, reps, length, table)


SEGMENTS = {
    "MSH": SegmentDef(
        "MSH",
        "Message Header",
        (
            _f(1, "Field Separator", "ST", R),
            _f(2, "Encoding Characters", "ST", R),
            _f(3, "Sending Application", "HD"),
            _f(4, "Sending Facility", "HD"),
            _f(5, "Receiving Application", "HD"),
            _f(6, "Receiving Facility", "HD"),
            _f(7, "Date/Time of Message", "TS", R),
            _f(8, "Security", "ST"),
            _f(9, "Message Type", "MSG", R, table="0076"),
            _f(10, "Message Control ID", "ST", R, length=20),
            _f(11, "Processing ID", "PT", R),
            _f(12, "Version ID", "VID", R, table="0104"),
            _f(13, "Sequence Number", "NM"),
            _f(17, "Country Code", "ID"),
            _f(18, "Character Set", "ID", reps=MANY),
        ),
    ),
    "EVN": SegmentDef(
        "EVN",
        "Event Type",
        (
            _f(1, "Event Type Code", "ID", table="0003"),
            _f(2, "Recorded Date/Time", "TS", R),
            _f(5, "Operator ID", "XCN", reps=MANY),
            _f(6, "Event Occurred", "TS"),
        ),
    ),
    "PID": SegmentDef(
        "PID",
        "Patient Identification",
        (
            _f(1, "Set ID - PID", "SI"),
            _f(2, "Patient ID", "CX", X),
            _f(3, "Patient Identifier List", "CX", R, MANY),
            _f(5, "Patient Name", "XPN", R, MANY),
            _f(7, "Date/Time of Birth", "TS"),
            _f(8, "Administrative Sex", "IS", table="0001"),
            _f(11, "Patient Address", "ST", reps=MANY, length=30),
            _f(13, "Phone Number - Home", "ST", reps=MANY),
            _f(29, "Patient Death Date and Time", "TS"),
            _f(30, "Patient Death Indicator", "ID", table="0136"),
        ),
    ),
    "PD1": SegmentDef("PD1", "Patient Additional Demographic", (_f(1, "Living Dependency", "IS"),)),
    "NK1": SegmentDef("NK1", "Next of Kin", (_f(1, "Set ID - NK1", "SI", R),)),
    "PV1": SegmentDef(
        "PV1",
        "Patient Visit",
        (
            _f(1, "Set ID - PV1", "SI"),
            _f(2, "Patient Class", "IS", R, table="0004"),
            _f(3, "Assigned Patient Location", "PL"),
            _f(4, "Admission Type", "IS", table="9999"),
            _f(7, "Attending Doctor", "XCN", reps=MANY),
            _f(19, "Visit Number", "CX"),
            _f(44, "Admit Date/Time", "TS"),
            _f(45, "Discharge Date/Time", "TS"),
        ),
    ),
    "PV2": SegmentDef("PV2", "Patient Visit - Additional", (_f(8, "Expected Admit Date", "TS"),)),
    "OBX": SegmentDef(
        "OBX",
        "Observation/Result",
        (
            _f(1, "Set ID - OBX", "SI"),
            _f(2, "Value Type", "ID", table="0125"),
            _f(3, "Observation Identifier", "CE", R),
            _f(4, "Observation Sub-ID", "ST"),
            _f(5, "Observation Value", "varies", reps=MANY),
            _f(6, "Units", "CE"),
            _f(7, "References Range", "ST"),
            _f(11, "Observation Result Status", "ID", R, table="0085"),
            _f(14, "Date/Time of the Observation", "TS"),
        ),
    ),
    "NTE": SegmentDef(
        "NTE",
        "Notes and Comments",
        (_f(1, "Set ID - NTE", "SI"), _f(2, "Source", "ID"), _f(3, "Comment", "FT", reps=MANY)),
    ),
    "ORC": SegmentDef(
        "ORC",
        "Common Order",
        (_f(1, "Order Control", "ID", R, table="0119"), _f(2, "Placer Order Number", "EI")),
    ),
    "OBR": SegmentDef(
        "OBR",
        "Observation Request",
        (
            _f(1, "Set ID - OBR", "SI"),
            _f(2, "Placer Order Number", "EI"),
            _f(4, "Universal Service Identifier", "CE", R),
            _f(7, "Observation Date/Time", "TS"),
            _f(9, "Collection Volume", "NM"),
        ),
    ),
    "DG1": SegmentDef("DG1", "Diagnosis", (_f(1, "Set ID - DG1", "SI", R),)),
    "AL1": SegmentDef(
        "AL1",
        "Patient Allergy Information",
        (_f(1, "Set ID - AL1", "SI", R), _f(6, "Identification Date", "DT")),
    ),
    "MRG": SegmentDef(
        "MRG", "Merge Patient Information", (_f(1, "Prior Identifiers", "CX", R, MANY),)
    ),
    "ZU1": SegmentDef(
        "ZU1", "UK Additional Data", (_f(1, "Set ID", "SI"), _f(2, "Admin Category", "CE"))
    ),
    "ZU4": SegmentDef("ZU4", "Waiting List", (_f(1, "Set ID", "SI"), _f(2, "Date on List", "DT"))),
    "IN1": SegmentDef("IN1", "Insurance", (_f(1, "Set ID - IN1", "SI", R),)),
    "ROL": SegmentDef("ROL", "Role", (_f(1, "Role Instance ID", "EI"), _f(7, "Start", "TM"))),
}


def _table(tid: str, name: str, codes: str, *, extensible: bool = False) -> CodeTable:
    return CodeTable(tid, name, dict.fromkeys(codes.split(), ""), extensible)


TABLES = {
    t.id: t
    for t in (
        _table("0001", "Administrative sex", "M F U 0 1 2 9", extensible=True),
        _table("0003", "Event type", "A01 A03 A08 A40 R01 O21"),
        _table("0004", "Patient class", "I O E W N U"),
        _table("0076", "Message type", "ADT ORU OML ACK"),
        _table("0085", "Observation result status", "F C P"),
        _table("0103", "Processing ID", "P T D"),
        _table("0104", "Version ID", "2.3 2.3.1 2.4 2.5 2.7"),
        _table("0119", "Order control", "NW RE CA"),
        _table("0125", "Value type", "NM ST TS CE DT TX FT"),
        _table("0136", "Yes/no indicator", "Y N"),
        _table("0200", "Name type", "L M A"),
        _table("0203", "Identifier type", "NH MR PI VN"),
        CodeTable("0300", "Namespace ID", {}),  # defined without codes: a local table
    )
}

STRUCTURES = {
    sid: MessageStructure(sid, parse_structure(text), text)
    for sid, text in {
        "ADT_A01": "MSH EVN PID [PD1] [{ROL}] [{NK1}] PV1 [PV2] [{OBX}] [{AL1}] [ZU1]",
        "ADT_A40": "MSH EVN {PATIENT: PID [PD1] MRG [PV1]}",
        "ORU_R01": (
            "MSH {PATIENT_RESULT: [PATIENT: PID [PD1] [VISIT: PV1 [PV2]]] "
            "{ORDER_OBSERVATION: [ORC] OBR [{NTE}] {OBSERVATION: [OBX] [{NTE}]}}}"
        ),
        "OML_O21": (
            "MSH [PATIENT: PID [PATIENT_VISIT: PV1]] {ORDER_GENERAL: {ORDER: ORC "
            "[OBSERVATION_REQUEST: OBR [{NTE}] [{DG1}] [{OBSERVATION: OBX [{NTE}]}] "
            "[{PRIOR_RESULT: {ORDER_PRIOR: [ORC] OBR [{NTE}] {OBSERVATION_PRIOR: OBX [{NTE}]}}}]]}}"
        ),
    }.items()
}

EVENTS = {
    (e.message_type, e.trigger): e
    for e in (
        EventDef("ADT", "A01", "ADT_A01", "Admit"),
        EventDef("ADT", "A03", "ADT_A01", "Discharge"),
        EventDef("ADT", "A08", "ADT_A01", "Update"),
        EventDef("ADT", "A40", "ADT_A40", "Merge"),
        EventDef("ORU", "R01", "ORU_R01", "Results"),
        EventDef("OML", "O21", "OML_O21", "Lab order"),
    )
}


def build_profile(
    *,
    settings: Mapping[str, Any] | None = None,
    rules: tuple[Rule, ...] = (),
    event_rules: Mapping[tuple[str, str], tuple[Rule, ...]] | None = None,
    segments: Mapping[str, SegmentDef] | None = None,
    tables: Mapping[str, CodeTable] | None = None,
) -> Profile:
    events = dict(EVENTS)
    for key, extra in (event_rules or {}).items():
        events[key] = replace(events[key], rules=extra)
    return Profile(
        name="test",
        version="2.4",
        segments={**SEGMENTS, **(segments or {})},
        datatypes=DATATYPES,
        tables={**TABLES, **(tables or {})},
        structures=STRUCTURES,
        events=events,
        rules=rules,
        settings=dict(settings or {}),
    )


PROFILE = build_profile()


def msh(kind: str = "ADT^A01^ADT_A01", version: str = "2.4", control: str = "MSG0001") -> str:
    return f"MSH|^~\\&|PAS|RCB|TIE|RCB|20240101120000||{kind}|{control}|P|{version}"


EVN = "EVN|A01|20240101120000"
PID = "PID|1||9990000018^^^NHS^NH~ZZ1000123^^^RCB^MR||TESTPATIENT^ALICE^^^^^L||19750412|F"
PV1 = "PV1|1|I|WARD1^BAY1^BED1^RCB"
ADT = [msh(), EVN, PID, PV1]

ORU = [
    msh("ORU^R01^ORU_R01"),
    PID,
    PV1,
    "ORC|RE|ORD1",
    "OBR|1|ORD1||FBC^Full blood count^L",
    "OBX|1|NM|HB^Haemoglobin^L||118|g/L|||||F|||20240101120000",
    "OBX|2|NM|WBC^White cells^L||11.2|10*9/L|||||F",
    "NTE|1|L|Comment on WBC",
]


def message(*segments: str) -> Message:
    """A message from segment texts (``\\r`` between them)."""
    return parse("\r".join(segments) + "\r")


def check(segments: list[str] | tuple[str, ...], profile: Profile = PROFILE, **kw: Any) -> Report:
    return Validator(profile).validate(message(*segments), **kw)


def codes(report: Report) -> list[tuple[str, int, str]]:
    """(severity, code, path) of every issue: compact to assert on."""
    return [(i.severity.value, int(i.code), i.path) for i in report.issues]


def replaced(segments: list[str], sid: str, text: str) -> list[str]:
    """``segments`` with the first segment ``sid`` replaced by ``text``."""
    out = list(segments)
    out[[s[:3] for s in out].index(sid)] = text
    return out


def test_the_test_profile_validates_its_own_samples() -> None:
    assert codes(check(ADT)) == []
    assert codes(check(ORU)) == []
