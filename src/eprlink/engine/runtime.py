"""The running engine: store, channels, sources and delivery workers, started and stopped in order.

Start: open the store (which checks durability, P1), return this node's in-flight work to its
queues (P9), start the delivery workers, then the sources. On a store with leases (PostgreSQL,
several nodes) each worker holds its destination's lease under an owner name unique to this
process, and there is no start-up recovery: a head left in flight by a crashed process is taken
over by the next lease holder's claim, under a newer fencing token. Stop: the reverse. Sources stop
first, so in-flight frames still get their replies while nothing new is read; then workers
finish the delivery in hand; then the store closes. Signals belong to the CLI, which sets the
event given to :meth:`Engine.run_until`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from types import TracebackType

from eprlink.engine.alerts import alert
from eprlink.engine.api import EngineAPI
from eprlink.engine.appack import ApplicationAckRelay
from eprlink.engine.checkpoint import Checkpointer
from eprlink.engine.config import (
    ApplicationAck,
    EngineConfig,
    MLLPListenerSource,
    MLLPReceiverSource,
    StoreKind,
)
from eprlink.engine.inbound import InboundChannel
from eprlink.engine.leases import Leasing, StreamLease, process_owner
from eprlink.engine.limits import QueueLimits
from eprlink.engine.metrics import Metrics
from eprlink.engine.outbound import DeliveryWorker
from eprlink.engine.senders import build_sender
from eprlink.engine.sources import FolderWatcher, Listener, Receiver, Runner
from eprlink.engine.stores import store_for
from eprlink.engine.validation import ContentCheck, load_check
from eprlink.engine.values import resolve_callable
from eprlink.store import PENDING_STATES, EntryState, Store

__all__ = ["Engine"]

_log = logging.getLogger(__name__)


class Engine:
    """Everything one ``eprlink run`` process does.

    ``store`` and ``check`` replace the configured store and profile check (tests, embedding).
    ``lease_ttl`` (seconds) is how long a destination stream stays with a node that stopped
    renewing its lease, when the store offers leases; a node that is killed hands its streams
    to another within about that time.
    """

    def __init__(
        self,
        config: EngineConfig,
        *,
        store: Store | None = None,
        check: ContentCheck | None = None,
        lease_ttl: float | None = None,
    ) -> None:
        if lease_ttl is None:
            lease_ttl = config.engine.lease_ttl
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        self.config = config
        self.store = store if store is not None else store_for(config)
        self.lease_ttl = lease_ttl
        self.leasing = isinstance(self.store, Leasing)
        # Claims are recorded under this name. Alone on its store, a node keeps its configured
        # name across restarts, so start-up recovery finds its own in-flight work (P9); sharing
        # a store, every process is a new owner, so a stale process can never pass for it.
        self.owner = process_owner(config.engine.node) if self.leasing else config.engine.node
        self.metrics = Metrics()
        self.channels: dict[str, InboundChannel] = {}
        self.sources: dict[str, Runner] = {}
        self.workers: dict[str, DeliveryWorker] = {}
        self.relays: dict[str, ApplicationAckRelay] = {}  # per channel relaying application ACKs
        self.api = EngineAPI(self.store, config, engine=self)
        self.running = False
        self._check = check
        self._monitor: asyncio.Task[None] | None = None
        self._aged: set[str] = set()
        depth_limits = {
            d.name: d.policy.max_queue_depth
            for d in config.destinations
            if d.policy.max_queue_depth is not None
        }
        self.limits = (
            QueueLimits(depth_limits, metrics=self.metrics, store=self.store)
            if depth_limits
            else None
        )
        self.metrics.add_collector(self._collect)
        # Only a store built from the configuration is checkpointed: its file is known.
        interval = config.store.checkpoint_interval
        self.checkpointer = (
            Checkpointer(
                config.store_path(),
                interval=interval,
                busy_timeout=config.store.busy_timeout,
                metrics=self.metrics,
            )
            if store is None and config.store.kind is StoreKind.SQLITE and interval is not None
            else None
        )

    def notify(self, destinations: Iterable[str]) -> None:
        """Wake the workers of ``destinations``: something was queued, released or replayed."""
        for name in destinations:
            worker = self.workers.get(name)
            if worker is not None:
                worker.notify()

    async def start(self) -> None:
        if self.running:
            return
        await self.store.open()
        try:
            recovered = 0 if self.leasing else await self.store.recover(owner=self.owner)
            if recovered:
                _log.info(
                    "%d in-flight deliveries returned to their queues",
                    recovered,
                    extra={"action": "recovered", "count": recovered},
                )
            self._build()
            if self.limits is not None:  # depths known before the first message is taken
                await self.refresh_queue_gauges()
            if self.checkpointer is not None:
                self.checkpointer.start()
            for worker in self.workers.values():
                worker.start()
            for source in self.sources.values():
                await source.start()
        except BaseException:
            await self._shutdown(5.0)
            raise
        self._monitor = asyncio.get_running_loop().create_task(self._watch(), name="monitor")
        self.running = True
        _log.info(
            "engine %s started: %d channels, %d destinations",
            self.config.engine.name,
            len(self.channels),
            len(self.workers),
            extra={"action": "engine_started"},
        )

    def _build(self) -> None:
        config = self.config
        check = self._check
        if check is None and any(c.validate for c in config.channels):
            check = load_check(config.profiles)
        window = timedelta(seconds=config.store.dedupe_window)
        limits = self.limits
        for channel in config.channels:
            limited = limits is not None and any(d.name in limits for d in channel.destinations)
            source = channel.source
            relay = None
            if (
                isinstance(source, MLLPListenerSource)
                and source.reply.application_ack is ApplicationAck.RELAY
            ):
                relay = self.relays[channel.name] = ApplicationAckRelay(
                    channel, identity=config.engine, store=self.store, metrics=self.metrics
                )
            inbound = InboundChannel(
                channel,
                identity=config.engine,
                store=self.store,
                dedupe_window=window,
                metrics=self.metrics,
                check=check,
                notify=self.notify,
                limits=limits if limited else None,
                relay=relay,
            )
            self.channels[channel.name] = inbound
            runner: Runner
            if isinstance(source, MLLPListenerSource):
                runner = Listener(inbound, source)
            elif isinstance(source, MLLPReceiverSource):
                runner = Receiver(inbound, source)
            else:
                runner = FolderWatcher(inbound, source)
            self.sources[channel.name] = runner
            transform = resolve_callable(channel.transform) if channel.transform else None
            encoding = source.encoding
            for destination in channel.destinations:
                worker = DeliveryWorker(
                    destination,
                    store=self.store,
                    sender=build_sender(destination, metrics=self.metrics),
                    metrics=self.metrics,
                    owner=self.owner,
                    poll_interval=config.engine.poll_interval,
                    transform=transform,
                    encoding=encoding,
                )
                if isinstance(self.store, Leasing):
                    worker.lease = StreamLease(
                        self.store,
                        destination.name,
                        owner=self.owner,
                        ttl=self.lease_ttl,
                        on_lost=worker.notify,
                    )
                if limits is not None and destination.name in limits:
                    worker.on_drained = limits.left
                if relay is not None and destination.name == relay.destination:
                    worker.on_settled = relay.settled
                self.workers[destination.name] = worker

    async def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight frames and deliveries finish (within ``timeout``
        seconds, default ``engine.shutdown_timeout``), then close the store."""
        if not self.running:
            return
        self.running = False
        await self._shutdown(self.config.engine.shutdown_timeout if timeout is None else timeout)
        _log.info("engine stopped", extra={"action": "engine_stopped"})

    async def _shutdown(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        await asyncio.gather(
            *(s.stop(max(0.1, deadline - loop.time())) for s in self.sources.values())
        )
        await asyncio.gather(
            *(w.stop(max(0.1, deadline - loop.time())) for w in self.workers.values())
        )
        for relay in self.relays.values():  # their connections are closed by now
            await relay.stop()
        if self.limits is not None:
            await self.limits.flush()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.store.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop`` is set (the CLI sets it on SIGTERM), then stop cleanly."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _collect(self, metrics: Metrics) -> None:
        """Values that live in the transports, copied at snapshot time."""
        for name, source in self.sources.items():
            metrics.set("listener_connections", source.connections, channel=name)
            counters = getattr(source, "counters", None)
            if counters is None:
                continue
            for field in fields(counters):
                value = getattr(counters, field.name)
                if field.name.endswith("_active"):
                    metrics.set(field.name, value, channel=name)
                else:
                    metrics.set_total(field.name, value, channel=name)
        for name, worker in self.workers.items():
            metrics.set("destination_leased", 1 if self._delivers(worker) else 0, destination=name)
        for name, relay in self.relays.items():
            metrics.set("application_acks_pending", relay.pending, channel=name)

    def _delivers(self, worker: DeliveryWorker) -> bool:
        """Whether this process is the one delivering the destination now: it holds the
        stream's lease (several nodes), or, without leases, its worker is running."""
        if not self.running:
            return False
        lease = worker.lease
        if lease is None:
            return True
        try:
            return lease.held
        except RuntimeError:  # a snapshot taken off the event loop: no clock to check against
            return lease.token is not None and not lease.lost

    async def refresh_queue_gauges(self) -> None:
        """Queue depth, oldest age and blocked state from the store; queue_age_high alert."""
        now = datetime.now(UTC)
        limit = self.config.engine.queue_age_alert
        mark = self.limits.mark() if self.limits is not None else {}
        depths: dict[str, int] = {}
        for stats in await self.store.stats(now=now):
            name = stats.destination
            depth = sum(n for state, n in stats.counts.items() if state in PENDING_STATES)
            depths[name] = depth
            age = (now - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
            self.metrics.set("queue_depth", depth, destination=name)
            self.metrics.set("queue_oldest_age_seconds", max(age, 0.0), destination=name)
            held = stats.counts.get(EntryState.HELD, 0) > 0
            self.metrics.set("destination_blocked", 1 if held else 0, destination=name)
            if age > limit and name not in self._aged:
                self._aged.add(name)
                alert(
                    self.metrics,
                    "queue_age_high",
                    "oldest pending message is older than the alert threshold",
                    destination=name,
                    age_seconds=round(age),
                )
            elif age <= limit:
                self._aged.discard(name)
        if self.limits is not None:
            self.limits.update(depths, mark)

    async def _watch(self) -> None:
        while True:
            try:
                await self.refresh_queue_gauges()
            except Exception as exc:
                _log.warning(
                    "queue statistics unavailable (%s)",
                    type(exc).__name__,
                    extra={"action": "stats_failed", "error": type(exc).__name__},
                )
            await asyncio.sleep(self.config.engine.stats_interval)
