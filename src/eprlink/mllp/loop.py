"""Which event loop the command line runs: uvloop when it is installed, asyncio's own otherwise."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

__all__ = ["loop_factory"]


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory for ``asyncio.Runner(loop_factory=...)``; uvloop is optional (``fast`` extra)."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
