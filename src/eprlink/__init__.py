"""eprlink: an HL7 v2 integration engine for NHS Electronic Patient Record systems."""

from __future__ import annotations

from eprlink.errors import EprlinkError, ErrorCode

__all__ = ["EprlinkError", "ErrorCode", "__version__"]

__version__ = "0.1.0"
