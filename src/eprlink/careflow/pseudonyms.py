"""Keyed, deterministic pseudonyms: the same original value and key always give the same output."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from enum import StrEnum

from eprlink.careflow import wordlists as words

__all__ = [
    "Gender",
    "Pseudonyms",
    "nhs_check_digit",
    "placeholder_text",
]

_NHS_TEST_FIRST_STEM = 999_000_000
_NHS_TEST_STEMS = 1_000_000
_MAX_ATTEMPTS = 64
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # never C, I, K, M, O or V (nhs-test-data.md §5)
_UK_POSTCODE = re.compile(r"([A-Z]{1,2})(\d[A-Z\d]?)(\s*)(\d[A-Z]{2})", re.ASCII | re.IGNORECASE)
_PSEUDO_POSTCODE = re.compile(r"ZZ99\s*\d[A-Z]Z", re.ASCII | re.IGNORECASE)
_DWELLING = re.compile(r"(flat|apartment|apt|unit|room|house)(\.?\s+)(\S+)(.*)", re.IGNORECASE)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FILLER = ("redacted", "text")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


class Gender(StrEnum):
    """Which given-name list a pseudonym is drawn from (from the title or the sex field)."""

    FEMALE = "female"
    MALE = "male"
    ANY = "any"


def nhs_check_digit(stem: str) -> int | None:
    """The modulus-11 check digit for nine digits, or ``None`` when no valid number exists."""
    total = sum(int(digit) * weight for digit, weight in zip(stem, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def placeholder_text(length: int) -> str:
    """Neutral text about ``length`` characters long (never longer, so length limits still hold).

    Free text is not pseudonymised word by word: a replaced sentence could still carry a name
    in an unexpected place, so the whole text becomes a visibly redacted placeholder.
    """
    if length >= 10:
        words_used = ["redacted"]
        while len(" ".join(words_used)) + 2 + 1 + len(_FILLER[len(words_used) % 2]) <= length:
            words_used.append(_FILLER[len(words_used) % 2])
        return f"[{' '.join(words_used)}]"
    if length >= 6:
        return "[text]"
    return "x" * max(length, 1)


def _like(template: str, word: str) -> str:
    """``word`` in the letter case of ``template``: SMITH, smith or Smith."""
    if template.isupper():
        return word.upper()
    if template.islower():
        return word.lower()
    return word


def _normalise(value: str) -> str:
    return " ".join(value.split()).upper()


class Pseudonyms:
    """Replacement values chosen by HMAC-SHA256 over the normalised original.

    The caller's key is used only to derive a working key, which is all this object keeps. Every
    kind of value has its own label in the MAC, so a surname and a town with the same spelling
    do not share a choice. Where a pool allows it, the replacement never equals the original.
    """

    __slots__ = ("_key", "_shift_range")

    def __init__(self, key: bytes | str, *, shift_range: tuple[int, int]) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if not raw:
            raise ValueError("an anonymisation key is required (it must not be empty)")
        self._key = hmac.new(raw, b"eprlink.careflow.anonymise/v1", hashlib.sha256).digest()
        self._shift_range = shift_range

    def __repr__(self) -> str:
        return "<Pseudonyms (key hidden)>"

    # -- primitives ----------------------------------------------------------------------------
    def _digest(self, kind: str, value: str, attempt: int = 0) -> bytes:
        message = f"{kind}\x1f{attempt}\x1f{_normalise(value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def number(self, kind: str, value: str, attempt: int = 0) -> int:
        """A keyed 256-bit number for one original value (the basis of every choice)."""
        return int.from_bytes(self._digest(kind, value, attempt), "big")

    def _stream(self, kind: str, value: str, attempt: int, length: int) -> bytes:
        out = b""
        block = 0
        while len(out) < length:
            out += self._digest(f"{kind}#{block}", value, attempt)
            block += 1
        return out[:length]

    def _pick(self, kind: str, value: str, pool: Sequence[str]) -> str:
        """One pool entry for ``value``, unequal to it (case-insensitively) when possible."""
        for attempt in range(_MAX_ATTEMPTS):
            choice = pool[self.number(kind, value, attempt) % len(pool)]
            if choice.upper() != value.upper():
                return choice
        return choice

    def _words(self, value: str, pick: Callable[[str], str]) -> str:
        """Each word replaced on its own, so ``SMITH-JONES`` keeps its shape as two names."""
        return _WORD.sub(lambda match: _like(match.group(), pick(match.group())), value)

    # -- identifiers ---------------------------------------------------------------------------
    def nhs_number(self, original: str) -> str:
        """A valid NHS number from the 999 test range for a ten-digit original.

        Separators in the original stay where they were (``999 000 0018`` keeps its spaces).
        """
        digits = "".join(ch for ch in original if ch.isdigit())
        for attempt in range(_MAX_ATTEMPTS):
            stem = _NHS_TEST_FIRST_STEM + self.number("nhs", digits, attempt) % _NHS_TEST_STEMS
            check = nhs_check_digit(str(stem))
            if check is None:
                continue
            candidate = f"{stem}{check}"
            if candidate != digits and len(set(candidate)) > 1:
                return _respace(original, candidate)
        raise RuntimeError("no NHS test number found")  # unreachable: ~91% of stems are valid

    def identifier(self, value: str) -> str:
        """The same length and letter/digit pattern; letters keep their case, the rest stays."""
        for attempt in range(_MAX_ATTEMPTS):
            stream = self._stream("id", value, attempt, len(value))
            out = []
            for ch, byte in zip(value, stream, strict=True):
                if ch.isdigit():
                    out.append(str(byte % 10))
                elif ch.isalpha():
                    letter = _LETTERS[byte % 26]
                    out.append(letter.lower() if ch.islower() else letter)
                else:
                    out.append(ch)
            candidate = "".join(out)
            if candidate.upper() != value.upper() or not any(ch.isalnum() for ch in value):
                return candidate
        return candidate

    # -- names ---------------------------------------------------------------------------------
    def family_name(self, value: str) -> str:
        if value.strip().upper() == "UNKNOWN":
            return value  # HL7 UK's marker for a patient whose name is not known
        return self._words(value, lambda w: self._pick("family", w, words.FAMILY_NAMES))

    def given_name(self, value: str, gender: Gender = Gender.ANY) -> str:
        pool = {
            Gender.FEMALE: words.FEMALE_GIVEN_NAMES,
            Gender.MALE: words.MALE_GIVEN_NAMES,
            Gender.ANY: words.FEMALE_GIVEN_NAMES + words.MALE_GIVEN_NAMES,
        }[gender]
        return self._words(value, lambda w: self._pick(f"given/{gender}", w, pool))

    # -- addresses -----------------------------------------------------------------------------
    def street_line(self, value: str) -> str:
        """``12 Sample Road``; a line naming a flat or unit keeps that word, not its number."""
        dwelling = _DWELLING.fullmatch(value.strip())
        if dwelling is not None:
            word, gap, number, _ = dwelling.groups()
            return f"{word}{gap}{self.identifier(number)}"
        if not any(ch.isdigit() for ch in value):
            return self.locality(value)
        n = self.number("street", value)
        name = words.STREET_NAMES[n % len(words.STREET_NAMES)]
        kind = words.STREET_TYPES[(n >> 16) % len(words.STREET_TYPES)]
        return _like(value, f"{1 + (n >> 32) % 120} {name} {kind}")

    def locality(self, value: str) -> str:
        return _like(value, self._pick("locality", value, words.LOCALITIES))

    def town(self, value: str) -> str:
        return _like(value, self._pick("town", value, words.TOWNS))

    def county(self, value: str) -> str:
        return _like(value, self._pick("county", value, words.COUNTIES))

    def postcode(self, value: str) -> str:
        """A postcode in the XX area, which does not exist; NHS pseudo-postcodes are kept."""
        text = value.strip()
        if _PSEUDO_POSTCODE.fullmatch(text):
            return value  # ZZ99 3VZ "no fixed abode" and friends: meanings, not places
        match = _UK_POSTCODE.fullmatch(text)
        if match is None:
            return self.identifier(value)  # a foreign postal code: keep its shape only
        _area, district, gap, _inward = match.groups()
        for attempt in range(_MAX_ATTEMPTS):
            n = self.number("postcode", text, attempt)
            two_digit = len(match.group(1)) + len(district) >= 4
            number = 10 + n % 90 if two_digit else 1 + n % 9
            first = _INWARD_LETTERS[(n >> 8) % len(_INWARD_LETTERS)]
            second = _INWARD_LETTERS[(n >> 16) % len(_INWARD_LETTERS)]
            candidate = f"XX{number}{gap}{(n >> 24) % 10}{first}{second}"
            if candidate.upper() != text.upper():
                break
        return candidate.lower() if text.islower() else candidate

    # -- telecoms ------------------------------------------------------------------------------
    def phone(self, value: str, *, mobile: bool) -> str:
        """A number from Ofcom's drama ranges: 07700 900xxx (mobile) or 01632 960xxx."""
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) < 9:
            return self.identifier(value)  # an extension or a short internal number
        suffix = f"{self.number('phone', digits) % 1000:03d}"
        area, block = ("7700", "900") if mobile else ("1632", "960")
        gap = " " if " " in value.strip() else ""
        if value.strip().startswith(("+", "00")):
            return f"+44{gap}{area}{gap}{block}{suffix}"
        return f"0{area}{gap}{block}{suffix}"

    def phone_parts(self, area: str, local: str, *, mobile: bool) -> tuple[str, str]:
        """XTN-6 area code and XTN-7 local number, in the same drama ranges."""
        suffix = f"{self.number('phone', area + local) % 1000:03d}"
        return ("7700", f"900{suffix}") if mobile else ("1632", f"960{suffix}")

    def email(self, value: str) -> str:
        """``given.family12@example.com``; only the reserved example domains are used."""
        n = self.number("email", value)
        given = words.FEMALE_GIVEN_NAMES + words.MALE_GIVEN_NAMES
        first = given[n % len(given)]
        last = words.FAMILY_NAMES[(n >> 16) % len(words.FAMILY_NAMES)]
        return f"{first}.{last}{(n >> 32) % 100}@example.com".lower()

    # -- dates ---------------------------------------------------------------------------------
    def day_shift(self, identity: str) -> int:
        """The number of days (never positive) every date of one patient moves by."""
        low, high = self._shift_range
        return low + self.number("shift", identity) % (high - low + 1)


def _respace(original: str, digits: str) -> str:
    """``digits`` written with the original's separators in the same places."""
    out = []
    feed = iter(digits)
    for ch in original:
        out.append(next(feed) if ch.isdigit() else ch)
    return "".join(out)
