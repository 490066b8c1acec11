"""The MLLP sender on loopback: correlation, timeouts, close-before-resend, backoff (AK-1..AK-6)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eprlink.mllp import (
    COMMIT_ACK,
    AckTimeoutError,
    Backoff,
    ConnectError,
    ConnectionClosedError,
    MLLPClient,
    MLLPServer,
    PayloadError,
    PeerInfo,
    PolicyError,
    ResponseTooLargeError,
    SessionPolicy,
    encode,
)

pytestmark = pytest.mark.network

Run = Callable[..., Any]
Conversation = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_server(conversation: Conversation) -> asyncio.Server:
    """A hand-written peer, so each test scripts exactly what goes on the wire."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await conversation(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(run, "127.0.0.1", 0)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def read_payload(reader: asyncio.StreamReader) -> bytes:
    await reader.readuntil(b"\x0b")
    return (await reader.readuntil(b"\x1c\x0d"))[:-2]


def no_wait_backoff() -> Backoff:
    return Backoff(initial=0.01, maximum=0.05, rng=lambda: 0.5)


def test_ak3_stale_ack_ignored_then_matching_ack_accepted(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        payload = await read_payload(reader)
        writer.write(encode(synth.ack_for_id("OLD-1")))  # stale ACK for an earlier message
        writer.write(b"\x00junk\n" + encode(synth.ack(payload)))  # AK-2: junk before <VT>
        await writer.drain()
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        async with MLLPClient("127.0.0.1", port_of(server), ack_timeout=2) as client:
            response = await client.send(synth.adt("M1"), accept=synth.accept("M1"))
            assert synth.msa2(response) == "M1"
            assert client.counters.outbound_stale_acks_total == 1
            assert client.counters.mllp_junk_bytes_total == 6
            assert client.connected
        server.close()

    arun(main())


def test_ak4_timeout_closes_so_late_ack_never_matches_next_message(arun: Run, synth: Any) -> None:
    first_connection_closed = asyncio.Event()
    connections = 0

    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        payload = await read_payload(reader)
        if connections == 1:
            # Answer late, and with an ACK the next message would match if it were read.
            await asyncio.sleep(0.4)
            writer.write(encode(synth.ack_for_id("M2")))
            await reader.read()
            first_connection_closed.set()
            return
        writer.write(encode(synth.ack(payload, code="AE")))
        writer.write(encode(synth.ack(payload)))
        await writer.drain()
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        client = MLLPClient("127.0.0.1", port_of(server), ack_timeout=0.2)
        with pytest.raises(AckTimeoutError):
            await client.send(synth.adt("M1"), accept=synth.accept("M1"))
        assert not client.connected
        assert client.counters.outbound_ack_timeouts_total == 1
        await asyncio.wait_for(first_connection_closed.wait(), 2)
        response = await client.send(synth.adt("M2"), accept=synth.accept("M2"))
        assert response.startswith(b"MSH") and b"MSA|AE|M2" in response  # first frame on conn 2
        assert connections == 2
        await client.close()
        server.close()

    arun(main())


def test_ak6_unframed_reply_is_no_reply(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_payload(reader)
        writer.write(b"OK\r")
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        client = MLLPClient("127.0.0.1", port_of(server), ack_timeout=0.2)
        with pytest.raises(AckTimeoutError):
            await client.send(synth.adt("M1"), accept=synth.accept("M1"))
        assert client.counters.mllp_junk_bytes_total == 3
        server.close()

    arun(main())


def test_ak2_oversize_response_abandoned_and_connection_closed(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_payload(reader)
        writer.write(b"\x0b" + b"A" * 5000)
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        client = MLLPClient("127.0.0.1", port_of(server), ack_timeout=2, max_response_size=1024)
        with pytest.raises(ResponseTooLargeError):
            await client.send(synth.adt("M1"), accept=synth.accept("M1"))
        assert not client.connected
        server.close()

    arun(main())


def test_ak2_peer_closing_after_send_is_no_ack(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_payload(reader)

    async def main() -> None:
        server = await raw_server(conversation)
        client = MLLPClient("127.0.0.1", port_of(server), ack_timeout=2)
        with pytest.raises(ConnectionClosedError):
            await client.send(synth.adt("M1"), accept=synth.accept("M1"))
        assert not client.connected
        server.close()

    arun(main())


def test_ak1_one_message_in_flight(arun: Run, synth: Any) -> None:
    most_unacked = 0

    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal most_unacked
        unacked: asyncio.Queue[bytes] = asyncio.Queue()
        outstanding = 0

        async def ack_slowly() -> None:
            nonlocal outstanding
            while True:
                payload = await unacked.get()
                await asyncio.sleep(0.05)  # time for an eager sender to push the next one
                outstanding -= 1
                writer.write(encode(synth.ack(payload)))
                unacked.task_done()

        acker = asyncio.create_task(ack_slowly())
        for _ in range(3):
            payload = await read_payload(reader)
            outstanding += 1
            most_unacked = max(most_unacked, outstanding)
            await unacked.put(payload)
        await unacked.join()
        acker.cancel()
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        async with MLLPClient("127.0.0.1", port_of(server), ack_timeout=2) as client:
            ids = ["A1", "A2", "A3"]
            results = await asyncio.gather(
                *(client.send(synth.adt(i), accept=synth.accept(i)) for i in ids)
            )
            assert [synth.msa2(r) for r in results] == ids
        assert most_unacked == 1
        server.close()

    arun(main())


def test_ak4_reconnect_with_backoff_after_server_restart(arun: Run, synth: Any) -> None:
    async def ack(payload: bytes, peer: PeerInfo) -> bytes:
        return synth.ack(payload)  # type: ignore[no-any-return]

    async def main() -> None:
        policy = SessionPolicy(idle_timeout=5, grace_period=0.2)
        first = MLLPServer(ack, policy=policy)
        await first.start()
        port = first.port
        delays: list[float] = []
        restarted: list[MLLPServer] = []

        async def sleep(delay: float) -> None:
            delays.append(delay)
            await asyncio.sleep(0)
            if len(delays) == 2:
                second = MLLPServer(ack, port=port, policy=policy)
                await second.start()
                restarted.append(second)

        backoff = Backoff(initial=0.5, maximum=60, rng=lambda: 0.5)
        client = MLLPClient("127.0.0.1", port, ack_timeout=1, backoff=backoff, sleep=sleep)
        assert synth.msa2(await client.send(synth.adt("R1"), accept=synth.accept("R1"))) == "R1"
        await first.close()
        response = await client.send_with_retry(
            synth.adt("R2"), accept=synth.accept("R2"), attempts=5
        )
        assert synth.msa2(response) == "R2"
        assert delays == [0.5, 1.0]  # doubling, no jitter with rng 0.5
        assert backoff.attempts == 0  # reset after the success
        await client.close()
        await restarted[0].close()

    arun(main())


def test_send_with_retry_gives_up_after_attempts(arun: Run, synth: Any) -> None:
    async def main() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = port_of(probe)
        probe.close()
        await probe.wait_closed()
        client = MLLPClient("127.0.0.1", port, connect_timeout=1, backoff=no_wait_backoff())
        with pytest.raises(ConnectError) as info:
            await client.send_with_retry(synth.adt("X"), accept=synth.accept("X"), attempts=3)
        assert info.value.port == port
        assert client.counters.outbound_connect_failures_total == 3

    arun(main())


def test_connect_retries_with_backoff(arun: Run) -> None:
    async def main() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = port_of(probe)
        probe.close()
        await probe.wait_closed()
        client = MLLPClient("127.0.0.1", port, backoff=no_wait_backoff())
        with pytest.raises(ConnectError):
            await client.connect(attempts=2)
        assert client.backoff.attempts == 1

    arun(main())


def test_payload_with_block_bytes_refused_before_sending(arun: Run) -> None:
    async def main() -> None:
        client = MLLPClient("127.0.0.1", 9)  # never contacted
        with pytest.raises(PayloadError):
            await client.send(b"MSH|\x1c", accept=lambda r: True)
        assert not client.connected

    arun(main())


def test_backoff_doubles_to_cap_with_bounded_jitter() -> None:
    plain = Backoff(rng=lambda: 0.5)
    delays = [plain.next_delay() for _ in range(12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == 300.0
    low = Backoff(rng=lambda: 0.0)
    high = Backoff(rng=lambda: 0.999999)
    assert low.next_delay() == pytest.approx(0.8)
    assert high.next_delay() == pytest.approx(1.2, rel=1e-5)
    plain.reset()
    assert plain.next_delay() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"initial": 10, "maximum": 5}, {"factor": 0.5}, {"jitter": 1.0}],
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(PolicyError):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_fr4_response_without_cr_accepted_after_grace_not_timeout(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        payload = await read_payload(reader)
        writer.write(b"\x0b" + synth.ack(payload) + b"\x1c")  # no <CR>
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        client = MLLPClient("127.0.0.1", port_of(server), ack_timeout=5, grace_period=0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await client.send(synth.adt("G1"), accept=synth.accept("G1"))
        assert synth.msa2(response) == "G1"
        assert loop.time() - started < 2
        assert client.counters.mllp_framing_violations_total == 1
        await client.close()
        server.close()

    arun(main())


def test_release2_commit_ack_is_offered_to_accept(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_payload(reader)
        writer.write(b"\x0b\x06\x1c\x0d")
        await reader.read()

    async def main() -> None:
        server = await raw_server(conversation)
        async with MLLPClient("127.0.0.1", port_of(server), release2=True) as client:
            response = await client.send(synth.adt("C1"), accept=lambda r: r == COMMIT_ACK)
            assert response == COMMIT_ACK
        server.close()

    arun(main())


def test_link_closed_by_peer_while_idle_is_replaced_before_sending(arun: Run, synth: Any) -> None:
    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        payload = await read_payload(reader)
        writer.write(encode(synth.ack(payload)))
        await writer.drain()  # then hang up, like a peer with a short idle timeout

    async def main() -> None:
        server = await raw_server(conversation)
        async with MLLPClient("127.0.0.1", port_of(server), ack_timeout=2) as client:
            for control_id in ("I1", "I2"):
                await client.send(synth.adt(control_id), accept=synth.accept(control_id))
                await asyncio.sleep(0.05)
            assert client.counters.outbound_connects_total == 2
            assert client.counters.outbound_attempts_total == 2
        server.close()

    arun(main())
