"""The /metrics endpoint: policy section 7 names and types, a real histogram, a bounded server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from eprlink.engine import METRICS, Engine, Metrics
from eprlink.engine.metrics_http import CONTENT_TYPE, MetricsServer, exposition
from eprlink.store.memory import MemoryStore

from .conftest import Peer, adt, config, exchange, listener, mllp_destination, port_of, run
from .test_outbound import delivered

pytestmark = pytest.mark.network


def test_every_known_metric_is_published_with_its_type_and_values() -> None:
    metrics = Metrics()
    metrics.inc("messages_rejected_total", channel="adt", code="207")
    metrics.inc("messages_rejected_total", 2, channel="adt", code="203")
    metrics.set("queue_depth", 4, destination="pas")
    metrics.set("queue_oldest_age_seconds", 12.5, destination="pas")
    metrics.inc("outbound_failures_total", destination="pas", result="error", decision="hold")
    for value in (0.003, 0.2, 99.0):
        metrics.observe("outbound_ack_latency_seconds", value, destination="pas")
    metrics.inc("something_new_total")
    text = exposition(metrics).decode("utf-8")

    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, (kind, _help) in METRICS.items():
        family = families[name.removesuffix("_total") if kind == "counter" else name]
        assert family.type == kind, name
    assert 'messages_rejected_total{channel="adt",code="203"} 2.0' in text
    assert 'queue_depth{destination="pas"} 4.0' in text
    assert 'queue_oldest_age_seconds{destination="pas"} 12.5' in text
    assert 'decision="hold"' in text and "something_new_total 1.0" in text

    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in families["outbound_ack_latency_seconds"].samples
    }
    assert samples[("outbound_ack_latency_seconds_bucket", "0.005")] == 1
    assert samples[("outbound_ack_latency_seconds_bucket", "0.25")] == 2
    assert samples[("outbound_ack_latency_seconds_bucket", "60.0")] == 2
    assert samples[("outbound_ack_latency_seconds_bucket", "+Inf")] == 3
    assert samples[("outbound_ack_latency_seconds_count", None)] == 3
    assert samples[("outbound_ack_latency_seconds_sum", None)] == pytest.approx(99.203)


async def _request(port: int, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


def _get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode("ascii")


def test_server_answers_scrapes_and_nothing_else() -> None:
    async def scenario() -> None:
        metrics = Metrics()
        metrics.set("queue_depth", 1, destination="pas")
        async with MetricsServer(metrics, "127.0.0.1", 0) as server:
            status, headers, body = await _request(server.port, _get("/metrics?x=1"))
            assert status == "HTTP/1.1 200 OK" and headers["Content-Type"] == CONTENT_TYPE
            assert int(headers["Content-Length"]) == len(body)
            assert b'queue_depth{destination="pas"} 1.0' in body
            status, headers, body = await _request(server.port, _get("/metrics", "HEAD"))
            assert status == "HTTP/1.1 200 OK" and body == b"" and int(headers["Content-Length"])
            assert (await _request(server.port, _get("/admin")))[0].endswith("404 Not Found")
            status, headers, _ = await _request(server.port, _get("/metrics", "POST"))
            assert status.endswith("405 Method Not Allowed") and headers["Allow"] == "GET, HEAD"
            assert (await _request(server.port, b"nonsense\r\n\r\n"))[0].endswith("400 Bad Request")
            huge = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 10_000 + b"\r\n\r\n"
            assert (await _request(server.port, huge))[0].endswith(
                "431 Request Header Fields Too Large"
            )
            assert server.scrapes == 2
            port = server.port
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    run(scenario())


def test_a_silent_client_is_dropped_and_others_are_still_served() -> None:
    async def scenario() -> None:
        server = MetricsServer(Metrics(), "127.0.0.1", 0, request_timeout=0.2)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        status, _, _ = await _request(server.port, _get("/metrics"))
        assert status == "HTTP/1.1 200 OK"
        assert await asyncio.wait_for(reader.read(), 2) == b""  # timed out and closed
        writer.close()
        await server.close()

    run(scenario())


def test_refresh_runs_before_a_scrape_at_most_once_per_interval_and_may_fail() -> None:
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("store busy")

    async def scenario() -> None:
        metrics = Metrics()
        async with MetricsServer(
            metrics, "127.0.0.1", 0, refresh=refresh, refresh_interval=0.2
        ) as server:
            for _ in range(3):
                assert (await _request(server.port, _get("/metrics")))[0].endswith("200 OK")
            assert len(calls) == 1
            await asyncio.sleep(0.25)
            assert (await _request(server.port, _get("/metrics")))[0].endswith("200 OK")
            assert len(calls) == 2  # failed, and the last values were served anyway

    run(scenario())


def test_a_running_engine_publishes_queue_depth_and_ack_latency(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            server = MetricsServer(
                engine.metrics, "127.0.0.1", 0, refresh=engine.refresh_queue_gauges
            )
            async with server:
                await exchange(port_of(engine), [adt("MSG1")])
                await delivered(engine, "pas", 1)
                _, _, body = await _request(server.port, _get("/metrics"))
        await peer.close()
        text = body.decode("utf-8")
        assert 'queue_depth{destination="pas"} 0.0' in text
        assert 'destination_connected{destination="pas"} 1.0' in text
        assert 'outbound_ack_latency_seconds_count{destination="pas"} 1.0' in text
        assert 'inbound_ack_latency_seconds_count{channel="adt"} 1.0' in text
        assert 'listener_connections{channel="adt"}' in text

    run(scenario())
