"""Helpers for simulator tests: bounded asyncio runs, a scriptable TIE peer, small configs.

Tests are synchronous and drive asyncio with ``asyncio.run`` plus a ``wait_for`` bound, so a
hang fails the test instead of the suite. Every socket is on 127.0.0.1 with port 0, and every
delay is a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eprlink.ack import Outcome, answer, build_ack
from eprlink.hl7 import Message, create, parse
from eprlink.mllp import Decoder, Frame, encode
from eprlink.sim import ListenerConfig, ListenerKind, SimConfig, TrafficConfig

T = TypeVar("T")

NHS_NUMBER = "9990000018"


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)


def adt(control_id: str, *, trigger: str = "A01") -> bytes:
    """A small, valid ADT message built with the public HL7 API (synthetic patient)."""
    message = create(
        f"ADT^{trigger}^ADT_A01",
        sending_application="PAS",
        sending_facility="RZZ",
        receiving_application="ROUTE",
        receiving_facility="ROUTE",
        control_id=control_id,
    )
    message.add_segment(f"EVN|{trigger}|20250303120000")
    message.add_segment(
        f"PID|1||RZZ1000001^^^RZZ^MR~{NHS_NUMBER}^^^NHS^NH||TESTPATIENT^ALPHA||19800101|2"
    )
    message.add_segment("PV1|1|I|RZZ^WD10^BED1^RZZ01")
    return message.to_bytes()


def control_id(payload: bytes) -> str:
    return parse(payload).control_id or ""


def sim_config(*listeners: ListenerConfig, seed: int = 7, **options: Any) -> SimConfig:
    traffic = options.pop("traffic", TrafficConfig(enabled=False))
    return SimConfig(seed=seed, traffic=traffic, listeners=listeners, **options)


def outbound(kind: ListenerKind = ListenerKind.ADT, **options: Any) -> ListenerConfig:
    settings: dict[str, Any] = {"ack_timeout": 0.5, "retry_delay": 0.05}
    settings.update(options)
    return ListenerConfig(kind=kind, port=0, **settings)


Script = Callable[[Message, int], str | None]
"""(message, times seen) -> MSA-1 to answer with, or None for silence."""


def always(code: str) -> Script:
    return lambda message, seen: code


@dataclass
class Tie:
    """A trust integration engine stub: connects to an outbound port and answers per script."""

    port: int
    script: Script = field(default_factory=lambda: always("AA"))
    received: list[bytes] = field(default_factory=list)
    answer_delay: float = 0.0
    _task: asyncio.Task[None] | None = None
    _writer: asyncio.StreamWriter | None = None

    async def connect(self) -> Tie:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer = writer
        self._task = asyncio.ensure_future(self._serve(reader, writer))
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        with contextlib.suppress(ConnectionError):
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for event in decoder.feed(data):
                    if isinstance(event, Frame):
                        await self._answer(event.payload, writer)

    async def _answer(self, payload: bytes, writer: asyncio.StreamWriter) -> None:
        self.received.append(payload)
        result = answer(
            payload, sending_application="TIE", sending_facility="RZZ", fallback="latin-1"
        )
        if result.message is None:  # not HL7 at all: the policy's AR
            ack = result.reply
        else:
            code = self.script(result.message, self.received.count(payload))
            if code is None:
                return
            outcome = {"AA": Outcome.ACCEPT, "AE": Outcome.ERROR, "AR": Outcome.REJECT}[code]
            ack = build_ack(
                result.message, outcome, sending_application="TIE", sending_facility="RZZ"
            )
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        assert ack is not None
        writer.write(encode(ack.to_bytes()))
        await writer.drain()

    def ids(self) -> list[str]:
        return [control_id(p) for p in self.received]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
