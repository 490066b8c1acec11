"""Shared store fixtures: synthetic HL7 payloads (test-range NHS number) and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from eprlink.store import InboundMessage
from tests.store.contract import NHS_NUMBER, T0, inbound, payload


@pytest.fixture
def t0() -> datetime:
    """A fixed wall-clock instant; tests pass ``now=`` so windows never depend on the host."""
    return T0


@pytest.fixture
def adt_payload() -> bytes:
    """An ADT^A01 as plain bytes: the store keeps bytes and never parses them."""
    return payload("MSG00001", nhs=NHS_NUMBER)


@pytest.fixture
def make_inbound() -> Callable[..., InboundMessage]:
    return inbound
