"""Errors raised while loading profiles; validation problems are reported, never raised."""

from __future__ import annotations

from eprlink.errors import EprlinkError

__all__ = ["ProfileError"]


class ProfileError(EprlinkError):
    """A profile or layer file that cannot be used; the message names the file and the entry."""
