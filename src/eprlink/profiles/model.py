"""Profile data model: segments, fields, datatypes, code tables, message structures, rules.

Profiles are data, not code: the base HL7 v2.4 layer is generated from a well-kept source and the
HL7 UK, CareFlow and Trust layers are hand-written TOML patches over it. These frozen values are
what every layer file is loaded into and what the validator reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from eprlink.errors import ErrorCode

__all__ = [
    "CodeTable",
    "ComponentDef",
    "Condition",
    "DatatypeDef",
    "EventDef",
    "FieldDef",
    "MessageStructure",
    "Profile",
    "Rule",
    "RuleKind",
    "SegmentDef",
    "Severity",
    "StructureNode",
    "Usage",
]


class Usage(StrEnum):
    """HL7 usage codes (conformance profiles); B and W are kept for backward compatibility."""

    REQUIRED = "R"
    REQUIRED_IF_KNOWN = "RE"  # ITK: "required if available"; HL7 UK treats O as RE for senders
    OPTIONAL = "O"
    CONDITIONAL = "C"  # decided by a Rule
    NOT_SUPPORTED = "X"
    BACKWARD = "B"
    WITHDRAWN = "W"


class Severity(StrEnum):
    """HL7 table 0516."""

    ERROR = "E"
    WARNING = "W"
    INFO = "I"


@dataclass(frozen=True, slots=True)
class ComponentDef:
    position: int
    name: str
    datatype: str
    usage: Usage = Usage.OPTIONAL
    max_length: int | None = None
    table: str | None = None


@dataclass(frozen=True, slots=True)
class DatatypeDef:
    """A datatype; a primitive one (ST, NM, TS …) has no components."""

    name: str
    components: tuple[ComponentDef, ...] = ()
    description: str = ""

    @property
    def is_primitive(self) -> bool:
        return not self.components


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of a segment. ``max_repetitions`` None means unbounded; 1 means not repeating."""

    position: int
    name: str
    datatype: str
    usage: Usage = Usage.OPTIONAL
    max_repetitions: int | None = 1
    max_length: int | None = None
    table: str | None = None
    note: str = ""  # e.g. "[UNVERIFIED] CareFlow default: confirm with the Trust"


@dataclass(frozen=True, slots=True)
class SegmentDef:
    id: str
    name: str
    fields: tuple[FieldDef, ...] = ()

    def field(self, position: int) -> FieldDef | None:
        if 0 < position <= len(self.fields) and self.fields[position - 1].position == position:
            return self.fields[position - 1]
        for candidate in self.fields:
            if candidate.position == position:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class StructureNode:
    """A segment reference or a named group, with its cardinality (``max`` None = unbounded)."""

    name: str
    min: int = 1
    max: int | None = 1
    children: tuple[StructureNode, ...] = ()

    @property
    def is_group(self) -> bool:
        return bool(self.children)


@dataclass(frozen=True, slots=True)
class MessageStructure:
    """A message structure such as ADT_A01, written in the standard's notation in layer files."""

    id: str
    nodes: tuple[StructureNode, ...]
    notation: str = ""


@dataclass(frozen=True, slots=True)
class CodeTable:
    """A code table. ``extensible`` tables (user-defined IS tables, local codes) give warnings,
    not errors, for values outside the list."""

    id: str
    name: str
    codes: Mapping[str, str] = field(default_factory=dict)
    extensible: bool = False
    source: str = ""


class RuleKind(StrEnum):
    REQUIRE = "require"  # the element must be present (not absent, not "")
    FORBID = "forbid"  # the element must be absent
    NOT_NULL = "not_null"  # the explicit null "" is not allowed here
    VALUE_IN = "value_in"  # the value must be one of ``values``
    NHS_NUMBER = "nhs_number"  # the NHS-number repetition of a CX field must pass modulus 11
    SEGMENT_REQUIRED = "segment_required"  # a segment (``path`` is its id) must be present
    SEGMENT_FORBIDDEN = "segment_forbidden"


@dataclass(frozen=True, slots=True)
class Condition:
    """When a rule applies: an element's value is one of ``values``, or it is present/absent."""

    path: str
    values: tuple[str, ...] = ()
    present: bool | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    kind: RuleKind
    path: str
    values: tuple[str, ...] = ()
    when: Condition | None = None
    severity: Severity = Severity.ERROR
    code: ErrorCode | None = None  # default chosen by kind (101 require, 103 value_in, …)
    text: str = ""  # plain-English reason shown to integrators
    source: str = ""  # where the rule comes from (e.g. "HL7 UK A.3 3.4", "CareFlow default")
    id: str = ""  # lets a later layer replace or disable this rule


@dataclass(frozen=True, slots=True)
class EventDef:
    """A trigger event: which structure its messages use and the rules specific to it."""

    message_type: str
    trigger: str
    structure: str
    description: str = ""
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Profile:
    """The merged result of a base layer and the layers applied on top of it."""

    name: str
    version: str
    segments: Mapping[str, SegmentDef]
    datatypes: Mapping[str, DatatypeDef]
    tables: Mapping[str, CodeTable]
    structures: Mapping[str, MessageStructure]
    events: Mapping[tuple[str, str], EventDef]
    rules: tuple[Rule, ...] = ()  # rules for every message
    layers: tuple[str, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)

    def event(self, message_type: str, trigger: str) -> EventDef | None:
        return self.events.get((message_type, trigger))
