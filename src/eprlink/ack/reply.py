"""Whether to reply at all, in which mode, and with which outcome (2.1, 2.5, HD-10, HD-13)."""

from __future__ import annotations

from collections.abc import Iterable

from eprlink.ack.codes import AckCode, AckCondition, AckMode, Outcome, Severity
from eprlink.ack.problems import Problem
from eprlink.hl7 import Message

__all__ = [
    "accept_condition",
    "ack_mode_for",
    "application_condition",
    "is_acknowledgement",
    "outcome_for",
    "should_reply",
    "wants_application_ack",
]


def is_acknowledgement(message: Message) -> bool:
    """MSH-9.1 is ``ACK``: such a message is never acknowledged, to avoid ACK storms (HD-13)."""
    return message.message_type == "ACK"


def accept_condition(message: Message) -> AckCondition | None:
    """MSH-15 when it holds a table 0155 value, else ``None``."""
    return AckCondition.read(message.get("MSH-15.1"))


def application_condition(message: Message) -> AckCondition | None:
    """MSH-16 when it holds a table 0155 value, else ``None``."""
    return AckCondition.read(message.get("MSH-16.1"))


def ack_mode_for(message: Message | None, *, enhanced_partner: bool) -> AckMode:
    """Enhanced mode only for a partner configured for it whose message carries MSH-15 or
    MSH-16 (2.1); with both empty HL7 itself says original mode applies (reference 3.3)."""
    if not enhanced_partner or message is None:
        return AckMode.ORIGINAL
    if message.get("MSH-15.1") or message.get("MSH-16.1"):
        return AckMode.ENHANCED
    return AckMode.ORIGINAL


def should_reply(
    received: Message | None,
    outcome: Outcome | AckCode,
    *,
    mode: AckMode = AckMode.ORIGINAL,
    honour_msh15: bool = True,
) -> bool:
    """Whether an (accept) acknowledgement is sent for ``received`` with this outcome.

    Never for an acknowledgement (HD-13). In enhanced mode with honouring on, MSH-15 decides:
    ``AL`` always, ``NE`` never, ``ER`` on error or reject, ``SU`` on success. A blank or
    unknown MSH-15 counts as ``AL``: a missing reply makes the sender time out and resend, an
    unwanted one is merely ignored. A message whose header could not be read gets its AR.
    """
    if received is None:
        return True
    if is_acknowledgement(received):
        return False
    if mode is AckMode.ORIGINAL or not honour_msh15:
        return True
    condition = accept_condition(received) or AckCondition.AL
    return condition.wants(outcome)


def wants_application_ack(received: Message, outcome: Outcome | AckCode) -> bool:
    """Whether MSH-16 asks for an application acknowledgement with this outcome.

    Used only by channels that relay downstream application ACKs (2.1). As for MSH-15, a blank
    or unknown value counts as ``AL``; acknowledgements are never answered (HD-13).
    """
    if is_acknowledgement(received):
        return False
    condition = application_condition(received) or AckCondition.AL
    return condition.wants(outcome)


def outcome_for(problems: Iterable[Problem]) -> Outcome:
    """The outcome that a list of problems calls for (table 2.2).

    Any error that makes the message unacceptable as a whole gives a reject, any other error an
    error; warnings and information alone leave the message accepted.
    """
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if any(p.rejects for p in errors):
        return Outcome.REJECT
    return Outcome.ERROR if errors else Outcome.ACCEPT
