"""Shared builders for the acknowledgement tests: a fixed engine identity and sample messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from eprlink.ack import build_ack
from eprlink.hl7 import Message, parse

FIXED_TIME = datetime(2025, 3, 14, 13, 4, 5, tzinfo=UTC)

# PHI-like content: none of it may ever appear in a reply (policy 2.4).
PHI_VALUES = (
    "9449305552",
    "SMITH",
    "FREDRICA",
    "19651213",
    "29 WEST AVENUE",
    "YO32 5TT",
    "+441234567890",
    "Stress Incontinence",
)


def adt(
    *,
    control_id: str = "MSG00001",
    version: str = "2.4",
    trigger: str = "A01",
    processing: str = "P",
    extra_msh: Iterable[str] = (),
    sending: str = "PAS",
    facility: str = "RCB",
) -> str:
    """An ADT message in standard delimiters with PHI-like patient data."""
    msh = [
        "MSH",
        "^~\\&",
        sending,
        facility,
        "ROUTE",
        "ROUTE",
        "201010101418",
        "",
        f"ADT^{trigger}^ADT_A01",
        control_id,
        processing,
        version,
        *extra_msh,
    ]
    return (
        "\r".join(
            [
                "|".join(msh),
                "EVN||201010101400",
                "PID|1||9449305552^^^NHS^NH||SMITH^FREDRICA^J^^MRS^^L||19651213|2|||"
                "29 WEST AVENUE^BURYTHORPE^MALTON^^YO32 5TT^GBR^H||+441234567890",
                "PV1|1|I|RCB^OBS1^BAY2-6",
                "DG1|1||N39.3^Stress Incontinence^ICD10",
            ]
        )
        + "\r"
    )


@pytest.fixture
def make_ack() -> Callable[..., Message]:
    """``build_ack`` with the engine's identity, time and control id fixed for exact comparisons."""

    def make(received: Message | None, code: Any, **options: Any) -> Message:
        options.setdefault("sending_application", "EPRLINK")
        options.setdefault("sending_facility", "RXX")
        options.setdefault("timestamp", FIXED_TIME)
        options.setdefault("control_id", "ACK0001")
        return build_ack(received, code, **options)

    return make


@pytest.fixture
def a01() -> Message:
    return parse(adt())


@pytest.fixture
def build_adt() -> Callable[..., str]:
    return adt


@pytest.fixture
def phi_values() -> tuple[str, ...]:
    return PHI_VALUES
