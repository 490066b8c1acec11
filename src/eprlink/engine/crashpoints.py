"""Test-only crash points: SIGKILL this process at a named step (policy 5.1; F1–F5, F37).

The fault tests arm one point for a process (``EPRLINK_CRASHPOINT=name[:count]``); the
``count``-th time the inbound or outbound path (or the WAL checkpointer, for
``mid_checkpoint``) passes that point, the process sends itself
SIGKILL: no ``finally`` blocks, no flush, no goodbye, exactly like ``kill -9`` at that instant.
Unarmed, :func:`hit` is one dictionary check.

Only the CLI reads the environment (design rule 5): ``eprlink run`` passes ``os.environ`` to
:func:`from_environment`, which arms the point, or refuses to start when the variable is set in
a process that is not a test run (``EPRLINK_TEST_HOOKS=1`` missing), so a crash point left in a
production environment stops the engine at start-up instead of killing it later.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping

from eprlink.engine.errors import EngineError

__all__ = [
    "ENVIRONMENT",
    "POINTS",
    "TEST_HOOKS",
    "CrashpointError",
    "arm",
    "armed",
    "disarm",
    "from_environment",
    "hit",
    "hit_soon",
    "parse",
]

ENVIRONMENT = "EPRLINK_CRASHPOINT"
TEST_HOOKS = "EPRLINK_TEST_HOOKS"

POINTS = frozenset(
    {
        "after_frame_read",  # inbound: a whole frame is in hand, nothing done with it yet
        "before_commit",  # inbound: parsed and decided, the store not yet asked
        "after_commit_before_ack",  # inbound: committed, the reply not yet written (F2)
        "after_ack_write",  # inbound: the reply was written to the socket (F3)
        "after_dequeue_before_send",  # outbound: claimed (in flight), nothing sent (F37)
        "after_send_before_ack_read",  # outbound: the frame was written, no response read (F4)
        "after_downstream_ack_before_mark",  # outbound: response read, not yet settled (F5)
        "mid_checkpoint",  # SQLite: a WAL checkpoint is copying pages into the database file
    }
)

_armed: dict[str, int] = {}  # point -> hits still to pass before the kill


class CrashpointError(EngineError):
    """A crash point that cannot be armed: unknown name, bad count, or not a test run."""


def parse(spec: str) -> tuple[str, int]:
    """``"name"`` or ``"name:count"`` → (name, count); count defaults to 1."""
    name, _, count_text = spec.strip().partition(":")
    if name not in POINTS:
        known = ", ".join(sorted(POINTS))
        raise CrashpointError(f"unknown crash point {name!r}; expected one of {known}")
    try:
        count = int(count_text) if count_text else 1
    except ValueError:
        found = f"found {count_text!r}"
        raise CrashpointError(f"crash point count must be an integer, {found}") from None
    if count < 1:
        raise CrashpointError(f"crash point count must be at least 1, found {count}")
    return name, count


def arm(name: str, count: int = 1) -> None:
    """Kill this process at the ``count``-th hit of ``name`` (earlier hits pass)."""
    parse(f"{name}:{count}")
    _armed[name] = count


def disarm() -> None:
    _armed.clear()


def armed(name: str | None = None) -> bool:
    return bool(_armed) if name is None else name in _armed


def from_environment(environ: Mapping[str, str]) -> tuple[str, int] | None:
    """Arm the point ``EPRLINK_CRASHPOINT`` names, if any; what was armed, or None.

    Raises :class:`CrashpointError` when the variable is set without ``EPRLINK_TEST_HOOKS=1``:
    a release deployment refuses to start with a crash point in its environment.
    """
    spec = environ.get(ENVIRONMENT, "").strip()
    if not spec:
        return None
    if environ.get(TEST_HOOKS, "").strip() != "1":
        raise CrashpointError(
            f"{ENVIRONMENT} is set but {TEST_HOOKS}=1 is not: crash points are for fault "
            "tests only; refusing to start"
        )
    name, count = parse(spec)
    arm(name, count)
    return name, count


def hit(name: str) -> None:
    """Pass crash point ``name``: SIGKILL this process when it is armed and due."""
    if not _armed:
        return
    left = _armed.get(name)
    if left is None:
        return
    if left > 1:
        _armed[name] = left - 1
        return
    os.kill(os.getpid(), signal.SIGKILL)


def hit_soon(name: str) -> None:
    """Pass ``name`` at the event loop's next turn: after the caller's synchronous follow-up
    work (an MLLP session writes the reply synchronously once its handler has returned)."""
    if name in _armed:
        asyncio.get_running_loop().call_soon(hit, name)
