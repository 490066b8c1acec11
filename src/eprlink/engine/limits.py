"""P8 queue-depth limits: refuse intake for a destination whose queue is full, cheaply.

Counting the queue in the store for every message would put a query on the hot path. Instead
each destination's depth is an estimate kept in this process:

- it is set from the store's own count whenever the engine reads its queue statistics (at
  start, every ``engine.stats_interval``, and on a metrics scrape at most once a second);
- between reads, this process adds what it queues (reserved before the commit, so concurrent
  handlers see each other, and given back if the message turns out not to be queued) and
  subtracts what its own workers deliver or dead-letter.

On one node that is exact but for changes made by another process (``eprlink replay`` or
``release`` from the command line), which the next read picks up. With several nodes on one
PostgreSQL database, each node also misses the others' intake until its next read, so the
queue can overshoot by what the other nodes accept within one interval; and a node that does not
hold the destination's lease sees the drain only at its next read, so it may keep refusing for
up to one interval after the queue fell below the limit. Refusing a little early is the safe
direction (P2: the sender keeps the message and resends).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from eprlink.engine.metrics import Metrics
from eprlink.store import Store

__all__ = ["QueueLimits"]

_log = logging.getLogger(__name__)


class QueueLimits:
    """Depth estimates and limits of the destinations that have a ``max_queue_depth``."""

    def __init__(self, limits: Mapping[str, int], *, metrics: Metrics, store: Store) -> None:
        self.limits = dict(limits)
        self.depth = dict.fromkeys(self.limits, 0)
        self._changes = dict.fromkeys(self.limits, 0)  # running total of local changes
        self.full: set[str] = set()
        self._metrics = metrics
        self._store = store
        self._tasks: set[asyncio.Task[None]] = set()

    def __contains__(self, destination: str) -> bool:
        return destination in self.limits

    def blocked(self, destinations: Iterable[str]) -> str | None:
        """The first of ``destinations`` whose queue is at its limit, or None."""
        depth, limits = self.depth, self.limits
        for name in destinations:
            limit = limits.get(name)
            if limit is not None and depth[name] >= limit:
                if name not in self.full:
                    self.full.add(name)
                    self._transition(name, "queue_full")
                return name
        return None

    def add(self, destinations: Iterable[str], count: int = 1) -> None:
        """Entries queued (positive) or gone from the queue (negative) through this process."""
        for name in destinations:
            if name in self.depth:
                self.depth[name] += count
                self._changes[name] += count
                if count < 0:
                    self._check_resumed(name)

    def left(self, destination: str) -> None:
        """One entry of ``destination`` delivered or dead-lettered by this process's worker."""
        self.add((destination,), -1)

    def mark(self) -> dict[str, int]:
        """Taken just before a statistics read, so :meth:`update` can keep local changes
        made while the read was in progress (they may or may not be in its counts; keeping
        them errs towards refusing)."""
        return dict(self._changes)

    def update(self, depths: Mapping[str, int], mark: Mapping[str, int]) -> None:
        """The store's pending counts, read after ``mark``; a destination the store does not
        list has an empty queue."""
        for name in self.limits:
            during = self._changes[name] - mark.get(name, 0)
            self.depth[name] = max(0, depths.get(name, 0) + during)
            self._check_resumed(name)

    def _check_resumed(self, name: str) -> None:
        if name in self.full and self.depth[name] < self.limits[name]:
            self.full.discard(name)
            self._transition(name, "queue_resumed")

    def _transition(self, name: str, action: str) -> None:
        """Log and audit the start and end of a refusal period (not every refused message)."""
        full = action == "queue_full"
        self._metrics.set("intake_paused", 1 if full else 0, destination=name)
        details = f"destination={name}; depth={self.depth[name]}; limit={self.limits[name]}"
        extra = {
            "action": action,
            "destination": name,
            "depth": self.depth[name],
            "limit": self.limits[name],
        }
        if full:
            _log.warning("queue full: intake for this destination refused (P8)", extra=extra)
        else:
            _log.info("queue below its limit again: intake resumed", extra=extra)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._audit(action, details))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait for audit writes still in progress (before the store closes)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _audit(self, action: str, details: str) -> None:
        try:
            await self._store.audit(
                action, operator="engine", reason="max_queue_depth", details=details
            )
        except Exception as exc:
            _log.error(
                "queue limit event not recorded (%s)",
                type(exc).__name__,
                extra={"action": "audit_failed", "error": type(exc).__name__},
            )
