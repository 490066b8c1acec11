"""One delivery worker per destination: claim the head, send it, settle it per policy.

The store holds the state (queued, in flight, retrying, held, dead); the worker holds the
clock. Backoff waits use the loop's monotonic clock (P11). One message is in flight at a time,
so first deliveries reach the destination in acceptance order (P3). A held head blocks the
stream, with an alert, until an operator releases it (P5). Work arrives as a wake-up from the
inbound side (or from the store, where it offers one), with a slow poll as a safety net for
changes made by other processes.

On a shared store (PostgreSQL, several nodes) the worker holds the destination's lease before it
connects or claims, claims with the lease's token as fence, never starts a send once the lease's
local deadline has passed, and does not settle after the heartbeat lost the lease; a node
without the lease asks again every ``ttl/4`` (:mod:`eprlink.engine.leases`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from eprlink.engine import crashpoints
from eprlink.engine.alerts import alert, clean
from eprlink.engine.config import DestinationConfig
from eprlink.engine.leases import StreamLease
from eprlink.engine.metrics import Metrics
from eprlink.engine.senders import Attempt, Result, Sender
from eprlink.hl7 import Message, parse
from eprlink.mllp import Backoff
from eprlink.store import AckRecord, Delivery, Failure, Store

__all__ = ["DeliveryWorker", "WorkNotifier"]

_log = logging.getLogger(__name__)
_SETTLE_RETRY_MAX = 30.0

Transform = Callable[[Message], Message]


@runtime_checkable
class WorkNotifier(Protocol):
    """A store that can say when a destination may have work (PostgreSQL LISTEN/NOTIFY)."""

    async def wait_for_work(self, destination: str, timeout: float) -> bool: ...


class DeliveryWorker:
    """Delivers one destination's queue until :meth:`stop`."""

    def __init__(
        self,
        config: DestinationConfig,
        *,
        store: Store,
        sender: Sender,
        metrics: Metrics,
        owner: str,
        poll_interval: float = 5.0,
        transform: Transform | None = None,
        encoding: str = "utf-8",
        rng: Callable[[], float] = random.random,
        lease: StreamLease | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.sender = sender
        self._store = store
        self._metrics = metrics
        self._owner = owner
        self._poll = poll_interval
        self._transform = transform
        self._encoding = encoding
        policy = config.policy
        self.backoff = Backoff(
            initial=policy.backoff_initial,
            maximum=policy.backoff_max,
            jitter=policy.backoff_jitter,
            rng=rng,
        )
        self._signal = asyncio.Event()
        self._stopping = False
        self._retry_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.delivering = False
        self.lease = lease
        # Called with the destination's name when an entry leaves the queue (delivered or
        # dead) through this worker; the queue-depth limits count with it (P8).
        self.on_drained: Callable[[str], None] | None = None
        # Called once an entry's delivery is settled for good (delivered, held or dead, not a
        # retry); the application-ACK relay learns the downstream's answer through it.
        self.on_settled: Callable[[Delivery, Attempt], None] | None = None

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "destination": self.name, **values}

    def notify(self) -> None:
        """Work may be waiting (a message was queued, released or replayed)."""
        self._signal.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"deliver:{self.name}"
            )

    async def stop(self, timeout: float) -> None:
        """Finish the delivery in hand (up to ``timeout`` seconds), then stop. A delivery cut
        short stays in flight in the store and is sent again after recovery (P4, P9)."""
        self._stopping = True
        self._signal.set()
        task = self._task
        if task is not None:
            done, _ = await asyncio.wait([task], timeout=timeout)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None
        await self.sender.close()
        if self.lease is not None:
            await self.lease.release()  # the next node takes the stream now, not after ttl

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if self._retry_at is not None:
                    await self._sleep_until(self._retry_at)
                    self._retry_at = None
                    continue
                if self.lease is not None and not await self._hold():
                    continue
                if not await self.sender.prepare():
                    delay = self.backoff.next_delay()
                    self._metrics.set("destination_connected", 0, destination=self.name)
                    _log.info(
                        "destination unreachable; next try in %.1f s",
                        delay,
                        extra=self._extra("destination_unreachable"),
                    )
                    self._retry_at = loop.time() + delay
                    continue
                self._signal.clear()
                delivery = await self._claim()
                if delivery is None:
                    if self.lease is None or self.lease.held:
                        await self._idle()
                    continue
                await self._deliver(delivery)
            except Exception as exc:  # store trouble: keep the worker alive, try again later
                _log.error(
                    "delivery worker error (%s); retrying",
                    type(exc).__name__,
                    extra=self._extra("worker_error", error=type(exc).__name__),
                )
                self._retry_at = loop.time() + self.backoff.next_delay()

    async def _hold(self) -> bool:
        """Make sure this node holds the stream; False (after a wait) while another does."""
        lease = self.lease
        assert lease is not None
        if lease.held:
            return True
        if lease.token is not None:  # lost or lapsed: whatever is in hand is the next holder's
            await self.sender.close()
        if await lease.acquire():
            return True
        loop = asyncio.get_running_loop()
        self._retry_at = loop.time() + lease.retry_interval
        return False

    async def _claim(self) -> Delivery | None:
        lease = self.lease
        if lease is None:
            return await self._store.claim(self.name, owner=self._owner)
        token = lease.token
        if token is None or not lease.held:
            return None
        return await self._store.claim(self.name, owner=lease.owner, fence=token)

    async def _sleep_until(self, deadline: float) -> None:
        """Wait out a backoff. Wake-ups do not shorten it (the head must wait); stop does."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._signal.wait()
            if not self._stopping and loop.time() < deadline:
                self._signal.clear()  # a claim follows the backoff anyway

    async def _idle(self) -> None:
        """Nothing to send: wait for a wake-up, the store's notification, stop or the poll."""
        store = self._store
        if not isinstance(store, WorkNotifier):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._signal.wait()
            return
        waits = [
            asyncio.ensure_future(self._signal.wait()),
            asyncio.ensure_future(store.wait_for_work(self.name, self._poll)),
        ]
        try:
            await asyncio.wait(waits, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def _prepared(self, delivery: Delivery) -> tuple[bytes, str | None] | Attempt:
        """The bytes to send: stored bytes exactly, unless the channel transforms (EN-4)."""
        if self._transform is None:
            return delivery.payload, delivery.control_id
        try:
            message = self._transform(parse(delivery.payload, encoding=self._encoding))
            return message.to_bytes(), message.control_id
        except Exception as exc:
            text = f"transform failed: {type(exc).__name__}"
            return Attempt(Result.ERROR, AckRecord(None, text=text))

    async def _deliver(self, delivery: Delivery) -> None:
        self.delivering = True
        try:
            self._metrics.inc("outbound_attempts_total", destination=self.name)
            self._metrics.set("destination_blocked", 0, destination=self.name)
            prepared = self._prepared(delivery)
            crashpoints.hit("after_dequeue_before_send")
            if isinstance(prepared, Attempt):
                attempt = prepared
            elif not self._may_send(delivery):
                return  # left in flight: the next holder takes it over with a newer token
            else:
                attempt = await self._send(delivery, *prepared)
                crashpoints.hit("after_downstream_ack_before_mark")
            self._metrics.set(
                "destination_connected", 1 if self.sender.connected else 0, destination=self.name
            )
            if self.lease is not None and self.lease.lost:
                _log.warning(
                    "lease lost during the attempt; outcome not recorded",
                    extra=self._extra("settle_skipped", entry_id=delivery.entry_id),
                )
                return
            failure = self._decide(attempt, delivery)
            await self._settle(delivery, attempt, failure)
        finally:
            self.delivering = False

    def _may_send(self, delivery: Delivery) -> bool:
        """Never start a send once the lease's local deadline has passed (a paused holder)."""
        lease = self.lease
        if lease is None or lease.held:
            return True
        lease.expire()
        _log.warning(
            "lease deadline passed before the send; not sent",
            extra=self._extra("send_abandoned", entry_id=delivery.entry_id),
        )
        return False

    async def _send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        if not crashpoints.armed("after_send_before_ack_read"):
            return await self.sender.send(delivery, payload, control_id)
        # Test rig only: let the send run to its first wait, which comes after the frame was
        # written (on an open connection that is the wait for the response), then crash.
        sending = asyncio.ensure_future(self.sender.send(delivery, payload, control_id))
        await asyncio.sleep(0)
        crashpoints.hit("after_send_before_ack_read")
        return await sending

    def _decide(self, attempt: Attempt, delivery: Delivery) -> Failure | None:
        """The policy's answer to an attempt (P5, AK-4, AK-5)."""
        policy = self.config.policy
        result = attempt.result
        if result is Result.DELIVERED:
            return None
        if result is Result.UNREACHABLE:
            return Failure.RETRY  # nothing was sent: waiting is always right
        choice = {
            Result.ERROR: policy.on_error,
            Result.REJECT: policy.on_reject,
            Result.TIMEOUT: policy.on_timeout,
        }[result]
        if (
            choice is Failure.RETRY
            and policy.max_attempts
            and delivery.attempts >= policy.max_attempts
        ):
            return policy.on_exhausted
        return choice

    async def _settle(self, delivery: Delivery, attempt: Attempt, failure: Failure | None) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            try:
                settled = await self._store.settle(delivery, ack=attempt.ack, failure=failure)
                break
            except Exception as exc:
                if self._stopping:
                    raise  # left in flight; recovery at the next start sends it again (P9)
                if self.lease is not None and self.lease.lost:
                    settled = False  # the next holder takes the entry over (fencing)
                    break
                _log.error(
                    "could not record a delivery outcome (%s); retrying",
                    type(exc).__name__,
                    extra=self._extra("settle_failed", error=type(exc).__name__),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _SETTLE_RETRY_MAX)
        control_id = clean(delivery.control_id)
        extra = self._extra(
            "delivery_settled",
            control_id=control_id,
            result=attempt.result.value,
            attempts=delivery.attempts,
            entry_id=delivery.entry_id,
        )
        if not settled:
            _log.warning("settle refused: entry no longer ours", extra=extra)
            return
        if (failure is None or failure is Failure.DEAD) and self.on_drained is not None:
            self.on_drained(self.name)
        if failure is not Failure.RETRY and self.on_settled is not None:
            self.on_settled(delivery, attempt)
        if failure is None:
            self.backoff.reset()
            self._metrics.inc("outbound_delivered_total", destination=self.name)
            if attempt.ack.latency_seconds is not None:
                self._metrics.observe(
                    "outbound_ack_latency_seconds",
                    attempt.ack.latency_seconds,
                    destination=self.name,
                )
            _log.debug("delivered", extra=extra)
            return
        self._metrics.inc(
            "outbound_failures_total",
            destination=self.name,
            result=attempt.result.value,
            decision=failure.value,
        )
        if failure is Failure.RETRY:
            delay = self.backoff.next_delay()
            self._retry_at = loop.time() + delay
            _log.info("attempt failed (%s); retry in %.1f s", attempt.result, delay, extra=extra)
        elif failure is Failure.HOLD:
            self._metrics.set("destination_blocked", 1, destination=self.name)
            alert(
                self._metrics,
                "destination_blocked",
                "destination blocked by a held message until an operator releases it",
                destination=self.name,
                control_id=control_id,
                result=attempt.result.value,
                entry_id=delivery.entry_id,
            )
            self.backoff.reset()
        else:
            extra["action"] = "message_dead_lettered"
            _log.warning("message dead-lettered; stream continues", extra=extra)
            self.backoff.reset()
