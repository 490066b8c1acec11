"""The HL7 sequence number protocol (MSH-13, MSA-4; HL7 v2 2.4.3, reference 3.5) as pure state.

Both sides are immutable values: every step returns the next state, which the engine stores
durably (the receiver before it acknowledges) and passes back in. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from eprlink.ack.codes import Outcome
from eprlink.ack.errors import AckUsageError
from eprlink.ack.problems import Problem
from eprlink.ack.reply import outcome_for
from eprlink.errors import ErrorCode

__all__ = [
    "RESYNC_NUMBER",
    "START_NUMBER",
    "ReceiverCheck",
    "ReceiverSequence",
    "SenderAction",
    "SenderSequence",
    "SenderStep",
    "SequenceStatus",
]

START_NUMBER = 0
"""MSH-13 of the content-free message that (re)starts a link."""
RESYNC_NUMBER = -1
"""MSH-13 that forces resynchronisation, and MSA-4 of a receiver that holds no number."""

_NUMBER = re.compile(r"-?[0-9]{1,18}")


class SequenceStatus(StrEnum):
    """How a received MSH-13 compares with what the receiver expects."""

    START = "start"
    """0: the initiator (re)starts the link; answer with the expected number, apply nothing."""
    RESYNC = "resync"
    """-1: forget the stored number and adopt the next positive one accepted."""
    ACCEPT = "accept"
    """The expected number (or any positive one while resynchronising): apply it."""
    DUPLICATE = "duplicate"
    """Already accepted (typically our ACK was lost): acknowledge again, apply nothing."""
    GAP = "gap"
    """Beyond the expected number: transactions are missing; reject, apply nothing."""
    INVALID = "invalid"
    """Absent or not a number the protocol allows."""


@dataclass(frozen=True, slots=True)
class ReceiverCheck:
    """The receiver's decision on one message: what to apply, what MSA-4 to send, what to store.

    ``state`` is the state to persist with the message's commit; for anything not applied it
    is the unchanged state.
    """

    status: SequenceStatus
    expected: int
    state: ReceiverSequence
    problem: Problem | None = None

    @property
    def apply(self) -> bool:
        """Whether the message's content is processed (only the expected transaction is)."""
        return self.status is SequenceStatus.ACCEPT

    @property
    def outcome(self) -> Outcome:
        """The acknowledgement the protocol itself calls for; processing may still add errors."""
        return Outcome.ACCEPT if self.problem is None else outcome_for([self.problem])


@dataclass(frozen=True, slots=True)
class ReceiverSequence:
    """The receiving side: the last accepted number, or ``None`` when it holds none (a new
    link, or after resynchronisation) and will adopt the next positive number it accepts."""

    last_accepted: int | None = None

    def __post_init__(self) -> None:
        value = self.last_accepted
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise AckUsageError("last_accepted must be an integer or None")
        if value is not None and value < 1:
            raise AckUsageError("last_accepted must be a positive sequence number")

    @property
    def expected(self) -> int:
        """MSA-4: last accepted + 1, or -1 while holding no number."""
        return RESYNC_NUMBER if self.last_accepted is None else self.last_accepted + 1

    def check(self, number: int | str | None) -> ReceiverCheck:
        """Judge MSH-13 (as an integer or the field's text) against the stored state."""
        value = _number(number)
        if value is None or value < RESYNC_NUMBER:
            code = (
                ErrorCode.REQUIRED_FIELD_MISSING
                if number in (None, "")
                else (ErrorCode.DATA_TYPE_ERROR)
            )
            return ReceiverCheck(
                SequenceStatus.INVALID, self.expected, self, Problem.at("MSH-13", code)
            )
        if value == START_NUMBER:
            return ReceiverCheck(SequenceStatus.START, self.expected, self)
        if value == RESYNC_NUMBER:
            return ReceiverCheck(SequenceStatus.RESYNC, RESYNC_NUMBER, ReceiverSequence())
        if self.last_accepted is None or value == self.last_accepted + 1:
            return ReceiverCheck(SequenceStatus.ACCEPT, value + 1, ReceiverSequence(value))
        if value <= self.last_accepted:
            return ReceiverCheck(SequenceStatus.DUPLICATE, self.expected, self)
        problem = Problem.at("MSH-13", ErrorCode.APPLICATION_INTERNAL_ERROR)
        return ReceiverCheck(SequenceStatus.GAP, self.expected, self, problem)


def _number(number: int | str | None) -> int | None:
    if isinstance(number, bool):
        return None
    if isinstance(number, int):
        return number
    if isinstance(number, str) and _NUMBER.fullmatch(number):
        return int(number)
    return None


class SenderAction(StrEnum):
    SEND = "send"
    """Send (or resend) the transaction numbered ``number``."""
    HALT = "halt"
    """The numbers cannot be reconciled: stop the link for human intervention."""


@dataclass(frozen=True, slots=True)
class SenderStep:
    """The initiator's next move. On ``SEND`` every queued transaction numbered below
    ``number`` has been accepted by the receiver and may leave the queue."""

    action: SenderAction
    number: int | None
    state: SenderSequence


@dataclass(frozen=True, slots=True)
class SenderSequence:
    """The initiating side: the number of the transaction at the head of its queue (the one
    in flight or to be sent next). Numbers start at 1 and rise by one per transaction."""

    next_number: int = 1

    def __post_init__(self) -> None:
        value = self.next_number
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AckUsageError("next_number must be a positive integer")

    def _send(self, number: int) -> SenderStep:
        return SenderStep(SenderAction.SEND, number, SenderSequence(number))

    def _halt(self) -> SenderStep:
        return SenderStep(SenderAction.HALT, None, self)

    def _reconcile(self, expected: int, oldest_available: int | None) -> SenderStep:
        """Resume at ``expected`` if the queue still holds it, or just past the head when the
        receiver already has the head; anything else cannot be repaired automatically."""
        oldest = self.next_number if oldest_available is None else oldest_available
        if min(oldest, self.next_number) <= expected <= self.next_number + 1:
            return self._send(expected)
        return self._halt()

    def after_start(
        self, expected: int | None, *, oldest_available: int | None = None
    ) -> SenderStep:
        """Read MSA-4 of the reply to a start (MSH-13 = 0) or resync (MSH-13 = -1) message.

        ``-1`` means the receiver adopts our number, so the head is sent as it is. A number
        lets the sender resume there; ``oldest_available`` is the lowest number still queued
        (by default only the head is). No number at all means the partner does not take part.
        """
        if expected is None:
            return self._halt()
        if expected == RESYNC_NUMBER:
            return self._send(self.next_number)
        return self._reconcile(expected, oldest_available)

    def after_ack(
        self,
        expected: int | None,
        *,
        accepted: bool,
        oldest_available: int | None = None,
    ) -> SenderStep:
        """Read MSA-4 of the ACK for the head transaction.

        MSA-4 one past the head means the receiver stored it (even when MSA-1 reports an
        application error, which the poison policy handles separately). Without MSA-4, or
        with -1, the acknowledgement code decides. A lower number asks for a resend from there.
        """
        head = self.next_number
        if expected is None or expected == RESYNC_NUMBER:
            return self._send(head + 1) if accepted else self._send(head)
        if expected == head + 1:
            return self._send(expected)
        return self._reconcile(expected, oldest_available)
