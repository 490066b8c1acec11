"""Interoperability with python-hl7's MLLP client and asyncio MLLP server, in both directions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hl7.client  # type: ignore[import-untyped]
import hl7.mllp  # type: ignore[import-untyped]
import pytest

from eprlink.mllp import MLLPClient, MLLPServer, PeerInfo, SessionPolicy

pytestmark = pytest.mark.network

Run = Callable[..., Any]


def test_python_hl7_blocking_client_to_eprlink_server(arun: Run, synth: Any) -> None:
    received: list[bytes] = []

    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        received.append(payload)
        return synth.ack(payload)  # type: ignore[no-any-return]

    def send_blocking(port: int) -> bytes:
        with hl7.client.MLLPClient("127.0.0.1", port) as client:
            return client.send_message(synth.adt_text("PY1"))  # type: ignore[no-any-return]

    async def main() -> bytes:
        async with MLLPServer(handler, policy=SessionPolicy(grace_period=0.5)) as server:
            return await asyncio.to_thread(send_blocking, server.port)

    raw = arun(main())
    assert raw.startswith(b"\x0b") and raw.endswith(b"\x1c\x0d")
    assert synth.msa2(raw[1:-2]) == "PY1"
    assert received == [synth.adt("PY1")]
    assert synth.nhs_number.encode() in received[0]


def test_eprlink_client_to_python_hl7_asyncio_server(arun: Run, synth: Any) -> None:
    received: list[str] = []

    async def on_connection(
        reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
    ) -> None:
        try:
            while not reader.at_eof():
                message = await reader.readmessage()
                text = str(message)
                received.append(text)
                control_id = text.split("\r", 1)[0].split("|")[9]
                writer.writeblock(synth.ack_for_id(control_id))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    async def main() -> list[bytes]:
        server = await hl7.mllp.start_hl7_server(on_connection, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        responses: list[bytes] = []
        async with MLLPClient("127.0.0.1", port, ack_timeout=3) as client:
            for control_id in ("EP1", "EP2"):
                response = await client.send(synth.adt(control_id), accept=synth.accept(control_id))
                responses.append(response)
        server.close()
        await server.wait_closed()
        return responses

    responses = arun(main())
    assert [synth.msa2(r) for r in responses] == ["EP1", "EP2"]
    assert [r.split("\r", 1)[0].split("|")[9] for r in received] == ["EP1", "EP2"]
