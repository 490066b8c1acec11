"""Building acknowledgements: MSH swapped, MSA echoing MSH-10, ERR laid out per version (2.3)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from eprlink.ack.codes import AckCode, AckCondition, AckMode, Outcome, Severity, ack_code
from eprlink.ack.echo import STANDARD, echo_control_id, echo_field, salvaged_control_id
from eprlink.ack.errors import AckUsageError
from eprlink.ack.problems import Problem, first_reported
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message, escape, format_timestamp, new_control_id, parse

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


def version_key(version: str) -> tuple[int, ...] | None:
    """``"2.3.1"`` as ``(2, 3, 1)`` for comparisons, or ``None`` when it is not a version."""
    if not _VERSION.fullmatch(version):
        return None
    return tuple(int(part) for part in version.split("."))


def _checked_key(version: str) -> tuple[int, ...]:
    key = version_key(version)
    if key is None:
        raise AckUsageError(f"{version!r} is not an HL7 version id")
    return key


def reply_version(
    received: Message | None,
    *,
    default_version: str = "2.4",
    supported_versions: Iterable[str] = DEFAULT_SUPPORTED_VERSIONS,
) -> str:
    """MSH-12 of the reply: the received MSH-12.1 when it is on the list (compared as an exact
    string, HD-7), otherwise the default reply version. The ERR layout follows it."""
    supported = tuple(supported_versions)
    for version in (default_version, *supported):
        _checked_key(version)
    declared = received.version if received is not None else None
    return declared if declared is not None and declared in supported else default_version


def _own(value: str | Sequence[str]) -> str:
    """The engine's own MSH-3/MSH-4: a plain value, or its components (HD ``name^id^type``)."""
    if isinstance(value, str):
        return escape(value, STANDARD)
    return "^".join(escape(part, STANDARD) for part in value).rstrip("^")


def _utc(moment: datetime | None) -> str:
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    else:
        moment = moment.astimezone(UTC)
    return format_timestamp(moment)


def _message_type(received: Message | None, key: tuple[int, ...]) -> str:
    """``ACK^<trigger>^ACK`` from v2.3.1, ``ACK^<trigger>`` before (2.3). A trigger that is not
    a three-character event code is left out rather than copied: only codes are echoed."""
    trigger = received.trigger_event if received is not None else None
    if trigger is None or not _TRIGGER.fullmatch(trigger):
        trigger = ""
    if key >= (2, 3, 1):
        return f"ACK^{trigger}^ACK"
    return f"ACK^{trigger}" if trigger else "ACK"


def _processing_id(received: Message | None, configured: str) -> str:
    """MSH-11 echoed when the received one was readable, else the channel's own (2.3)."""
    if received is not None and received.processing_id:
        return echo_field(received, "MSH-11")
    return escape(configured, STANDARD)


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
        _message_type(received, key),
        escape(control_id if control_id is not None else new_control_id(), STANDARD),
        _processing_id(received, processing_id),
        escape(version, STANDARD),
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
    return _build(
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
    return _build(
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
