"""The Prometheus ``/metrics`` endpoint: a collector over ``Metrics.snapshot()`` and its server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from eprlink.engine.metrics import METRICS, Metrics, MetricsSnapshot

__all__ = ["CONTENT_TYPE", "MetricsCollector", "MetricsServer", "exposition"]

_log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text exposition format every Prometheus version reads."""

_MAX_REQUEST = 8192
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _bound(value: float) -> str:
    """A bucket's ``le`` label as Prometheus writes it (``0.25``, ``1.0``, ``+Inf``)."""
    return "+Inf" if math.isinf(value) else repr(float(value))


def _family_name(name: str, kind: str) -> str:
    """prometheus-client names a counter family without ``_total`` and adds it to samples."""
    return name.removesuffix("_total") if kind == "counter" else name


class MetricsCollector:
    """A prometheus-client custom collector publishing one :class:`Metrics` under the names of
    :data:`~eprlink.engine.metrics.METRICS` (policy section 7).

    Every known family is published, with its HELP and TYPE, even before it has a sample, so
    dashboards and alert rules can be written against a freshly started engine.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.families(self._metrics.snapshot())

    @staticmethod
    def families(snapshot: MetricsSnapshot) -> list[Metric]:
        families: dict[str, Metric] = {}

        def family(name: str, kind: str) -> Metric:
            found = families.get(name)
            if found is None:
                known_kind, help_text = METRICS.get(name, (kind, "eprlink engine metric"))
                found = Metric(_family_name(name, known_kind), help_text, known_kind)
                families[name] = found
            return found

        for name, (kind, _help) in METRICS.items():
            family(name, kind)
        for sample in snapshot.counters:
            kind = "counter" if sample.name.endswith("_total") else "unknown"
            family(sample.name, kind).add_sample(sample.name, dict(sample.labels), sample.value)
        for sample in snapshot.gauges:
            family(sample.name, "gauge").add_sample(sample.name, dict(sample.labels), sample.value)
        for histogram in snapshot.histograms:
            target = family(histogram.name, "histogram")
            labels = dict(histogram.labels)
            for bound, count in histogram.buckets:
                bucket = {**labels, "le": _bound(bound)}
                target.add_sample(f"{histogram.name}_bucket", bucket, float(count))
            target.add_sample(f"{histogram.name}_count", labels, float(histogram.count))
            target.add_sample(f"{histogram.name}_sum", labels, histogram.total)
        return list(families.values())


def exposition(metrics: Metrics) -> bytes:
    """The text a scrape returns, without a server (tests, the web console)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(metrics))
    return generate_latest(registry)


def _response(status: str, body: bytes, content_type: str, *, head: bool, extra: str = "") -> bytes:
    header = (
        f"HTTP/1.1 {status}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
        f"{extra}\r\n"
    ).encode("ascii")
    return header if head else header + body


def _plain(status: str, text: str, *, head: bool = False, extra: str = "") -> bytes:
    return _response(
        status, text.encode("ascii"), "text/plain; charset=utf-8", head=head, extra=extra
    )


class MetricsServer:
    """Serve ``/metrics`` for one :class:`Metrics` on ``host:port`` (port 0: any free port).

    The engine's numbers live on its event loop without locks, so the snapshot must be taken on
    that loop: this is a plain asyncio server, not prometheus-client's threaded one. It speaks
    just enough HTTP/1.1 for a scraper (GET or HEAD, one request per connection) with bounded
    request size, time and connection count, as anything that reaches the port can talk to it.

    ``refresh`` is awaited before a scrape (at most once per ``refresh_interval`` seconds, and
    bounded by ``request_timeout``) so gauges read from the store, such as queue depth, are
    current when Prometheus asks rather than up to ``stats_interval`` old. A failing refresh is
    logged and the last known values are served.
    """

    def __init__(
        self,
        metrics: Metrics,
        host: str = "127.0.0.1",
        port: int = 9464,
        *,
        refresh: Callable[[], Awaitable[None]] | None = None,
        refresh_interval: float = 1.0,
        request_timeout: float = 5.0,
        max_connections: int = 8,
    ) -> None:
        self.metrics = metrics
        self.host = host
        self._port = port
        self._refresh = refresh
        self._refresh_interval = refresh_interval
        self._timeout = request_timeout
        self._max_connections = max_connections
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(MetricsCollector(metrics))
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._refresh_lock = asyncio.Lock()
        self._refreshed_at: float | None = None
        self.scrapes = 0

    @property
    def port(self) -> int:
        """The bound port once started (the configured one before)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> None:
        """Bind now, so a port already in use fails the caller before the engine starts."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, self.host, self._port, limit=_MAX_REQUEST
        )
        _log.info(
            "metrics served at %s",
            self.url,
            extra={"action": "metrics_listening", "port": self.port},
        )

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await server.wait_closed()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection handler always runs as a task
        if len(self._handlers) >= self._max_connections:
            writer.close()
            return
        self._handlers.add(task)
        try:
            reply = await asyncio.wait_for(self._answer(reader), self._timeout)
            writer.write(reply)
            await asyncio.wait_for(writer.drain(), self._timeout)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return _plain("431 Request Header Fields Too Large", "request too large\n")
        except asyncio.IncompleteReadError:
            return b""
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return _plain("400 Bad Request", "bad request\n")
        method, target, _version = parts
        head_only = method == "HEAD"
        if method not in ("GET", "HEAD"):
            return _plain(
                "405 Method Not Allowed", "GET or HEAD only\n", extra="Allow: GET, HEAD\r\n"
            )
        path = target.split("?", 1)[0]
        if path == "/":
            return _plain("200 OK", "eprlink: metrics at /metrics\n", head=head_only)
        if path != "/metrics":
            return _plain("404 Not Found", "not found; metrics are at /metrics\n", head=head_only)
        await self._refresh_gauges()
        self.scrapes += 1
        body = generate_latest(self._registry)
        return _response("200 OK", body, CONTENT_TYPE, head=head_only)

    async def _refresh_gauges(self) -> None:
        if self._refresh is None:
            return
        async with self._refresh_lock:
            now = asyncio.get_running_loop().time()
            last = self._refreshed_at
            if last is not None and now - last < self._refresh_interval:
                return
            self._refreshed_at = now
            try:
                await asyncio.wait_for(self._refresh(), self._timeout / 2)
            except Exception as exc:
                _log.warning(
                    "metrics refresh failed (%s); serving the last values",
                    type(exc).__name__,
                    extra={"action": "metrics_refresh_failed", "error": type(exc).__name__},
                )
