"""Generate eprlink's base profile layer, ``src/eprlink/profiles/data/hl7v2.4.json``.

The base layer holds facts of the HL7 v2.4 standard only: segments and their fields, datatypes
and their components, HL7 and user-defined code tables, message structures, and the trigger
event to message structure mapping. Everything except the event table (``EVENTS`` below: tables
0003 and 0354 of the standard) comes from the v2.4 data modules that hl7apy ships
(``hl7apy.v2_4.segments``, ``fields``, ``datatypes``, ``groups``, ``messages``, ``tables``).
This script only reshapes them: names become words (``PATIENT_CLASS`` → ``Patient Class``),
cardinalities become usage and repetitions, and whether a table is extensible is read from how
its elements are typed (see ``tables``). UK and supplier rules belong to the layers on top.

hl7apy is not an eprlink dependency, so run this script from its own virtual environment::

    python3 -m venv /tmp/hv && /tmp/hv/bin/pip install hl7apy==1.3.5
    /tmp/hv/bin/python tools/gen_hl7v24.py            # rewrite the JSON file
    /tmp/hv/bin/python tools/gen_hl7v24.py --check    # exit 1 if the file is out of date

The output is deterministic (sorted keys, one field, component or event per line), so a change
in hl7apy or in this script shows up as a readable diff. Every generated structure string is
parsed back with ``eprlink.profiles.notation.parse_structure`` (imported from this working
tree) and compared with hl7apy's own tree; any difference stops the script.

What hl7apy 1.3.5 does not carry, and this script therefore leaves out rather than invents:
field and component lengths (hl7apy stores -1 for every element of every version, so
``max_length`` is null), segment names and datatype descriptions, and the descriptions of
table codes (hl7apy ships code values only, so each code maps to an empty description).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from hl7apy import v2_4 as hl7

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "src" / "eprlink" / "profiles" / "data" / "hl7v2.4.json"
HL7APY_VERSION = "1.3.5"

# hl7apy's element shapes (lists or tuples), where spec is
# (kind, children|None, datatype, NAME, table|None, max_length) and max -1 means unbounded:
#   field of a segment:      (name, spec, (min, max), "FIE")
#   component of a datatype: (name, spec, (min, max), "CMP")
#   member of a structure:   (name, definition, (min, max), "SEG"|"GRP")
Entry = Sequence[Any]

# Choice constructs in hl7apy's v2.4 data, and a group hl7apy leaves empty (the query-specific
# segments of QBP_Q13). The structure notation has no way to write "one of these segments" or
# "any segments", so structures that use them are left out; they are listed here so that a new
# one in hl7apy stops the script instead of being converted wrongly.
CHOICE_SEGMENTS = frozenset({"ANYHL7SEGMENT"})
CHOICE_GROUPS = frozenset(
    {
        "ORM_O01_CHOICE",
        "ORR_O02_ORDER_DETAIL",
        "OSR_Q06_CHOICE",
        "PGL_PC6_OBRRXO_SUPPGRP",
        "PPG_PCG_OBRRXO_SUPPGRP",
        "PPP_PCB_CHOICE",
        "PPR_PC1_CHOICE",
        "PPT_PCL_CHOICE",
        "PPV_PCA_CHOICE",
        "PRR_PC5_CHOICE",
        "PTR_PCF_CHOICE",
    }
)
SKIPPED_STRUCTURES = frozenset(
    {
        "MFN_M03",
        "ORM_O01",
        "ORR_O02",
        "OSR_Q06",
        "PGL_PC6",
        "PPG_PCG",
        "PPP_PCB",
        "PPR_PC1",
        "PPT_PCL",
        "PPV_PCA",
        "PRR_PC5",
        "PTR_PCF",
        "QBP_Q13",
    }
)
EMPTY_GROUPS = frozenset({"QBP_Q13_QBP"})

# Entries of hl7apy's table 0357 that are headings of the printed table, not codes.
NOT_CODES: Mapping[str, frozenset[str]] = {
    "HL70357": frozenset({"Errors", "Rejection", "Success"}),
}

# Trigger events and the structure their messages use: HL7 v2.4 tables 0003 (event type,
# with its description) and 0354 (message structure). hl7apy has the structures but not this
# mapping; it agrees with HAPI's v2.4 event map. Every trigger is checked against hl7apy's
# table 0003 and every structure against the structures generated here.
_ADT: tuple[tuple[str, str, str], ...] = (
    ("A01", "ADT_A01", "Admit/visit notification"),
    ("A02", "ADT_A02", "Transfer a patient"),
    ("A03", "ADT_A03", "Discharge/end visit"),
    ("A04", "ADT_A01", "Register a patient"),
    ("A05", "ADT_A05", "Pre-admit a patient"),
    ("A06", "ADT_A06", "Change an outpatient to an inpatient"),
    ("A07", "ADT_A06", "Change an inpatient to an outpatient"),
    ("A08", "ADT_A01", "Update patient information"),
    ("A09", "ADT_A09", "Patient departing - tracking"),
    ("A10", "ADT_A09", "Patient arriving - tracking"),
    ("A11", "ADT_A09", "Cancel admit/visit notification"),
    ("A12", "ADT_A09", "Cancel transfer"),
    ("A13", "ADT_A01", "Cancel discharge/end visit"),
    ("A14", "ADT_A05", "Pending admit"),
    ("A15", "ADT_A15", "Pending transfer"),
    ("A16", "ADT_A16", "Pending discharge"),
    ("A17", "ADT_A17", "Swap patients"),
    ("A18", "ADT_A18", "Merge patient information"),
    ("A20", "ADT_A20", "Bed status update"),
    ("A21", "ADT_A21", "Patient goes on a leave of absence"),
    ("A22", "ADT_A21", "Patient returns from a leave of absence"),
    ("A23", "ADT_A21", "Delete a patient record"),
    ("A24", "ADT_A24", "Link patient information"),
    ("A25", "ADT_A21", "Cancel pending discharge"),
    ("A26", "ADT_A21", "Cancel pending transfer"),
    ("A27", "ADT_A21", "Cancel pending admit"),
    ("A28", "ADT_A05", "Add person information"),
    ("A29", "ADT_A21", "Delete person information"),
    ("A30", "ADT_A30", "Merge person information"),
    ("A31", "ADT_A05", "Update person information"),
    ("A32", "ADT_A21", "Cancel patient arriving - tracking"),
    ("A33", "ADT_A21", "Cancel patient departing - tracking"),
    ("A34", "ADT_A30", "Merge patient information - patient ID only"),
    ("A35", "ADT_A30", "Merge patient information - account number only"),
    ("A36", "ADT_A30", "Merge patient information - patient ID and account number"),
    ("A37", "ADT_A37", "Unlink patient information"),
    ("A38", "ADT_A38", "Cancel pre-admit"),
    ("A39", "ADT_A39", "Merge person - patient ID"),
    ("A40", "ADT_A39", "Merge patient - patient identifier list"),
    ("A41", "ADT_A39", "Merge account - patient account number"),
    ("A42", "ADT_A39", "Merge visit - visit number"),
    ("A43", "ADT_A43", "Move patient information - patient identifier list"),
    ("A44", "ADT_A43", "Move account information - patient account number"),
    ("A45", "ADT_A45", "Move visit information - visit number"),
    ("A46", "ADT_A30", "Change patient ID"),
    ("A47", "ADT_A30", "Change patient identifier list"),
    ("A48", "ADT_A30", "Change alternate patient ID"),
    ("A49", "ADT_A30", "Change patient account number"),
    ("A50", "ADT_A50", "Change visit number"),
    ("A51", "ADT_A50", "Change alternate visit ID"),
    ("A52", "ADT_A52", "Cancel leave of absence for a patient"),
    ("A53", "ADT_A52", "Cancel patient returns from a leave of absence"),
    ("A54", "ADT_A54", "Change attending doctor"),
    ("A55", "ADT_A52", "Cancel change attending doctor"),
    ("A60", "ADT_A60", "Update allergy information"),
    ("A61", "ADT_A61", "Change consulting doctor"),
    ("A62", "ADT_A61", "Cancel change consulting doctor"),
)
_SIU: tuple[tuple[str, str], ...] = (
    ("S12", "Notification of new appointment booking"),
    ("S13", "Notification of appointment rescheduling"),
    ("S14", "Notification of appointment modification"),
    ("S15", "Notification of appointment cancellation"),
    ("S16", "Notification of appointment discontinuation"),
    ("S17", "Notification of appointment deletion"),
    ("S18", "Notification of addition of service/resource on appointment"),
    ("S19", "Notification of modification of service/resource on appointment"),
    ("S20", "Notification of cancellation of service/resource on appointment"),
    ("S21", "Notification of discontinuation of service/resource on appointment"),
    ("S22", "Notification of deletion of service/resource on appointment"),
    ("S23", "Notification of blocked schedule time slot(s)"),
    ("S24", "Notification of opened (unblocked) schedule time slot(s)"),
    ("S26", "Notification that patient did not show up for scheduled appointment"),
)
_REFERRAL: tuple[tuple[str, str], ...] = (
    ("I12", "Patient referral"),
    ("I13", "Modify patient referral"),
    ("I14", "Cancel patient referral"),
    ("I15", "Patient referral status inquiry"),
)
_MASTER_FILES: tuple[tuple[str, str], ...] = (
    ("M02", "Master file - staff practitioner"),
    ("M05", "Patient location master file"),
)
EVENTS: tuple[tuple[str, str, str, str], ...] = (
    *(("ADT", trigger, structure, text) for trigger, structure, text in _ADT),
    ("QRY", "A19", "QRY_A19", "Patient query"),
    ("ADR", "A19", "ADR_A19", "Patient query response"),
    *(("SIU", trigger, "SIU_S12", text) for trigger, text in _SIU),
    *(("REF", trigger, "REF_I12", text) for trigger, text in _REFERRAL),
    *(("RRI", trigger, "RRI_I12", text) for trigger, text in _REFERRAL),
    *(("MFN", trigger, f"MFN_{trigger}", text) for trigger, text in _MASTER_FILES),
    *(("MFK", trigger, "MFK_M01", f"Acknowledgment: {text}") for trigger, text in _MASTER_FILES),
    ("OMG", "O19", "OMG_O19", "General clinical order"),
    ("ORG", "O20", "ORG_O20", "General clinical order response"),
    ("OML", "O21", "OML_O21", "Laboratory order"),
    ("ORL", "O22", "ORL_O22", "General laboratory order response to any OML"),
    ("ORU", "R01", "ORU_R01", "Unsolicited transmission of an observation message"),
    ("OUL", "R21", "OUL_R21", "Unsolicited laboratory observation"),
)
ACK_DESCRIPTION = "General acknowledgment"
# hl7apy's copy of table 0003 lacks O22, though its v2.4 data has the ORL_O22 structure.
NOT_IN_TABLE_0003 = frozenset({"O22"})

_ACRONYMS = frozenset(
    {
        "CPU", "DEA", "DMV", "DR", "DRG", "EQL", "HCFA", "HL7", "ID", "III", "IRB", "JR", "LOA",
        "MD", "MFN", "OBX", "OCE", "PAC", "PSRO", "SI", "SSN", "UB", "UB92", "UR", "VIP", "VT",
    }
)  # fmt: skip
_SMALL_WORDS = frozenset({"AN", "AND", "AT", "BY", "FOR", "IN", "OF", "ON", "OR", "THE", "TO"})
_HYPHEN_PREFIXES = frozenset({"E", "NON", "PRE", "RE", "SEMI", "SUB"})
_TABLE_ID = re.compile(r"HL7\d{4}")


class GenerationError(Exception):
    """hl7apy's data is not in the shape this script converts; nothing is written."""


class _UnwritableError(GenerationError):
    """A structure uses a choice or an empty group, which the notation cannot write."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise GenerationError(what)


# --- names -------------------------------------------------------------------------------------


def _word(word: str, first: bool) -> str:
    if word in _ACRONYMS:
        return word
    if word == "IDS":
        return "IDs"
    if word in _SMALL_WORDS and not first:
        return word.lower()
    return "/".join(part.capitalize() for part in word.split("/"))


def human_name(raw: str, *, segments: frozenset[str] = frozenset(), suffix: str = "") -> str:
    """``PATIENT_CLASS`` → ``Patient Class``; ``SET_ID_PV1`` → ``Set ID - PV1``.

    ``DATE_TIME`` is written ``Date/Time`` as the standard prints it; a last word naming a
    segment becomes `` - XXX``; ``suffix`` is a datatype hl7apy appended to tell same-named
    components apart (``IDENTIFIER_ST``), written `` (ST)``.
    """
    words = [w for w in raw.replace("DATE_TIME", "DATE/TIME").split("_") if w]
    if not words:
        return ""
    tail = ""
    if suffix and len(words) > 1 and words[-1] == suffix:
        words.pop()
        tail = f" ({suffix})"
    elif len(words) > 1 and words[-1] in segments:
        tail = f" - {words.pop()}"
    parts: list[str] = []
    close = ""
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "E" and following == "G":
            parts.append("(e.g.")
            close = ")"
            index += 2
            continue
        if word == "S" and parts:
            if following in ("", "WHERE"):
                parts[-1] += "(s)"
            else:
                parts[-1] += "'s"
            index += 1
            continue
        if len(word) == 1 and len(following) == 1 and following != "S" and word.isalpha():
            parts.append(f"{word}/{following}")
            index += 2
            continue
        joins = word in _HYPHEN_PREFIXES or (word == "CO" and following in ("PAY", "INSURANCE"))
        if joins and following:
            right = following if following in _ACRONYMS else following.capitalize()
            parts.append(f"{word.capitalize()}-{right}")
            index += 2
            continue
        parts.append(_word(word, not parts))
        index += 1
    return " ".join(parts) + close + tail


# --- datatypes, segments, tables ----------------------------------------------------------------


def _max(value: int) -> int | None:
    _require(value == -1 or value >= 1, f"unexpected maximum cardinality {value}")
    return None if value == -1 else value


def _length(value: int | None) -> int | None:
    return None if value is None or value < 0 else value


def _position(name: str, prefix: str, expected: int) -> int:
    head, _, number = name.rpartition("_")
    _require(head == prefix and number.isdigit(), f"{name}: not named {prefix}_<n>")
    _require(int(number) == expected, f"{name}: expected position {expected}")
    return expected


def datatypes() -> dict[str, dict[str, Any]]:
    structs: Mapping[str, Sequence[Entry]] = hl7.DATATYPES_STRUCTS
    names: set[str] = {entry[1][3] for children in structs.values() for entry in children}
    referenced = {f[2] for f in hl7.FIELDS.values()} | {d[2] for d in hl7.DATATYPES.values()}
    primitives = (set(hl7.get_base_datatypes()) | referenced) - set(structs)
    every = set(structs) | primitives
    result: dict[str, dict[str, Any]] = {}
    for name, children in structs.items():
        components: list[dict[str, Any]] = []
        for index, (key, spec, (low, high), kind) in enumerate(children, start=1):
            _require(kind == "CMP" and high == 1, f"{key}: unexpected component {kind} {high}")
            datatype, raw = spec[2], spec[3]
            # hl7apy appends the datatype to names it uses with several datatypes
            base = raw.removesuffix(f"_{datatype}")
            tagged = base != raw and (
                datatype != "ID"  # "VERSION_ID" is the Version ID; "TYPE_OF_ID_NUMBER_IS" is tagged
                or base in names
                or any(f"{base}_{d}" in names for d in every - {datatype})
            )
            components.append(
                {
                    "position": _position(key, name, index),
                    "name": human_name(raw, suffix=datatype if tagged else ""),
                    "datatype": datatype,
                    "usage": "R" if low >= 1 else "O",
                    "max_length": _length(spec[5]),
                    "table": spec[4],
                }
            )
        result[name] = {"components": components}
    for name in primitives:
        result[name] = {"components": []}
    return result


def segments() -> dict[str, dict[str, Any]]:
    ids = frozenset(hl7.SEGMENTS)
    result: dict[str, dict[str, Any]] = {}
    for sid, (kind, children) in hl7.SEGMENTS.items():
        if kind == "choice":
            _require(sid in CHOICE_SEGMENTS, f"new choice segment {sid} in hl7apy")
            continue
        _require(kind == "sequence", f"{sid}: unexpected segment kind {kind}")
        fields: list[dict[str, Any]] = []
        for index, (key, spec, (low, high), element) in enumerate(children, start=1):
            _require(element == "FIE", f"{key}: not a field")
            fields.append(
                {
                    "position": _position(key, sid, index),
                    "name": human_name(spec[3], segments=ids),
                    "datatype": spec[2],
                    "usage": "R" if low >= 1 else "O",
                    "max_repetitions": _max(high),
                    "max_length": _length(spec[5]),
                    "table": spec[4],
                }
            )
        result[sid] = {"fields": fields}
    return result


def _value_datatype(datatype: str) -> str:
    """The datatype of a coded element's value: the first component's, for a composite."""
    while datatype in hl7.DATATYPES_STRUCTS:
        datatype = hl7.DATATYPES_STRUCTS[datatype][0][1][2]
    return datatype


def tables() -> dict[str, dict[str, Any]]:
    """Code tables. HL7-defined tables (coded as ID) are closed; the rest are extensible.

    hl7apy does not say which tables are user-defined, so it is read from how the elements that
    use a table are typed: ID for HL7-defined, IS for user-defined. Tables used only in coded
    composites (CE and the like, where other coding systems are allowed) or by no element, and
    tables whose list holds ranges or placeholders (``2 ...``, ``<null>``) rather than every
    code, are extensible too.
    """
    kinds: dict[str, set[str]] = {}
    for spec in (*hl7.FIELDS.values(), *hl7.DATATYPES.values()):
        if spec[4] is not None:
            kinds.setdefault(spec[4], set()).add(_value_datatype(spec[2]))
    result: dict[str, dict[str, Any]] = {}
    for tid, (name, values) in hl7.TABLES.items():
        _require(_TABLE_ID.fullmatch(tid) is not None, f"table id {tid} is not HL7nnnn")
        dropped = NOT_CODES.get(tid, frozenset())
        _require(dropped <= set(values), f"{tid}: expected headings {sorted(dropped)}")
        codes = {str(code): "" for code in values if code not in dropped}
        partial = any("..." in code or "<" in code for code in codes)
        closed = "ID" in kinds.get(tid, set()) and "IS" not in kinds[tid] and not partial
        result[tid] = {"name": name, "extensible": not closed, "codes": codes}
    return result


# --- structures ----------------------------------------------------------------------------------

Tree = tuple[tuple[str, int, int | None, "Tree"], ...]


def _children(definition: Entry, where: str) -> Sequence[Entry]:
    kind = definition[0]
    children: Sequence[Entry] = definition[1]
    _require(kind == "sequence", f"{where}: {kind} is not a sequence")
    return children


def _convert(children: Sequence[Entry], prefix: str) -> tuple[list[str], Tree]:
    """The notation items and the expected tree for one sequence of hl7apy children."""
    items: list[str] = []
    tree: list[tuple[str, int, int | None, Tree]] = []
    for name, _, (low, high), element in children:
        _require((low, high) in ((0, 1), (1, 1), (0, -1), (1, -1)), f"{name}: ({low}, {high})")
        top = _max(high)
        subtree: Tree = ()
        if element == "SEG":
            if name in CHOICE_SEGMENTS:
                raise _UnwritableError(f"{prefix}: choice segment {name}")
            _require(name in hl7.SEGMENTS, f"{prefix}: unknown segment {name}")
            body = label = name
        else:
            _require(element == "GRP", f"{name}: unexpected element {element}")
            if name in CHOICE_GROUPS:
                raise _UnwritableError(f"{prefix}: choice group {name}")
            _require(name.startswith(f"{prefix}_"), f"group {name} is not named {prefix}_*")
            _require((low, high) != (1, 1), f"{name}: a required single group has no notation")
            label = name.removeprefix(f"{prefix}_")
            members = _children(hl7.GROUPS[name], name)
            if not members:
                raise _UnwritableError(f"{prefix}: empty group {name}")
            inner, subtree = _convert(members, prefix)
            body = f"{label}: {' '.join(inner)}"
        opening, closing = {
            (1, 1): ("", ""),
            (0, 1): ("[", "]"),
            (1, None): ("{", "}"),
            (0, None): ("[{", "}]"),
        }[(low, top)]
        items.append(f"{opening}{body}{closing}")
        tree.append((label, low, top, subtree))
    return items, tuple(tree)


def _shape(nodes: Iterable[Any]) -> Tree:
    return tuple((n.name, n.min, n.max, _shape(n.children)) for n in nodes)


def _notation_parser() -> Callable[[str], Iterable[Any]]:
    """``parse_structure`` from this working tree (eprlink's notation uses the stdlib only)."""
    source = str(REPO / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    from eprlink.profiles.notation import parse_structure  # noqa: PLC0415

    return parse_structure


def structures() -> dict[str, str]:
    parse = _notation_parser()
    choice_groups = {g for g, (kind, _) in hl7.GROUPS.items() if kind == "choice"}
    _require(choice_groups == CHOICE_GROUPS, f"hl7apy's choice groups changed: {choice_groups}")
    empty = {g for g, (_, members) in hl7.GROUPS.items() if not members}
    _require(empty == EMPTY_GROUPS, f"hl7apy's empty groups changed: {sorted(empty)}")
    result: dict[str, str] = {}
    skipped: set[str] = set()
    for sid, definition in hl7.MESSAGES.items():
        try:
            items, expected = _convert(_children(definition, sid), sid)
        except _UnwritableError:
            skipped.add(sid)
            continue
        notation = " ".join(items)
        try:
            parsed = _shape(parse(notation))
        except Exception as exc:  # eprlink's ProfileError, reported with the structure
            raise GenerationError(f"{sid}: {notation!r} does not parse: {exc}") from exc
        _require(parsed == expected, f"{sid}: {notation!r} does not parse to hl7apy's tree")
        result[sid] = notation
    _require(skipped == SKIPPED_STRUCTURES, f"unwritable structures changed: {sorted(skipped)}")
    return result


def events(known: Mapping[str, str]) -> list[dict[str, str]]:
    triggers = set(hl7.TABLES["HL70003"][1])
    message_types = set(hl7.TABLES["HL70076"][1])
    result: list[dict[str, str]] = []
    for message_type, trigger, structure, text in EVENTS:
        listed = trigger in triggers
        _require(listed != (trigger in NOT_IN_TABLE_0003), f"{trigger}: hl7apy's table 0003")
        _require(message_type in message_types, f"{message_type} is not in table 0076")
        _require(structure in known, f"{message_type}^{trigger}: no structure {structure}")
        result.append(
            {"type": message_type, "trigger": trigger, "structure": structure, "description": text}
        )
    _require("ACK" in known, "hl7apy has no ACK structure")
    acknowledged = sorted({trigger for _, trigger, _, _ in EVENTS})
    for trigger in ["", *acknowledged]:
        result.append(
            {"type": "ACK", "trigger": trigger, "structure": "ACK", "description": ACK_DESCRIPTION}
        )
    keys = [(e["type"], e["trigger"]) for e in result]
    _require(len(keys) == len(set(keys)), "an event is listed twice")
    return sorted(result, key=lambda e: (e["type"], e["trigger"]))


# --- output --------------------------------------------------------------------------------------


def build() -> dict[str, Any]:
    installed = metadata.version("hl7apy")
    _require(installed == HL7APY_VERSION, f"needs hl7apy {HL7APY_VERSION}, found {installed}")
    known = structures()
    return {
        "layer": {
            "name": "hl7v2.4",
            "version": "2.4",
            "description": (
                f"HL7 v2.4 base layer, generated by tools/gen_hl7v24.py from hl7apy "
                f"{HL7APY_VERSION} (hl7apy.v2_4); do not edit by hand."
            ),
        },
        "datatypes": datatypes(),
        "segments": segments(),
        "tables": tables(),
        "structures": known,
        "events": events(known),
    }


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def dump(value: Any, indent: int = 0, key: str = "") -> str:
    """JSON with sorted keys: a flat object (a field, a component, an event) on one line; codes,
    structures and everything else one entry per line."""
    flat = isinstance(value, dict) and all(map(_scalar, value.values()))
    compact = flat and key not in ("codes", "structures")
    if _scalar(value) or compact or not value:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    pad = " " * (indent + 1)
    if isinstance(value, list):
        lines = [pad + dump(item, indent + 1) for item in value]
        return "[\n" + ",\n".join(lines) + "\n" + " " * indent + "]"
    lines = [
        f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump(value[k], indent + 1, k)}"
        for k in sorted(value)
    ]
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSON")
    parser.add_argument("--check", action="store_true", help="compare with the file, write none")
    args = parser.parse_args(argv)
    try:
        text = dump(build()) + "\n"
    except GenerationError as exc:
        print(f"gen_hl7v24: {exc}", file=sys.stderr)
        return 2
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"gen_hl7v24: {output} is out of date; run tools/gen_hl7v24.py", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"gen_hl7v24: wrote {output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
