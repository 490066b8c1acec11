"""HL7 v2 acknowledgements: building the engine's replies and reading its partners' (policy 2).

Pure: the standard library and :mod:`eprlink.hl7` only. The engine decides *what* happened
(:class:`Problem` values, an :class:`Outcome`); this package decides how that is written
(:func:`build_ack`), whether it is written at all (:func:`should_reply`), what a partner's
response means (:func:`read_ack`, :func:`classify`) and how sequence numbers advance.
"""

from __future__ import annotations

from eprlink.ack.answer import Answer, answer, answer_bytes, answer_oversize
from eprlink.ack.build import (
    DEFAULT_SUPPORTED_VERSIONS,
    build_ack,
    build_application_ack,
    reply_version,
    version_key,
)
from eprlink.ack.codes import AckCode, AckCondition, AckMode, Outcome, Severity, ack_code
from eprlink.ack.echo import control_id_of, echo_control_id, echo_field, salvaged_control_id
from eprlink.ack.errors import AckError, AckUsageError
from eprlink.ack.problems import MSA3_MAX_LENGTH, MSA3_PATTERN, Problem, Reason, reason_for
from eprlink.ack.read import DEFAULT_SUCCESS, AckResult, ReportedError, Verdict, classify, read_ack
from eprlink.ack.reply import (
    accept_condition,
    ack_mode_for,
    application_condition,
    is_acknowledgement,
    outcome_for,
    should_reply,
    wants_application_ack,
)
from eprlink.ack.sequence import (
    RESYNC_NUMBER,
    START_NUMBER,
    ReceiverCheck,
    ReceiverSequence,
    SenderAction,
    SenderSequence,
    SenderStep,
    SequenceStatus,
)

__all__ = [
    "DEFAULT_SUCCESS",
    "DEFAULT_SUPPORTED_VERSIONS",
    "MSA3_MAX_LENGTH",
    "MSA3_PATTERN",
    "RESYNC_NUMBER",
    "START_NUMBER",
    "AckCode",
    "AckCondition",
    "AckError",
    "AckMode",
    "AckResult",
    "AckUsageError",
    "Answer",
    "Outcome",
    "Problem",
    "Reason",
    "ReceiverCheck",
    "ReceiverSequence",
    "ReportedError",
    "SenderAction",
    "SenderSequence",
    "SenderStep",
    "SequenceStatus",
    "Severity",
    "Verdict",
    "accept_condition",
    "ack_code",
    "ack_mode_for",
    "answer",
    "answer_bytes",
    "answer_oversize",
    "application_condition",
    "build_ack",
    "build_application_ack",
    "classify",
    "control_id_of",
    "echo_control_id",
    "echo_field",
    "is_acknowledgement",
    "outcome_for",
    "read_ack",
    "reason_for",
    "reply_version",
    "salvaged_control_id",
    "should_reply",
    "version_key",
    "wants_application_ack",
]
