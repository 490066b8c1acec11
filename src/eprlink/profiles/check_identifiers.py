"""Identifier checks (PID-3 and the like): nulls, authority and type, the NHS number."""

from __future__ import annotations

from eprlink.errors import ErrorCode
from eprlink.hl7 import Delimiters, unescape
from eprlink.profiles.check_primitives import NULL, null_repetition, quote
from eprlink.profiles.checks import Collector, Settings, national_number, nhs_number_problem

__all__ = ["check_identifiers"]


def check_identifiers(  # noqa: PLR0917
    raw: str,
    field: tuple[int, str, int, int, str, bool],  # line, segment, sequence, field, name, R
    d: Delimiters,
    charset: str,
    settings: Settings,
    out: Collector,
) -> None:
    """PID-3 and the like: no ``""`` identifiers where required, authority and type present,
    and the NHS number (recognised per :func:`~eprlink.profiles.checks.national_number`) valid
    by modulus 11 (ST-7). ITK's ``^^^NHS`` needs no type when ``nhs_type_optional``."""
    line, sid, sequence, position, name, required = field
    type_optional = settings.nhs_type_optional
    found_nhs = False
    for number, repetition in enumerate(raw.split(d.repetition), 1):
        if not repetition:
            continue
        where = (sid, sequence, position, number)
        if null_repetition(repetition, d):
            if required:
                out.at(
                    line, settings.required_identifier, ErrorCode.REQUIRED_FIELD_MISSING, *where,
                    name=name, expected='an identifier (a required identifier may not be "")',
                    found='a "" repetition',
                )  # fmt: skip
            continue
        parts = repetition.split(d.component)
        ident = parts[0]
        authority = parts[3] if len(parts) > 3 else ""
        if d.subcomponent is not None:
            authority = authority.split(d.subcomponent, 1)[0]
        kind = parts[4] if len(parts) > 4 else ""
        if kind and d.subcomponent is not None:
            kind = kind.split(d.subcomponent, 1)[0]
        if ident == NULL and required:
            out.at(
                line, settings.required_identifier, ErrorCode.REQUIRED_FIELD_MISSING, *where, 1,
                name=name, expected='an identifier (a required identifier may not be "")',
                found='the explicit null ""',
            )  # fmt: skip
        if not ident or ident == NULL:
            continue
        if not authority:
            out.at(
                line, settings.require_authority, ErrorCode.REQUIRED_FIELD_MISSING, *where, 4,
                name=name, expected="an assigning authority (CX-4) on every identifier",
                found="none",
            )  # fmt: skip
        national = national_number(authority, kind, settings)
        if not kind and not (type_optional and national == "nhs"):
            out.at(
                line, settings.require_type, ErrorCode.REQUIRED_FIELD_MISSING, *where, 5,
                name=name, expected="an identifier type code (CX-5) on every identifier",
                found="none",
            )  # fmt: skip
        if national == "nhs":
            found_nhs = True
            value = unescape(ident, d, charset=charset) if d.escape in ident else ident
            problem = nhs_number_problem(value)
            if problem is None and value == value[0] * len(value):
                out.at(
                    line, settings.repeated_digit_nhs_number, ErrorCode.DATA_TYPE_ERROR, *where,
                    name=name, expected="a real NHS number (not one digit repeated)",
                    found=quote(value), found_safe="one digit repeated",
                )  # fmt: skip
            elif problem is not None:
                out.at(
                    line, settings.nhs_number_check, ErrorCode.DATA_TYPE_ERROR, *where,
                    name=name,
                    expected="a 10-digit NHS number with a valid modulus 11 check digit",
                    found=quote(value), found_safe=problem,
                )  # fmt: skip
    if not found_nhs:
        out.at(
            line, settings.require_nhs_number, ErrorCode.REQUIRED_FIELD_MISSING, sid, sequence,
            position, name=name, found="none", expected=f"an NHS number (authority "
            f"{settings.nhs_authority}, type {settings.nhs_type})",
        )  # fmt: skip
