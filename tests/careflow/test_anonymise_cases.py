"""The anonymiser on small hand-written messages: dates, nulls, escapes, free text, options."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nhs_number.validate import is_valid

from eprlink.careflow import Anonymiser, nhs_check_digit
from eprlink.hl7 import parse
from tests.careflow.helpers import KEY, anonymise, days_between, leaves, minimal
from tests.conftest import sample_bytes


def test_precision_and_offsets_are_kept() -> None:
    for dob in ("1962", "196203", "19620314", "196203140830"):
        out = anonymise(minimal(dob=dob, evn2="20250301092512.1234+0100"))
        moved = out.get("PID-7") or ""
        assert len(moved) == len(dob) and moved <= dob
        assert moved[8:] == dob[8:]
        evn = out.get("EVN-2") or ""
        assert len(evn) == len("20250301092512.1234+0100")
        assert evn.endswith("092512.1234+0100")


def test_dates_never_move_forward_and_range_is_checked() -> None:
    today = date.today().strftime("%Y%m%d")
    out = anonymise(minimal(dob=today, msh7=today))
    assert (out.get("PID-7") or "") < today
    for bad in ((0, 10), (-10, 5), (-5, -10)):
        with pytest.raises(ValueError, match="date_shift_days_range"):
            Anonymiser(KEY, date_shift_days_range=bad)
    same = Anonymiser(KEY, date_shift_days_range=(0, 0)).anonymise(parse(minimal()))
    assert same.get("PID-7") == "19620314"


def test_nulls_and_absence_kept() -> None:
    extra = 'NK1|1|""|||""\rPV1|1|I|||||||||||||||||""|||\rNTE|1||""\r'
    text = minimal(extra=extra).replace("^^L||19620314|2", '^^L|""|19620314|2|||""||""')
    message = parse(text)
    out = Anonymiser(KEY).anonymise(message)
    assert leaves(out) == leaves(message)
    assert out.get("PID-6") == "" and out.get("PID-11") == "" and out.get("PID-13") == ""
    assert out.get("PID-12") is None and out.get("NK1-2") == "" and out.get("NTE-3") == ""


def test_nhs_number_anywhere_and_known_identifiers_in_z_segments() -> None:
    extra = (
        "MRG|9990000018^^^NHS^NH~RZZ1000001^^^RZZ^MR\r"
        "ZXX|1|9990000018^^^NHS|see RZZ1000001|20250301\r"
    )
    out = anonymise(minimal(extra=extra))
    nhs, mrn = out.get("PID-3[2].1"), out.get("PID-3[1].1")
    assert out.get("MRG-1[1].1") == nhs and out.get("MRG-1[2].1") == mrn
    assert out.get("ZXX-2.1") == nhs
    assert out.get("ZXX-3") == f"see {mrn}"
    assert days_between(out.get("ZXX-4") or "", "20250301") == days_between(
        out.get("PID-7") or "", "19620314"
    )
    assert out.get("ZXX-1") == "1"


def test_escapes_and_unusual_delimiters_survive() -> None:
    text = (
        "MSH|*!\\#|PAS|RZZ|||20250301||ADT*A08|1|P|2.4\r"
        "PID|1||RZZ1\\S\\01***RZZ*MR||O\\T\\BRIEN*MARY||19620314||||||07700900123!01134960999\r"
        "NTE|1||Text with a \\F\\ pipe and \\.br\\ break\r"
    )
    message = parse(text)
    out = Anonymiser(KEY).anonymise(message)
    assert out.delimiters == message.delimiters
    again = parse(out.to_er7())
    assert leaves(again) == leaves(message)
    assert "BRIEN" not in out.to_er7()
    assert (again.get("PID-13[1]") or "").startswith("07700900")
    assert (again.get("PID-13[2]") or "").startswith("01632960")
    assert (again.get("NTE-3") or "").startswith("[redacted")


def test_uncoded_text_replaced_coded_kept() -> None:
    extra = (
        "PV2|||^Fell off a ladder at home|Moved to be near daughter\r"
        "AL1|1|DA|^Reaction to the blue tablets|||20100101\r"
        "DG1|1|I10|R53^Malaise and fatigue^I10\r"
        "OBX|1|CWE|Q1^Question^L||A1^Answer^L^^^^^^Said her son Tom usually helps||||||F\r"
        "OBX|2|TX|NOTE^Note^L||Lives with husband~Has a dog||||||F\r"
        "OBX|3|NM|HB^Haemoglobin^L||118|g/L\r"
        "OBX|4|ED|PDF^Report^L||^AP^PDF^Base64^JVBERi0xLjQK||||||F\r"
    )
    out = anonymise(minimal(extra=extra))
    assert (out.get("PV2-3.2") or "").startswith("[redacted")
    assert (out.get("PV2-4") or "").startswith("[redacted")  # a sentence in the code component
    assert (out.get("AL1-3.2") or "").startswith("[redacted")
    assert out.raw("DG1-3") == "R53^Malaise and fatigue^I10"
    assert out.get("OBX[1]-5.1") == "A1" and out.get("OBX[1]-5.2") == "Answer"
    assert (out.get("OBX[1]-5.9") or "").startswith("[redacted")
    assert out.get("OBX[2]-5") == "[redacted text]~[text]"
    assert out.get("OBX[3]-5") == "118"
    assert out.get("OBX[4]-5.4") == "Base64" and out.get("OBX[4]-5.5") != "JVBERi0xLjQK"


def test_each_patient_of_a_batch_has_its_own_shift() -> None:
    second = (
        "PID|2||9990000026^^^NHS^NH||OTHER^PERSON||19620314\rOBX|1|NM|HB||118||||||F|||20250301\r"
    )
    extra = "OBX|1|NM|HB||118||||||F|||20250301\r" + second
    out = anonymise(minimal(extra=extra))
    first_dob, second_dob = out.get("PID[1]-7"), out.get("PID[2]-7")
    assert first_dob != second_dob
    assert days_between(out.get("OBX[1]-14") or "", "20250301") == days_between(
        first_dob or "", "19620314"
    )
    assert days_between(out.get("OBX[2]-14") or "", "20250301") == days_between(
        second_dob or "", "19620314"
    )


def test_options_remap_control_ids_and_staff_names() -> None:
    ack = "MSH|^~\\&|TIE|RZZ|PAS|RZZ|20250301||ACK^A08|ACK1|P|2.4\rMSA|AA|CTRL0001\r"
    anonymiser = Anonymiser(KEY, remap_control_ids=True, staff_names=True)
    message = anonymiser.anonymise(parse(minimal(extra="PV1|1|I|||||C9100001^PATEL^ANITA^^^Dr\r")))
    reply = anonymiser.anonymise(parse(ack))
    assert message.get("MSH-10") != "CTRL0001"
    assert reply.get("MSA-2") == message.get("MSH-10")
    assert message.get("PV1-7.1") == "C9100001" and message.get("PV1-7.2") != "PATEL"
    assert message.get("PV1-7.6") == "Dr"
    kept = anonymise(minimal(extra="PV1|1|I|||||C9100001^PATEL^ANITA^^^Dr\r"))
    assert kept.get("MSH-10") == "CTRL0001" and kept.get("PV1-7.2") == "PATEL"


def test_counts_report_kinds_not_values() -> None:
    anonymiser = Anonymiser(KEY)
    anonymiser.anonymise(parse(sample_bytes("adt_a01.hl7")))
    counts = anonymiser.counts
    assert counts.messages == 1 and counts.nhs_numbers == 1
    assert counts.names >= 3 and counts.addresses >= 3 and counts.phones >= 3
    assert counts.emails == 1 and counts.texts >= 1 and counts.dates >= 10
    assert counts.dated_control_ids == 1  # PAS20261123… holds the real date
    assert set(counts.as_dict()) >= {"messages", "unshifted_dates", "nhs_collisions"}
    assert "test key" not in repr(anonymiser)
    bad = Anonymiser(KEY)
    bad.anonymise(parse(minimal(dob="1962-03-14")))
    assert bad.counts.unshifted_dates == 1


@st.composite
def nhs_numbers(draw: st.DrawFn) -> str:
    stem = f"{draw(st.integers(min_value=400_000_000, max_value=799_999_999)):09d}"
    check = nhs_check_digit(stem)
    return f"{stem}{check}" if check is not None else "9990000018"


@settings(max_examples=60, deadline=None)
@given(nhs_numbers())
def test_any_valid_nhs_number_becomes_a_test_number(original: str) -> None:
    out = anonymise(minimal(nhs=original))
    fake = out.get("PID-3[2].1") or ""
    assert is_valid(fake) and fake.startswith("999") and fake != original
    assert original not in out.to_er7()
