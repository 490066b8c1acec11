"""Splitting a file or capture that holds many messages into one payload per message."""

from __future__ import annotations

import re

__all__ = ["split_messages"]

_START_BLOCK = 0x0B
_END_BLOCK = b"\x1c"
_MESSAGE_START = re.compile(rb"(?:^|(?<=[\r\n]))MSH")
_ENVELOPE = re.compile(rb"(?:^|(?<=[\r\n]))(?:FHS|BHS|BTS|FTS)[^\r\n]*[\r\n]*")


def _frames(data: bytes) -> list[bytes]:
    payloads: list[bytes] = []
    position = data.find(_START_BLOCK)
    while position >= 0:
        end = data.find(_END_BLOCK, position + 1)
        if end < 0:
            payloads.append(data[position + 1 :])
            break
        payloads.append(data[position + 1 : end])
        position = data.find(_START_BLOCK, end + 1)
    return payloads


def split_messages(data: bytes) -> list[bytes]:
    """One payload per message.

    MLLP-framed input (a capture) is split on its frames. Otherwise each message starts with an
    ``MSH`` at the start of a line; batch envelopes (FHS/BHS/BTS/FTS) are dropped, and anything
    else before the first MSH is returned as its own item so the parser can say what is wrong.
    """
    if _START_BLOCK in data:
        return _frames(data)
    starts = [m.start() for m in _MESSAGE_START.finditer(data)]
    if not starts:
        rest = _ENVELOPE.sub(b"", data)
        return [data] if rest.strip() else []
    out: list[bytes] = []
    prefix = _ENVELOPE.sub(b"", data[: starts[0]])
    if prefix.strip():
        out.append(data[: starts[0]])
    for begin, end in zip(starts, [*starts[1:], len(data)], strict=True):
        chunk = data[begin:end]
        cut = _ENVELOPE.search(chunk)
        if cut is not None:
            chunk = chunk[: cut.start()]
        if chunk.endswith(b"\n") and not chunk.endswith(b"\r\n") and b"\r" in chunk:
            chunk = chunk[:-1]  # a newline between \r-terminated messages in a text file
        out.append(chunk)
    return out
