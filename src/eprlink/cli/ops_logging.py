"""PHI-free log lines for ``eprlink run``: metadata only, control characters neutralised."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

__all__ = ["SafeFormatter", "configure_logging"]

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)
_MESSAGE_LIMIT = 300
_VALUE_LIMIT = 128
_FRAMES = 4


def _clean(value: object, limit: int) -> str:
    text = _UNSAFE.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(exc: BaseException) -> str:
    """The innermost frames as file:line in function, without source text or values."""
    frames = traceback.extract_tb(exc.__traceback__)[-_FRAMES:]
    return " < ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
        for frame in reversed(frames)
    )


class SafeFormatter(logging.Formatter):
    """``time level logger: message key=value …`` or, with ``json_lines``, one JSON object.

    The engine logs PHI-free text and puts its facts (action, channel, destination, control
    id, codes, counts) in record extras, so those are printed. An exception's message and a
    traceback's source lines are not, only the exception type and where it was raised, because
    failure paths are where message content leaks into logs (policy 6.3). Every value loses its
    control characters and bidi overrides and is truncated (CWE-117).

    Records from libraries outside eprlink keep only their first line: asyncio, for one, puts
    the repr of a failed task (which may hold message text) on the lines that follow.
    """

    def __init__(self, *, json_lines: bool = False) -> None:
        super().__init__()
        self.json_lines = json_lines

    def fields(self, record: logging.LogRecord) -> dict[str, str]:
        message = record.getMessage()
        if not record.name.startswith("eprlink"):
            message = message.split("\n", 1)[0]
        moment = datetime.fromtimestamp(record.created, UTC)
        out = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": _clean(message, _MESSAGE_LIMIT),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = _clean(value, _VALUE_LIMIT)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["error"] = type(exc).__name__
            if isinstance(exc, OSError) and exc.strerror:
                out["error_text"] = _clean(exc.strerror, _VALUE_LIMIT)
            out["where"] = _where(exc)
        return out

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.json_lines:
            return json.dumps(fields, ensure_ascii=False)
        head = f"{fields.pop('time')} {fields.pop('level'):<7} {fields.pop('logger')}: "
        text = fields.pop("message")
        rest = " ".join(f"{key}={_quote(value)}" for key, value in fields.items())
        return head + text + (f" [{rest}]" if rest else "")


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if (" " in value or not value) else value


def configure_logging(level: int, *, json_lines: bool = False, stream: Any = None) -> None:
    """Replace the root handlers with one PHI-free handler on stderr (or ``stream``)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(SafeFormatter(json_lines=json_lines))
    logging.basicConfig(level=level, handlers=[handler], force=True)
