"""Store errors: the engine maps them to AR 207 / close-without-reply (P2)."""

from __future__ import annotations

from eprlink.errors import EprlinkError

__all__ = ["DurabilityError", "StoreError", "StoreUnavailableError"]


class StoreError(EprlinkError):
    """A store operation failed; nothing of it was committed."""


class StoreUnavailableError(StoreError):
    """The store cannot commit right now (disk full, database down, lock held): P2, P10."""


class DurabilityError(StoreError):
    """The database is not configured durably (P1): the engine refuses to start."""
