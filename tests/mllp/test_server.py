"""The MLLP listener on loopback: ordering, limits, timers, oversize, shutdown (FR, SZ-1, 2.6)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eprlink.mllp import (
    COMMIT_ACK,
    BindError,
    FramingMode,
    FramingPolicy,
    MLLPServer,
    PeerInfo,
    SessionPolicy,
    encode,
    loop_factory,
)

pytestmark = pytest.mark.network

Run = Callable[..., Any]
ReadFrames = Callable[[asyncio.StreamReader, int], Awaitable[list[bytes]]]


async def echo(payload: bytes, peer: PeerInfo) -> bytes:
    return b"ECHO " + payload


def fast_policy(**overrides: Any) -> SessionPolicy:
    values: dict[str, Any] = {
        "idle_timeout": 5.0,
        "frame_deadline": 5.0,
        "grace_period": 0.2,
        "write_timeout": 2.0,
    }
    values.update(overrides)
    return SessionPolicy(**values)


async def connect(server: MLLPServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port, limit=8 * 1024 * 1024)


async def wait_closed_by_peer(reader: asyncio.StreamReader, within: float = 3.0) -> bytes:
    """Everything the server still sends before closing; fails if it does not close in time."""
    async with asyncio.timeout(within):
        return await reader.read()


def test_fr1_many_frames_in_one_write_replied_in_order(arun: Run, frames_from: ReadFrames) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            payloads = [f"MSG{i}".encode() for i in range(50)]
            writer.write(b"".join(encode(p) for p in payloads))
            replies = await frames_from(reader, 50)
            assert replies == [b"ECHO " + p for p in payloads]
            writer.close()
            assert server.counters.mllp_frames_received_total == 50
            assert server.counters.mllp_replies_sent_total == 50

    arun(main())


def test_fr1_frame_split_byte_by_byte(arun: Run, frames_from: ReadFrames) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            for byte in encode(b"MSH|split"):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0)
            assert await frames_from(reader, 1) == [b"ECHO MSH|split"]
            writer.close()

    arun(main())


def test_fr1_slow_handler_keeps_reply_order(arun: Run, frames_from: ReadFrames) -> None:
    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        await asyncio.sleep(0.05 if payload == b"first" else 0)
        return payload

    async def main() -> None:
        async with MLLPServer(handler, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"first") + encode(b"second") + encode(b"third"))
            assert await frames_from(reader, 3) == [b"first", b"second", b"third"]
            writer.close()

    arun(main())


def test_no_reply_when_handler_returns_none(arun: Run, frames_from: ReadFrames) -> None:
    async def handler(payload: bytes, peer: PeerInfo) -> bytes | None:
        return None if payload == b"silent" else payload

    async def main() -> None:
        async with MLLPServer(handler, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"silent") + encode(b"loud"))
            assert await frames_from(reader, 1) == [b"loud"]
            writer.close()

    arun(main())


def test_idle_timeout_closes(arun: Run) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy(idle_timeout=0.2)) as server:
            reader, writer = await connect(server)
            assert await wait_closed_by_peer(reader) == b""
            assert server.counters.mllp_idle_timeouts_total == 1
            writer.close()

    arun(main())


def test_f15_whole_frame_deadline_closes_slow_loris(arun: Run) -> None:
    async def main() -> None:
        policy = fast_policy(idle_timeout=5.0, frame_deadline=0.3)
        async with MLLPServer(echo, policy=policy) as server:
            reader, writer = await connect(server)
            writer.write(b"\x0bMSH|")

            async def trickle() -> None:
                # Bytes keep coming, so only the frame deadline can fire, not the idle timeout.
                while not writer.is_closing():
                    writer.write(b"x")
                    await asyncio.sleep(0.05)

            trickler = asyncio.create_task(trickle())
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await wait_closed_by_peer(reader) == b""
            assert 0.25 < loop.time() - started < 2.0
            trickler.cancel()
            assert server.counters.mllp_frame_deadline_closed_total == 1
            assert server.counters.mllp_idle_timeouts_total == 0
            assert server.counters.mllp_truncated_frames_total == 1
            writer.close()

    arun(main())


def test_f16_listener_connection_limit_refuses_at_accept(arun: Run) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy(), max_connections=2) as server:
            kept = [await connect(server) for _ in range(2)]
            reader, writer = await connect(server)
            assert await wait_closed_by_peer(reader) == b""
            assert server.counters.mllp_connections_refused_total == 1
            kept[0][1].write(encode(b"still served"))
            assert await kept[0][0].readuntil(b"\x1c\x0d") == encode(b"ECHO still served")
            for _, w in kept:
                w.close()
            writer.close()

    arun(main())


def test_f16_per_peer_connection_limit(arun: Run) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy(), max_connections_per_peer=1) as server:
            _, first = await connect(server)
            reader, second = await connect(server)
            assert await wait_closed_by_peer(reader) == b""
            assert server.counters.mllp_connections_refused_total == 1
            first.close()
            second.close()

    arun(main())


def test_sz1_oversize_goes_to_hook_and_connection_is_kept(
    arun: Run, frames_from: ReadFrames
) -> None:
    heads: list[bytes] = []

    def on_oversize(head: bytes, peer: PeerInfo) -> bytes:
        heads.append(head)
        return b"AR 207"

    async def main() -> None:
        framing = FramingPolicy(max_message_size=1024, head_size=64)
        policy = fast_policy(framing=framing)
        async with MLLPServer(echo, policy=policy, on_oversize=on_oversize) as server:
            reader, writer = await connect(server)
            big = b"MSH|" + b"x" * 4000
            writer.write(encode(big) + encode(b"small"))
            assert await frames_from(reader, 2) == [b"AR 207", b"ECHO small"]
            assert heads == [big[:64]]
            assert server.counters.mllp_oversize_rejected_total == 1
            writer.close()

    arun(main())


def test_sz1_hard_cap_closes_without_reply(arun: Run) -> None:
    async def main() -> None:
        framing = FramingPolicy(max_message_size=1024, hard_cap=2048)
        async with MLLPServer(echo, policy=fast_policy(framing=framing)) as server:
            reader, writer = await connect(server)
            writer.write(b"\x0b" + b"x" * 3000)
            assert await wait_closed_by_peer(reader) == b""
            assert server.counters.mllp_oversize_closed_total == 1
            writer.close()

    arun(main())


def test_sz3_frame_larger_than_stream_buffers_is_accepted(arun: Run) -> None:
    async def size(payload: bytes, peer: PeerInfo) -> bytes:
        return str(len(payload)).encode()

    async def main() -> None:
        async with MLLPServer(size, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"y" * (3 * 1024 * 1024)))
            assert await reader.readuntil(b"\x1c\x0d") == encode(b"3145728")
            writer.close()

    arun(main())


def test_fr3_junk_limit_closes_and_logs_without_content(
    arun: Run, caplog: pytest.LogCaptureFixture, synth: Any
) -> None:
    async def main() -> None:
        framing = FramingPolicy(junk_limit=100)
        async with MLLPServer(echo, policy=fast_policy(framing=framing)) as server:
            reader, writer = await connect(server)
            writer.write(synth.adt("J1") * 3)  # HL7 with no start block
            assert await wait_closed_by_peer(reader) == b""
            assert server.counters.mllp_junk_limit_closed_total == 1
            assert server.counters.mllp_junk_bytes_total == 101
            writer.close()

    with caplog.at_level(logging.DEBUG, logger="eprlink.mllp"):
        arun(main())
    actions = {getattr(r, "action", None) for r in caplog.records}
    assert "non_mllp_traffic" in actions
    for record in caplog.records:
        assert synth.nhs_number not in record.getMessage()
        assert all(synth.nhs_number not in str(v) for v in record.__dict__.values())


def test_fr4_lenient_missing_cr_replied_within_grace(arun: Run, frames_from: ReadFrames) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy(grace_period=0.2)) as server:
            reader, writer = await connect(server)
            writer.write(b"\x0bMSH|nocr\x1c")
            async with asyncio.timeout(2):
                assert await frames_from(reader, 1) == [b"ECHO MSH|nocr"]
            assert server.counters.mllp_framing_violations_total == 1
            writer.write(b"\x0d" + encode(b"next"))  # the late CR is junk
            assert await frames_from(reader, 1) == [b"ECHO next"]
            writer.close()

    arun(main())


def test_fr4_strict_missing_cr_closes_without_reply(arun: Run) -> None:
    async def main() -> None:
        framing = FramingPolicy(mode=FramingMode.STRICT)
        policy = fast_policy(framing=framing, grace_period=0.2)
        async with MLLPServer(echo, policy=policy) as server:
            reader, writer = await connect(server)
            writer.write(b"\x0bMSH|nocr\x1c")
            assert await wait_closed_by_peer(reader) == b""
            writer.close()

    arun(main())


def test_fr7_eof_mid_frame_releases_connection(arun: Run) -> None:
    async def main() -> None:
        async with MLLPServer(echo, policy=fast_policy()) as server:
            _, writer = await connect(server)
            writer.write(b"\x0bMSH|partial")
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            async with asyncio.timeout(2):
                while server.connections:
                    await asyncio.sleep(0.01)
            assert server.counters.mllp_truncated_frames_total == 1
            assert server.counters.mllp_connections_active == 0

    arun(main())


def test_p2_handler_failure_closes_without_reply(arun: Run) -> None:
    async def broken(payload: bytes, peer: PeerInfo) -> bytes:
        raise RuntimeError("store down")

    async def main() -> None:
        async with MLLPServer(broken, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"MSH|x"))
            assert await wait_closed_by_peer(reader) == b""
            writer.close()

    arun(main())


def test_graceful_shutdown_finishes_frame_in_hand(arun: Run, frames_from: ReadFrames) -> None:
    async def main() -> None:
        started = asyncio.Event()
        release = asyncio.Event()

        async def slow(payload: bytes, peer: PeerInfo) -> bytes:
            started.set()
            await release.wait()
            return b"done " + payload

        server = MLLPServer(slow, policy=fast_policy())
        await server.start()
        busy_reader, busy_writer = await connect(server)
        idle_reader, idle_writer = await connect(server)
        busy_writer.write(encode(b"in flight"))
        await started.wait()
        closing = asyncio.create_task(server.close(timeout=5))
        assert await wait_closed_by_peer(idle_reader) == b""
        with pytest.raises(OSError):
            await connect(server)  # no longer accepting
        release.set()
        assert await frames_from(busy_reader, 1) == [b"done in flight"]
        assert await wait_closed_by_peer(busy_reader) == b""
        await closing
        busy_writer.close()
        idle_writer.close()

    arun(main())


def test_peer_info_and_bound_port(arun: Run) -> None:
    seen: list[PeerInfo] = []

    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        seen.append(peer)
        return b"ok"

    async def main() -> None:
        async with MLLPServer(handler, host="127.0.0.1", port=0) as server:
            assert server.port > 0
            reader, writer = await connect(server)
            writer.write(encode(b"x"))
            await reader.readuntil(b"\x1c\x0d")
            writer.close()
            assert seen[0].host == "127.0.0.1"
            assert not seen[0].tls
            assert seen[0].certificate is None

    arun(main())


def test_server_runs_on_loop_factory_loop() -> None:
    async def main() -> bytes:
        async with MLLPServer(echo, policy=fast_policy()) as server:
            reader, writer = await connect(server)
            writer.write(encode(b"uv"))
            reply = await reader.readuntil(b"\x1c\x0d")
            writer.close()
            return reply

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        assert runner.run(asyncio.wait_for(main(), 10)) == encode(b"ECHO uv")


def test_release2_commit_ack_reply_and_incoming_commit_blocks(arun: Run) -> None:
    async def commit(payload: bytes, peer: PeerInfo) -> bytes:
        return COMMIT_ACK

    async def main() -> None:
        policy = fast_policy(framing=FramingPolicy(release2=True))
        async with MLLPServer(commit, policy=policy) as server:
            reader, writer = await connect(server)
            writer.write(b"\x0b\x06\x1c\x0d" + encode(b"MSH|r2"))  # a stray commit ACK first
            assert await reader.readuntil(b"\x1c\x0d") == b"\x0b\x06\x1c\x0d"
            assert server.counters.mllp_frames_received_total == 1
            writer.close()

    arun(main())


def test_bind_failure_is_mapped(arun: Run) -> None:
    async def main() -> None:
        async with MLLPServer(echo) as first:
            with pytest.raises(BindError) as info:
                await MLLPServer(echo, port=first.port).start()
            assert info.value.port == first.port

    arun(main())
