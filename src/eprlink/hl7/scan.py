"""Finding segments and fields inside message text without splitting it (the fast read path).

Reading five fields of a routed message should cost a few string searches, not a tree; these
functions work on offsets into the text so nothing is copied until a value is returned.
"""

from __future__ import annotations

from eprlink.hl7.delimiters import Delimiters

__all__ = ["descend", "field_text", "find_segment", "part"]


def find_segment(text: str, segment_id: str, fs: str, occurrence: int) -> tuple[int, int] | None:
    """Start and end offsets of the n-th segment with this id (1-based; -1 is the last).

    Written without helper calls: it runs for every read of an unedited message.
    """
    size = len(segment_id)
    key = "\r" + segment_id
    if occurrence > 0:
        if text.startswith(segment_id):
            position = 0
        else:
            position = text.find(key) + 1
            if not position:
                return None
        while True:
            after = position + size
            if after == len(text) or text[after] == fs or text[after] == "\r":
                occurrence -= 1
                if occurrence == 0:
                    end = text.find("\r", after)
                    return position, (len(text) if end < 0 else end)
            position = text.find(key, after) + 1
            if not position:
                return None
    limit = len(text)
    while occurrence < 0:
        position = text.rfind(key, 0, limit) + 1
        if not position:
            if text.startswith(segment_id) and occurrence == -1:
                after = size
                if after == len(text) or text[after] == fs or text[after] == "\r":
                    end = text.find("\r", after)
                    return 0, (len(text) if end < 0 else end)
            return None
        after = position + size
        if after == len(text) or text[after] == fs or text[after] == "\r":
            occurrence += 1
            if occurrence == 0:
                end = text.find("\r", after)
                return position, (len(text) if end < 0 else end)
        limit = position - 1
    return None


def field_text(text: str, start: int, end: int, fs: str, index: int) -> str | None:
    """The text between the ``index``-th and next field separator of ``text[start:end]``."""
    for _ in range(index):
        start = text.find(fs, start, end) + 1
        if not start:
            return None
    stop = text.find(fs, start, end)
    return text[start:end] if stop < 0 else text[start:stop]


def part(text: str, separator: str | None, position: int) -> str | None:
    """The 1-based ``position``-th piece of ``text`` split on ``separator`` (None past the end)."""
    if separator is None:
        return text if position == 1 else None
    if position == 1:
        cut = text.find(separator)
        return text if cut < 0 else text[:cut]
    pieces = text.split(separator)
    return pieces[position - 1] if position <= len(pieces) else None


def descend(
    text: str,
    d: Delimiters,
    repetition: int | None,
    component: int | None,
    subcomponent: int | None,
) -> str | None:
    """From a field's raw text down to a repetition, component or subcomponent (None if empty)."""
    found = part(text, d.repetition, repetition or 1)
    if not found or component is None:
        return found or None
    found = part(found, d.component, component)
    if not found or subcomponent is None:
        return found or None
    return part(found, d.subcomponent, subcomponent) or None
