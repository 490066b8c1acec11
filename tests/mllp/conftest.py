"""Shared helpers for the MLLP tests: a bounded asyncio runner and synthetic HL7 text.

The HL7 here is built with plain string operations on purpose: the transport must not depend on
eprlink.hl7, and neither do its tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

NHS_NUMBER = "9990000018"


def run_bounded(coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
    """Run one test coroutine on a fresh loop, failing instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Synthetic:
    """Synthetic ADT messages (test-range NHS number) and ACKs built with string operations."""

    nhs_number = NHS_NUMBER

    @staticmethod
    def adt_text(control_id: str) -> str:
        return (
            "MSH|^~\\&|CAREFLOW|RXX01|EPRLINK|RXX01|20240101120000||ADT^A01^ADT_A01|"
            f"{control_id}|P|2.4\r"
            "EVN|A01|20240101120000\r"
            f"PID|1||{NHS_NUMBER}^^^NHS^NH||TESTPATIENT^ALPHA||19800101|U\r"
            "PV1|1|I|WARD1^BED1\r"
        )

    @classmethod
    def adt(cls, control_id: str) -> bytes:
        return cls.adt_text(control_id).encode("ascii")

    @staticmethod
    def control_id(payload: bytes) -> str:
        msh = payload.decode("ascii").split("\r", 1)[0]
        return msh.split("|")[9]

    @staticmethod
    def ack_for_id(control_id: str, code: str = "AA") -> bytes:
        return (
            "MSH|^~\\&|EPRLINK|RXX01|CAREFLOW|RXX01|20240101120001||ACK^A01^ACK|"
            f"ACK{control_id}|P|2.4\rMSA|{code}|{control_id}\r"
        ).encode("ascii")

    @classmethod
    def ack(cls, payload: bytes, code: str = "AA") -> bytes:
        return cls.ack_for_id(cls.control_id(payload), code)

    @staticmethod
    def msa2(response: bytes) -> str | None:
        for segment in response.decode("ascii", "replace").split("\r"):
            if segment.startswith("MSA|"):
                fields = segment.split("|")
                return fields[2] if len(fields) > 2 else ""
        return None

    @classmethod
    def accept(cls, control_id: str) -> Callable[[bytes], bool]:
        return lambda response: cls.msa2(response) == control_id


@pytest.fixture
def arun() -> Callable[..., Any]:
    return run_bounded


@pytest.fixture
def synth() -> type[Synthetic]:
    return Synthetic


async def read_frames(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    """Read ``count`` frames with a deliberately naive parser (independent of the decoder)."""
    frames: list[bytes] = []
    while len(frames) < count:
        await reader.readuntil(b"\x0b")
        body = await reader.readuntil(b"\x1c\x0d")
        frames.append(body[:-2])
    return frames


@pytest.fixture
def frames_from() -> Callable[[asyncio.StreamReader, int], Awaitable[list[bytes]]]:
    return read_frames
