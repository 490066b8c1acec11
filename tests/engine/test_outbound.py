"""Outbound guarantees: FIFO per destination (P3), MSA-2 matching (AK-3), poison policy (P5,
AK-5), timeouts and backoff (AK-4, P4), and the HTTP, file and callable transports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from eprlink.engine import Engine
from eprlink.store import EntryState, MessageQuery
from eprlink.store.memory import MemoryStore

from . import pipeline
from .conftest import (
    Peer,
    ack_for,
    adt,
    config,
    control_ids,
    exchange,
    field_of,
    listener,
    mllp_destination,
    port_of,
    run,
    until,
)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def states(engine: Engine, destination: str) -> dict[str, EntryState]:
    """Entry state per control id for one destination."""
    found: dict[str, EntryState] = {}
    for summary in await engine.store.search(MessageQuery(limit=1000)):
        stored = await engine.store.message(summary.message_id)
        assert stored is not None
        for _entry, name, state, _attempts in stored.entries:
            if name == destination:
                found[summary.control_id or ""] = state
    return found


async def delivered(engine: Engine, destination: str, count: int) -> None:
    async def check() -> bool:
        values = list((await states(engine, destination)).values())
        return values.count(EntryState.DELIVERED) >= count

    await eventually(check)


def _ids(count: int) -> list[str]:
    return [f"MSG{i}" for i in range(1, count + 1)]


def test_p3_fifo_delivery_to_an_mllp_destination(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt(c) for c in _ids(20)])
            await peer.wait_for(20)
            await delivered(engine, "pas", 20)
            snapshot = engine.metrics.snapshot()
        assert control_ids(peer.received) == _ids(20)
        assert peer.received[0] == adt("MSG1")  # byte-exact pass-through (EN-4)
        assert snapshot.value("outbound_delivered_total", destination="pas") == 20
        assert snapshot.value("outbound_attempts_total", destination="pas") == 20
        await peer.close()

    run(scenario())


def test_ak3_stale_ack_is_ignored(tmp_path: Path) -> None:
    def script(payload: bytes, count: int) -> list[bytes]:
        if field_of(payload, "MSH", 9) == "MSG2":
            return [ack_for(payload, control_id="MSG1"), ack_for(payload)]
        return [ack_for(payload)]

    async def scenario() -> None:
        peer = await Peer(script).start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt(c) for c in _ids(3)])
            await delivered(engine, "pas", 3)
            snapshot = engine.metrics.snapshot()
        assert control_ids(peer.received) == _ids(3)  # nothing resent
        assert snapshot.value("outbound_stale_acks_total", destination="pas") == 1
        await peer.close()

    run(scenario())


def _nak_once(code: str, control_id: str = "MSG2") -> Callable[[bytes, int], list[bytes]]:
    def script(payload: bytes, count: int) -> list[bytes]:
        if field_of(payload, "MSH", 9) == control_id and count == 1:
            return [ack_for(payload, code)]
        return [ack_for(payload)]

    return script


def test_p5_ae_holds_the_stream_until_release_then_resumes_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(_nak_once("AE")).start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt(c) for c in _ids(4)])
            await peer.wait_for(2)
            await asyncio.sleep(0.4)  # blocked: nothing overtakes the held message
            assert control_ids(peer.received) == ["MSG1", "MSG2"]
            assert (await states(engine, "pas"))["MSG2"] is EntryState.HELD
            status = await engine.api.status()
            assert status.destinations[0].blocked
            snapshot = engine.metrics.snapshot()
            assert snapshot.value("alerts_total", alert="destination_blocked") == 1
            released = await engine.api.release("pas", operator="op", reason="fixed downstream")
            assert released == 1
            await peer.wait_for(5)
            await delivered(engine, "pas", 4)
        assert control_ids(peer.received) == ["MSG1", "MSG2", "MSG2", "MSG3", "MSG4"]
        await peer.close()

    run(scenario())


@pytest.mark.parametrize(("code", "policy"), [("AE", "on_error"), ("AR", "on_reject")])
def test_p5_dead_letter_and_continue(code: str, policy: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(_nak_once(code)).start()
        destination = mllp_destination("pas", peer.port, extra=f'{policy} = "dead"')
        cfg = config(listener() + destination, tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt(c) for c in _ids(4)])
            await delivered(engine, "pas", 3)
            found = await states(engine, "pas")
        assert found["MSG2"] is EntryState.DEAD
        assert control_ids(peer.received) == _ids(4)
        await peer.close()

    run(scenario())


def test_ak4_timeout_retries_with_backoff_then_succeeds(tmp_path: Path) -> None:
    def script(payload: bytes, count: int) -> list[bytes] | None:
        return None if count == 1 else [ack_for(payload)]

    async def scenario() -> None:
        peer = await Peer(script).start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "pas", 2)
            snapshot = engine.metrics.snapshot()
        # One timeout, one duplicate at the receiver (P4), order kept.
        assert control_ids(peer.received) == ["MSG1", "MSG1", "MSG2", "MSG2"]
        assert snapshot.value("outbound_ack_timeouts_total", destination="pas") == 2
        await peer.close()

    run(scenario())


def test_max_attempts_then_on_exhausted(tmp_path: Path) -> None:
    def script(payload: bytes, count: int) -> list[bytes] | None:
        return None if field_of(payload, "MSH", 9) == "MSG1" else [ack_for(payload)]

    async def scenario() -> None:
        peer = await Peer(script).start()
        extra = 'max_attempts = 2\non_exhausted = "dead"'
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=extra), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "pas", 1)
            found = await states(engine, "pas")
        assert found == {"MSG1": EntryState.DEAD, "MSG2": EntryState.DELIVERED}
        assert control_ids(peer.received) == ["MSG1", "MSG1", "MSG2"]
        await peer.close()

    run(scenario())


def test_routes_by_message_type(tmp_path: Path) -> None:
    async def scenario() -> None:
        adt_peer, oru_peer = await Peer().start(), await Peer().start()
        text = listener() + (
            "\n[[channels.routes]]\ntypes = ['ADT^*']\ndestinations = ['pas']\n"
            "\n[[channels.routes]]\ntypes = ['ORU^R01', 'ADT^A01']\ndestinations = ['lab']\n"
        )
        text += mllp_destination("pas", adt_peer.port) + mllp_destination("lab", oru_peer.port)
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            payloads = [adt("A1"), adt("A2", kind="ADT^A08"), adt("O1", kind="ORU^R01")]
            await exchange(port_of(engine), payloads)
            await delivered(engine, "pas", 2)
            await delivered(engine, "lab", 2)
        assert control_ids(adt_peer.received) == ["A1", "A2"]
        assert control_ids(oru_peer.received) == ["A1", "O1"]

    run(scenario())


def test_transform_runs_at_delivery_and_the_store_keeps_the_original(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        text = listener().replace(
            'name = "adt"', 'name = "adt"\ntransform = "tests.engine.pipeline:stamp"'
        )
        cfg = config(text + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await delivered(engine, "pas", 1)
            (row,) = await engine.store.search(MessageQuery())
            stored = await engine.store.message(row.message_id)
        assert field_of(peer.received[0], "MSH", 4) == "STAMPED"
        assert stored is not None and stored.payload == adt("MSG1")

    run(scenario())


def test_failing_transform_is_poison_and_holds(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        text = listener().replace(
            'name = "adt"', 'name = "adt"\ntransform = "tests.engine.pipeline:explode"'
        )
        cfg = config(text + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])

            async def held() -> bool:
                return (await states(engine, "pas")).get("MSG1") is EntryState.HELD

            await eventually(held)
        assert peer.received == []

    run(scenario())


def test_file_destination_writes_exact_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = (
        listener()
        + f"\n[[channels.destinations]]\nname='archive'\nkind='file'\ndirectory='{out}'\n"
    )

    async def scenario() -> None:
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "archive", 2)

    run(scenario())
    files = sorted(out.iterdir())
    assert [f.read_bytes() for f in files] == [adt("MSG1"), adt("MSG2")]
    assert files[0].name.endswith("-MSG1.hl7")


class HTTPResponder:
    """A tiny HTTP server: records bodies, answers the statuses it is given, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[bytes] = []
        self.headers: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        self.headers.append(head)
        self.bodies.append(await reader.readexactly(length))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()


def test_http_destination_posts_bytes_and_retries_on_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        responder = HTTPResponder([503])
        port = await responder.start()
        text = listener() + (
            "\n[[channels.destinations]]\nname='fhir'\nkind='http'\n"
            f"url='http://127.0.0.1:{port}/hl7'\non_error='retry'\nbackoff_initial='20ms'\n"
            "headers = { Authorization = 'Bearer t' }\n"
        )
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await delivered(engine, "fhir", 1)
        assert responder.bodies == [adt("MSG1"), adt("MSG1")]
        assert b"Authorization: Bearer t" in responder.headers[0]
        assert b"POST /hl7 HTTP/1.1" in responder.headers[0]

    run(scenario())


def test_http_4xx_is_a_reject(tmp_path: Path) -> None:
    async def scenario() -> None:
        responder = HTTPResponder([400])
        port = await responder.start()
        text = listener() + (
            "\n[[channels.destinations]]\nname='fhir'\nkind='http'\n"
            f"url='http://127.0.0.1:{port}/'\non_reject='dead'\n"
        )
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "fhir", 1)
            found = await states(engine, "fhir")
        assert found == {"MSG1": EntryState.DEAD, "MSG2": EntryState.DELIVERED}

    run(scenario())


@pytest.mark.parametrize("target", ["sink", "async_sink"])
def test_callable_destination(target: str, tmp_path: Path) -> None:
    pipeline.delivered.clear()
    pipeline.failures_left[0] = 1 if target == "sink" else 0
    text = listener() + (
        "\n[[channels.destinations]]\nname='hook'\nkind='callable'\n"
        f"target='tests.engine.pipeline:{target}'\non_error='retry'\nbackoff_initial='20ms'\n"
    )

    async def scenario() -> None:
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "hook", 2)

    run(scenario())
    assert pipeline.delivered == [adt("MSG1"), adt("MSG2")]


def test_unreachable_destination_keeps_messages_queued(tmp_path: Path) -> None:
    async def scenario() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = int(probe.sockets[0].getsockname()[1])
        probe.close()
        await probe.wait_closed()
        cfg = config(listener() + mllp_destination("pas", port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await asyncio.sleep(0.3)
            assert (await states(engine, "pas")) == {"MSG1": EntryState.QUEUED}
            status = await engine.api.status()
            assert status.destinations[0].connected is False
            assert status.destinations[0].depth == 1
            await until(lambda: engine.workers["pas"].backoff.attempts >= 2)

    run(scenario())
