"""Keyed pseudonyms: test-range NHS numbers, identifier shapes, invented places, drama numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from nhs_number.validate import is_valid

from eprlink.careflow import Gender, Pseudonyms, nhs_check_digit, placeholder_text
from eprlink.careflow import wordlists as words

RANGE = (-365, -30)


def pseudonyms(key: str = "key-one-0123456789") -> Pseudonyms:
    return Pseudonyms(key, shift_range=RANGE)


@st.composite
def valid_nhs_numbers(draw: st.DrawFn) -> str:
    """Any valid NHS number (not only the test range): what a real feed could carry."""
    stem = f"{draw(st.integers(min_value=0, max_value=999_999_999)):09d}"
    check = nhs_check_digit(stem)
    assume(check is not None)
    number = f"{stem}{check}"
    assume(is_valid(number))  # the library also checks CHI numbers' birth dates
    return number


def test_check_digit_matches_worked_example_and_library() -> None:
    assert nhs_check_digit("999000001") == 8  # 9990000018, docs/nhs-test-data.md §2
    assert nhs_check_digit("999000000") is None
    assert nhs_check_digit("999000014") is None
    for number in ("9990000026", "9990000107", "9449305552"):
        assert nhs_check_digit(number[:9]) == int(number[9])


@given(valid_nhs_numbers())
def test_nhs_pseudonym_is_a_valid_test_number(original: str) -> None:
    assert is_valid(original)
    fake = pseudonyms().nhs_number(original)
    assert is_valid(fake)
    assert fake.startswith("999") and len(fake) == 10
    assert fake != original
    assert len(set(fake)) > 1  # never 9999999999
    assert pseudonyms().nhs_number(original) == fake  # another instance, the same key


def test_nhs_pseudonym_depends_on_the_key_and_keeps_separators() -> None:
    one, two = pseudonyms("first key 0123456"), pseudonyms("second key 012345")
    numbers = ["9990000018", "9990000026", "4010232137", "9449305552"]
    assert [one.nhs_number(n) for n in numbers] != [two.nhs_number(n) for n in numbers]
    spaced = one.nhs_number("999 000 0018")
    assert re.fullmatch(r"999 \d{3} \d{4}", spaced)
    assert spaced.replace(" ", "") == one.nhs_number("9990000018")


def test_identifier_keeps_length_and_pattern() -> None:
    p = pseudonyms()
    for value in ("ZZ1000123", "V0000456789", "ab-12/CD", "A1234567", "26H900001"):
        fake = p.identifier(value)
        assert len(fake) == len(value) and fake != value
        for a, b in zip(value, fake, strict=True):
            assert a.isdigit() == b.isdigit()
            assert a.isupper() == b.isupper() and a.islower() == b.islower()
            if not a.isalnum():
                assert a == b
        assert p.identifier(value) == fake
        assert p.identifier(value.lower()).upper() == fake.upper()  # normalised original


def test_names_keep_case_shape_and_unknown() -> None:
    p = pseudonyms()
    assert p.family_name("Unknown") == "Unknown"
    assert p.family_name("SMITH").isupper()
    assert p.family_name("smith").islower()
    double = p.family_name("SMITH-JONES")
    assert re.fullmatch(r"[A-Z]+-[A-Z]+", double) and double != "SMITH-JONES"
    assert p.given_name("Alice", Gender.FEMALE) in words.FEMALE_GIVEN_NAMES
    assert p.given_name("Robert", Gender.MALE) in words.MALE_GIVEN_NAMES
    assert p.given_name("Mary Jane", Gender.FEMALE).count(" ") == 1


def test_addresses_are_invented() -> None:
    p = pseudonyms()
    code = p.postcode("LS99 9ZZ")
    assert re.fullmatch(r"XX\d{2} \d[ABDEFGHJLNPQRSTUWXYZ]{2}", code)
    assert re.fullmatch(r"XX\d \d[A-Z]{2}", p.postcode("B1 1AA"))
    assert re.fullmatch(r"XX\d\d[A-Z]{2}", p.postcode("B11AA"))  # no space in, none out
    assert p.postcode("ZZ99 3VZ") == "ZZ99 3VZ"  # NHS pseudo-postcode: no fixed abode
    assert p.postcode("75001").isdigit()  # foreign: shape only
    assert p.town("LEEDS") in {t.upper() for t in words.TOWNS}
    assert p.county("West Yorkshire") in words.COUNTIES
    assert re.fullmatch(r"\d+ [A-Za-z]+ [A-Za-z]+", p.street_line("1 Example Street"))
    assert p.street_line("Flat 2").startswith("Flat ")
    assert p.street_line("Headingley") in words.LOCALITIES


def test_phones_use_drama_ranges_and_email_example_domains() -> None:
    p = pseudonyms()
    assert re.fullmatch(r"07700900\d{3}", p.phone("07700900123", mobile=True))
    assert re.fullmatch(r"01632960\d{3}", p.phone("01134960123", mobile=False))
    assert re.fullmatch(r"\+447700900\d{3}", p.phone("+447712345678", mobile=True))
    assert re.fullmatch(r"01632 960\d{3}", p.phone("0113 496 0123", mobile=False))
    assert len(p.phone("4123", mobile=False)) == 4  # an extension keeps its shape
    assert p.phone_parts("113", "4960123", mobile=False)[0] == "1632"
    assert p.email("alice.testpatient@example.invalid").endswith("@example.com")


def test_placeholder_text_never_grows() -> None:
    for length in range(0, 80):
        text = placeholder_text(length)
        assert len(text) <= max(length, 1)
        if length >= 10:
            assert text.startswith("[redacted") and text.endswith("]")
    assert placeholder_text(15) == "[redacted text]"


def test_day_shift_within_range_and_key_is_hidden() -> None:
    p = pseudonyms("a secret that must not show")
    shifts = {p.day_shift(f"nhs:{n}") for n in range(200)}
    assert all(RANGE[0] <= s <= RANGE[1] for s in shifts)
    assert len(shifts) > 50
    assert "secret" not in repr(p)
    with pytest.raises(ValueError, match="key"):
        Pseudonyms("", shift_range=RANGE)
    with pytest.raises(ValueError, match="key"):
        Pseudonyms(b"", shift_range=RANGE)
