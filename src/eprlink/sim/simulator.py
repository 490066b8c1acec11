"""The CareFlow IE simulator: up to five ports, their queues, faults, traffic and capture.

``Simulator(config)`` is started and stopped like the engine (``start``/``stop`` or ``async
with``). Outbound links push their queues to whoever connects; the orders listener turns each
accepted order into results on the results link after ``result_delay``; the traffic task feeds
the synthetic hospital's messages in at the configured rate.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
from pathlib import Path
from types import TracebackType

from eprlink.hl7 import Message
from eprlink.mllp import server_context
from eprlink.sim.answers import Check, Responder
from eprlink.sim.capture import CaptureWriter, replay_payloads
from eprlink.sim.config import ListenerConfig, ListenerKind, SimConfig, TLSConfig
from eprlink.sim.faults import FaultInjector
from eprlink.sim.hospital import results_for_order
from eprlink.sim.inbound import InboundListener
from eprlink.sim.outbound import LinkStats, OutboundLink
from eprlink.sim.queue import LinkQueue
from eprlink.sim.traffic import Traffic
from eprlink.sim.trust import profile_check, trust_settings

__all__ = ["Simulator"]

_log = logging.getLogger(__name__)


def _context(tls: TLSConfig | None) -> _ssl.SSLContext | None:
    if tls is None:
        return None
    return server_context(
        str(tls.cert),
        None if tls.key is None else str(tls.key),
        client_ca=None if tls.client_ca is None else str(tls.client_ca),
        require_client_cert=tls.require_client_cert,
    )


class Simulator:
    """Everything one ``eprlink sim`` process runs."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.trust = trust_settings(config.trust)
        self.capture = CaptureWriter(config.capture) if config.capture is not None else None
        self.links: dict[str, OutboundLink] = {}
        self.listeners: dict[str, InboundListener] = {}
        self.traffic: Traffic | None = None
        self.results_queued = 0
        self.results_unrouted = 0
        self._routes: dict[str, OutboundLink] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._traffic_task: asyncio.Task[None] | None = None
        self.running = False
        check: Check | None = None
        if any(not c.outbound and c.validate for c in config.listeners):
            check = profile_check(config.trust)
        for listener in config.listeners:
            injector = FaultInjector(listener.faults, seed=config.seed, listener=listener.name)
            if listener.outbound:
                self._add_link(listener, injector)
            else:
                responder = Responder(
                    listener,
                    application=config.application,
                    facility=config.facility,
                    check=check,
                )
                on_accept = self._order_accepted if listener.kind is ListenerKind.ORDERS else None
                self.listeners[listener.name] = InboundListener(
                    listener,
                    responder=responder,
                    injector=injector,
                    capture=self.capture,
                    ssl=_context(listener.tls),
                    on_accept=on_accept,
                )

    def _add_link(self, listener: ListenerConfig, injector: FaultInjector) -> None:
        data_dir = self.config.data_dir
        path = None if data_dir is None else data_dir / f"{listener.name}-queue.sqlite"
        link = OutboundLink(
            listener,
            queue=LinkQueue(path),
            injector=injector,
            capture=self.capture,
            ssl=_context(listener.tls),
        )
        self.links[listener.name] = link
        for feed in listener.carried:
            self._routes.setdefault(feed, link)

    # -- ports and numbers ----------------------------------------------------------------------
    def port(self, name: ListenerKind | str) -> int:
        """The port a listener is bound to (useful with port 0)."""
        key = ListenerKind(name).value
        if key in self.links:
            return self.links[key].port
        return self.listeners[key].port

    def stats(self) -> dict[str, LinkStats]:
        found = {name: link.stats for name, link in self.links.items()}
        found.update({name: listener.stats for name, listener in self.listeners.items()})
        return found

    def pending(self) -> int:
        """Messages still queued on the outbound links, plus results not yet due."""
        return sum(len(link.queue) for link in self.links.values()) + len(self._pending)

    # -- feeding the links ----------------------------------------------------------------------
    def enqueue(self, feed: str, message: Message | bytes) -> bool:
        """Queue a message on the link carrying ``feed`` (``adt``, ``results``, ``orders``);
        False when no link carries it or the bytes cannot be framed."""
        link = self._routes.get(feed)
        if link is None:
            return False
        payload = message if isinstance(message, bytes) else message.to_bytes()
        return link.enqueue(payload, kind=feed) is not None

    def _order_accepted(self, order: Message) -> None:
        listener = self.config.listener(ListenerKind.ORDERS)
        assert listener is not None
        task = asyncio.get_running_loop().create_task(self._results_later(order, listener))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _results_later(self, order: Message, listener: ListenerConfig) -> None:
        """Results for an accepted order, after the configured delay, on the results feed."""
        await asyncio.sleep(listener.result_delay)
        try:
            results = results_for_order(
                order, seed=self.config.seed, trust=self.trust, kind=listener.result_type
            )
        except Exception as exc:  # an order the generator cannot read: log, keep serving
            _log.warning(
                "no results for an order (%s)",
                type(exc).__name__,
                extra={"action": "sim_no_results"},
            )
            return
        if self.enqueue("results", results):
            self.results_queued += 1
        else:
            self.results_unrouted += 1

    # -- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self.running:
            return
        try:
            for link in self.links.values():
                await link.start()
            for listener in self.listeners.values():
                await listener.start()
        except BaseException:
            await self._close()
            raise
        for name, link in self.links.items():
            source = link.config.replay
            if source is not None:
                for payload in replay_payloads(Path(source), listener=name):
                    link.enqueue(payload, kind="replay")
        traffic = self.config.traffic
        if traffic.enabled and self._routes:
            self.traffic = Traffic(
                traffic,
                seed=self.config.seed,
                trust=self.trust,
                feeds=set(self._routes),
                deliver=self.enqueue,
            )
            loop = asyncio.get_running_loop()
            self._traffic_task = loop.create_task(self.traffic.run(), name="sim-traffic")
        self.running = True

    async def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        await self._close()

    async def _close(self) -> None:
        tasks = [t for t in (self._traffic_task, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for link in self.links.values():
            await link.stop()
        for listener in self.listeners.values():
            await listener.stop()
        for link in self.links.values():
            link.queue.close()
        if self.capture is not None:
            self.capture.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
