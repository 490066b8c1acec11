"""Element paths such as ``PID-3[2].4.1`` and ``OBX[3]-5``, parsed once and cached."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from eprlink.hl7.errors import PathError

__all__ = ["Path", "parse_path"]

_PATH = re.compile(
    r"([A-Z][A-Z0-9]{2})(?:\[(-?\d{1,6})\])?"
    r"(?:-(\d{1,4})(?:\[(\d{1,6})\])?(?:\.(\d{1,4})(?:\.(\d{1,4}))?)?)?"
)


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed path; every position is 1-based, ``None`` means "not named".

    A negative segment repetition counts from the end (``OBX[-1]-5`` is the last OBX).
    A path that names a field but no repetition means the whole field for reading whole fields,
    and the first repetition as soon as a component is named (``PID-3.1`` is ``PID-3[1].1``).
    """

    segment: str
    segment_repetition: int = 1
    field: int | None = None
    repetition: int | None = None
    component: int | None = None
    subcomponent: int | None = None

    def __str__(self) -> str:
        text = self.segment
        if self.segment_repetition != 1:
            text += f"[{self.segment_repetition}]"
        if self.field is None:
            return text
        text += f"-{self.field}"
        if self.repetition is not None:
            text += f"[{self.repetition}]"
        if self.component is not None:
            text += f".{self.component}"
            if self.subcomponent is not None:
                text += f".{self.subcomponent}"
        return text


@lru_cache(maxsize=4096)
def parse_path(text: str) -> Path:
    """Parse a path; raises :class:`PathError` naming the expected syntax when it is malformed."""
    match = _PATH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise PathError(
            f"invalid path {text!r}: expected SEG[n]-field[n].component.subcomponent, "
            "e.g. PID-3[2].1 or OBX[3]-5"
        )
    seg, seg_rep, field, rep, comp, sub = match.groups()
    numbers = [int(x) if x is not None else None for x in (seg_rep, field, rep, comp, sub)]
    if any(n == 0 for n in numbers) or any(n is not None and n < 0 for n in numbers[1:]):
        raise PathError(
            f"invalid path {text!r}: positions are 1-based, e.g. PID-3[2].1 or OBX[3]-5"
        )
    return Path(
        segment=seg,
        segment_repetition=numbers[0] or 1,
        field=numbers[1],
        repetition=numbers[2],
        component=numbers[3],
        subcomponent=numbers[4],
    )
