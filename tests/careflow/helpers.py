"""Shared helpers for the anonymiser tests: a key, message shapes, a minimal ADT."""

from __future__ import annotations

from datetime import date

from eprlink.careflow import Anonymiser
from eprlink.hl7 import Message, parse

KEY = "test key: not for production use"
Leaf = tuple[str, str]  # (path, state) with state "absent", "null" or "value"


def anonymise(text: str | bytes, key: str = KEY, **options: object) -> Message:
    return Anonymiser(key, **options).anonymise(parse(text))  # type: ignore[arg-type]


def leaves(message: Message) -> list[Leaf]:
    """Every leaf position with its three-state reading: the message's shape."""
    d = message.delimiters
    out: list[Leaf] = []
    for s, segment in enumerate(message):
        parts = segment.to_er7().split(d.field)
        for f, raw in enumerate(parts):
            for r, rep in enumerate(raw.split(d.repetition)):
                for c, comp in enumerate(rep.split(d.component)):
                    for u, sub in enumerate(comp.split(d.subcomponent or "\x00")):
                        state = "absent" if not sub else "null" if sub == '""' else "value"
                        out.append((f"{s}.{f}.{r}.{c}.{u}", state))
    return out


def days_between(a: str, b: str) -> int:
    return (
        date(int(a[:4]), int(a[4:6]), int(a[6:8])) - date(int(b[:4]), int(b[4:6]), int(b[6:8]))
    ).days


MINIMAL = (
    "MSH|^~\\&|PAS|RZZ|||{msh7}||ADT^A08^ADT_A01|CTRL0001|P|2.4\r"
    "EVN||{evn2}\r"
    "PID|1||RZZ1000001^^^RZZ^MR~{nhs}^^^NHS^NH||HARGREAVES^ELEANOR^^^MRS^^L||{dob}|2\r"
)


def minimal(
    *,
    nhs: str = "9990000018",
    dob: str = "19620314",
    msh7: str = "20250301093000",
    evn2: str = "202503010925+0100",
    extra: str = "",
) -> str:
    return MINIMAL.format(nhs=nhs, dob=dob, msh7=msh7, evn2=evn2) + extra
