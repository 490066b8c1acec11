"""Profiles as data (HL7 v2.4 base, HL7 UK, CareFlow, Trust layers) and validation against them."""

from __future__ import annotations

from eprlink.profiles.errors import ProfileError
from eprlink.profiles.loader import BASE, DEFAULT_LAYERS, layer_path, load_profile
from eprlink.profiles.model import (
    CodeTable,
    ComponentDef,
    Condition,
    DatatypeDef,
    EventDef,
    FieldDef,
    MessageStructure,
    Profile,
    Rule,
    RuleKind,
    SegmentDef,
    Severity,
    StructureNode,
    Usage,
)
from eprlink.profiles.notation import parse_structure
from eprlink.profiles.report import Issue, Report
from eprlink.profiles.validate import Validator, validate, validator_for

__all__ = [
    "BASE",
    "DEFAULT_LAYERS",
    "CodeTable",
    "ComponentDef",
    "Condition",
    "DatatypeDef",
    "EventDef",
    "FieldDef",
    "Issue",
    "MessageStructure",
    "Profile",
    "ProfileError",
    "Report",
    "Rule",
    "RuleKind",
    "SegmentDef",
    "Severity",
    "StructureNode",
    "Usage",
    "Validator",
    "layer_path",
    "load_profile",
    "parse_structure",
    "validate",
    "validator_for",
]
