"""Record and replay: every frame sent and received, as JSON lines, and feeds built from them.

One JSON object per line (docs/simulator.md): ``t`` (UTC, ISO 8601), ``listener``, ``direction``
(``out`` written by the simulator, ``in`` read from the peer), ``peer``, ``event`` (``connect``,
``frame``, ``close``) and, for frames, ``data``: base64 of MLLP-framed bytes. Outgoing data is
exactly what went on the wire, injected faults included; incoming data is each decoded frame
framed again. A capture is plain text, so it can be diffed, filtered with ``jq`` and replayed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from eprlink.hl7 import split_messages
from eprlink.mllp import Decoder, Frame, FramingPolicy

__all__ = ["CaptureRecord", "CaptureWriter", "read_capture", "replay_payloads"]

VERSION = 1


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One line of a capture file."""

    at: datetime
    listener: str
    direction: str
    peer: str
    event: str
    data: bytes = b""

    def to_json(self) -> str:
        record: dict[str, object] = {
            "v": VERSION,
            "t": self.at.isoformat(timespec="microseconds"),
            "listener": self.listener,
            "direction": self.direction,
            "peer": self.peer,
            "event": self.event,
        }
        if self.event == "frame":
            record["data"] = base64.b64encode(self.data).decode("ascii")
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> CaptureRecord:
        item = json.loads(line)
        return cls(
            at=datetime.fromisoformat(item["t"]),
            listener=str(item["listener"]),
            direction=str(item["direction"]),
            peer=str(item.get("peer", "")),
            event=str(item["event"]),
            data=base64.b64decode(item.get("data", "")),
        )

    def payloads(self) -> list[bytes]:
        """The frames inside ``data``, decoded as a lenient receiver would (junk dropped)."""
        decoder = Decoder(FramingPolicy(max_message_size=64 * 1024 * 1024))
        events = [*decoder.feed(self.data), *decoder.eof()]
        return [event.payload for event in events if isinstance(event, Frame)]


class CaptureWriter:
    """Appends records to a capture file, one flushed line each, so a killed run keeps its log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.records = 0

    def record(
        self, listener: str, direction: str, peer: str, event: str, data: bytes = b""
    ) -> None:
        if self._file is None:
            return
        line = CaptureRecord(datetime.now(UTC), listener, direction, peer, event, data)
        self._file.write(line.to_json() + "\n")
        self._file.flush()
        self.records += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_capture(path: Path) -> Iterator[CaptureRecord]:
    """The records of a capture file in order; blank lines are skipped."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield CaptureRecord.from_json(line)


def _from_capture(path: Path, listener: str | None, unique: bool) -> list[bytes]:
    records = [r for r in read_capture(path) if r.event == "frame" and r.direction == "out"]
    if listener is not None and any(r.listener == listener for r in records):
        records = [r for r in records if r.listener == listener]
    seen: set[bytes] = set()
    payloads = []
    for record in records:
        for payload in record.payloads():
            if unique and payload in seen:
                continue  # a resend or a duplicate send: the feed carries each message once
            seen.add(payload)
            payloads.append(payload)
    return payloads


def replay_payloads(
    source: Path, *, listener: str | None = None, unique: bool = True
) -> list[bytes]:
    """The messages to push again: from a capture file, what the simulator sent (on
    ``listener`` when the capture has frames for it, else on every link), each message once
    unless ``unique`` is off; from a folder, every ``*.hl7`` file in name order, each split
    into its messages (one per file, several, or MLLP-framed)."""
    if source.is_dir():
        payloads: list[bytes] = []
        for file in sorted(source.glob("*.hl7")):
            payloads.extend(p for p in split_messages(file.read_bytes()) if p.strip())
        return payloads
    return _from_capture(source, listener, unique)
