"""HL7 table 0211 character-set names (MSH-18) mapped to Python codecs.

The mapping is configuration, not truth: ITK samples send ``UNICODE`` and CareFlow's choice is a
documented gap, so callers can pass their own table to :func:`eprlink.hl7.parse`.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

__all__ = ["DEFAULT_CHARSETS", "codec_for"]

DEFAULT_CHARSETS: Mapping[str, str] = MappingProxyType(
    {
        "ASCII": "ascii",
        "ISO IR6": "ascii",
        "8859/1": "iso-8859-1",
        "ISO IR100": "iso-8859-1",
        "8859/2": "iso-8859-2",
        "8859/3": "iso-8859-3",
        "8859/4": "iso-8859-4",
        "8859/5": "iso-8859-5",
        "8859/6": "iso-8859-6",
        "8859/7": "iso-8859-7",
        "8859/8": "iso-8859-8",
        "8859/9": "iso-8859-9",
        "8859/15": "iso-8859-15",
        # [UNVERIFIED] ITK sends "UNICODE"; in UK practice that means UTF-8.
        "UNICODE": "utf-8",
        "UNICODE UTF-8": "utf-8",
        "UTF-8": "utf-8",
        # Not in table 0211 but seen from Windows-based senders.
        "WINDOWS-1252": "cp1252",
        "CP1252": "cp1252",
        "GB 18030-2000": "gb18030",
        "BIG-5": "big5",
    }
)

# Declared encodings in which "MSH" could not have been read as ASCII: a payload that starts
# with ASCII "MSH" cannot be in them, so the declaration is ignored as unsupported.
_NOT_ASCII_COMPATIBLE = frozenset({"UNICODE UTF-16", "UNICODE UTF-32"})


def codec_for(name: str, table: Mapping[str, str] = DEFAULT_CHARSETS) -> str | None:
    """The codec for an MSH-18 value, or ``None`` when it is not supported.

    Answers from the default (read-only) table are remembered: a feed names the same charset in
    every message, and the codec lookup behind the answer is the costly part.
    """
    if table is DEFAULT_CHARSETS:
        return _default_codec_for(name)
    return _lookup(name, table)


@lru_cache(maxsize=256)
def _default_codec_for(name: str) -> str | None:
    return _lookup(name, DEFAULT_CHARSETS)


def _lookup(name: str, table: Mapping[str, str]) -> str | None:
    key = name.strip().upper()
    if not key or key in _NOT_ASCII_COMPATIBLE:
        return None
    codec = table.get(key)
    if codec is None:
        return None
    try:
        codecs.lookup(codec)
    except LookupError:
        return None
    return codec
