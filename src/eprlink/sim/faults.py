"""Fault injection, drawn from the seed: wire faults per frame, payload faults per message.

Each listener has its own random streams (wire, payload, answer), so the same seed and the
same traffic give the same faults in the same places, and a fault on one listener does not
shift the draws of another. The bad inputs follow the rules of the reliability policy (§4):
a receiver must survive every one without losing the messages around it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

from eprlink.hl7 import ParseError, parse
from eprlink.sim.config import FaultConfig
from eprlink.sim.wire import WirePlan

__all__ = ["MALFORMED", "AnswerFault", "FaultInjector", "malform", "to_cp1252"]

CP1252_DECLARED = "WINDOWS-1252"
"""MSH-18 for the declared variant: not an HL7 table 0211 value, but what Windows senders write."""


class AnswerFault(StrEnum):
    """An inbound listener's forced answer."""

    ERROR = "error"  # AE
    REJECT = "reject"  # AR


def _fields(line: str) -> list[str]:
    return line.split("|")


def _edit(text: str, segment: str, number: int, value: str) -> str | None:
    """Set field ``number`` of the first ``segment`` line (raw text), or None without one."""
    lines = text.split("\r")
    for index, line in enumerate(lines):
        if line.startswith(segment + "|"):
            parts = _fields(line)
            position = number - 1 if segment == "MSH" else number
            parts.extend([""] * (position + 1 - len(parts)))
            parts[position] = value
            lines[index] = "|".join(parts)
            return "\r".join(lines)
    return None


def _bad_segment_id(text: str) -> str | None:
    head, _, rest = text.partition("\r")
    return f"{head}\rZ!X|1\r{rest}"  # not a segment id at all (HD/ST: AE 100)


def _bad_date(text: str) -> str | None:
    return _edit(text, "PID", 7, "20251340")  # month 13 (AE 102)


def _control_character(text: str) -> str | None:
    return _edit(text, "PID", 5, "TEST\x07PATIENT^ALPHA")  # BEL in PID-5 (EN-7)


def _second_msh(text: str) -> str | None:
    head = text.split("\r", 1)[0]
    return text.rstrip("\r") + "\r" + head + "\r"  # two messages in one frame (FR-8: AE 100)


def _unsupported_version(text: str) -> str | None:
    return _edit(text, "MSH", 12, "9.9")  # HD-7: AR 203


def _missing_message_type(text: str) -> str | None:
    return _edit(text, "MSH", 9, "")  # HD-4: AR 101


def _missing_patient_id(text: str) -> str | None:
    return _edit(text, "PID", 3, "")  # a required field left empty (AE 101)


MALFORMED: dict[str, Callable[[str], str | None]] = {
    "bad_segment_id": _bad_segment_id,
    "bad_date": _bad_date,
    "control_character": _control_character,
    "second_msh": _second_msh,
    "unsupported_version": _unsupported_version,
    "missing_message_type": _missing_message_type,
    "missing_patient_id": _missing_patient_id,
    "not_er7": lambda text: text,  # encoded as UTF-16 below (EN-6: AR 100, empty MSA-2)
}
"""The bad-input cases a ``malformed`` fault picks from, by name."""


def malform(payload: bytes, case: str) -> bytes:
    """``payload`` broken in the named way; a case that does not apply (no PID) falls back to
    a second MSH, which applies to every message."""
    text = payload.decode("latin-1")  # byte-preserving: only ASCII structure is edited
    changed = MALFORMED[case](text)
    if changed is None:
        changed = _second_msh(text) or text
    if case == "not_er7":
        return payload.decode("utf-8", errors="replace").encode("utf-16-le")
    return changed.encode("latin-1")


def to_cp1252(payload: bytes, *, declared: bool) -> bytes | None:
    """The message with a Windows-1252 patient name (a curly apostrophe, an accent), MSH-18
    saying so or left empty; None for a message without a PID or that does not parse."""
    try:
        message = parse(payload)
    except ParseError:
        return None
    if message.segment("PID") is None:
        return None
    family = message.get("PID-5.1") or "TESTPATIENT"
    message.set("PID-5.1", f"O’{family}")
    message.set("PID-5.2", "RENÉE")
    message.set("MSH-18", CP1252_DECLARED if declared else None)
    return message.to_er7().encode("cp1252", errors="replace")


class FaultInjector:
    """Decides the faults of one listener. ``limit`` caps how many are injected in all."""

    def __init__(self, config: FaultConfig, *, seed: int, listener: str) -> None:
        self.config = config
        self._wire = random.Random(f"{seed}:{listener}:wire")
        self._payload = random.Random(f"{seed}:{listener}:payload")
        self._answer = random.Random(f"{seed}:{listener}:answer")
        self.injected: Counter[str] = Counter()

    def _allow(self, name: str) -> bool:
        limit = self.config.limit
        if limit and sum(self.injected.values()) >= limit:
            return False
        self.injected[name] += 1
        return True

    def wire(self) -> WirePlan:
        """The faults for the next frame written. Every rate is drawn every time, so the
        stream of draws does not depend on which faults fired."""
        c = self.config
        if not c.active:
            return WirePlan()
        draws = {
            name: self._wire.random() < getattr(c, name)
            for name in ("drop_before", "drop_after", "delay", "duplicate", "garbage", "lf_trailer")
        }
        pause = self._wire.uniform(c.delay_max / 2, c.delay_max)
        if draws["drop_before"]:
            draws["drop_after"] = False
        chosen = {name: hit and self._allow(name) for name, hit in draws.items()}
        return WirePlan(
            delay=pause if chosen["delay"] else 0.0,
            drop_before=chosen["drop_before"],
            drop_after=chosen["drop_after"],
            duplicate=chosen["duplicate"],
            garbage=chosen["garbage"],
            lf_trailer=chosen["lf_trailer"],
        )

    def payload(self, payload: bytes) -> tuple[bytes, str]:
        """The message as it will be queued, and the name of the fault applied ('' for none).
        At most one payload fault per message: malformed, then the charsets, then LF."""
        c = self.config
        if not c.active:
            return payload, ""
        rng = self._payload
        malformed = rng.random() < c.malformed
        case = rng.choice(sorted(MALFORMED))
        declared = rng.random() < c.cp1252
        undeclared = rng.random() < c.cp1252_undeclared
        lf = rng.random() < c.lf_segments
        if malformed and self._allow("malformed"):
            return malform(payload, case), f"malformed:{case}"
        if declared or undeclared:
            changed = to_cp1252(payload, declared=declared)
            name = "cp1252" if declared else "cp1252_undeclared"
            if changed is not None and self._allow(name):
                return changed, name
        if lf and self._allow("lf_segments"):
            return payload.replace(b"\r", b"\n"), "lf_segments"
        return payload, ""

    def answer(self) -> AnswerFault | None:
        """Whether the next inbound message is answered AE or AR whatever it holds."""
        c = self.config
        if c.error <= 0 and c.reject <= 0:
            return None
        draw = self._answer.random()
        if draw < c.reject and self._allow("reject"):
            return AnswerFault.REJECT
        if c.reject <= draw < c.reject + c.error and self._allow("error"):
            return AnswerFault.ERROR
        return None
