"""The callback-driven session behind the listener: synchronous and awaited replies, back-pressure,
half-close and timers measured from the right moments (loopback, bounded)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tests.mllp.test_server import connect
from tests.mllp.test_server import fast_policy as policy

from eprlink.mllp import MLLPServer, PeerInfo, encode

pytestmark = pytest.mark.network

Run = Callable[..., Any]
ReadFrames = Callable[[asyncio.StreamReader, int], Awaitable[list[bytes]]]


def test_synchronous_handler_replies_without_a_task(arun: Run, frames_from: ReadFrames) -> None:
    tasks_seen: list[asyncio.Task[Any] | None] = []

    def handler(payload: bytes, peer: PeerInfo) -> bytes:
        tasks_seen.append(asyncio.current_task())
        return b"ACK " + payload

    async def main() -> None:
        async with MLLPServer(handler, policy=policy()) as server:
            reader, writer = await connect(server)
            payloads = [f"MSG{i}".encode() for i in range(20)]
            writer.write(b"".join(encode(p) for p in payloads))
            assert await frames_from(reader, 20) == [b"ACK " + p for p in payloads]
            writer.close()
        # Called from the transport's callback: no task was created for any frame.
        assert tasks_seen == [None] * 20

    arun(main())


def test_mixed_immediate_and_awaited_replies_keep_frame_order(
    arun: Run, frames_from: ReadFrames
) -> None:
    async def later(payload: bytes) -> bytes:
        await asyncio.sleep(0.02)
        return b"late " + payload

    def handler(payload: bytes, peer: PeerInfo) -> bytes | Awaitable[bytes | None] | None:
        number = int(payload[3:])
        if number % 3 == 0:
            return later(payload)
        if number % 5 == 0:
            return None
        return b"now " + payload

    async def main() -> None:
        async with MLLPServer(handler, policy=policy()) as server:
            reader, writer = await connect(server)
            payloads = [f"MSG{i}".encode() for i in range(1, 16)]
            writer.write(b"".join(encode(p) for p in payloads))
            expected = [
                (b"late " if int(p[3:]) % 3 == 0 else b"now ") + p
                for p in payloads
                if int(p[3:]) % 3 == 0 or int(p[3:]) % 5 != 0
            ]
            assert await frames_from(reader, len(expected)) == expected
            writer.close()

    arun(main())


def test_handler_time_does_not_count_as_idle(arun: Run, frames_from: ReadFrames) -> None:
    async def slow(payload: bytes, peer: PeerInfo) -> bytes:
        await asyncio.sleep(0.5)
        return payload

    async def main() -> None:
        async with MLLPServer(slow, policy=policy(idle_timeout=0.2)) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"slow one"))
            assert await frames_from(reader, 1) == [b"slow one"]
            assert server.counters.mllp_idle_timeouts_total == 0
            async with asyncio.timeout(3):
                assert await reader.read() == b""  # then idle from there
            assert server.counters.mllp_idle_timeouts_total == 1
            writer.close()

    arun(main())


def test_half_closed_peer_still_gets_the_replies_owed(arun: Run, frames_from: ReadFrames) -> None:
    async def slow(payload: bytes, peer: PeerInfo) -> bytes:
        await asyncio.sleep(0.05)
        return b"ok " + payload

    async def main() -> None:
        async with MLLPServer(slow, policy=policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"one") + encode(b"two") + encode(b"three"))
            await writer.drain()
            writer.write_eof()  # the sender is done sending, not done listening
            assert await frames_from(reader, 3) == [b"ok one", b"ok two", b"ok three"]
            async with asyncio.timeout(3):
                assert await reader.read() == b""
            writer.close()

    arun(main())


def test_peer_that_stops_reading_is_dropped_after_the_write_timeout(
    arun: Run, caplog: pytest.LogCaptureFixture
) -> None:
    """P8: replies to a peer that never reads do not pile up; the session stops decoding while
    the transport is over its high-water mark and aborts after ``write_timeout``."""
    big = b"R" * (1024 * 1024)
    handled: list[int] = []

    def handler(payload: bytes, peer: PeerInfo) -> bytes:
        handled.append(len(payload))
        return big

    caplog.set_level(logging.INFO, logger="eprlink.mllp")

    async def main() -> None:
        async with MLLPServer(handler, policy=policy(write_timeout=0.3)) as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            frames = b"".join(encode(f"M{i}".encode()) for i in range(200))
            await loop.sock_sendall(sock, frames)
            async with asyncio.timeout(5):
                while not handled or server.connections:
                    await asyncio.sleep(0.05)
            sock.close()
        # Far fewer than 200 frames were handled: decoding stopped once writes backed up.
        assert 0 < len(handled) < 200
        closed = [r for r in caplog.records if getattr(r, "action", "") == "connection_closed"]
        assert [getattr(r, "reason", None) for r in closed] == ["write_failed"]

    arun(main())


def test_stop_waits_for_an_awaited_reply_then_closes(arun: Run, frames_from: ReadFrames) -> None:
    gate = asyncio.Event()

    async def gated(payload: bytes, peer: PeerInfo) -> bytes:
        await gate.wait()
        return b"done " + payload

    async def main() -> None:
        server = MLLPServer(gated, policy=policy())
        await server.start()
        reader, writer = await connect(server)
        writer.write(encode(b"a") + encode(b"b"))
        await writer.drain()
        await asyncio.sleep(0.05)
        closing = asyncio.create_task(server.close(timeout=5))
        await asyncio.sleep(0.05)
        gate.set()
        # Both frames were decoded before the stop: both are answered, in order, then EOF.
        assert await frames_from(reader, 2) == [b"done a", b"done b"]
        async with asyncio.timeout(3):
            assert await reader.read() == b""
        await closing
        writer.close()

    arun(main())


def test_close_timeout_aborts_a_handler_that_never_returns(arun: Run) -> None:
    async def stuck(payload: bytes, peer: PeerInfo) -> bytes:
        await asyncio.Event().wait()
        return payload

    async def main() -> None:
        server = MLLPServer(stuck, policy=policy())
        await server.start()
        reader, writer = await connect(server)
        writer.write(encode(b"never answered"))
        await writer.drain()
        await asyncio.sleep(0.05)
        async with asyncio.timeout(3):
            await server.close(timeout=0.2)
            assert await reader.read() == b""  # no reply: nothing false is acknowledged
        assert server.connections == 0
        writer.close()

    arun(main())


def test_link_writes_later_frames_after_the_reply_never_before(
    arun: Run, frames_from: ReadFrames
) -> None:
    """A handler may write further frames on its connection (a synchronous application ACK
    after the commit ACK); they never overtake a reply still owed, and stop once it is closed."""
    links: list[PeerInfo] = []

    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        assert peer.link is not None
        links.append(peer)
        assert peer.link.send(b"later " + payload)  # queued: the reply is not written yet
        await asyncio.sleep(0.02)
        return b"commit " + payload

    async def main() -> None:
        async with MLLPServer(handler, policy=policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"one"))
            assert await frames_from(reader, 2) == [b"commit one", b"later one"]
            link = links[0].link
            assert link is not None
            assert link.send(b"much later")  # idle connection: written at once
            assert await frames_from(reader, 1) == [b"much later"]
            writer.close()
            async with asyncio.timeout(3):
                while server.connections:
                    await asyncio.sleep(0.01)
            assert not link.send(b"too late")  # the connection is gone

    arun(main())
