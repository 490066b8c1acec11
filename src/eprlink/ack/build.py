"""Building acknowledgements: MSH swapped, MSA echoing MSH-10, ERR laid out per version (2.3).

Most replies are the plain accept (AA or CA, no errors) to a message in the standard
delimiters. That case is built straight from the received MSH split once, and returned without
its text being parsed again; everything else goes the general way, which reads each value
through the message and parses the reply it wrote. Both give the same text.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache

from eprlink.ack.codes import AckCode, AckCondition, AckMode, Outcome, Severity, ack_code
from eprlink.ack.echo import (
    _UNSAFE,
    STANDARD,
    echo_control_id,
    echo_field,
    salvaged_control_id,
)
from eprlink.ack.errors import AckUsageError
from eprlink.ack.problems import Problem, first_reported
from eprlink.errors import ErrorCode
from eprlink.hl7 import NULL, Delimiters, Message, escape, format_timestamp, parse

__all__ = [
    "DEFAULT_SUPPORTED_VERSIONS",
    "build_ack",
    "build_application_ack",
    "reply_version",
    "version_key",
]

DEFAULT_SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
TABLE_0357 = "HL70357"
_VERSION = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,3}")
_TRIGGER = re.compile(r"[A-Z0-9]{3}")
_CONTROL_ID_COUNTER = 16**8  # the counter's eight hex digits; a new prefix after that


def version_key(version: str) -> tuple[int, ...] | None:
    """``"2.3.1"`` as ``(2, 3, 1)`` for comparisons, or ``None`` when it is not a version."""
    if not _VERSION.fullmatch(version):
        return None
    return tuple(int(part) for part in version.split("."))


@lru_cache(maxsize=64)
def _checked_key(version: str) -> tuple[int, ...]:
    key = version_key(version)
    if key is None:
        raise AckUsageError(f"{version!r} is not an HL7 version id")
    return key


@lru_cache(maxsize=64)
def _checked_versions(default_version: str, supported: tuple[str, ...]) -> frozenset[str]:
    """The supported versions as a set, once every configured version has been checked.

    Cached: a channel's configuration does not change between replies, so each distinct one
    is validated once (an invalid one raises every time, since failures are not cached).
    """
    for version in (default_version, *supported):
        _checked_key(version)
    return frozenset(supported)


class _LastVersions:
    """The configuration of the previous reply: a channel passes the same tuple every time, so
    recognising it by identity skips even hashing it. The tuple is held, so its id stays its."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[str, tuple[str, ...], frozenset[str]] | None = None

    def supported(self, default_version: str, supported_versions: Iterable[str]) -> frozenset[str]:
        last = self.last
        if last is not None and last[1] is supported_versions and last[0] == default_version:
            return last[2]
        versions = (
            supported_versions
            if isinstance(supported_versions, tuple)
            else tuple(supported_versions)
        )
        checked = _checked_versions(default_version, versions)
        self.last = (default_version, versions, checked)
        return checked


_LAST_VERSIONS = _LastVersions()
_supported = _LAST_VERSIONS.supported


def reply_version(
    received: Message | None,
    *,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
) -> str:
    """MSH-12 of the reply: the received MSH-12.1 when it is on the list (compared as an exact
    string, HD-7), otherwise the default reply version. The ERR layout follows it."""
    supported = _supported(default_version, supported_versions)
    declared = received.version if received is not None else None
    return declared if declared is not None and declared in supported else default_version


@lru_cache(maxsize=256)
def _escaped(value: str) -> str:
    """A configured value (own application, facility, processing id) in the reply's encoding."""
    return escape(value, STANDARD)


def _own(value: str | Sequence[str]) -> str:
    """The engine's own MSH-3/MSH-4: a plain value, or its components (HD ``name^id^type``)."""
    if isinstance(value, str):
        return _escaped(value)
    return "^".join(escape(part, STANDARD) for part in value).rstrip("^")


class _Clock:
    """MSH-7 for "now": UTC to the second, formatted once per second rather than per reply."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = (-1, "")

    def now(self) -> str:
        second = time.time_ns() // 1_000_000_000
        last = self._last  # one tuple, so threads never see a second with another's text
        if last[0] == second:
            return last[1]
        text = time.strftime("%Y%m%d%H%M%S+0000", time.gmtime(second))
        self._last = (second, text)
        return text


class _ControlIds:
    """MSH-10 of the engine's own messages: 12 random hex digits drawn per process, then an
    eight-digit hex counter. 20 characters, the ST length in v2.4, and unique without any
    coordination: the prefix is drawn again in a forked child and when the counter runs out.
    """

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = self._fresh()

    @staticmethod
    def _fresh() -> tuple[str, Iterator[int]]:
        return secrets.token_hex(6), itertools.count()

    def reseed(self) -> None:
        self._state = self._fresh()

    def next(self) -> str:
        while True:
            prefix, counter = self._state
            number = next(counter)  # atomic under the GIL: no two callers get one number
            if number < _CONTROL_ID_COUNTER:
                return f"{prefix}{number:08x}"
            self.reseed()


_CLOCK = _Clock()
_CONTROL_IDS = _ControlIds()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_CONTROL_IDS.reseed)


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return _CLOCK.now()
    if moment.tzinfo is None:
        return format_timestamp(moment.replace(tzinfo=UTC))
    return format_timestamp(moment.astimezone(UTC))


def _message_type(trigger: str | None, key: tuple[int, ...]) -> str:
    """``ACK^<trigger>^ACK`` from v2.3.1, ``ACK^<trigger>`` before (2.3). A trigger that is not
    a three-character event code is left out rather than copied: only codes are echoed."""
    if trigger is None or not _TRIGGER.fullmatch(trigger):
        trigger = ""
    if key >= (2, 3, 1):
        return f"ACK^{trigger}^ACK"
    return f"ACK^{trigger}" if trigger else "ACK"


def _processing_id(received: Message | None, configured: str) -> str:
    """MSH-11 echoed when the received one was readable, else the channel's own (2.3)."""
    if received is not None and received.processing_id:
        return echo_field(received, "MSH-11")
    return _escaped(configured)


def _join(fields: Sequence[str]) -> str:
    return "|".join(fields).rstrip("|")


def _eld(problem: Problem) -> str:
    """One ERR-1 repetition (ELD, up to v2.4): ``SEG^seq^field^code&text&HL70357``."""
    location = [
        problem.segment_id or "",
        "" if problem.sequence is None else str(problem.sequence),
        "" if problem.field is None else str(problem.field),
    ]
    code = problem.code
    return "^".join([*location, f"{int(code)}&{code.text}&{TABLE_0357}"])


def _erl(problem: Problem) -> str:
    """ERR-2 (ERL, from v2.5): ``SEG^seq^field^rep^comp^sub``, trailing empties left out."""
    if problem.segment_id is None:
        return ""
    positions = (
        problem.sequence,
        problem.field,
        problem.repetition,
        problem.component,
        problem.subcomponent,
    )
    parts = [problem.segment_id, *("" if p is None else str(p) for p in positions)]
    return "^".join(parts).rstrip("^")


def _err_segments(problems: Sequence[Problem], key: tuple[int, ...]) -> list[str]:
    if not problems:
        return []
    if key <= (2, 4):
        return ["ERR|" + "~".join(_eld(p) for p in problems)]
    return [
        _join(["ERR", "", _erl(p), f"{int(p.code)}^{p.code.text}^{TABLE_0357}", p.severity.value])
        for p in problems
    ]


def _fit_codes(problems: Iterable[Problem], key: tuple[int, ...]) -> list[Problem]:
    """Code 104 exists only from v2.7; earlier replies report an over-length value as 102."""
    if key >= (2, 7):
        return list(problems)
    return [
        p.with_code(ErrorCode.DATA_TYPE_ERROR) if p.code is ErrorCode.VALUE_TOO_LONG else p
        for p in problems
    ]


def _build(
    received: Message | None,
    code: AckCode,
    *,
    errors: Iterable[Problem],
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    control_id: str | None,
    timestamp: datetime | None,
    default_version: str,
    supported_versions: Iterable[str],
    processing_id: str,
    raw_control_id: str | None,
    expected_sequence: int | None,
    conditions: tuple[AckCondition, AckCondition] | None,
) -> Message:
    problems = list(errors)
    for problem in problems:
        if not isinstance(problem, Problem):
            raise AckUsageError(f"errors must be Problem values, got {type(problem).__name__}")
    if received is None:
        if not code.is_reject:
            raise AckUsageError("a message whose header could not be read can only be rejected")
        if not problems:
            problems = [Problem(ErrorCode.SEGMENT_SEQUENCE_ERROR)]
        msa2 = "" if raw_control_id is None else salvaged_control_id(raw_control_id)
    else:
        if raw_control_id is not None:
            raise AckUsageError("raw_control_id is only for messages that could not be parsed")
        msa2 = echo_control_id(received)
    if not code.is_success and not any(p.severity is Severity.ERROR for p in problems):
        problems.append(Problem(ErrorCode.APPLICATION_INTERNAL_ERROR))
    version = reply_version(
        received, default_version=default_version, supported_versions=supported_versions
    )
    key = _checked_key(version)
    problems = _fit_codes(problems, key)

    msh = [
        "MSH",
        "^~\\&",
        _own(sending_application),
        _own(sending_facility),
        echo_field(received, "MSH-3") if received is not None else "",
        echo_field(received, "MSH-4") if received is not None else "",
        _utc(timestamp),
        "",
        _message_type(received.trigger_event if received is not None else None, key),
        _control_id(control_id),
        _processing_id(received, processing_id),
        _escaped(version),
    ]
    if conditions is not None:
        msh.extend(["", "", conditions[0].value, conditions[1].value])
    reported = None if code.is_success else first_reported(problems)
    if expected_sequence is not None and (
        isinstance(expected_sequence, bool) or not isinstance(expected_sequence, int)
    ):
        raise AckUsageError("expected_sequence must be an integer")
    msa = [
        "MSA",
        code.value,
        msa2,
        "" if reported is None else reported.text,
        "" if expected_sequence is None else str(expected_sequence),
    ]
    segments = [_join(msh), _join(msa), *_err_segments(problems, key)]
    return parse("\r".join(segments) + "\r")


def _control_id(configured: str | None) -> str:
    """MSH-10 of the reply: the caller's, escaped, or a new one (plain hex, nothing to escape)."""
    return _CONTROL_IDS.next() if configured is None else escape(configured, STANDARD)


def _first_component(field: str, component: int) -> str:
    """A component of a field's first repetition in the standard delimiters, ``""`` if empty;
    the same text :meth:`Message.raw` gives for ``MSH-n.c``."""
    cut = field.find("~")
    if cut >= 0:
        field = field[:cut]
    if component == 1:
        cut = field.find("^")
        return field if cut < 0 else field[:cut]
    pieces = field.split("^")
    return pieces[component - 1] if component <= len(pieces) else ""


class _StandardSeen:
    """Whether delimiters are the standard ones, remembering the last equal object: parsing
    hands every message of a feed the same (immutable) instance, so most checks are ``is``."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: Delimiters = STANDARD

    def __call__(self, delimiters: Delimiters) -> bool:
        if delimiters is self.last:
            return True
        if delimiters != STANDARD:
            return False
        self.last = delimiters
        return True


_is_standard = _StandardSeen()


def accept_text(
    fields: list[str],
    code: AckCode,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    control_id: str | None = None,
    timestamp: datetime | None = None,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
    processing_id: str = "P",
    conditions: tuple[AckCondition, AckCondition] | None = None,
) -> str | None:
    """The text of a success reply without errors to a header in the standard delimiters,
    split into ``fields`` numbered as paths number them; ``None`` when it needs the general
    path.

    That is when an echoed field holds a control character, or a field read as a value
    (MSH-9.2, MSH-11.1, MSH-12.1) holds an escape sequence. Otherwise every value is the raw
    text the general path would read, the same rules pick the version, trigger and processing
    id, and the reply is made directly as text: it has the standard delimiters and no MSH-18,
    which is what parsing it again would find.
    """
    count = len(fields)
    sender = fields[3] if count > 3 else ""
    facility = fields[4] if count > 4 else ""
    message_type = fields[9] if count > 9 else ""
    received_id = fields[10] if count > 10 else ""
    processing = fields[11] if count > 11 else ""
    version_field = fields[12] if count > 12 else ""
    if _UNSAFE.search(sender + facility + received_id + processing) is not None:
        return None
    supported = _supported(default_version, supported_versions)
    derived = _derived(
        message_type, version_field, processing, (default_version, supported, processing_id)
    )
    if derived is None:
        return None
    ack_type, version, processing_out = derived
    if isinstance(sending_application, str) and isinstance(sending_facility, str):
        own = _own_header(sending_application, sending_facility)
    else:
        own = f"MSH|^~\\&|{_own(sending_application)}|{_own(sending_facility)}"
    enhanced = "" if conditions is None else f"|||{conditions[0]}|{conditions[1]}"
    msa = f"MSA|{code}|{received_id}" if received_id else f"MSA|{code}"
    # The general path's field list, joined: the last MSH field (version, or MSH-16) is never
    # empty, so there is nothing for its trailing-separator trim to remove.
    return (
        f"{own}|{sender}|{facility}|{_utc(timestamp)}||{ack_type}"
        f"|{_control_id(control_id)}|{processing_out}|{version}{enhanced}\r{msa}\r"
    )


@lru_cache(maxsize=1024)
def _derived(
    message_type: str,
    version_field: str,
    processing: str,
    settings: tuple[str, frozenset[str], str],
) -> tuple[str, str, str] | None:
    """MSH-9, MSH-12 and MSH-11 of the reply from the received MSH-9, MSH-12 and MSH-11 and
    the channel's (default version, supported versions, processing id), or None when one of
    the values read holds an escape sequence. A feed sends few distinct combinations, so they
    are worked out once each."""
    default_version, supported, processing_id = settings
    trigger = _first_component(message_type, 2)
    declared = _first_component(version_field, 1)
    readable = _first_component(processing, 1)
    if "\\" in trigger or "\\" in declared or "\\" in readable:
        return None
    version = declared if declared in supported else default_version
    readable_processing = bool(readable) and readable != NULL
    processing_out = processing if readable_processing else _escaped(processing_id)
    return _ack_type(trigger, version), version, processing_out


@lru_cache(maxsize=64)
def _own_header(sending_application: str, sending_facility: str) -> str:
    """MSH-1 to MSH-4 of the engine's replies: the same for every reply of a channel."""
    return f"MSH|^~\\&|{_own(sending_application)}|{_own(sending_facility)}"


@lru_cache(maxsize=512)
def _ack_type(trigger: str, version: str) -> str:
    """MSH-9 for a received trigger and a (checked) reply version; few pairs ever occur."""
    return _message_type(trigger, _checked_key(version))


def _acknowledge(
    received: Message | None,
    code: AckCode,
    *,
    errors: Iterable[Problem],
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    control_id: str | None = None,
    timestamp: datetime | None = None,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
    processing_id: str = "P",
    raw_control_id: str | None = None,
    expected_sequence: int | None = None,
    conditions: tuple[AckCondition, AckCondition] | None = None,
    header: list[str] | None = None,
) -> Message:
    """Any acknowledgement: the plain accept by :func:`_accepted` when it can, else the general
    :func:`_build`. ``header`` is the received MSH as :meth:`Message.raw_fields` splits it, for
    a caller that has split it already."""
    problems = list(errors)
    if (
        not problems
        and received is not None
        and (code is AckCode.AA or code is AckCode.CA)  # success, without enum properties
        and raw_control_id is None
        and expected_sequence is None
    ):
        fields = header if header is not None else received.raw_fields("MSH")
        # Echoed values in other delimiters must be re-encoded: only the standard ones here.
        if fields is not None and _is_standard(received.delimiters):
            text = accept_text(
                fields,
                code,
                sending_application=sending_application,
                sending_facility=sending_facility,
                control_id=control_id,
                timestamp=timestamp,
                default_version=default_version,
                supported_versions=supported_versions,
                processing_id=processing_id,
                conditions=conditions,
            )
            if text is not None:
                return Message(None, STANDARD, text=text, charset="utf-8")
    return _build(
        received,
        code,
        errors=problems,
        sending_application=sending_application,
        sending_facility=sending_facility,
        control_id=control_id,
        timestamp=timestamp,
        default_version=default_version,
        supported_versions=supported_versions,
        processing_id=processing_id,
        raw_control_id=raw_control_id,
        expected_sequence=expected_sequence,
        conditions=conditions,
    )


def build_ack(
    received: Message | None,
    code: AckCode | Outcome,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    errors: Iterable[Problem] = (),
    mode: AckMode = AckMode.ORIGINAL,
    control_id: str | None = None,
    timestamp: datetime | None = None,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
    processing_id: str = "P",
    raw_control_id: str | None = None,
    expected_sequence: int | None = None,
) -> Message:
    """The acknowledgement for ``received`` (original mode) or its accept ACK (enhanced mode).

    ``code`` is an :class:`Outcome`, turned into AA/AE/AR or CA/CE/CR by ``mode``, or a code
    that must belong to that mode. ``received=None`` means the header could not be parsed: the
    reply is then AR/CR in the default version, with a 100 unless ``errors`` say otherwise,
    and MSA-2 is ``raw_control_id`` (see :func:`control_id_of`) or empty. A non-success code
    without an error-level problem is reported as 207, the policy's catch-all, so MSA-3 and
    ERR are never empty on AE/AR. An enhanced accept ACK carries MSH-15/16 ``NE``: nothing
    acknowledges an acknowledgement. ``expected_sequence`` fills MSA-4 for the sequence
    number protocol.
    """
    return _acknowledge(
        received,
        ack_code(code, mode),
        errors=errors,
        sending_application=sending_application,
        sending_facility=sending_facility,
        control_id=control_id,
        timestamp=timestamp,
        default_version=default_version,
        supported_versions=supported_versions,
        processing_id=processing_id,
        raw_control_id=raw_control_id,
        expected_sequence=expected_sequence,
        conditions=(AckCondition.NE, AckCondition.NE) if mode is AckMode.ENHANCED else None,
    )


def build_application_ack(
    received: Message,
    code: AckCode | Outcome,
    *,
    sending_application: str | Sequence[str],
    sending_facility: str | Sequence[str],
    errors: Iterable[Problem] = (),
    accept_ack: AckCondition = AckCondition.NE,
    control_id: str | None = None,
    timestamp: datetime | None = None,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
    processing_id: str = "P",
) -> Message:
    """The enhanced-mode application acknowledgement (AA/AE/AR), same layout as the ACK.

    MSH-16 is ``NE`` (an application ACK is never application-acknowledged) and MSH-15 is
    ``accept_ack``, ``NE`` by default to match HD-13; a partner that wants its application
    ACKs committed can ask for ``AL``.
    """
    return _acknowledge(
        received,
        ack_code(code, AckMode.ORIGINAL),
        errors=errors,
        sending_application=sending_application,
        sending_facility=sending_facility,
        control_id=control_id,
        timestamp=timestamp,
        default_version=default_version,
        supported_versions=supported_versions,
        processing_id=processing_id,
        raw_control_id=None,
        expected_sequence=None,
        conditions=(AckCondition(accept_ack), AckCondition.NE),
    )
