"""Property and fuzz tests: generated messages round-trip; parse raises nothing but ParseError."""

from __future__ import annotations

import contextlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eprlink.errors import EprlinkError
from eprlink.hl7 import Delimiters, Formatting, ParseError, escape, parse
from tests.conftest import SAMPLE_NAMES, sample_bytes

# A `"` delimiter would make the explicit null `""` unwritable, so no real sender uses one.
_PUNCTUATION = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum() and chr(c) != '"']


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    count = draw(st.sampled_from([4, 4, 5, 3]))
    chars = draw(
        st.lists(st.sampled_from(_PUNCTUATION), min_size=count + 1, max_size=count + 1, unique=True)
    )
    return Delimiters(
        field=chars[0],
        component=chars[1],
        repetition=chars[2],
        escape=chars[3],
        subcomponent=chars[4] if count >= 4 else None,
        truncation=chars[5] if count >= 5 else None,
    )


_values = st.one_of(
    st.just(""),
    st.just('""'),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12),
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, Delimiters, list[list[list[list[str | None]]]]]:
    """ER7 text plus the leaf values each field was built from (escaped on write)."""
    d = draw(delimiter_sets())
    header = f"MSH{d.field}{d.encoding_characters}{d.field}APP{d.field}FAC"
    segments = [header]
    fields_built: list[list[list[list[str | None]]]] = []
    for _ in range(draw(st.integers(0, 6))):
        sid = draw(st.sampled_from(["PID", "PV1", "OBX", "NTE", "ZU1", "ZPI", "EVN"]))
        fields = []
        built: list[list[list[str | None]]] = []
        for _ in range(draw(st.integers(0, 8))):
            repetitions = []
            rep_values: list[list[str | None]] = []
            for _ in range(draw(st.integers(1, 3))):
                components = draw(st.lists(_values, min_size=1, max_size=4))
                repetitions.append(
                    d.component.join(c if c == '""' else escape(c, d) for c in components)
                )
                rep_values.append(list(components))
            fields.append(d.repetition.join(repetitions))
            built.append(rep_values)
        trailing = d.field * draw(st.integers(0, 2))
        segments.append(d.field.join([sid, *fields]) + trailing)
        fields_built.append(built)
    terminator = draw(st.sampled_from(["\r", ""]))
    return "\r".join(segments) + terminator, d, fields_built


@given(messages())
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
def test_round_trip_of_generated_messages(generated: tuple[str, Delimiters, list]) -> None:  # type: ignore[type-arg]
    text, delimiters, built = generated
    message = parse(text)
    assert message.to_er7() == text
    assert message.delimiters == delimiters
    assert parse(text.encode("utf-8")).to_er7() == text
    for position, fields in enumerate(built, start=2):
        segment = message.segments()[position - 1]
        for number, repetitions in enumerate(fields, start=1):
            for r, components in enumerate(repetitions, start=1):
                for c, value in enumerate(components, start=1):
                    got = segment.get(number, r, c)
                    expected = None if value == "" else ("" if value == '""' else value)
                    if len(components) == 1 and len(repetitions) == 1 and value == '""':
                        assert segment.get(number) == ""
                    assert got == expected


@given(messages(), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=100)
def test_text_reads_and_segment_reads_agree(
    generated: tuple[str, Delimiters, list], data: st.DataObject
) -> None:  # type: ignore[type-arg]
    text, _, _ = generated
    fresh, edited = parse(text), parse(text)
    edited.set("MSH-3", "APP")  # forces reads through segment objects
    for _ in range(20):
        sid = data.draw(st.sampled_from(["MSH", "PID", "PV1", "OBX", "NTE", "ZU1", "ZPI", "EVN"]))
        occurrence = data.draw(st.sampled_from([1, 2, -1]))
        field = data.draw(st.integers(1, 10))
        rep = data.draw(st.none() | st.integers(1, 3))
        comp = data.draw(st.none() | st.integers(1, 4))
        sub = data.draw(st.none() | st.integers(1, 2)) if comp else None
        path = f"{sid}[{occurrence}]-{field}" + (f"[{rep}]" if rep else "")
        path += (f".{comp}" if comp else "") + (f".{sub}" if sub else "")
        assert fresh.raw(path) == edited.raw(path), path
        assert fresh.get(path) == edited.get(path), path


_PATHS = ["MSH-10", "MSH-9.2", "PID-3[2].4.1", "PID-5", "OBX[-1]-5", "PV1-3.1", "NTE-3", "MSH-18"]


def _exercise(data: bytes) -> None:
    try:
        message = parse(data)
    except ParseError:
        return
    for path in _PATHS:
        message.get(path)
        message.get(path, formatting=Formatting.RENDER)
    for segment in message:
        for number in range(1, min(len(segment), 30) + 1):
            segment.field(number).repetitions  # noqa: B018 - exercised for errors
    message.to_er7()
    _ = message.leniencies
    with contextlib.suppress(ParseError):
        parse(data, strict=True)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_fuzz_random_bytes_only_parse_error(data: bytes) -> None:
    _exercise(data)
    _exercise(b"MSH|^~\\&|" + data)


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_fuzz_random_text_only_parse_error(text: str) -> None:
    try:
        _exercise(("MSH|^~\\&|" + text).encode("utf-8", "surrogatepass"))
        parse("MSH" + text)
    except ParseError:
        pass


def test_fuzz_mutated_samples_only_parse_error() -> None:
    rng = random.Random(20261125)
    interesting = b'|^~\\&\r\n\x0b\x1c\x00\xff"XMSH'
    for name in SAMPLE_NAMES:
        original = sample_bytes(name)
        for _ in range(300):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(len(data))
                choice = rng.random()
                if choice < 0.4:
                    data[at] = rng.choice(interesting)
                elif choice < 0.7:
                    del data[at : at + rng.randint(1, 20)]
                else:
                    data[at:at] = bytes(rng.choice(interesting) for _ in range(rng.randint(1, 4)))
            try:
                _exercise(bytes(data))
            except EprlinkError as exc:  # pragma: no cover - reported with the input
                raise AssertionError(f"non-ParseError {exc!r} for {bytes(data)[:80]!r}") from exc
