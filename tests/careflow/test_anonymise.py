"""The anonymiser on the sample messages: consistent, structure-preserving, nothing left behind."""

from __future__ import annotations

import re

import pytest
from nhs_number.validate import is_valid

from eprlink.careflow import DEFAULT_DATE_SHIFT_DAYS_RANGE, Anonymiser
from eprlink.careflow.fields import CATALOGUE
from eprlink.hl7 import Message, ParseError, parse
from tests.careflow.helpers import KEY, anonymise, days_between, leaves
from tests.conftest import SAMPLE_NAMES, sample_bytes


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_deterministic_across_instances_and_keys(name: str) -> None:
    data = sample_bytes(name)
    one, two = anonymise(data), anonymise(data)
    assert one.to_er7() == two.to_er7()
    assert anonymise(data, key="another key entirely").to_er7() != one.to_er7()


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_input_untouched_and_output_parses_with_the_same_shape(name: str) -> None:
    data = sample_bytes(name)
    message = parse(data)
    before = message.to_er7()
    out = Anonymiser(KEY).anonymise(message)
    assert message.to_er7() == before
    assert out.to_er7() != before
    again = parse(out.to_bytes())
    assert again.to_er7() == out.to_er7()
    assert again.delimiters == message.delimiters
    assert [s.id for s in again] == [s.id for s in message]
    assert leaves(again) == leaves(message)  # "" and absent elements exactly where they were
    try:
        parse(data, strict=True)
    except ParseError:
        return  # only inputs that pass strict parsing must still pass it
    parse(out.to_bytes(), strict=True)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_fields_outside_the_catalogue_are_byte_exact(name: str) -> None:
    message = parse(sample_bytes(name))
    out = Anonymiser(KEY).anonymise(message)
    for before, after in zip(message, out, strict=True):
        if before.id.startswith("Z"):
            continue
        for number in range(3 if before.is_header else 1, len(before) + 1):
            if (before.id, number) not in CATALOGUE:
                assert before.raw(number) == after.raw(number), f"{before.id}-{number}"


def _originals(message: Message) -> tuple[set[str], set[str]]:
    """(values that must not appear anywhere, name and address words that must not remain)."""
    anywhere: set[str] = set()
    words: set[str] = set()
    d = message.delimiters
    for segment in message.segments("PID") + message.segments("NK1"):
        fields = {"PID": (3, 5, 6, 7, 9, 11, 13, 14), "NK1": (2, 4, 5, 6)}[segment.id]
        for number in fields:
            for rep in (segment.raw(number) or "").split(d.repetition):
                comps = rep.split(d.component)
                if number in (3, 7):
                    anywhere.add(comps[0])
                elif (segment.id, number) in (("PID", 13), ("PID", 14), ("NK1", 5), ("NK1", 6)):
                    anywhere.update(c for i, c in enumerate(comps) if i in (0, 3))
                elif (segment.id, number) in (("PID", 11), ("NK1", 4)):
                    if len(comps) > 4:
                        anywhere.add(comps[4])
                    words.update(c.upper() for c in comps[:4])
                else:
                    for comp in comps[:3]:
                        words.update(w.upper() for w in re.findall(r"[A-Za-z']+", comp))
    anywhere.discard("")
    anywhere.discard('""')
    words.discard("")
    words.discard('""')
    return anywhere, words


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_nothing_identifying_survives(name: str) -> None:
    message = parse(sample_bytes(name))
    out = Anonymiser(KEY).anonymise(message)
    text = out.to_er7()
    anywhere, words = _originals(message)
    assert anywhere, "the fixture should carry identifying data"
    for value in anywhere:
        assert value.upper() not in text.upper(), value
    d = out.delimiters
    for segment in out.segments("PID") + out.segments("NK1"):
        fields = {"PID": (5, 6, 9, 11), "NK1": (2, 4)}[segment.id]
        for number in fields:
            for rep in (segment.raw(number) or "").split(d.repetition):
                for comp in rep.split(d.component)[:5]:
                    assert comp.upper() not in words, comp
                    for word in re.findall(r"[A-Za-z']+", comp):
                        assert word.upper() not in words, word


A01, A08 = sample_bytes("adt_a01.hl7"), sample_bytes("adt_a08.hl7")


def test_same_patient_same_pseudonyms_and_shift_across_messages() -> None:
    anonymiser = Anonymiser(KEY)
    one, two = anonymiser.anonymise(parse(A01)), anonymiser.anonymise(parse(A08))
    assert one.get("PID-3[1].1") == two.get("PID-3[1].1")
    assert one.get("PID-3[2].1") == two.get("PID-3[2].1")
    assert one.get("PID-5[1]") == two.get("PID-5")
    assert one.get("PID-7") == two.get("PID-7")
    assert one.get("PV1-19.1") == two.get("PV1-19.1")
    shift_one = days_between(one.get("MSH-7") or "", parse(A01).get("MSH-7") or "")
    shift_two = days_between(two.get("MSH-7") or "", parse(A08).get("MSH-7") or "")
    assert shift_one == shift_two
    assert DEFAULT_DATE_SHIFT_DAYS_RANGE[0] <= shift_one <= DEFAULT_DATE_SHIFT_DAYS_RANGE[1]
    assert days_between(one.get("PID-7") or "", "19750412") == shift_one
    assert anonymiser.counts.messages == 2
    # The next of kin shares the patient's surname, and so does the pseudonym.
    assert one.get("NK1-2.1") == one.get("PID-5[1].1")


def test_kinds_of_replacement_on_the_admission() -> None:
    out = anonymise(A01)
    nhs = out.get("PID-3[1].1") or ""
    assert nhs.startswith("999") and is_valid(nhs)
    assert out.get("PID-3[1].4") == "NHS" and out.get("PID-3[1].5") == "NH"
    assert re.fullmatch(r"[A-Z]{2}\d{7}", out.get("PID-3[2].1") or "")
    assert out.get("PID-3[2].4") == "ZZ1" and out.get("PID-3[2].5") == "MR"
    assert out.get("PID-5[1].5") == "Mrs" and out.get("PID-5[1].7") == "L"
    assert out.get("PID-5[2].5") == "Miss" and out.get("PID-5[2].7") == "M"
    assert (out.get("PID-11[1].5") or "").startswith("XX")
    assert out.get("PID-11[1].6") == "GBR" and out.get("PID-11[1].7") == "H"
    assert re.fullmatch(r"01632960\d{3}", out.get("PID-13[1].1") or "")
    assert out.get("PID-13[1].2") == "PRN" and out.get("PID-13[1].3") == "PH"
    assert re.fullmatch(r"07700900\d{3}", out.get("PID-13[2].1") or "")
    assert (out.get("PID-13[3].4") or "").endswith("@example.com")
    assert out.get("PID-8") == "F"  # sex is not identifying on its own: kept
    # Free text replaced, codes kept.
    assert (out.get("PV2-12") or "").startswith("[redacted")
    assert out.raw("PV2-3") == "R07.4^Chest pain, unspecified^I10"
    assert out.raw("AL1-3") == "764146007^Penicillin^SCT"
    assert out.get("OBX-5") == "168"
    # Control ids are kept unless asked for; staff names likewise.
    assert out.get("MSH-10") == "PAS20261123101502000123"
    assert out.get("EVN-5.2") == "PORTER"


def test_free_text_in_orders_and_results() -> None:
    out = anonymise(sample_bytes("oml_o21.hl7"))
    for segment in out.segments("NTE"):
        assert (segment.get(3) or "").startswith("[redacted")
    for segment in out.segments("OBX"):
        assert segment.get(2) == "ST" and (segment.get(5) or "").startswith("[redacted")
        assert segment.raw(3) == "CLINQ^Clinical question^ICE"
    assert (out.get("OBR-13") or "").startswith("[redacted")
    # The placer number is the same pseudonym in ORC-2 and OBR-2 of each order.
    for orc, obr in zip(out.segments("ORC"), out.segments("OBR"), strict=True):
        assert orc.get(2, 1, 1) == obr.get(2, 1, 1) != "ICE0098701"
        assert orc.get(2, 1, 2) == "ICE"
