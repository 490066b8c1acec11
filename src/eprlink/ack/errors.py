"""Errors of the acknowledgement package: only ever programming or configuration mistakes."""

from __future__ import annotations

from eprlink.errors import EprlinkError

__all__ = ["AckError", "AckUsageError"]


class AckError(EprlinkError):
    """Base of the acknowledgement package's errors.

    Bad input from a partner never raises here: it becomes a
    :class:`~eprlink.ack.problems.Problem` and a reply, or an unusable response (``None``).
    """


class AckUsageError(AckError, ValueError):
    """A call that cannot give a conformant reply: a code that contradicts the mode, a location
    that cannot be written into ERR, a reason that does not belong to the code, and the like."""
