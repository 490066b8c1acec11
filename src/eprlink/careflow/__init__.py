"""CareFlow sample tooling: consistent anonymisation, so Trusts and vendors can share messages."""

from __future__ import annotations

from eprlink.careflow.anonymise import (
    DEFAULT_DATE_SHIFT_DAYS_RANGE,
    AnonymiseCounts,
    Anonymiser,
)
from eprlink.careflow.dates import shift_date_text
from eprlink.careflow.pseudonyms import Gender, Pseudonyms, nhs_check_digit, placeholder_text

__all__ = [
    "DEFAULT_DATE_SHIFT_DAYS_RANGE",
    "AnonymiseCounts",
    "Anonymiser",
    "Gender",
    "Pseudonyms",
    "nhs_check_digit",
    "placeholder_text",
    "shift_date_text",
]
