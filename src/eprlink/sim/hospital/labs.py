"""The simulated laboratory's panels: analytes, UCUM units and adult reference ranges."""

# Ranges are typical UK adult ranges from general knowledge [UNVERIFIED]; every laboratory
# publishes its own. Codes are local (coding system ``L``), as UK laboratories differ too.

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["PANELS", "Analyte", "Panel", "Value", "egfr", "find_panel", "measure"]


@dataclass(frozen=True, slots=True)
class Analyte:
    """One result line: OBX-3 code and name, OBX-6 unit, OBX-7 range and how it goes wrong."""

    code: str
    name: str
    unit: str
    low: float | None
    high: float | None
    decimals: int
    abnormal: str = "LH"  # the flags illness tends to produce, most likely first
    female: tuple[float, float] | None = None  # a different range for women

    def range_for(self, *, female: bool) -> tuple[float | None, float | None]:
        if female and self.female is not None:
            return self.female
        return self.low, self.high


@dataclass(frozen=True, slots=True)
class Panel:
    """An orderable test (OBR-4) and the diagnostic section that reports it (OBR-24)."""

    code: str
    name: str
    section: str
    analytes: tuple[Analyte, ...]


@dataclass(frozen=True, slots=True)
class Value:
    """A measured value formatted for OBX-5, with its OBX-7 range and OBX-8 flag."""

    analyte: Analyte
    text: str
    reference: str
    flag: str


PANELS: dict[str, Panel] = {
    p.code: p
    for p in (
        Panel(
            "FBC",
            "Full blood count",
            "HM",
            (
                Analyte("HB", "Haemoglobin", "g/L", 130, 170, 0, "L", (120, 150)),
                Analyte("WBC", "White cell count", "10*9/L", 4.0, 11.0, 1, "HL"),
                Analyte("PLT", "Platelets", "10*9/L", 150, 400, 0, "LH"),
                Analyte("RBC", "Red cell count", "10*12/L", 4.5, 5.5, 2, "L", (3.8, 4.8)),
                Analyte("HCT", "Haematocrit", "L/L", 0.40, 0.50, 3, "L", (0.36, 0.46)),
                Analyte("MCV", "Mean cell volume", "fL", 83, 101, 0, "LH"),
                Analyte("MCH", "Mean cell haemoglobin", "pg", 27.0, 32.0, 1, "L"),
                Analyte("NEUT", "Neutrophils", "10*9/L", 2.0, 7.0, 1, "HL"),
                Analyte("LYMPH", "Lymphocytes", "10*9/L", 1.0, 3.0, 1, "L"),
            ),
        ),
        Panel(
            "UE",
            "Urea and electrolytes",
            "CH",
            (
                Analyte("NA", "Sodium", "mmol/L", 133, 146, 0, "LH"),
                Analyte("K", "Potassium", "mmol/L", 3.5, 5.3, 1, "HL"),
                Analyte("UREA", "Urea", "mmol/L", 2.5, 7.8, 1, "H"),
                Analyte("CREA", "Creatinine", "umol/L", 59, 104, 0, "H", (45, 84)),
                Analyte("EGFR", "eGFR", "mL/min/{1.73_m2}", 60, None, 0, "L"),
            ),
        ),
        Panel(
            "LFT",
            "Liver function tests",
            "CH",
            (
                Analyte("BILI", "Bilirubin", "umol/L", 0, 21, 0, "H"),
                Analyte("ALT", "Alanine transaminase", "U/L", 0, 40, 0, "H"),
                Analyte("ALP", "Alkaline phosphatase", "U/L", 30, 130, 0, "H"),
                Analyte("ALB", "Albumin", "g/L", 35, 50, 0, "L"),
                Analyte("TP", "Total protein", "g/L", 60, 80, 0, "LH"),
            ),
        ),
        Panel("CRP", "C-reactive protein", "CH", (Analyte("CRP", "CRP", "mg/L", 0, 5, 0, "H"),)),
        Panel(
            "HBA1C",
            "HbA1c",
            "CH",
            (Analyte("HBA1C", "HbA1c (IFCC)", "mmol/mol", 20, 41, 0, "H"),),
        ),
    )
}

_ALIASES = {
    "FBC": ("FBC", "FULL BLOOD", "BLOOD COUNT", "CBC"),
    "UE": ("UE", "U&E", "U+E", "UANDE", "UREA", "ELECTROLYTE", "RENAL"),
    "LFT": ("LFT", "LIVER"),
    "CRP": ("CRP", "C-REACTIVE", "C REACTIVE"),
    "HBA1C": ("HBA1C", "A1C", "GLYCATED"),
}


def find_panel(code: str | None, name: str | None) -> Panel | None:
    """The panel an order names, by code or by words in its text (orders from other systems
    use their own codes); ``None`` when the simulated laboratory does not offer it."""
    for text in (code, name):
        if not text:
            continue
        upper = text.upper()
        if upper in PANELS:
            return PANELS[upper]
        for key, words in _ALIASES.items():
            if any(word in upper for word in words):
                return PANELS[key]
    return None


def _format(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _reference(low: float | None, high: float | None, decimals: int) -> str:
    if high is None and low is not None:
        return f">{_format(low, decimals)}"
    if low is None and high is not None:
        return f"<{_format(high, decimals)}"
    return f"{_format(low or 0, decimals)}-{_format(high or 0, decimals)}"


def measure(analyte: Analyte, rng: random.Random, *, female: bool, unwell: float) -> Value:
    """A plausible value: inside the range mostly, outside (in the analyte's usual direction)
    with probability ``unwell``; the flag follows from the value, never the other way round."""
    low, high = analyte.range_for(female=female)
    if analyte.code == "CRP":
        value = math.exp(rng.gauss(0.3, 0.9)) if rng.random() > unwell else rng.uniform(8, 250)
    else:
        low = 0.0 if low is None else low
        high = low * 2 + 1 if high is None else high
        span = high - low
        if rng.random() < unwell:
            direction = rng.choice(analyte.abnormal) if rng.random() < 0.3 else analyte.abnormal[0]
            if direction == "H":
                value = high + span * rng.uniform(0.05, 0.8)
            else:
                value = max(low - span * rng.uniform(0.05, 0.5), low * 0.3)
        else:
            value = rng.gauss((low + high) / 2, span / 5)
            value = min(max(value, low + span * 0.02), high - span * 0.02)
    value = max(value, 0.0)
    text = _format(value, analyte.decimals)
    shown = float(text)
    flag = "N"
    if low is not None and shown < low:
        flag = "L"
    elif high is not None and shown > high:
        flag = "H"
    return Value(analyte, text, _reference(low, high, analyte.decimals), flag)


def egfr(analyte: Analyte, creatinine: float, *, age: int, female: bool) -> Value:
    """eGFR from the creatinine by the MDRD formula (175 × (Scr/88.4)^-1.154 × age^-0.203,
    × 0.742 for women), so kidney function and creatinine agree [UNVERIFIED: laboratories now
    mostly use CKD-EPI]."""
    value = 175 * (max(creatinine, 20) / 88.4) ** -1.154 * max(age, 18) ** -0.203
    if female:
        value *= 0.742
    text = _format(value, analyte.decimals)
    flag = "L" if analyte.low is not None and float(text) < analyte.low else "N"
    return Value(analyte, text, _reference(analyte.low, analyte.high, analyte.decimals), flag)
