"""eprlink adapter for the shared parse benchmark (``parse_bench.py --candidate``).

Contract (see ``adapters_example.py`` in the harness): ``parse(text)``, ``fields(m)`` → the
five raw (still-escaped) values the ``split`` baseline reads, and ``serialize(m)`` → ER7 text.
Every call parses the text afresh; nothing is cached between calls.

The ``src/`` folder next to this file is put on ``sys.path`` so that the benchmark imports the
working tree's eprlink from any directory and needs no install (the HL7 core is stdlib only).
"""

from __future__ import annotations

import os
import sys

_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from eprlink.hl7 import Message  # noqa: E402
from eprlink.hl7 import parse as _parse  # noqa: E402

NAME = "eprlink"


def parse(text: str) -> Message:
    return _parse(text)


def fields(m: Message) -> tuple[str, str, str, str, str | None]:
    """PID-3.1, PID-5.1, PV1-3.1, MSH-10, last OBX-5, matching the ``split`` baseline.

    ``Message.raw`` returns None for an absent *or* empty element; the baseline returns ``""``
    for an empty one, and None for OBX-5 only when there is no OBX at all.
    """
    raw = m.raw
    last5 = raw("OBX[-1]-5")
    if last5 is None and "OBX" in m:  # an OBX whose OBX-5 is empty
        last5 = ""
    return (
        raw("PID-3.1") or "",
        raw("PID-5.1") or "",
        raw("PV1-3.1") or "",
        raw("MSH-10") or "",
        last5,
    )


def serialize(m: Message) -> str:
    return m.to_er7()
