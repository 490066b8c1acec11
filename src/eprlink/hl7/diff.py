"""Differences between two messages, element by element, telling absent, null and changed apart."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.elements import NULL, value_of
from eprlink.hl7.message import Message
from eprlink.hl7.segment import HEADER_SEGMENTS, Segment

__all__ = ["ChangeKind", "Difference", "diff"]


class ChangeKind(StrEnum):
    ADDED = "added"  # absent before, present now
    REMOVED = "removed"  # present before, absent now
    NULLED = "nulled"  # now the explicit null "" (a delete instruction under UK rules)
    CHANGED = "changed"  # a different value


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference; ``old``/``new`` follow the three states (None, ``""`` null, value)."""

    path: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> ChangeKind:
        if self.old is None:
            return ChangeKind.NULLED if self.new == "" else ChangeKind.ADDED
        if self.new is None:
            return ChangeKind.REMOVED
        if self.new == "" and self.old != "":
            return ChangeKind.NULLED
        return ChangeKind.CHANGED

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.value} {_show(self.old)} -> {_show(self.new)}"


def _show(value: str | None) -> str:
    if value is None:
        return "(absent)"
    if value == "":
        return '(null "")'
    return repr(value)


_Side = tuple[Delimiters, str]  # delimiters and charset of one message


def _separator(d: Delimiters, level: int) -> str | None:
    """Level 0 splits a field into repetitions, 1 into components, 2 into subcomponents."""
    return (d.repetition, d.component, d.subcomponent)[level]


def _has(raw: str, separator: str | None) -> bool:
    return separator is not None and raw != NULL and separator in raw


def _compare(
    base: str, a: str, b: str, sides: tuple[_Side, _Side], *, level: int, out: list[Difference]
) -> None:
    (da, ca), (db, cb) = sides
    one_side_empty = not a or not b or NULL in (a, b)
    if (
        level == 3
        or one_side_empty
        or not any(
            _has(a, _separator(da, n)) or _has(b, _separator(db, n)) for n in range(level, 3)
        )
    ):
        old, new = value_of(a, da, ca), value_of(b, db, cb)
        if old != new:
            out.append(Difference(base, old, new))
        return
    sep_a, sep_b = _separator(da, level), _separator(db, level)
    if not (_has(a, sep_a) or _has(b, sep_b)):
        # No structure here but some below: the element is its own first repetition/component.
        _compare(base if level == 0 else f"{base}.1", a, b, sides, level=level + 1, out=out)
        return
    parts_a = a.split(sep_a) if sep_a is not None else [a]
    parts_b = b.split(sep_b) if sep_b is not None else [b]
    for position in range(1, max(len(parts_a), len(parts_b)) + 1):
        pa = parts_a[position - 1] if position <= len(parts_a) else ""
        pb = parts_b[position - 1] if position <= len(parts_b) else ""
        if pa == pb and da == db:
            continue
        child = f"{base}[{position}]" if level == 0 else f"{base}.{position}"
        _compare(child, pa, pb, sides, level=level + 1, out=out)


def _compare_segments(
    base: str, sa: Segment, ca: str, sb: Segment, cb: str, *, out: list[Difference]
) -> None:
    da, db = sa.delimiters, sb.delimiters
    header = sa.id in HEADER_SEGMENTS
    for field in range(1, max(len(sa), len(sb)) + 1):
        if header and field <= 2:
            ra, rb = sa.raw(field), sb.raw(field)
            if ra != rb:
                out.append(Difference(f"{base}-{field}", ra, rb))
            continue
        a, b = sa.raw(field) or "", sb.raw(field) or ""
        if a == b and da == db:
            continue
        _compare(f"{base}-{field}", a, b, ((da, ca), (db, cb)), level=0, out=out)


def diff(old: Message, new: Message) -> list[Difference]:
    """What changed from ``old`` to ``new``, in segment order, at the finest level that differs.

    Segments are paired by id and occurrence (the second OBX with the second OBX); a segment
    present on one side only is one difference carrying the whole segment text.
    """
    out: list[Difference] = []
    order: list[str] = []
    for message in (old, new):
        for segment in message:
            if segment.id not in order:
                order.append(segment.id)
    for sid in order:
        left, right = old.segments(sid), new.segments(sid)
        many = max(len(left), len(right)) > 1
        for i in range(max(len(left), len(right))):
            base = f"{sid}[{i + 1}]" if many else sid
            a = left[i] if i < len(left) else None
            b = right[i] if i < len(right) else None
            if a is None or b is None:
                out.append(
                    Difference(
                        base,
                        None if a is None else a.to_er7(),
                        None if b is None else b.to_er7(),
                    )
                )
                continue
            if a.to_er7() == b.to_er7() and a.delimiters == b.delimiters:
                continue
            _compare_segments(base, a, old.charset, b, new.charset, out=out)
    return out
