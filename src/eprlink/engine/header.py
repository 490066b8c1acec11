"""Header checks (HD-4, HD-6, HD-7, HD-8), routing by message type (HD-5) and search keys.

Everything here reads a parsed message and returns values: problems for the ACK, destination
names, identifiers for the search index. Nothing logs message content.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from eprlink.ack import Problem
from eprlink.engine.config import HeaderPolicy, Route
from eprlink.errors import ErrorCode
from eprlink.hl7 import NULL, Message
from eprlink.hl7.elements import value_of

__all__ = ["Router", "check_header", "identifiers_of", "mask", "type_of"]

_REQUIRED = (3, 4, 9, 10, 11, 12)  # MSH fields every message must carry
_MAX_IDENTIFIERS = 20


def _missing(value: str | None) -> bool:
    return not value or value == NULL


def check_header(message: Message, policy: HeaderPolicy) -> list[Problem]:
    """The header's problems, one per field: 101 for a missing required field (AR), 202 for
    another processing id (AR, a clinical-safety hazard), 203 for an unsupported version (AR),
    102 for an over-long control id (AE).

    MSH is split once and read from the list: this runs for every message, and a path lookup
    per field was most of the engine's intake cost."""
    fields = message.raw_fields("MSH") or []
    count = len(fields)

    def at(number: int) -> str:
        return fields[number] if number < count else ""

    problems = []
    for number in _REQUIRED:
        if _missing(at(number)):
            problems.append(Problem.at(f"MSH-{number}", ErrorCode.REQUIRED_FIELD_MISSING))
    message_type = at(9)
    if not _missing(message_type):
        d = message.delimiters
        parts = message_type.split(d.repetition, 1)[0].split(d.component)
        for index, path in enumerate(("MSH-9.1", "MSH-9.2")):
            if _missing(parts[index] if index < len(parts) else ""):
                problems.append(Problem.at(path, ErrorCode.REQUIRED_FIELD_MISSING))
    control_id = at(10)
    if not _missing(control_id) and len(control_id) > policy.max_control_id_length:
        problems.append(Problem.at("MSH-10", ErrorCode.DATA_TYPE_ERROR))
    if not _missing(at(11)) and message.processing_id != policy.processing_id:
        problems.append(Problem.at("MSH-11", ErrorCode.UNSUPPORTED_PROCESSING_ID))
    if not _missing(at(12)) and message.version not in policy.versions:
        problems.append(Problem.at("MSH-12", ErrorCode.UNSUPPORTED_VERSION_ID))
    return problems


def type_of(message: Message) -> str | None:
    """``ADT^A01`` (or ``ADT`` without a trigger), for routing, search and logs."""
    kind = message.message_type
    if not kind:
        return None
    trigger = message.trigger_event
    return f"{kind}^{trigger}" if trigger else kind


@dataclass(frozen=True, slots=True)
class _Compiled:
    kind: str
    trigger: str
    destinations: tuple[str, ...]


class Router:
    """Destinations by ``TYPE^TRIGGER`` pattern; every matching route contributes, in order."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        compiled = []
        for route in routes:
            for pattern in route.types:
                kind, _, trigger = pattern.partition("^")
                compiled.append(_Compiled(kind, trigger or "*", route.destinations))
        self._routes = tuple(compiled)

    def match(self, message: Message) -> tuple[str, ...] | Problem:
        """The destinations for ``message`` (possibly none, when a route says so), or the
        problem to report: 200 when no route knows the type, 201 when none knows the trigger."""
        kind = message.message_type or ""
        trigger = message.trigger_event or ""
        found: dict[str, None] = {}
        matched = False
        type_known = False
        for route in self._routes:
            if not fnmatchcase(kind, route.kind):
                continue
            type_known = True
            if fnmatchcase(trigger, route.trigger):
                matched = True
                found.update(dict.fromkeys(route.destinations))
        if matched:
            return tuple(found)
        code = (
            ErrorCode.UNSUPPORTED_EVENT_CODE if type_known else ErrorCode.UNSUPPORTED_MESSAGE_TYPE
        )
        return Problem.at("MSH-9", code)


def identifiers_of(message: Message) -> tuple[tuple[str, str], ...]:
    """Patient identifiers for the search index: PID-3 repetitions as (kind, value).

    The kind is ``NHS`` where the assigning authority (CX.4) is NHS, else the identifier type
    code (CX.5, e.g. ``MR``) when there is one. Values are kept exactly as sent (ST-7: the engine
    never reformats an NHS number).
    """
    fields = message.raw_fields("PID")
    if fields is None or len(fields) <= 3 or not fields[3]:
        return ()
    d = message.delimiters
    charset = message.charset
    found: list[tuple[str, str]] = []
    for repetition in fields[3].split(d.repetition)[:_MAX_IDENTIFIERS]:
        components = repetition.split(d.component)
        count = len(components)
        value = value_of(components[0], d, charset)
        if not value:
            continue
        authority = components[3].split(d.subcomponent, 1)[0] if count > 3 else ""
        if value_of(authority, d, charset) == "NHS":
            kind: str | None = "NHS"
        else:
            kind = value_of(components[4], d, charset) if count > 4 else None
        if kind:
            found.append((kind, value))
    return tuple(dict.fromkeys(found))


def mask(value: str) -> str:
    """An identifier with all but its last two characters hidden (enough to tell rows apart)."""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 2) + value[-2:]
