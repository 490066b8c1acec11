"""Filter, transform and callable-destination targets that test configurations name by path."""

from __future__ import annotations

from eprlink.hl7 import Message

delivered: list[bytes] = []
failures_left: list[int] = [0]


def keep_adt(message: Message) -> bool:
    """Keep everything except messages from the TEST application."""
    return message.get("MSH-3") != "TEST"


def stamp(message: Message) -> Message:
    """Write the receiving application, as a transform would."""
    out = message.copy()
    out.set("MSH-5", "STAMPED")
    return out


def explode(message: Message) -> Message:
    raise ValueError("transform bug")


def sink(payload: bytes) -> None:
    if failures_left[0] > 0:
        failures_left[0] -= 1
        raise RuntimeError("downstream refused")
    delivered.append(payload)


async def async_sink(payload: bytes) -> None:
    delivered.append(payload)
