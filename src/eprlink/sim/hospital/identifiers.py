"""Identifiers: test-range NHS numbers, hospital numbers and the counters behind other ids."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = [
    "NHS_TEST_RANGE",
    "Counters",
    "nhs_check_digit",
    "synthetic_nhs_number",
]

NHS_TEST_RANGE = (9990000000, 9999999999)
"""999 000 0000 – 999 999 9999, reserved for testing (ref §10); nothing else is generated."""

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(stem: str) -> int | None:
    """The modulus-11 check digit for nine digits, or ``None`` when no valid number exists."""
    total = sum(int(digit) * weight for digit, weight in zip(stem, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def synthetic_nhs_number(rng: random.Random, taken: set[str]) -> str:
    """A valid NHS number from the test range, not in ``taken`` (which it joins).

    Stems giving a check result of 10 are skipped, as are numbers of one repeated digit
    (9999999999 passes the checksum but is never a real allocation, nhs-test-data §2).
    """
    while True:
        stem = f"999{rng.randrange(1_000_000):06d}"
        check = nhs_check_digit(stem)
        if check is None:
            continue
        number = f"{stem}{check}"
        if number in taken or len(set(number)) == 1:
            continue
        taken.add(number)
        return number


@dataclass
class Counters:
    """Hospital-wide sequences, so every generated identifier is unique and reproducible.

    Hospital numbers start at 1000001 as in the guide (``RZZ1000001``); the others count from 1.
    """

    mrn: int = 1_000_000
    visit: int = 0
    appointment: int = 0
    referral: int = 0
    pathway: int = 0
    order: int = 0
    control: int = 0
    master_file: int = 0
    journey: int = 0
    nhs_numbers: set[str] = field(default_factory=set)

    def next_mrn(self) -> int:
        self.mrn += 1
        return self.mrn

    def next_visit(self) -> int:
        self.visit += 1
        return self.visit

    def next_appointment(self) -> int:
        self.appointment += 1
        return self.appointment

    def next_referral(self) -> int:
        self.referral += 1
        return self.referral

    def next_pathway(self) -> int:
        self.pathway += 1
        return self.pathway

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def next_control(self) -> int:
        self.control += 1
        return self.control

    def next_master_file(self) -> int:
        self.master_file += 1
        return self.master_file

    def next_journey(self) -> int:
        self.journey += 1
        return self.journey
