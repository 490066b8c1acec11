"""Shared fixtures: the synthetic sample messages (NHS numbers in the 999 test range)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_NAMES = sorted(p.name for p in FIXTURES.glob("*.hl7"))


def sample_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(params=SAMPLE_NAMES)
def sample(request: pytest.FixtureRequest) -> bytes:
    return sample_bytes(request.param)
