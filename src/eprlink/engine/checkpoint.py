"""Periodic WAL checkpoints for the SQLite store, and the ``mid_checkpoint`` crash point.

SQLite's automatic checkpoints are PASSIVE: they copy what they can but never reset the WAL, so
a WAL that grew during a burst (or while a long read held old pages) keeps its size. Every
``[store] checkpoint_interval`` the engine runs ``PRAGMA wal_checkpoint(TRUNCATE)`` on a
connection of its own, in a thread, so the event loop never waits on the copy and the store's
writer thread only waits (``busy_timeout``) for the moment the WAL is reset. The connection uses
``synchronous = FULL``, so the copied pages are fsynced before the WAL that still holds them is
truncated; a checkpoint that cannot finish (readers still on the WAL) simply reports busy and
the next round tries again.

``mid_checkpoint`` (policy 5.1) must kill the process while a checkpoint is really running, not
between two statements. SQLite's own progress, in the WAL index (``<db>-shm``, shared memory the
checkpointer writes), says when: ``nBackfillAttempted`` is raised just before the WAL is synced
and frames start being copied into the database file, and ``nBackfill`` is raised only after the
copy was fsynced. While the crash point is armed, a watcher reads those two words during each
checkpoint and passes the point when it sees the first without the second, i.e. with pages half
copied. A checkpoint that finished before the watcher looked is not counted; the next one is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from eprlink.engine import crashpoints
from eprlink.engine.metrics import Metrics

__all__ = ["CheckpointResult", "Checkpointer", "checkpoint"]

_log = logging.getLogger(__name__)

POINT = "mid_checkpoint"
# The WAL index layout (sqlite/src/wal.c, stable file format): two 48-byte header copies, then
# WalCkptInfo, whose nBackfill is at byte 96 and nBackfillAttempted at byte 128; native order.
_BACKFILL = 96
_ATTEMPTED = 128
_INDEX_HEAD = 132
_WATCH_PAUSE = 0.0002


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """What ``PRAGMA wal_checkpoint(TRUNCATE)`` reported: ``busy`` when it could not finish."""

    busy: bool
    wal_frames: int
    copied_frames: int


def _run(path: Path, busy_timeout: float) -> CheckpointResult:
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous = FULL")  # copied pages are synced before the reset
        row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    busy, frames, copied = (int(value) for value in row)
    return CheckpointResult(bool(busy), frames, copied)


def _progress(descriptor: int) -> tuple[int, int] | None:
    """(nBackfill, nBackfillAttempted) from the WAL index, or None while it is too short."""
    data = os.pread(descriptor, _INDEX_HEAD, 0)
    if len(data) < _INDEX_HEAD:
        return None
    backfill = struct.unpack_from("=I", data, _BACKFILL)[0]
    attempted = struct.unpack_from("=I", data, _ATTEMPTED)[0]
    return int(backfill), int(attempted)


def _run_watched(path: Path, busy_timeout: float) -> CheckpointResult:
    """Test rig only: the checkpoint on a second thread while this one watches the WAL index
    and passes the crash point once SQLite has begun copying and not yet finished."""
    outcome: list[CheckpointResult | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_run(path, busy_timeout))
        except BaseException as exc:
            outcome.append(exc)

    try:
        descriptor = os.open(f"{path}-shm", os.O_RDONLY)
    except OSError:
        return _run(path, busy_timeout)
    try:
        worker = threading.Thread(target=work, name="eprlink-checkpoint", daemon=True)
        worker.start()
        while worker.is_alive():
            progress = _progress(descriptor)
            if progress is not None and progress[1] > progress[0]:
                crashpoints.hit(POINT)
                break  # an earlier hit of a counted point: one per checkpoint
            time.sleep(_WATCH_PAUSE)
        worker.join()
    finally:
        os.close(descriptor)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def checkpoint(path: Path, busy_timeout: float) -> CheckpointResult:
    """One TRUNCATE checkpoint of the database at ``path`` (blocking: call it in a thread)."""
    if crashpoints.armed(POINT):
        return _run_watched(path, busy_timeout)
    return _run(path, busy_timeout)


class Checkpointer:
    """Runs :func:`checkpoint` every ``interval`` seconds until :meth:`stop`."""

    def __init__(
        self, path: Path, *, interval: float, busy_timeout: float, metrics: Metrics
    ) -> None:
        self.path = path
        self.interval = interval
        self.busy_timeout = busy_timeout
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="checkpoint")

    async def stop(self) -> None:
        """Let a checkpoint in progress finish (it cannot be interrupted), then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> CheckpointResult | None:
        """One checkpoint now; None when it failed (logged and counted, never raised)."""
        try:
            result = await asyncio.to_thread(checkpoint, self.path, self.busy_timeout)
        except sqlite3.Error as exc:
            self._metrics.inc("wal_checkpoints_total", result="failed")
            _log.warning(
                "WAL checkpoint failed (%s)",
                type(exc).__name__,
                extra={"action": "checkpoint_failed", "error": type(exc).__name__},
            )
            return None
        self._metrics.inc("wal_checkpoints_total", result="busy" if result.busy else "done")
        _log.debug(
            "WAL checkpoint",
            extra={
                "action": "checkpoint",
                "busy": result.busy,
                "frames": result.wal_frames,
                "copied": result.copied_frames,
            },
        )
        return result

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return
            await self.run_once()
