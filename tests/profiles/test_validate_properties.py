"""Properties: validation never raises on mutations; the fast path never hides a problem."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eprlink.hl7 import DEFAULT_DELIMITERS, ParseError, parse
from eprlink.profiles.check_types import Finding, Site, SiteCompiler, fast_checker, walk
from eprlink.profiles.validate import Validator
from tests.conftest import SAMPLE_NAMES, sample_bytes
from tests.profiles.test_validate_support import ADT, DATATYPES, ORU, PROFILE, TABLES

MSA3 = re.compile(
    r"^(segment sequence error|required field missing|data type error|table value not found"
    r"|value too long|unsupported (message type|event code|processing id|version id)"
    r"|application internal error)( at [A-Z][A-Z0-9]{2}-[0-9]+(\.[0-9]+)*)?$"
)
ALPHABET = st.sampled_from([*'|^~\\&"\r0123456789ANZXE.-+ ', "\\T\\", '""', "ZZ1", "PID"])
SAMPLES = [sample_bytes(name).decode("latin-1") for name in SAMPLE_NAMES[:3]]
SAMPLES += ["\r".join(ADT) + "\r", "\r".join(ORU) + "\r"]
VALIDATOR = Validator(PROFILE)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 4))
        insert = "".join(draw(st.lists(ALPHABET, max_size=4)))
        text = text[:position] + insert + text[position + cut :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_validate_never_raises_on_mutations(text: str) -> None:
    try:
        message = parse(text)
    except ParseError:
        return
    report = VALIDATOR.validate(message)
    assert report.ack_code() in ("AA", "AE", "AR")
    for issue in report.issues:
        assert MSA3.match(issue.msa_text), issue.msa_text
        assert issue.text and issue.safe_text
    # and against the packaged profile, when it loads
    assert _real().validate(message).ack_code() in ("AA", "AE", "AR")


_REAL: list[Validator] = []


def _real() -> Validator:
    if not _REAL:
        from eprlink.profiles import load_profile

        _REAL.append(Validator(load_profile()))
    return _REAL[0]


COMPILER = SiteCompiler(DATATYPES, TABLES)
SITES = [
    COMPILER.site("id", "CX"),
    COMPILER.site("name", "XPN", max_length=12),
    COMPILER.site("time", "TS"),
    COMPILER.site("number", "NM", max_length=6),
    COMPILER.site("class", "IS", table="0004"),
    COMPILER.site("location", "PL"),
    COMPILER.site("range", "DR"),
    COMPILER.site("type", "MSG", table="0076"),
]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SITES), st.lists(ALPHABET, min_size=1, max_size=12).map("".join))
def test_fast_path_agrees_with_the_detailed_walk(site: Site, value: str) -> None:
    value = value.replace("|", "").replace("~", "").replace("\r", "")
    if not value or value == '""':
        return
    d = DEFAULT_DELIMITERS
    fast = fast_checker(site, 0, d)
    findings: list[Finding] = []
    walk(site, value, 0, d, "utf-8", findings)
    if findings:  # neither fast form may pass a value the detailed walk finds fault with
        assert fast is not None and not fast(value), (value, findings)
        assert not walk(site, value, 0, d, "utf-8", None)
