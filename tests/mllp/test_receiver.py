"""The connect-to-receive role against a peer that pushes: order, store-then-ACK (P1), redial."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from eprlink.mllp import Backoff, MLLPReceiver, SessionPolicy, encode

pytestmark = pytest.mark.network

Run = Callable[..., Any]


async def read_payload(reader: asyncio.StreamReader) -> bytes:
    await reader.readuntil(b"\x0b")
    return (await reader.readuntil(b"\x1c\x0d"))[:-2]


def quick_backoff() -> Backoff:
    return Backoff(initial=0.02, maximum=0.1, rng=lambda: 0.5)


def test_p1_pushed_frames_acked_in_order_only_after_handler_stored(arun: Run, synth: Any) -> None:
    stored: list[str] = []
    acked: list[str] = []
    stored_when_acked: list[bool] = []

    async def handler(payload: bytes) -> bytes:
        control_id = synth.control_id(payload)
        await asyncio.sleep(0.01 if control_id != "P3" else 0.05)  # the "commit"
        stored.append(control_id)
        return synth.ack(payload)  # type: ignore[no-any-return]

    async def pusher(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ids = [f"P{i}" for i in range(1, 6)]
        writer.write(b"".join(encode(synth.adt(i)) for i in ids))  # all at once, like an IE
        for _ in ids:
            control_id = synth.msa2(await read_payload(reader))
            acked.append(control_id)
            stored_when_acked.append(control_id in stored)
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(pusher, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        receiver = MLLPReceiver("127.0.0.1", port, handler, policy=SessionPolicy(grace_period=0.2))
        running = asyncio.create_task(receiver.run())
        async with asyncio.timeout(5):
            while len(acked) < 5:
                await asyncio.sleep(0.01)
        receiver.stop()
        await running
        server.close()

    arun(main())
    assert acked == ["P1", "P2", "P3", "P4", "P5"]
    assert stored == acked
    assert all(stored_when_acked)


def test_receiver_redials_after_the_peer_drops(arun: Run, synth: Any) -> None:
    received: list[str] = []
    connections = 0

    async def handler(payload: bytes) -> bytes:
        received.append(synth.control_id(payload))
        return synth.ack(payload)  # type: ignore[no-any-return]

    async def pusher(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        control_id = f"C{connections}"
        writer.write(encode(synth.adt(control_id)))
        assert synth.msa2(await read_payload(reader)) == control_id
        writer.close()  # drop the link after each message

    async def main() -> None:
        server = await asyncio.start_server(pusher, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        receiver = MLLPReceiver("127.0.0.1", port, handler, backoff=quick_backoff())
        running = asyncio.create_task(receiver.run())
        async with asyncio.timeout(5):
            while len(received) < 3:
                await asyncio.sleep(0.01)
        receiver.stop()
        await running
        assert receiver.connections_made >= 3
        server.close()

    arun(main())
    assert received[:3] == ["C1", "C2", "C3"]


def test_receiver_keeps_dialling_while_peer_is_down_and_stops_promptly(arun: Run) -> None:
    async def handler(payload: bytes) -> bytes:
        return b""

    async def main() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        receiver = MLLPReceiver(
            "127.0.0.1", port, handler, backoff=Backoff(initial=0.02, maximum=10, rng=lambda: 0.5)
        )
        running = asyncio.create_task(receiver.run())
        await asyncio.sleep(0.2)
        assert receiver.backoff.attempts >= 2
        receiver.stop()
        async with asyncio.timeout(1):
            await running
        assert receiver.connections_made == 0

    arun(main())


def test_receiver_stop_lets_the_frame_in_hand_get_its_reply(arun: Run, synth: Any) -> None:
    replies: list[str | None] = []

    async def main() -> None:
        in_handler = asyncio.Event()
        release = asyncio.Event()

        async def handler(payload: bytes) -> bytes:
            in_handler.set()
            await release.wait()
            return synth.ack(payload)  # type: ignore[no-any-return]

        async def pusher(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(encode(synth.adt("S1")))
            replies.append(synth.msa2(await read_payload(reader)))
            replies.append(None if await reader.read() == b"" else "unexpected")
            writer.close()

        server = await asyncio.start_server(pusher, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        receiver = MLLPReceiver("127.0.0.1", port, handler, backoff=quick_backoff())
        running = asyncio.create_task(receiver.run())
        await in_handler.wait()
        receiver.stop()
        release.set()
        await running
        async with asyncio.timeout(2):
            while len(replies) < 2:
                await asyncio.sleep(0.01)
        assert receiver.connections_made == 1
        server.close()

    arun(main())
    assert replies == ["S1", None]
