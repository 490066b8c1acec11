"""One process's hold on an ordered destination stream of a shared store (multi-node).

A store that offers leases (PostgreSQL) lets several engine processes share one database while
exactly one of them delivers each destination. :class:`StreamLease` follows the recipe in
``docs/store-postgres.md``: an owner name unique to this process, a heartbeat every ``ttl/3``,
and a local deadline on the event loop's monotonic clock, measured from just *before* each
acquire or renew was sent, so it is never later than the expiry the database recorded,
whatever the wall clocks say (P11). The worker never starts a send after that deadline; the
store's fencing refuses any settle made under a token that is no longer current.

After a loss (a renewal refused or failed, or the deadline passed) the lease is released if it
still can be and the next acquisition uses a new owner name, so it always gets a new, higher
token: the head this process left in flight is then taken over by whoever holds the stream
next, never stranded under a token nobody will present again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["DEFAULT_LEASE_TTL", "Leasing", "StreamLease", "process_owner"]

_log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL = 10.0
"""Seconds a stream stays with a holder that stopped renewing (a crash or a pause)."""


@runtime_checkable
class Leasing(Protocol):
    """A store that can hand out one holder per stream, with fencing tokens (PostgreSQL)."""

    async def acquire_lease(self, stream: str, owner: str, ttl: float) -> int | None: ...

    async def renew_lease(self, stream: str, owner: str, token: int, ttl: float) -> bool: ...

    async def release_lease(self, stream: str, owner: str, token: int) -> bool: ...


def process_owner(node: str) -> str:
    """An owner name unique to this process instance: the node name, host, pid and a nonce
    (a restarted process, or a second one on the same host, is never mistaken for this one)."""
    return f"{node}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class StreamLease:
    """Hold one stream: :meth:`acquire`, then :attr:`held` until the lease is lost or released.

    ``clock`` is the monotonic clock (default: the running loop's); ``on_lost`` is called when
    the heartbeat finds the lease gone, so a waiting worker can notice at once.
    """

    def __init__(
        self,
        store: Leasing,
        stream: str,
        *,
        owner: str,
        ttl: float = DEFAULT_LEASE_TTL,
        clock: Callable[[], float] | None = None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        self.stream = stream
        self.ttl = ttl
        self.margin = ttl / 10  # local deadline = sent + ttl - margin
        self.retry_interval = ttl / 4  # how often a node without the stream asks again
        self._store = store
        self._base = owner
        self._generation = 0
        self._clock = clock
        self._on_lost = on_lost
        self.token: int | None = None
        self._deadline = 0.0
        self._lost: str | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def owner(self) -> str:
        """The name claims are made under: new after every loss (see the module text)."""
        return self._base if self._generation == 0 else f"{self._base}/{self._generation}"

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    @property
    def held(self) -> bool:
        """True while this process may start a send: a token, no loss reported by the
        heartbeat, and the local deadline not yet passed."""
        return self.token is not None and self._lost is None and self._now() < self._deadline

    @property
    def lost(self) -> bool:
        """The heartbeat found the lease refused or could not renew it: do not settle."""
        return self._lost is not None

    @property
    def remaining(self) -> float:
        """Seconds left before the local deadline (negative once passed; 0 when not held)."""
        return self._deadline - self._now() if self.token is not None else 0.0

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "destination": self.stream, **values}

    async def acquire(self) -> bool:
        """Take (or keep) the stream; False while another process holds it."""
        if self.held:
            return True
        if self.token is not None:  # lapsed or lost: hand it back, then ask under a new name
            self.expire()
            await self.release()
        started = self._now()
        token = await self._store.acquire_lease(self.stream, self.owner, self.ttl)
        if token is None:
            return False
        self.token = token
        self._lost = None
        self._deadline = started + self.ttl - self.margin
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(token), name=f"lease:{self.stream}"
        )
        _log.info(
            "stream lease acquired (token %d)",
            token,
            extra=self._extra("lease_acquired", token=token, ttl=self.ttl),
        )
        return True

    async def _beat(self, token: int) -> None:
        """Renew every ttl/3 while held; on a refusal or a failure, report the loss and stop."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            started = self._now()
            try:
                renewed = await self._store.renew_lease(self.stream, self.owner, token, self.ttl)
            except Exception as exc:
                self._lose(f"renewal failed: {type(exc).__name__}")
                return
            if not renewed:
                self._lose("renewal refused: the lease lapsed or moved")
                return
            self._deadline = started + self.ttl - self.margin

    def _lose(self, reason: str) -> None:
        if self._lost is not None:
            return
        self._lost = reason
        _log.warning(
            "stream lease lost (%s); delivery stops",
            reason,
            extra=self._extra("lease_lost", token=self.token, reason=reason),
        )
        self._on_lost()

    def expire(self) -> None:
        """The caller saw the local deadline pass: treat the lease as lost from now on."""
        if self.token is not None:
            self._lose("local deadline passed")

    async def release(self) -> None:
        """Stop the heartbeat and give the stream up (best effort: a lease that lapsed or moved
        needs nothing). After a loss the next :meth:`acquire` uses a new owner name."""
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None and heartbeat is not asyncio.current_task():
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        token, self.token = self.token, None
        owner = self.owner
        if self._lost is not None:
            self._generation += 1
            self._lost = None
        if token is None:
            return
        try:
            released = await self._store.release_lease(self.stream, owner, token)
        except Exception as exc:
            _log.warning(
                "stream lease not released (%s); it lapses after its ttl",
                type(exc).__name__,
                extra=self._extra("lease_release_failed", token=token, error=type(exc).__name__),
            )
            return
        if released:
            _log.info(
                "stream lease released (token %d)",
                token,
                extra=self._extra("lease_released", token=token),
            )
