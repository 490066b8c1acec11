"""The HL7 v2 message core: pure, stdlib only, lazy and byte-exact.

``parse`` turns text or bytes into a :class:`Message`; ``message.get("PID-3[2].1")`` reads with
three states (``None`` absent, ``""`` explicit null, otherwise the unescaped value);
``message.to_er7()`` gives the text back exactly as received unless it was edited.
"""

from __future__ import annotations

from eprlink.hl7.build import create, format_timestamp, new_control_id
from eprlink.hl7.charsets import DEFAULT_CHARSETS, codec_for
from eprlink.hl7.datatypes import (
    CE,
    CWE,
    CX,
    HD,
    NM,
    PL,
    XAD,
    XCN,
    XPN,
    HL7Date,
    HL7DateTime,
    Precision,
)
from eprlink.hl7.delimiters import DEFAULT_DELIMITERS, Delimiters
from eprlink.hl7.diff import ChangeKind, Difference, diff
from eprlink.hl7.elements import NULL, Component, Field, Repetition, Subcomponent
from eprlink.hl7.errors import HL7Error, Location, ParseError, PathError
from eprlink.hl7.escape import Formatting, escape, unescape
from eprlink.hl7.message import Group, Leniency, Message
from eprlink.hl7.parser import DEFAULT_MAX_SEGMENTS, parse
from eprlink.hl7.path import Path, parse_path
from eprlink.hl7.segment import Segment
from eprlink.hl7.stream import split_messages

__all__ = [
    "CE",
    "CWE",
    "CX",
    "DEFAULT_CHARSETS",
    "DEFAULT_DELIMITERS",
    "DEFAULT_MAX_SEGMENTS",
    "HD",
    "NM",
    "NULL",
    "PL",
    "XAD",
    "XCN",
    "XPN",
    "ChangeKind",
    "Component",
    "Delimiters",
    "Difference",
    "Field",
    "Formatting",
    "Group",
    "HL7Date",
    "HL7DateTime",
    "HL7Error",
    "Leniency",
    "Location",
    "Message",
    "ParseError",
    "Path",
    "PathError",
    "Precision",
    "Repetition",
    "Segment",
    "Subcomponent",
    "codec_for",
    "create",
    "diff",
    "escape",
    "format_timestamp",
    "new_control_id",
    "parse",
    "parse_path",
    "split_messages",
    "unescape",
]
